"""The delivery pipeline (issue #5): pipeline.yaml (+ its nested templates and the gate functions' source)
in the pipeline account, deploy-role.yaml in each target account. Generated only for apps with a `pipeline:` block.

    files = build(app, root_build)   # templates, parameter files and the parameters each file is checked against
"""
from __future__ import annotations

from typing import NamedTuple

from troposphere import Template

from generator import components, root
from generator.config import AppSpec
from generator.deployer import Deployer
from generator.pipeline import approvals, common, deploy_role, pipeline, regions, roles
from generator.root import Build
from generator.wiring import RootParameter

PARAMETER_FILES = {"pipeline": common.pipeline_parameters, "deploy-role": common.deploy_role_parameters}
# Templates sent in the API request (CloudFormation's 51,200 bytes, measured packaged): pipeline-support.yaml, which
# docs/pipeline.md creates with `aws cloudformation deploy --template-file` and no bucket (it is the same small template
# for every app and exists before the app's templates bucket may). Everything else goes through S3 (a TemplateURL,
# 1 MB): deploy-role.yaml by `make deploy-role` (scripts/deploylib/access.py, the templates bucket), pipeline.yaml by
# `aws cloudformation deploy --s3-bucket` (the self-update and the first setup), nested templates always.
INLINE = (regions.SUPPORT_TEMPLATE,)


class PipelineFiles(NamedTuple):
    templates: dict[str, Template]
    extra_files: dict[str, str]                  # non-template files next to the templates (the Lambda source)
    parameter_sets: dict[str, list[RootParameter]]  # params file stem -> the template parameters it fills
    deployers: tuple[Deployer, ...]              # which CloudFormation role deploys which template tree


# The templates the pipeline deploys through a CloudFormation role, and where that role's grants are written: the gate
# checks each role against the resource handlers of the tree it deploys (generator/lint/handler_permissions.py).
DEPLOYERS = (
    Deployer(root.ROOT_FILE, common.DEPLOY_ROLE_TEMPLATE, deploy_role.CLOUDFORMATION_ROLE_ID,
             "generator/pipeline/environment_permissions.py", source_of=components.grants_source),
    Deployer(common.TEMPLATE, roles.TEMPLATE, roles.STACK_ROLE_ID, "generator/pipeline/permissions.py"),
)


def build(app: AppSpec, root_build: Build) -> PipelineFiles | None:
    if app.pipeline is None:
        return None
    templates = {**pipeline.build(app, root_build), common.DEPLOY_ROLE_TEMPLATE: deploy_role.build(app, root_build)}
    extra = approvals.lambda_files() if approvals.needed(app) else {}
    parameter_sets = {stem: make(app) for stem, make in PARAMETER_FILES.items()}
    if common.other_regions(app):   # the artifact store of each other region (regions.py)
        templates[regions.SUPPORT_TEMPLATE] = regions.support_template()
        parameter_sets[regions.SUPPORT_PARAMETERS] = regions.support_parameters(app)
    return PipelineFiles(templates, extra, parameter_sets, DEPLOYERS)
