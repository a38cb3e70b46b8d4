"""What a credential looks like, judged by the value alone, whatever field, parameter or service it comes from.

A parameter's or a service's *name* says nothing: a service called `token` has a `TokenImageTag` parameter whose
value is an image tag, and masking by name turned every `bootstrap` on the screen into `****`. So:

- `looks_like_secret(value)` says whether a whole value is (or contains) a credential: an AWS access key id or
  secret access key, a private key, a URL carrying a user name or password, a `password=`/`token:`-style assignment,
  a GitHub or Slack token, a JSON web token;
- `mask(text)` replaces the secret part of each such pattern in free text (an AWS error message, an event reason, an
  endpoint URL) with `****`, keeping what says what it was (`password=****`, `https://****@host`).

The patterns are specific on purpose: masking an ordinary value hides what an operator needs to read.
"""
from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

MASK = "****"

_KEYWORD = r"(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret|auth[_-]?key)"
# (description, pattern, replacement): group 1, when present, is kept in front of the mask.
_MASKED: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("a private key", re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*)",
                                 re.S), MASK),
    ("a URL with a user name or password", re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@]+@"), rf"\1{MASK}@"),
    ("a password or token assignment",
     # not after ':' or '/': `arn:...:secret:name` is a Secrets Manager ARN, not an assignment
     re.compile(rf"(?i)(?<![:/])({_KEYWORD}[\"']?\s*[=:]\s*[\"']?)(?!\*\*\*\*)[^\s&;,'\"]+"), rf"\1{MASK}"),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"), MASK),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b"), MASK),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), MASK),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), MASK),
)
# A 40-character AWS secret access key. Only a whole value is judged by this shape (base64-like runs occur in
# ordinary text); a git SHA (lowercase hex) does not match, since a key mixes cases and digits.
_AWS_SECRET_KEY = re.compile(r"(?=.*[A-Z])(?=.*[a-z])(?=.*[0-9])[A-Za-z0-9/+]{40}")


def looks_like_secret(value: str) -> str | None:
    """What kind of credential `value` holds (e.g. "an AWS access key id"), or None."""
    for description, pattern, _ in _MASKED:
        if pattern.search(value):
            return description
    if _AWS_SECRET_KEY.fullmatch(value.strip()):
        return "an AWS secret access key"
    return None


def mask(text: str) -> str:
    """`text` with the secret part of every credential pattern replaced by ****."""
    for _, pattern, replacement in _MASKED:
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
