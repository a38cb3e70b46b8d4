"""What the pipeline templates share: names, parameters, tags, and how each environment is reached.

Physical names are fixed by convention, so the two templates (pipeline.yaml in the pipeline account,
deploy-role.yaml in each target account) can name each other's roles without outputs crossing accounts:

    pipeline account                         each target account
    <app>-pipeline            (CodePipeline)  <app>-pipeline-deploy   (assumed by the pipeline's roles)
    <app>-pipeline-stack      (CloudFormation for the pipeline stack)
    <app>-pipeline-build|release|self-update|tests (CodeBuild), <app>-pipeline-reroute (Lambda)
                                              <app>-cloudformation    (CloudFormation for <app>-<env> stacks)
    bucket <app>-pipeline-<account>-<region> (artifacts, packaged templates)
"""
from __future__ import annotations

from troposphere import AWSObject, Ref, Sub, Tags, Template

from generator import naming, stateful
from generator.config import AppSpec
from generator.errors import WiringError
from generator.pipeline import sources
from generator.records import record
from generator.wiring import RootParameter, StackBuilder

PIPELINE = "pipeline"        # the Environment tag of everything the pipeline templates create, and the name infix
TEMPLATE = "pipeline.yaml"
DEPLOY_ROLE_TEMPLATE = "deploy-role.yaml"
LAMBDA_DIR = "lambda/continue_reroute"   # next to pipeline.yaml; `aws cloudformation package` zips and uploads it
PYTHON_VERSION = "3.11"      # the generator's Python (self-update runs `make templates` with it)
LAMBDA_RUNTIME = "python3.12"
BUILD_IMAGE = "aws/codebuild/standard:7.0"
LOG_RETENTION_DAYS = 90



def name(*parts: str) -> Sub:
    """`<app>-pipeline[-parts]`: every physical name in the pipeline account."""
    return Sub("-".join(["${Application}", PIPELINE, *parts]))


def role_arn(role: str, account: object = None) -> Sub:
    """ARN of a role named `<app>-<role>` in `account` (a Ref/Sub or None for this account)."""
    if account is None:
        return Sub(naming.role_arn(role))
    return Sub(naming.role_arn(role, "${Account}"), Account=account)


# Role names (without the `<app>-` prefix).
PIPELINE_ROLE = "pipeline"
STACK_ROLE = "pipeline-stack"
SELF_UPDATE_ROLE = "pipeline-self-update"
BUILD_ROLE = "pipeline-build"
RELEASE_ROLE = naming.RELEASE_ROLE
TESTS_ROLE = "pipeline-tests"
REROUTE_ROLE = "pipeline-reroute"
DEPLOY_ROLE = naming.DEPLOY_ROLE                  # in each target account
CLOUDFORMATION_ROLE = naming.CLOUDFORMATION_ROLE  # in each target account
# Every role pipeline-roles.yaml creates (the pipeline stack's role manages exactly these, by name).
PIPELINE_ACCOUNT_ROLES = (PIPELINE_ROLE, STACK_ROLE, SELF_UPDATE_ROLE, BUILD_ROLE, RELEASE_ROLE, TESTS_ROLE,
                          REROUTE_ROLE)
# The pipeline-account roles a target account's deploy role trusts (each assumes it for one kind of step).
TRUSTED_BY_DEPLOY_ROLE = (PIPELINE_ROLE, RELEASE_ROLE, REROUTE_ROLE)


def artifact_bucket_name() -> Sub:
    return Sub("${Application}-pipeline-${AWS::AccountId}-${AWS::Region}")


def account_parameter(env: str) -> str:
    return f"{naming.pascal(env)}AccountId"


def tags() -> Tags:
    return Tags(Environment=PIPELINE, Owner=Ref(naming.OWNER_PARAM), Application=Ref(naming.APPLICATION_PARAM))


def tag_map() -> dict:
    """The same tags for resource types that take a plain map (SAM functions, SSM parameters)."""
    return {"Environment": PIPELINE, "Owner": Ref(naming.OWNER_PARAM), "Application": Ref(naming.APPLICATION_PARAM)}


def prepare(resource: AWSObject) -> None:
    """What every resource of the pipeline's templates gets: the pipeline's tags (Environment=pipeline, Owner,
    Application) if it takes tags, and the deletion and replacement policies of a resource that holds data
    (generator/stateful.py). No role path: the pipeline's roles are named across accounts by their plain ARNs."""
    spec = resource.props.get("Tags")
    if spec is not None and "Tags" not in resource.properties:
        resource.Tags = tag_map() if spec[0] is dict else tags()
    stateful.protect(resource)


