"""`fargate-stacks cost`: a monthly estimate per environment (estimate.py) from the spec, the generated templates and
the dated price table (prices.json, prices.py), written out by report.py. docs/cost.md says how to refresh prices."""
