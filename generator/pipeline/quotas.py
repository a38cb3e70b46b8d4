"""CodePipeline and EventBridge quotas the pipeline of an app would meet, checked when the spec loads (the rule
`pipeline_quotas` in generator/config/rules.py): what does not fit is refused with one line naming the quota and the
way out, never found at deploy time.

- Actions: 50 in a stage, 500 in a pipeline; 50 stages (CodePipeline user guide, "Quotas in AWS CodePipeline").
  plan.py already spreads what can be spread (builds over stages, the releases of an environment into their own
  stage); what still binds is one environment's web releases with their gates, which must share a stage.
- Every action configuration value is at most 1000 characters (same page): the IntegrationTests action's
  UserParameters names the test environment's web services.
- An EventBridge input transformer's InputTemplate is at most 8192 characters (AWS::Events::Rule InputTransformer,
  the CloudFormation registry schema): the reroute rule names each held release.
The lengths are those of the values as deployed: the app's name, the environment's account and the region's
partition substituted.
"""
from __future__ import annotations

from collections.abc import Iterator

from generator.config import AppSpec
from generator.errors import Problem
from generator.pipeline import approvals, plan, stages

CONFIGURATION_VALUE = 1000
RULE_INPUT = 8192


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def deployed(app: AppSpec, env: str, text: str) -> str:
    """A Sub's text as CloudFormation resolves it for `env` (the names these texts use)."""
    for name, value in (("${Application}", app.app), ("${Account}", app.account_of(env)),
                        ("${AWS::Partition}", partition(app.region))):
        text = text.replace(name, value)
    return text


def problems(app: AppSpec) -> Iterator[Problem]:
    planned = plan.stages(app)
    for stage in planned:
        if len(stage.steps) > plan.ACTIONS_PER_STAGE:
            env = stage.steps[0].env
            releases = sum(1 for s in stage.steps if s.kind == plan.RELEASE)
            yield Problem(f"environments.{env}", (
                f"the {stage.name} stage needs {len(stage.steps)} actions ({releases} web service releases and the "
                f"gates that hold them, which must share one stage); CodePipeline allows {plan.ACTIONS_PER_STAGE} "
                f"actions per stage: with these gates an environment releases at most "
                f"{plan.ACTIONS_PER_STAGE - (len(stage.steps) - releases)} web services (split the app into two "
                "pipelines)"))
    total = sum(len(stage.steps) for stage in planned)
    if total > plan.ACTIONS_PER_PIPELINE:
        yield Problem("pipeline", (
            f"the pipeline needs {total} actions (a build per service; per environment a promote, a deploy and a "
            f"release per web service); CodePipeline allows {plan.ACTIONS_PER_PIPELINE} per pipeline: use fewer "
            "environments or services, or split the app into two"))
    if len(planned) > plan.STAGES_PER_PIPELINE:
        yield Problem("environments", (
            f"the pipeline needs {len(planned)} stages; CodePipeline allows {plan.STAGES_PER_PIPELINE}: use fewer "
            "environments"))
    env = app.test_environment()
    if env is not None and env in app.environments:
        length = len(deployed(app, env, approvals.gate_parameters(app, env, stages.environment_test_url(app, env))))
        if length > CONFIGURATION_VALUE:
            yield Problem("pipeline.test_environment", (
                f"the IntegrationTests action's UserParameters (the {env} web services to test, its deploy role and "
                f"test URL) would be {length} characters; CodePipeline allows {CONFIGURATION_VALUE} per action "
                "configuration value: use shorter service names (or a shorter domain_name)"))
    for target in approvals.targets(app):
        length = len(deployed(app, target.env, approvals.rule_input(app, target.env)))
        if length > RULE_INPUT:
            yield Problem(f"environments.{target.env}", (
                f"the rule that continues {target.env}'s held releases would pass {length} characters to its function; "
                f"EventBridge allows {RULE_INPUT} per input template: use shorter service names, or hold fewer "
                "releases there (wait_for_approval_minutes)"))