def add(template: Template, resource: AWSObject) -> AWSObject:
    """Add a resource of pipeline.yaml itself (its nested stacks add theirs through their StackBuilder)."""
    prepare(resource)
    return template.add_resource(resource)


def builder(app: AppSpec, logical_id: str, filename: str, description: str) -> StackBuilder:
    """A nested stack of pipeline.yaml, wired like the environment's stacks (generator/wiring.py): it takes the
    Application and Owner parameters, and its resources are prepared as the pipeline's."""
    return StackBuilder(logical_id, filename, f"{app.app}: {description} (nested in pipeline.yaml)",
                        standard=(_application(app), OWNER), prepare=prepare)


def skip(*checks: tuple[str, str]) -> dict:
    """checkov skips, each with the reason it cannot apply."""
    return {"checkov": {"skip": [{"id": i, "comment": c} for i, c in checks]}}


@record(frozen=True)
class Target:
    """One environment as the pipeline reaches it."""

    env: str
    account: Ref                 # the environment's account (a parameter of pipeline.yaml)
    production: bool

    @property
    def pascal(self) -> str:
        return naming.pascal(self.env)

    def deploy_role(self) -> Sub:
        return role_arn(DEPLOY_ROLE, self.account)

    def cloudformation_role(self) -> Sub:
        return role_arn(CLOUDFORMATION_ROLE, self.account)


def targets(app: AppSpec) -> list[Target]:
    return [Target(env, Ref(account_parameter(env)), spec.production) for env, spec in app.environments.items()]


def needs_release_role(app: AppSpec) -> bool:
    """The release role runs Promote/PrepareRelease (an app with services), ProtectNestedStacks (an app with a
    production environment) and PublishFrontend (`frontend.build`): the steps that act in an environment's account
    through its deploy role."""
    return bool(app.services) or any(target.production for target in targets(app)) or builds_frontend(app)


def builds_frontend(app: AppSpec) -> bool:
    """The pipeline builds the frontend once per run and publishes it to every environment (`frontend.build`)."""
    return app.frontend is not None and app.frontend.build is not None


def distinct_accounts(app: AppSpec) -> list[Target]:
    """One environment per target account (as app.yaml assigns them), for policy principals: environments that
    share an account share its principal."""
    seen: dict[str, Target] = {}
    for target in targets(app):
        seen.setdefault(app.account_of(target.env), target)
    return list(seen.values())


# --- parameters ------------------------------------------------------------------------------------------------
GROUP_SOURCE, GROUP_ACCOUNTS, GROUP_APP = "Source", "Target accounts", "Application"


def _application(app: AppSpec) -> RootParameter:
    return RootParameter(
        naming.APPLICATION_PARAM, "Application name; enters every physical name (the deploy roles in the target "
        "accounts expect exactly this one).", GROUP_APP, "Application", lambda a, _: a.app,
        allowed_values=(app.app,))


OWNER = RootParameter(
    naming.OWNER_PARAM, "Team that owns the resources; becomes the Owner tag.", GROUP_APP, "Owner",
    lambda a, _: a.owner, allowed_pattern=naming.TAG_VALUE_PATTERN,
    constraint="1-128 characters allowed in a tag value")


