"""regex._main._compile (the `regex` package cfn-lint matches schema patterns with): compiled patterns kept."""
from __future__ import annotations

from typing import Any


def memoize_regex_compile(classes: list[type]) -> bool:
    """cfn-lint matches schema patterns with the `regex` package's module functions (regex.match, findall, ...),
    and each call looks its compiled pattern up in regex's own cache through flag arithmetic on enums and a locale
    check (4 % of lint CPU); that cache holds 500 patterns and is purged past them, so a schema's patterns are
    compiled again. A compiled pattern given with no flags and no named lists is handed back as regex hands it
    back (after those look-ups, which find nothing for it). The replacement keeps each compiled pattern of a plain string with no flags and no named lists,
    once regex has found it locale-insensitive, under the regex version setting it was compiled with: the same
    compiled object regex's cache returns. Anything else goes to regex."""
    import regex
    import regex._main as main

    real = main._compile
    if getattr(real, "memoized", False) or not hasattr(main, "_locale_sensitive"):
        return False
    compiled: dict[tuple[str, Any], Any] = {}
    Pattern = main.Pattern
    locale_sensitive = main._locale_sensitive

    def _compile(pattern, flags, ignore_unused, kwargs, cache_it):
        if flags or kwargs:
            return real(pattern, flags, ignore_unused, kwargs, cache_it)
        if pattern.__class__ is Pattern:   # regex hands a compiled pattern back as it is (no flags, no named lists)
            return pattern
        if not cache_it or pattern.__class__ is not str:
            return real(pattern, flags, ignore_unused, kwargs, cache_it)
        key = (pattern, regex.DEFAULT_VERSION)
        found = compiled.get(key)
        if found is None:
            found = real(pattern, flags, ignore_unused, kwargs, cache_it)
            if locale_sensitive.get((str, pattern), True) is False:
                compiled[key] = found
        return found

    _compile.memoized = True   # type: ignore[attr-defined]
    _compile.real = real   # type: ignore[attr-defined]
    main._compile = _compile
    return True
