"""PyYAML's `Reader.NON_PRINTABLE` compiled from the same characters spelled positively (pinned PyYAML and Python).

`yaml/reader.py` compiles, at import, a negated class of what YAML may print: `[^\\x09\\x0A\\x0D\\x20-\\x7E\\x85
\\xA0-\\uD7FF\\uE000-\\uFFFD\\U00010000-\\U0010ffff]`. Python's regex compiler builds the set of a negated class
with non-Latin-1 ranges by walking each of its 63,000 code points in Python: 53 M instructions, 2 % of a whole
generation of the default app (callgrind), in every process that imports `yaml` (the generator, the lint helper).
The complement, `[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x84\\x86-\\x9F\\uD800-\\uDFFF\\uFFFE\\uFFFF]`, is the same
set of characters (a one-character class matches a string wherever one of its characters is) and compiles in 5 M.

`install()` puts that pattern in `re`'s cache under the key `re.compile` looks up for PyYAML's text, just before
`yaml.reader` is first imported (an import hook that removes itself then; nothing is compiled by a process that never
imports `yaml`, such as the up-to-date answer): `Reader.NON_PRINTABLE.search` then finds the same characters at the
same places; only the pattern's `.pattern` text differs. Python 3.11's `re._compile` looks the cache up by
`(type(pattern), pattern, flags)` before compiling; another Python, or an entry already dropped from the cache (it
keeps 512), compiles PyYAML's text as before. tests/test_pyyaml_speedups.py checks every code point against PyYAML's
own pattern and that a generation uses this one.
"""
from __future__ import annotations

import re
import sys

# yaml/reader.py (PyYAML 6.0.3), Reader.NON_PRINTABLE, as the string its literal makes
PYYAML_TEXT = "[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]"
COMPLEMENT = "[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uD800-\uDFFF\uFFFE\uFFFF]"


def seed() -> None:
    """The complement under PyYAML's key in `re`'s cache (Python 3.11's layout only)."""
    cache = getattr(re, "_cache", None)
    if sys.version_info[:2] == (3, 11) and isinstance(cache, dict):
        cache.setdefault((str, PYYAML_TEXT, 0), re.compile(COMPLEMENT))


class _BeforeReader:
    """A meta-path finder that finds nothing: it seeds the cache when `yaml.reader` is about to be imported."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        if name == "yaml.reader":
            uninstall()
            seed()
        return None


def install() -> None:
    if "yaml.reader" not in sys.modules and _BeforeReader not in sys.meta_path:
        sys.meta_path.insert(0, _BeforeReader)


def uninstall() -> None:
    if _BeforeReader in sys.meta_path:
        sys.meta_path.remove(_BeforeReader)
