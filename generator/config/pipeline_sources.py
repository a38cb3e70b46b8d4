"""Rules about the pipeline's sources (`pipeline.source_name`, `pipeline.sources`, `pipeline.builds.<svc>.source`;
docs/pipeline.md, "Several sources"): each source has its own name, a build names a source the pipeline has, and no
repository and branch is listed twice (two source actions on one branch would start two releases for one push).
"""
from __future__ import annotations

import difflib
from collections.abc import Iterator

from generator.config.models import AppSpec
from generator.config.rules import rule
from generator.errors import Problem


@rule
def pipeline_sources_are_distinct(app: AppSpec) -> Iterator[Problem]:
    """With `pipeline.sources`, every source name (`pipeline.source_name` for the pipeline's own repository, then each
    `sources[].name`) is used once, no repository and branch is listed twice, each `pipeline.builds.<service>.source`
    names one of them, and no path filter leaves the repository (`..`)."""
    spec = app.pipeline
    if spec is None:
        return
    names = [spec.source_name]
    places = {(spec.repository.lower(), spec.branch): "pipeline.repository"}
    for i, source in enumerate(spec.sources):
        loc = f"pipeline.sources[{i}]"
        if source.name in names:
            first = "pipeline.source_name" if source.name == spec.source_name else \
                f"pipeline.sources[{names.index(source.name) - 1}].name"
            yield Problem(f"{loc}.name", f"'{source.name}' is used twice (also {first}); give each source its own "
                                         f"name")
        names.append(source.name)
        where = (source.repository.lower(), source.branch)
        if where in places:
            yield Problem(f"{loc}.repository", f"{source.repository} branch {source.branch} is already a source "
                                               f"({places[where]}): one push would start two releases; list it once")
        places.setdefault(where, loc)
    filters = [("pipeline.paths", spec.paths)] + [(f"pipeline.sources[{i}].paths", s.paths)
                                                  for i, s in enumerate(spec.sources)]
    for loc, paths in filters:
        for j, path in enumerate(paths):
            if ".." in path.split("/"):
                yield Problem(f"{loc}[{j}]", f"'{path}' leaves the repository; give a pattern relative to its root, "
                                             f"e.g. src/** or Dockerfile")
    for service, build in spec.builds.items():
        if build.source is not None and build.source not in names:
            close = difflib.get_close_matches(build.source, names, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else f"sources are: {', '.join(names)}"
            yield Problem(f"pipeline.builds.{service}.source", f"no pipeline source is called '{build.source}'; "
                                                               f"{hint}")
