"""Values that look like credentials. Plain values (`environment`, `command`, health checks, pipeline test commands)
end up in the templates, the task definition and the console for anyone with read access; a credential belongs in
Secrets Manager, named under `secrets`.

Patterns are chosen for few false positives: each needs a credential's own shape (a key prefix, a PEM header) or a
credential word followed by a literal value. A value that refers to a variable (`$DB_PASSWORD`, `${TOKEN}`) or a
file is fine. Near misses that must pass are in tests/test_credentials.py.

`kind(value)` says what a value looks like (never echoing it), or None.
"""
from __future__ import annotations

import re

# A literal value (not a reference to a variable, a file or a prompt): optionally quoted, 4+ characters, not starting
# with $ < { % / @ (a variable, a redirect, a template, a path, curl's @file).
_LITERAL = r"['\"]?(?![$<{%/@])[^\s'\"&;|)]{4,}"
_WORDS = r"(?:password|passwd|secret|api[_-]?key|access[_-]?key|auth[_-]?token|access[_-]?token|client[_-]?secret|" \
         r"private[_-]?key|token)"

PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    ("an AWS access key ID", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Z0-9])")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a Stripe secret key", re.compile(r"\b[sr]k_live_[A-Za-z0-9]{20,}")),
    ("a Google API key", re.compile(r"\bAIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])")),
    ("an npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{20,}")),
    ("a user name and password (curl -u)",
     re.compile(r"(?:^|(?<=\s))(?:-[A-Za-z]*u|--user)(?:\s+|=)?['\"]?[^\s:'\"$]+:" + _LITERAL)),
    ("a connection string with a password", re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]*:(?![$<{%])[^\s@/]+@")),
    # password=hunter2, DB_PASSWORD: hunter2, ?token=abc123 (an assignment), --password hunter2 (an option)
    ("a password, key or token written out",
     re.compile(r"(?i)(?:^|(?<=[\s;&|(,?\"']))(?:[a-z0-9]+[_-])*" + _WORDS + r"\s*[=:]\s*" + _LITERAL)),
    ("a password, key or token given as an option",
     re.compile(r"(?i)(?:^|(?<=\s))--?(?:[a-z0-9]+-)*" + _WORDS + r"(?:=|\s+)" + _LITERAL)),
)

# Variable names that say "this is a credential" (the last words of the name); a plain value for such a variable is a
# credential even when it has no recognisable shape (`DB_PASSWORD: hunter2`).
SECRET_NAME = re.compile(r"(?i)(?:^|_)(?:PASSWORD|PASSWD|PASS|SECRET|SECRET_KEY|TOKEN|API_KEY|APIKEY|"
                         r"ACCESS_KEY|PRIVATE_KEY|CLIENT_SECRET|CREDENTIALS?)$")
PUBLIC_NAME = re.compile(r"(?i)(?:^|_)PUBLIC(?:_|$)")  # NEXT_PUBLIC_API_KEY, PUBLIC_TOKEN: meant to be public


def kind(value: str) -> str | None:
    for what, pattern in PATTERNS:
        if pattern.search(value):
            return what
    return None


def secret_variable(name: str, value: str) -> bool:
    """A variable whose name marks a credential, given a literal value (not empty, not a reference)."""
    literal = value.strip()
    return bool(SECRET_NAME.search(name)) and not PUBLIC_NAME.search(name) and bool(literal) and "$" not in literal \
        and not re.fullmatch(r"true|false|[0-9]+|[/.@].*", literal, flags=re.I)
