"""`services[].renamed_from`: a renamed service keeps every resource of its old name.

A service's name enters its nested stack's logical id and file, its repository, ECS service, log group, task
family, CodeDeploy application and group, target groups, alarms, parameters and container name; changing any of
them replaces the resource (and a repository or log group holds data). So the templates are built from the app as
deployed: `deployed(app)` is the app with every renamed service under its old name again, and every reference to the
new name (`environments.<env>.services.<name>`, `migrate.service`, `pipeline.builds.<name>`) rewritten with it. A
rename with `renamed_from` therefore builds the very templates and parameter files of the old name: it replaces
nothing. Only where the image is built from follows the new name (its folder, unless `pipeline.builds` says
otherwise), as app.yaml reads. The day-2 commands take either name (`SERVICE=<new name>`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.config.models import AppSpec


def renames(app: AppSpec) -> dict[str, str]:
    """New name -> old name, for every service that has `renamed_from`."""
    return {s.name: s.renamed_from for s in app.services if s.renamed_from}


def deployed_name(app: AppSpec, name: str) -> str:
    """The name a service's resources carry: its `renamed_from`, else its name."""
    return renames(app).get(name, name)


def deployed(app: AppSpec) -> AppSpec:
    """The app as its resources are named (the app itself when nothing is renamed)."""
    old = renames(app)
    if not old:
        return app

    def keyed(mapping: dict) -> dict:
        return {old.get(key, key): value for key, value in mapping.items()}

    update: dict = {
        "services": [s.model_copy(update={"name": s.renamed_from, "renamed_from": None}) if s.renamed_from else s
                     for s in app.services],
        "environments": {name: env.model_copy(update={"services": keyed(env.services)})
                         for name, env in app.environments.items()},
    }
    if app.migrate is not None and app.migrate.service in old:
        update["migrate"] = app.migrate.model_copy(update={"service": old[app.migrate.service]})
    if app.pipeline is not None:
        # The image is still built from where app.yaml says: the new name's folder unless `builds` says otherwise.
        from generator.config.models import ImageBuildSpec
        builds = keyed(app.pipeline.builds)
        for new, was in old.items():
            dockerfile, context = app.pipeline.build_of(new)
            builds[was] = ImageBuildSpec(dockerfile=dockerfile, context=context)
        update["pipeline"] = app.pipeline.model_copy(update={"builds": builds})
    return app.model_copy(update=update)
