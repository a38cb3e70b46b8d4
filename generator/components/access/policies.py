"""What each access role may do, as `Grant`s (generator/policies/grants.py): scoped to this app and environment by the
names the templates give (`<app>-<env>-*`, `/<app>/<env>/*`, the cluster `<app>-<env>`), `*` only where the action has
no resource type (each with its reason). tests/test_access.py checks every action and scope against the IAM reference
and docs/access.md's table is generated from these lists.

Sources: "Actions, resources, and condition keys" of each service (the Service Authorization Reference, as the tests'
IAM data ships it); ECS Exec: "Using IAM policies to limit access to ECS Exec" (ecs:ExecuteCommand on the cluster and
the task); CloudFormation service roles: "cloudformation:RoleArn" condition key (CreateChangeSet, UpdateStack,
ContinueUpdateRollback take the role; a change set is executed with the role it was created with).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from awacs.aws import Condition, StringEquals
from troposphere import Sub

from generator import naming
from generator.policies.cfn_actions import arn
from generator.policies.grants import Grant, grant

if TYPE_CHECKING:
    from generator.config import AppSpec

ENV = "${Application}-${EnvironmentName}"


def _here(service: str, resource: str, region: bool = True) -> Sub:
    return arn(service, resource, region=region)


class Persona(NamedTuple):
    name: str                       # viewer, developer, devops
    title: str                      # Viewer, Developer, DevOps
    grants: list[Grant]             # in every environment
    non_production: list[Grant]     # outside production only


def viewer(app: AppSpec) -> list[Grant]:
    stacks = [_here("cloudformation", f"stack/{ENV}/*"), _here("cloudformation", f"stack/{ENV}-*/*")]
    return [
        grant("ReadStacks", "cloudformation:DescribeStacks cloudformation:DescribeStackEvents "
              "cloudformation:DescribeStackResource cloudformation:DescribeStackResources "
              "cloudformation:ListStackResources cloudformation:GetTemplate cloudformation:GetTemplateSummary "
              "cloudformation:ListChangeSets cloudformation:DescribeChangeSet", stacks),
        grant("ListStacks", "cloudformation:ListStacks cloudformation:DescribeStackDriftDetectionStatus",
              why_any="listing stacks and reading a drift detection's status have no resource type"),
        grant("ReadServices", "ecs:DescribeClusters ecs:DescribeServices ecs:DescribeTasks ecs:ListTagsForResource",
              [_here("ecs", f"cluster/{ENV}"), _here("ecs", f"service/{ENV}/*"), _here("ecs", f"task/{ENV}/*")]),
        grant("ListServicesAndTasks", "ecs:DescribeTaskDefinition ecs:ListClusters ecs:ListTaskDefinitions "
              "ecs:ListServices ecs:ListTasks",
              why_any="these ECS reads have no resource type (ListTasks names Fargate tasks by cluster, not by a "
                      "container instance); they return names and definitions, no data"),
        grant("ReadLogs", "logs:DescribeLogStreams logs:GetLogEvents logs:FilterLogEvents",
              [_here("logs", f"log-group:/${{Application}}/${{EnvironmentName}}/*"),
               _here("logs", f"log-group:/${{Application}}/${{EnvironmentName}}/*:log-stream:*")]),
        grant("ReadMetrics", "cloudwatch:GetMetricData cloudwatch:GetMetricStatistics cloudwatch:ListMetrics "
              "cloudwatch:ListDashboards logs:DescribeLogGroups elasticloadbalancing:DescribeLoadBalancers "
              "elasticloadbalancing:DescribeTargetGroups elasticloadbalancing:DescribeTargetHealth "
              "elasticloadbalancing:DescribeListeners elasticloadbalancing:DescribeRules",
              why_any="metric reads, listings and load balancer descriptions have no resource type"),
        grant("ReadAlarms", "cloudwatch:DescribeAlarms cloudwatch:DescribeAlarmHistory",
              [_here("cloudwatch", f"alarm:{ENV}-*")]),
        grant("ReadDashboards", "cloudwatch:GetDashboard", [_here("cloudwatch", f"dashboard/{ENV}", region=False)]),
        grant("ReadReleases", "codedeploy:GetApplication codedeploy:GetDeploymentGroup codedeploy:ListDeployments "
              "codedeploy:GetDeployment codedeploy:ListDeploymentGroups",
              [_here("codedeploy", f"application:{ENV}-*"), _here("codedeploy", f"deploymentgroup:{ENV}-*/*")]),
        grant("ReadJobs", "states:DescribeStateMachine states:ListExecutions states:DescribeExecution "
              "states:GetExecutionHistory",
              [_here("states", f"stateMachine:{ENV}-*"), _here("states", f"execution:{ENV}-*:*")]),
    ]


def developer(app: AppSpec) -> tuple[list[Grant], list[Grant]]:
    always = [
        grant("QueryLogs", "logs:StartQuery", [_here("logs", "log-group:/${Application}/${EnvironmentName}/*")]),
        grant("ReadQueryResults", "logs:GetQueryResults logs:StopQuery logs:DescribeQueries",
              why_any="Logs Insights queries are addressed by ids CloudWatch Logs generates"),
    ]
    outside_production = [
        exec_into_tasks("ExecIntoNonProductionTasks"),
        grant("ReadNonProductionQueues", "sqs:ReceiveMessage sqs:GetQueueAttributes sqs:GetQueueUrl",
              [_here("sqs", f"{ENV}-*")]),
        grant("ReadNonProductionTables", "dynamodb:DescribeTable dynamodb:GetItem dynamodb:BatchGetItem "
              "dynamodb:Query dynamodb:Scan", [_here("dynamodb", f"table/{ENV}-*")]),
    ]
    return always, outside_production


def exec_into_tasks(sid: str) -> Grant:
    """ECS Exec: ecs:ExecuteCommand on the cluster and its tasks (the task role holds the ssmmessages side)."""
    return grant(sid, "ecs:ExecuteCommand", [_here("ecs", f"cluster/{ENV}"), _here("ecs", f"task/{ENV}/*")])


def devops(app: AppSpec) -> list[Grant]:
    stacks = [_here("cloudformation", f"stack/{ENV}/*"), _here("cloudformation", f"stack/{ENV}-*/*")]
    cfn_role = Sub(naming.role_arn(naming.CLOUDFORMATION_ROLE))
    found = [
        grant("ChangeStacksThroughTheirRole", "cloudformation:CreateChangeSet cloudformation:UpdateStack "
              "cloudformation:ContinueUpdateRollback", stacks,
              Condition(StringEquals("cloudformation:RoleArn", cfn_role))),
        grant("ExecuteChangeSets", "cloudformation:ExecuteChangeSet cloudformation:DeleteChangeSet "
              "cloudformation:CancelUpdateStack cloudformation:DetectStackDrift "
              "cloudformation:DetectStackResourceDrift", stacks),
        grant("PassTheCloudFormationRole", "iam:PassRole", [cfn_role],
              Condition(StringEquals("iam:PassedToService", "cloudformation.amazonaws.com"))),
        grant("ControlReleases", "codedeploy:ContinueDeployment codedeploy:StopDeployment",
              why_any="CodeDeploy's deployment actions have no resource type (deployments have generated ids)"),
        exec_into_tasks("ExecIntoTasks"),
        grant("DatabaseSnapshots", "rds:CreateDBClusterSnapshot rds:DescribeDBClusterSnapshots "
              "rds:DescribeDBClusters rds:AddTagsToResource",
              [_here("rds", f"cluster:{ENV}-*"), _here("rds", f"cluster-snapshot:{ENV}-*")]),
    ]
    secrets = secret_arns(app)
    if secrets:
        found.append(grant("WriteSecretValues", "secretsmanager:PutSecretValue secretsmanager:DescribeSecret",
                           secrets))
    if app.pipeline is not None:
        pipeline = f"arn:${{AWS::Partition}}:codepipeline:${{AWS::Region}}:{app.pipeline.account_id}:" \
                   "${Application}-pipeline"
        found.append(grant("ApproveAndRetryReleases", "codepipeline:GetPipelineState codepipeline:GetPipelineExecution "
                           "codepipeline:ListPipelineExecutions codepipeline:PutApprovalResult "
                           "codepipeline:RetryStageExecution", [Sub(pipeline), Sub(pipeline + "/*")]))
    return found


def secret_arns(app: AppSpec) -> list[Sub]:
    """The app's secrets: those its services read (names may hold ${Application} and ${EnvironmentName}), without the
    random suffix Secrets Manager appends."""
    names = sorted({ref.partition(":")[0] for svc in app.services for ref in svc.secrets.values()})
    return [Sub(f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{n}-??????")
            for n in names]


def personas(app: AppSpec) -> list[Persona]:
    """Each role's grants: a role has the grants of the one before it, plus its own."""
    read = viewer(app)
    dev_always, dev_outside = developer(app)
    ops = devops(app)
    return [Persona("viewer", "Viewer", read, []),
            Persona("developer", "Developer", read + dev_always, dev_outside),
            # ECS Exec everywhere (in `ops`); the data reads stay outside production, as the Developer's
            Persona("devops", "DevOps", read + dev_always + ops, [g for g in dev_outside if g.sid.startswith("Read")])]


def persona_table(app: AppSpec) -> str:
    """docs/access.md's table: each statement of the roles' policies (its Sid and actions), and which role has it
    (everywhere, or outside production only). tests/test_access.py keeps the page in sync."""
    roles = personas(app)
    rows: dict[str, tuple[Grant, dict[str, str]]] = {}
    for persona in roles:
        for grants, where in ((persona.grants, "yes"), (persona.non_production, "outside production")):
            for g in grants:
                rows.setdefault(g.sid, (g, {}))[1][persona.name] = where
    lines = ["| statement | actions | " + " | ".join(p.title for p in roles) + " |",
             "| --- | --- | " + " | ".join("---" for _ in roles) + " |"]
    for sid, (g, has) in rows.items():
        actions = ", ".join(f"`{a}`" for a in g.actions)
        lines.append(f"| {sid} | {actions} | " + " | ".join(has.get(p.name, "") for p in roles) + " |")
    return "\n".join(lines)