def pipeline_parameters(app: AppSpec) -> list[RootParameter]:
    """pipeline.yaml's parameters, each filled from app.yaml's `pipeline` block (params/pipeline.json)."""
    params = [
        _application(app), OWNER,
        RootParameter("ConnectionArn", "ARN of an AVAILABLE CodeConnections connection to GitHub (complete the "
                      "handshake in the console first).", GROUP_SOURCE, "GitHub connection",
                      lambda a, _: a.pipeline.connection_arn,
                      allowed_pattern=r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:"
                                      r"connection/[0-9a-f-]{36}$", constraint="a CodeConnections connection ARN"),
        RootParameter("FullRepositoryId", "The GitHub repository, owner/name.", GROUP_SOURCE, "Repository",
                      lambda a, _: a.pipeline.repository, allowed_pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
                      constraint="owner/name"),
        RootParameter("BranchName", "The branch whose pushes start the pipeline.", GROUP_SOURCE, "Branch",
                      lambda a, _: a.pipeline.branch, allowed_pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$",
                      constraint="a branch name"),
        RootParameter("NotificationEmail", "Receives production approval requests (confirm the subscription once).",
                      GROUP_SOURCE, "Approval e-mail", lambda a, _: a.pipeline.notification_email,
                      allowed_pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
                      constraint="an e-mail address"),
    ]
    params[5:5] = _source_parameters(app)
    for env in app.environments:
        # Only the account app.yaml names: the artifact bucket's and key's policies admit exactly the accounts of
        # app.yaml (environments that share an account share one principal), so any other value would deploy a
        # pipeline whose deploy actions there are denied.
        params.append(RootParameter(
            account_parameter(env), f"AWS account of the {env} environment (its deploy role and CloudFormation "
            f"role come from deploy-role.yaml deployed there).", GROUP_ACCOUNTS, f"{env} account",
            lambda a, _, env=env: a.account_of(env), allowed_values=(app.account_of(env),),
            constraint=f"the account app.yaml names for {env}"))
    return params + key_parameters(app)


def _source_parameters(app: AppSpec) -> list[RootParameter]:
    """The repository and branch of each of `pipeline.sources` (generator/pipeline/sources.py), after the pipeline's
    own (FullRepositoryId, BranchName)."""
    params = []
    for i, source in enumerate(app.pipeline.sources):
        named = sources.named(app, source.name)
        params += [
            RootParameter(named.repository_parameter, f"The GitHub repository of the source {source.name}, "
                          f"owner/name.", GROUP_SOURCE, f"{source.name} repository",
                          lambda a, _, i=i: a.pipeline.sources[i].repository,
                          allowed_pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", constraint="owner/name"),
            RootParameter(named.branch_parameter, f"The branch of {source.name} whose pushes start the pipeline.",
                          GROUP_SOURCE, f"{source.name} branch", lambda a, _, i=i: a.pipeline.sources[i].branch,
                          allowed_pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$", constraint="a branch name")]
    return params


def parameter(app: AppSpec, name: str) -> RootParameter:
    """One of pipeline.yaml's parameters, as a nested stack's input (generator/wiring.py)."""
    found = {p.name: p for p in pipeline_parameters(app)}
    if name not in found:
        raise WiringError(f"pipeline.yaml has no parameter {name}")
    return found[name]


def deploy_role_parameters(app: AppSpec) -> list[RootParameter]:
    """deploy-role.yaml's parameters (params/deploy-role.json, the same for every target account)."""
    return [
        _application(app), OWNER,
        RootParameter("PipelineAccountId", "The account the pipeline runs in; only its pipeline roles may assume "
                      "the deploy role.", GROUP_APP, "Pipeline account", lambda a, _: a.pipeline.account_id,
                      allowed_values=(app.pipeline.account_id,), constraint="the pipeline account app.yaml names"),
    ]


def declare(template: Template, params: list[RootParameter]) -> None:
    for p in params:
        template.add_parameter(p.declare())
        template.add_parameter_to_group(p.name, p.group)
        template.set_parameter_label(p.name, p.label)


def other_regions(app: AppSpec) -> list[str]:
    """The regions of the app's environments other than the pipeline's, in app.yaml's order."""
    if app.pipeline is None:
        return []
    return [r for r in app.regions() if r != app.region]


def support_stack_name(app_name: str) -> str:
    """The support stack in each other region (the same name in every region; naming.py's `<app>-` convention)."""
    return f"{app_name}-{PIPELINE}-support"


def key_parameter(region: str) -> str:
    """pipeline.yaml's parameter holding the KMS key ARN of `region`'s artifact store: `ArtifactKeyMeSouth1`."""
    return f"ArtifactKey{naming.pascal(region)}"


def key_parameters(app: AppSpec) -> list:
    """pipeline.yaml's key ARN parameters, one per other region (regions.py), each allowing exactly app.yaml's
    value."""
    return [RootParameter(
        key_parameter(region), f"KMS key ARN of the artifact store in {region} (the KeyArn output of the "
        f"{support_stack_name(app.app)} stack there).", GROUP_SOURCE, f"Artifact key in {region}",
        lambda a, _, region=region: a.pipeline.artifact_keys[region],
        allowed_values=(app.pipeline.artifact_keys.get(region, ""),),
        constraint=f"the key app.yaml names in pipeline.artifact_keys.{region}") for region in other_regions(app)]
