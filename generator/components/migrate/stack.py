"""Migrate nested stack: `<app>-<env>-migrate`, the role the pipeline's Migrate action (generator/pipeline/migrate.py)
assumes to run app.yaml's `migrate:` in this environment. Built only for an app with a pipeline, `migrate:` and a
database (`make deploy` migrates with the operator's own credentials).

It lives in the environment's stack, not in deploy-role.yaml: deploy-role.yaml is sent inline (51,200 bytes) and has
no room left, and here every grant names the environment's own resources: the migrate service's task and execution
roles (PassRole, to ECS tasks only), its task definition family (RunTask, on this environment's cluster only), its
log group, the database cluster and the snapshots named `<app>-<env>-*` (production only). What the grants allow is
exactly what scripts/deploylib/migration.py calls (through scripts/deploylib/pipeline_migration.py):

    cloudformation:DescribeStacks   the root stack's outputs (the ECS service name, the database cluster id)
    ecs:DescribeServices            the network the service runs in (a cron job: states:DescribeStateMachine)
    ecs:RunTask / ecs:TagResource   one task of the newest revision, tagged from its task definition on creation
    iam:PassRole                    the task definition's two roles, to ecs-tasks.amazonaws.com
    ecs:DescribeTasks               waiting until it stops
    logs:GetLogEvents               the log tail
    rds:CreateDBClusterSnapshot, rds:AddTagsToResource, rds:DescribeDBClusterSnapshots   production's snapshot

Trust: the pipeline account's release role only (the role the Migrate project runs with), named by an ARN condition
like the deploy role's (deploy-role.yaml), so the role need not exist first.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from awacs import sts
from awacs.aws import Allow, ArnEquals, Condition, Principal, Statement, StringEquals
from troposphere import Equals, GetAtt, If, Sub, iam

from generator import naming
from generator.components.base import EnvInputs
from generator.components.environment import EnvironmentCore
from generator.policies.cfn_actions import arn
from generator.policies.common import document
from generator.policies.grants import Grant, grant
from generator.policies.grants import document as grants_document
from generator.wiring import OutputRef, StackBuilder

if TYPE_CHECKING:
    from generator.components.database import DatabaseOutputs
    from generator.components.service import ServiceOutputs
    from generator.config import AppSpec

PRODUCTION = "Production"
STACK = "${Application}-${EnvironmentName}"     # the root stack and the ECS cluster (naming.physical_name())


class MigrateOutputs(NamedTuple):
    role_arn: OutputRef


def wanted(app: AppSpec) -> bool:
    """The pipeline runs the migration (generator/pipeline/migrate.py `runs`): a pipeline, `migrate:` naming one of the
    app's services (a rule refuses any other), and a database."""
    return app.pipeline is not None and migrate_service(app) is not None and app.database is not None


def migrate_service(app: AppSpec):
    if app.migrate is None:
        return None
    return next((s for s in app.services if s.name == app.migrate.service), None)


def build(app: AppSpec, stack: StackBuilder, environment: EnvInputs[EnvironmentCore], *, service: ServiceOutputs,
          database: DatabaseOutputs) -> MigrateOutputs:
    t = stack.template
    t.add_condition(PRODUCTION, Equals(environment.input(stack, "production"), "true"))
    svc = migrate_service(app)
    policies = [iam.Policy(PolicyName="migrate", PolicyDocument=grants_document(
        task_grants(svc.name, svc.kind, stack.input(service.task_role_arn), stack.input(service.execution_role_arn))))]
    snapshot = iam.Policy(PolicyName="snapshot-before-migrating", PolicyDocument=grants_document(
        snapshot_grants(stack.input(database.cluster_id))))
    role = stack.add(iam.Role(
        "Role", RoleName=naming.physical_name(naming.MIGRATE_ROLE),
        Description=Sub(f"${{Application}}-${{EnvironmentName}}: runs {svc.name}'s migration for the pipeline "
                        "(docs/database.md)"),
        AssumeRolePolicyDocument=trust(app.pipeline.account_id), MaxSessionDuration=3600,
        # two whole lists: no AWS::NoValue inside a list (as the access stack does)
        Policies=If(PRODUCTION, [*policies, snapshot], policies)))
    return MigrateOutputs(stack.output("RoleArn", GetAtt(role, "Arn"), "The role the pipeline's Migrate action "
                                                                         "assumes here", public=True))


def trust(pipeline_account: str):
    release = Sub(naming.role_arn(naming.RELEASE_ROLE, pipeline_account))
    return document(Statement(
        Sid="PipelineReleaseRoleOnly", Effect=Allow, Action=[sts.AssumeRole],
        Principal=Principal("AWS", Sub(f"arn:${{AWS::Partition}}:iam::{pipeline_account}:root")),
        Condition=Condition(ArnEquals("aws:PrincipalArn", release))))


def task_grants(service: str, kind: str, task_role, execution_role) -> list[Grant]:
    cluster = arn("ecs", f"cluster/{STACK}")
    tasks = arn("ecs", f"task/{STACK}/*")
    network = (grant("ReadCronNetwork", "states:DescribeStateMachine", arn("states", f"stateMachine:{STACK}-{service}"))
               if kind == "cron" else grant("ReadServiceNetwork", "ecs:DescribeServices", arn("ecs", f"service/{STACK}/*")))
    return [
        grant("ReadRootStack", "cloudformation:DescribeStacks", arn("cloudformation", f"stack/{STACK}/*")),
        network,
        grant("RunMigrationTask", "ecs:RunTask", arn("ecs", f"task-definition/{STACK}-{service}:*"),
              Condition(ArnEquals("ecs:cluster", cluster))),
        grant("TagMigrationTask", "ecs:TagResource", tasks, Condition(StringEquals("ecs:CreateAction", "RunTask"))),
        grant("WatchMigrationTask", "ecs:DescribeTasks", tasks),
        grant("PassTaskRoles", "iam:PassRole", [task_role, execution_role],
              Condition(StringEquals("iam:PassedToService", "ecs-tasks.amazonaws.com"))),
        grant("ReadMigrationLog", "logs:GetLogEvents",
              arn("logs", f"log-group:/${{Application}}/${{EnvironmentName}}/{naming.SERVICE_LOGS}/{service}"
                          ":log-stream:*")),
    ]


def snapshot_grants(cluster_id) -> list[Grant]:
    return [
        grant("SnapshotTheDatabase", "rds:CreateDBClusterSnapshot", arn("rds", "cluster:${Cluster}", Cluster=cluster_id)),
        grant("NameTheSnapshot", "rds:CreateDBClusterSnapshot rds:AddTagsToResource rds:DescribeDBClusterSnapshots",
              arn("rds", f"cluster-snapshot:{STACK}-*")),
    ]
