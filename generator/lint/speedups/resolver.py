"""cfnlint.schema.resolver.RefResolver: made for nearly every validated value (RefResolver.from_schema in
BaseFn.validator, BaseJsonSchema.extend_validator, Validator.__post_init__), and each resolves its first `$ref`s by
walking the whole schema it was made from (4-6 % of lint CPU with its construction)."""
from __future__ import annotations

from typing import Any


def lean_ref_resolver(classes: list[type]) -> bool:
    """RefResolver.__post_init__ makes three functools.lru_cache(1024) wrappers per resolver, each through
    functools.update_wrapper, which copies the wrapped function's name, documentation and attributes (a fifth of
    the resolver's cost): the replacement makes the same C cache wrappers (functools._lru_cache_wrapper, what
    lru_cache returns before update_wrapper) of the same functions with the same size, without the copied
    attributes, which nothing in cfn-lint reads. `resolve_fragment` walked the document once for an `id` equal to
    the fragment, then once more for a `$id`, and `_get_subschemas_cache` once for the four subschema keywords,
    each through two nested generators per dictionary; the replacements walk in the same order (the same deque,
    popped on the right, extended on the left) without the generators, and `resolve_fragment` walks once: it
    returns at the first `id` match, as the first walk did, and otherwise the first `$id` match, which the second
    walk found first. Everything else (scope stack, store, the JSON-pointer part) is cfn-lint's code."""
    import functools
    from collections import deque
    from urllib.parse import unquote

    import cfnlint.schema.resolver._resolver as module
    from cfnlint.schema.resolver._exceptions import RefResolutionError

    cls = module.RefResolver
    wrapper = getattr(functools, "_lru_cache_wrapper", None)
    cache_info = getattr(functools, "_CacheInfo", None)
    if (wrapper is None or cache_info is None or module._SUBSCHEMAS_KEYWORDS != ("$id", "id", "$anchor",
                                                                                "$dynamicAnchor")
            or any(getattr(cls, name).__code__.co_filename != module.__file__
                   for name in ("__post_init__", "resolve_fragment", "_get_subschemas_cache"))):
        return False
    real_post_init, real_resolve_fragment, real_subschemas = (cls.__post_init__, cls.resolve_fragment,
                                                              cls._get_subschemas_cache)
    keywords = module._SUBSCHEMAS_KEYWORDS
    urljoin = module.urljoin
    Mapping, Sequence = module.Mapping, module.Sequence

    def __post_init__(self):
        self._scopes_stack = [self.base_uri]
        if self._cache is None:
            self._cache = wrapper(self.resolve_from_url, 1024, False, cache_info)
        if self._cache_cfn_pointer is None:
            self._cache_cfn_pointer = wrapper(self.resolve_cfn_pointer, 1024, False, cache_info)
        if self._urljoin_cache is None:
            self._urljoin_cache = wrapper(urljoin, 1024, False, cache_info)
        if self.store is None:
            self.store = {}
            self.store.update(
                (schema["$id"], schema)
                for schema in self.store.values()
                if isinstance(schema, Mapping) and "$id" in schema
            )

    def resolve_fragment(self, document, fragment):
        fragment = fragment.lstrip("/")

        if not fragment:
            return document

        wanted = "#" + fragment
        by_dollar_id = None
        values = deque([document])
        pop, extendleft = values.pop, values.extendleft
        while values:
            value = pop()
            if not isinstance(value, dict):
                continue
            if "id" in value and wanted == value["id"]:
                return value
            if by_dollar_id is None and "$id" in value and wanted == value["$id"]:
                by_dollar_id = value
            extendleft(value.values())
        if by_dollar_id is not None:
            return by_dollar_id

        # Resolve via path
        parts = unquote(fragment).split("/") if fragment else []
        for part in parts:
            part = part.replace("~1", "/").replace("~0", "~")

            if isinstance(document, Sequence):
                # Array indexes should be turned into integers
                try:
                    part = int(part)
                except ValueError:
                    pass
            try:
                document = document[part]
            except (TypeError, LookupError) as e:
                raise RefResolutionError(
                    f"Unresolvable JSON pointer: {fragment!r}"
                ) from e

        return document

    def _get_subschemas_cache(self):
        if self._subschemas_cache is not None:
            return self._subschemas_cache
        cache = {key: [] for key in keywords}
        values = deque([self.referrer])
        pop, extendleft = values.pop, values.extendleft
        while values:
            value = pop()
            if not isinstance(value, dict):
                continue
            for keyword in keywords:
                if keyword in value:
                    cache[keyword].append(value)
            extendleft(value.values())
        self._subschemas_cache = cache
        return cache

    for new, real in ((__post_init__, real_post_init), (resolve_fragment, real_resolve_fragment),
                      (_get_subschemas_cache, real_subschemas)):
        new.__doc__, new.real = real.__doc__, real   # type: ignore[attr-defined]
    cls.__post_init__, cls.resolve_fragment, cls._get_subschemas_cache = (__post_init__, resolve_fragment,
                                                                          _get_subschemas_cache)
    return True
