"""Runbooks generated from app.yaml: `make runbooks` writes runbooks/<env>/{deploy,rollback,secrets,manual-steps}.md.

`model.py` turns the app into plain facts per environment (names, counts, durations, the exact commands);
`render.py` fills the Markdown templates in `templates/` with them (jinja2, StrictUndefined: a missing fact is an
error, never an empty line)."""
