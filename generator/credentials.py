"""What a credential looks like, judged by its value: one place for the two uses.

- The app spec's checks (`kind`, `secret_variable`): plain values (`environment`, `command`, health checks, pipeline
  test commands) end up in the templates, the task definition and the console for anyone with read access; a
  credential belongs in Secrets Manager, named under `secrets`. These refuse a value only when it surely holds a
  credential: a credential's own shape (a key prefix, a PEM header), or a credential word followed by a literal
  value. A value that refers to a variable (`$DB_PASSWORD`, `${TOKEN}`) or a file is fine. Near misses that must pass
  are in tests/test_spec_values.py.
- The deploy scripts' masking (`looks_like_secret`, `mask`, `url_credentials`): whatever a command prints (an AWS
  error message, an event reason, an endpoint URL, a parameter value) is masked by what a value looks like, never by
  a parameter's or a service's *name* (a service called `token` has a `TokenImageTag` parameter whose value is an
  image tag). Masking keeps what says what it was (`password=****`, `https://****@host`) and hides the whole user
  part of a URL, not only a password.

Both start from the shapes a credential has of its own (`TOKENS`); each adds what fits its reader. The patterns are
specific on purpose: refusing or masking an ordinary value hides what a person needs to read. Neither ever echoes
the value it found.
"""
from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

MASK = "****"

# --- shapes a credential has of its own, wherever it appears (both uses) --------------------------------------------
PRIVATE_KEY = ("a private key", re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|.*)", re.S))
TOKENS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key ID", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a Stripe secret key", re.compile(r"\b[sr]k_live_[A-Za-z0-9]{20,}")),
    ("a Google API key", re.compile(r"\bAIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])")),
    ("an npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{20,}")),
)

# --- the app spec: a credential written into a plain value ----------------------------------------------------------
# A literal value (not a reference to a variable, a file or a prompt): optionally quoted, 4+ characters, not starting
# with $ < { % / @ (a variable, a redirect, a template, a path, curl's @file).
_LITERAL = r"['\"]?(?![$<{%/@])[^\s'\"&;|)]{4,}"
_WORDS = r"(?:password|passwd|secret|api[_-]?key|access[_-]?key|auth[_-]?token|access[_-]?token|client[_-]?secret|" \
         r"private[_-]?key|token)"
WRITTEN_OUT: tuple[tuple[str, re.Pattern[str]], ...] = (
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
    """What a plain value of app.yaml holds that looks like a credential (never echoing it), or None."""
    for what, pattern in (PRIVATE_KEY, *TOKENS, *WRITTEN_OUT):
        if pattern.search(value):
            return what
    return None


def secret_variable(name: str, value: str) -> bool:
    """A variable whose name marks a credential, given a literal value (not empty, not a reference)."""
    literal = value.strip()
    return bool(SECRET_NAME.search(name)) and not PUBLIC_NAME.search(name) and bool(literal) and "$" not in literal \
        and not re.fullmatch(r"true|false|[0-9]+|[/.@].*", literal, flags=re.I)


# --- printed text: what the deploy scripts mask --------------------------------------------------------------------
_KEYWORD = r"(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret|auth[_-]?key)"
# (description, pattern, replacement): group 1, when present, is kept in front of the mask. In this order: a URL's
# user part and an assignment keep their label, the tokens inside them are then already masked.
PRINTED: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (*PRIVATE_KEY, MASK),
    ("a URL with a user name or password", re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@]+@"), rf"\1{MASK}@"),
    ("a password or token assignment",
     # not after ':' or '/': `arn:...:secret:name` is a Secrets Manager ARN, not an assignment
     re.compile(rf"(?i)(?<![:/])({_KEYWORD}[\"']?\s*[=:]\s*[\"']?)(?!\*\*\*\*)[^\s&;,'\"]+"), rf"\1{MASK}"),
    *((what, pattern, MASK) for what, pattern in TOKENS),
)
# A 40-character AWS secret access key. Only a whole value is judged by this shape (base64-like runs occur in
# ordinary text); a git SHA (lowercase hex) does not match, since a key mixes cases and digits.
_AWS_SECRET_KEY = re.compile(r"(?=.*[A-Z])(?=.*[a-z])(?=.*[0-9])[A-Za-z0-9/+]{40}")


def looks_like_secret(value: str) -> str | None:
    """What kind of credential a printed value holds (e.g. "a JSON web token"), or None."""
    for description, pattern, _ in PRINTED:
        if pattern.search(value):
            return description
    if _AWS_SECRET_KEY.fullmatch(value.strip()):
        return "an AWS secret access key"
    return None


def mask(text: str) -> str:
    """`text` with the secret part of every credential pattern replaced by ****."""
    for _, pattern, replacement in PRINTED:
        text = pattern.sub(replacement, text)
    return text


def url_credentials(url: str | None) -> list[str]:
    """The user name and password in a URL's userinfo (raw and percent-decoded), to be masked wherever they show."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [parts.username, parts.password]
    return sorted({v for raw in found if raw for v in (raw, unquote(raw))})
