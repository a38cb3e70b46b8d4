"""What each environment's CloudFormation execution role `<app>-cloudformation` may do (deploy-role.yaml, target
accounts): create, update and delete the `<app>-<env>` root and nested stacks.

Actions follow the resource handlers' declared permissions (the CloudFormation registry schemas bundled with
cfn-lint, `handlers.*.permissions`), grouped per family of resource types; a group is granted only when the stacks
declare one of its types. Resources are named by prefix where the ARN holds a name the templates choose
(`<app>-<env>-*`, `/<app>/<env>/*`), roles by their path `/<app>/<env>/` (CloudFormation generates, and truncates,
their names); `*` remains where the ARN holds an id AWS generates or the action has no resource type, each with its
reason (`why_any`). A resource type without a group fails the build, so a new nested stack cannot silently outgrow
the role; an action a handler needs and the role lacks fails the gate (generator/lint/handler_permissions.py).
"""
from __future__ import annotations

from awacs.aws import ArnLike, Condition, StringEquals
from troposphere import Sub

from generator import naming
from generator.config import AppSpec
from generator.errors import WiringError
from generator.pipeline import common
from generator.pipeline.grants import Grant, grant
from generator.pipeline.permissions import (KEY_ACTIONS, REPOSITORY_ACTIONS, arn, bucket_grants, log_group_grants,
                                            pass_self)


def environment_stack(app: AppSpec, resource_types: set[str]) -> list[Grant]:
    """Create, update and delete an environment's root and nested stacks (`<app>-<env>`, resources `<app>-<env>-*`).

    `resource_types`: every type the root and nested templates declare; one without a grant here fails the build."""
    envs = list(app.environments)

    def each(pattern: str, service: str, region: bool = True) -> list[Sub]:
        return [arn(service, pattern.replace("{env}", env), region=region) for env in envs]

    uncovered = sorted(t for t in resource_types if t not in COVERED)
    if uncovered:
        raise WiringError("the environments' CloudFormation role (generator/pipeline/environment_permissions.py) has no "
                          f"permissions for {', '.join(uncovered)}; add them to environment_stack and COVERED")
    roles = each(naming.role_grant_pattern("{env}"), "iam", region=False)
    pass_to = sorted({s for t in resource_types for s in PASSED_TO.get(t, ())})
    linked = sorted({s for t in resource_types for s in SERVICE_LINKED.get(t, ())})
    grants = [
        grant("ManageStacks", "cloudformation:CreateStack cloudformation:UpdateStack cloudformation:DeleteStack "
              "cloudformation:DescribeStacks cloudformation:DescribeStackEvents cloudformation:DescribeStackResource "
              "cloudformation:DescribeStackResources cloudformation:GetTemplate cloudformation:GetStackPolicy "
              "cloudformation:SetStackPolicy cloudformation:UpdateTerminationProtection cloudformation:TagResource "
              "cloudformation:UntagResource cloudformation:CreateChangeSet cloudformation:DescribeChangeSet "
              "cloudformation:ExecuteChangeSet cloudformation:DeleteChangeSet cloudformation:ListStackResources",
              each("stack/${Application}-{env}/*", "cloudformation")
              + each("stack/${Application}-{env}-*/*", "cloudformation")),
        grant("ReadStacks", "cloudformation:ListStacks cloudformation:ValidateTemplate "
              "cloudformation:GetTemplateSummary", why_any="these CloudFormation reads have no resource type"),
        grant("ReadPackagedTemplates", "s3:GetObject s3:GetObjectVersion",
              Sub("arn:${AWS::Partition}:s3:::${Application}-pipeline-${PipelineAccountId}-${AWS::Region}/*")),
        decrypt_artifacts("DecryptPackagedTemplates"),
        grant("ManageRoles", "iam:CreateRole iam:DeleteRole iam:GetRole iam:UpdateRole iam:UpdateRoleDescription "
              "iam:UpdateAssumeRolePolicy iam:PutRolePolicy iam:GetRolePolicy iam:DeleteRolePolicy "
              "iam:ListRolePolicies iam:ListAttachedRolePolicies iam:TagRole iam:UntagRole", roles),
        pass_self("PassSelfToNestedStacks", common.CLOUDFORMATION_ROLE),
    ]
    # The AWS::IAM::Role handlers declare attach/detach whatever the role holds; the one managed policy any of the
    # environment's roles attaches is the CodeDeploy role's.
    grants.append(grant(
        "AttachCodeDeployPolicy", "iam:AttachRolePolicy iam:DetachRolePolicy", roles,
        Condition(ArnLike("iam:PolicyARN", Sub("arn:${AWS::Partition}:iam::aws:policy/AWSCodeDeployRoleForECS")))))
    if pass_to:
        grants.append(grant("PassRoles", "iam:PassRole", roles,
                            Condition(StringEquals("iam:PassedToService", pass_to))))
    if linked:
        grants.append(grant("CreateServiceLinkedRoles", "iam:CreateServiceLinkedRole",
                            arn("iam", "role/aws-service-role/*", region=False),
                            Condition(StringEquals("iam:AWSServiceName", linked))))
    for group in GROUPS:
        if resource_types & group.types:
            grants += group.grants(each, envs)
    return grants


def decrypt_artifacts(sid: str) -> Grant:
    """Objects of the pipeline's bucket, decrypted by S3 on the caller's behalf (the key lives in the pipeline account
    and its id is not known before the pipeline exists; its key policy names this role)."""
    return grant(sid, "kms:Decrypt kms:DescribeKey", Sub("arn:${AWS::Partition}:kms:${AWS::Region}:${PipelineAccountId}:key/*"),
                 Condition(StringEquals("kms:ViaService", Sub("s3.${AWS::Region}.amazonaws.com"))))


class _Group:
    """Grants for a family of resource types."""

    def __init__(self, types: set[str], make):
        self.types = types
        self.grants = make


def _network(each, envs: list[str]) -> list[Grant]:
    return [grant(
        "ManageNetwork", "ec2:Describe* ec2:CreateVpc ec2:DeleteVpc ec2:ModifyVpcAttribute ec2:CreateSubnet "
        "ec2:DeleteSubnet ec2:ModifySubnetAttribute ec2:CreateInternetGateway ec2:DeleteInternetGateway "
        "ec2:AttachInternetGateway ec2:DetachInternetGateway ec2:AllocateAddress ec2:ReleaseAddress "
        "ec2:AssociateAddress ec2:DisassociateAddress ec2:CreateNatGateway ec2:DeleteNatGateway ec2:CreateRouteTable "
        "ec2:DeleteRouteTable ec2:CreateRoute ec2:DeleteRoute ec2:ReplaceRoute ec2:AssociateRouteTable "
        "ec2:DisassociateRouteTable ec2:ReplaceRouteTableAssociation ec2:CreateSecurityGroup ec2:DeleteSecurityGroup "
        "ec2:AuthorizeSecurityGroupIngress ec2:AuthorizeSecurityGroupEgress ec2:RevokeSecurityGroupIngress "
        "ec2:RevokeSecurityGroupEgress ec2:UpdateSecurityGroupRuleDescriptionsIngress "
        "ec2:UpdateSecurityGroupRuleDescriptionsEgress ec2:CreateVpcEndpoint ec2:DeleteVpcEndpoints "
        "ec2:ModifyVpcEndpoint ec2:CreateFlowLogs ec2:DeleteFlowLogs ec2:CreateTags ec2:DeleteTags "
        "logs:CreateLogDelivery logs:DeleteLogDelivery autoscaling:DescribeTags",
        why_any="VPC resources are addressed by ids EC2 generates (vpc-, subnet-, igw-, nat-, eipalloc-, rtb-, sg-, "
                "vpce-, fl-), so no ARN can be named before they exist; flow-log delivery and the tag reads the flow "
                "log handler makes have no resource type")]


def _load_balancing(each, envs: list[str]) -> list[Grant]:
    return [grant(
        "ManageLoadBalancing", "elasticloadbalancing:Describe* elasticloadbalancing:CreateLoadBalancer "
        "elasticloadbalancing:DeleteLoadBalancer elasticloadbalancing:ModifyLoadBalancerAttributes "
        "elasticloadbalancing:SetSecurityGroups elasticloadbalancing:SetSubnets elasticloadbalancing:SetIpAddressType "
        "elasticloadbalancing:CreateListener elasticloadbalancing:DeleteListener elasticloadbalancing:ModifyListener "
        "elasticloadbalancing:ModifyListenerAttributes elasticloadbalancing:CreateRule elasticloadbalancing:DeleteRule "
        "elasticloadbalancing:ModifyRule elasticloadbalancing:SetRulePriorities elasticloadbalancing:CreateTargetGroup "
        "elasticloadbalancing:DeleteTargetGroup elasticloadbalancing:ModifyTargetGroup "
        "elasticloadbalancing:ModifyTargetGroupAttributes elasticloadbalancing:AddTags elasticloadbalancing:RemoveTags",
        why_any="load balancer, listener, rule and target group ARNs end in ids AWS generates, and their names are "
                "generated by CloudFormation (32-character limit)")]


def _containers(each, envs: list[str]) -> list[Grant]:
    return [
        grant("ManageCluster", "ecs:CreateCluster ecs:DeleteCluster ecs:UpdateCluster ecs:UpdateClusterSettings "
              "ecs:PutClusterCapacityProviders ecs:DescribeClusters ecs:TagResource ecs:UntagResource "
              "ecs:ListTagsForResource", each("cluster/${Application}-{env}", "ecs")),
        grant("ManageServices", "ecs:CreateService ecs:UpdateService ecs:DeleteService ecs:DescribeServices "
              "ecs:TagResource ecs:UntagResource ecs:ListTagsForResource",
              each("service/${Application}-{env}/*", "ecs")),
        # The update handler stops a service deployment it started when the update fails (its own deployments only).
        grant("StopServiceDeployments", "ecs:StopServiceDeployment",
              each("service-deployment/${Application}-{env}/*", "ecs")),
        grant("ManageTaskDefinitions", "ecs:TagResource ecs:UntagResource ecs:ListTagsForResource",
              each("task-definition/${Application}-{env}-*:*", "ecs")),
        grant("RegisterTaskDefinitions", "ecs:RegisterTaskDefinition ecs:DeregisterTaskDefinition "
              "ecs:DescribeTaskDefinition ecs:ListTaskDefinitions ecs:ListClusters ecs:ListServices "
              "ecs:DescribeServiceDeployments ecs:ListServiceDeployments",
              why_any="task definition registration and these ECS reads have no resource type"),
        grant("ManageRepositories", REPOSITORY_ACTIONS, each("repository/${Application}-{env}-*", "ecr")),
        grant("RegistryScanning", "ecr:GetRegistryScanningConfiguration ecr:PutRegistryScanningConfiguration "
              "inspector2:Enable inspector2:Disable inspector2:ListAccountPermissions",
              why_any="registry scanning is one account-wide setting without a resource type"),
    ]


def _releases(each, envs: list[str]) -> list[Grant]:
    return [
        grant("ManageDeploymentGroups", "codedeploy:CreateApplication codedeploy:DeleteApplication "
              "codedeploy:GetApplication codedeploy:CreateDeploymentGroup codedeploy:UpdateDeploymentGroup "
              "codedeploy:DeleteDeploymentGroup codedeploy:GetDeploymentGroup codedeploy:TagResource "
              "codedeploy:UntagResource codedeploy:ListTagsForResource codedeploy:ListDeployments "
              "codedeploy:GetDeployment",
              each("application:${Application}-{env}-*", "codedeploy")
              + each("deploymentgroup:${Application}-{env}-*/*", "codedeploy")),
        grant("ReadDeploymentConfigs", "codedeploy:GetDeploymentConfig", arn("codedeploy", "deploymentconfig:*")),
        grant("ManageAlarms", "cloudwatch:PutMetricAlarm cloudwatch:DeleteAlarms cloudwatch:DescribeAlarms "
              "cloudwatch:TagResource cloudwatch:UntagResource cloudwatch:ListTagsForResource",
              each("alarm:${Application}-{env}-*", "cloudwatch")),
    ]


def _scaling(each, envs: list[str]) -> list[Grant]:
    return [grant(
        "ManageScaling", "application-autoscaling:RegisterScalableTarget "
        "application-autoscaling:DeregisterScalableTarget application-autoscaling:Describe* "
        "application-autoscaling:PutScalingPolicy application-autoscaling:DeleteScalingPolicy "
        "application-autoscaling:PutScheduledAction application-autoscaling:DeleteScheduledAction "
        "application-autoscaling:TagResource application-autoscaling:UntagResource "
        "application-autoscaling:ListTagsForResource cloudwatch:GetMetricData",
        why_any="scalable targets are addressed by ids Application Auto Scaling generates"),
        # Target tracking creates and deletes its alarms with the caller's rights, named
        # TargetTracking-service/<cluster>/<service>-AlarmHigh|AlarmLow-<uuid> (our cluster is <app>-<env>).
        # Doc: "IAM permissions required for Amazon ECS service auto scaling" (Amazon ECS developer guide).
        grant("ManageTargetTrackingAlarms", "cloudwatch:PutMetricAlarm cloudwatch:DeleteAlarms "
              "cloudwatch:DescribeAlarms", each("alarm:TargetTracking-service/${Application}-{env}/*", "cloudwatch"))]


def _logs_keys_buckets(each, envs: list[str]) -> list[Grant]:
    return [
        *log_group_grants("ManageLogGroups", each("log-group:/${Application}/{env}/*", "logs")),
        grant("CreateKeys", "kms:CreateKey kms:ListAliases", why_any="kms:CreateKey has no resource type"),
        grant("ManageKeys", KEY_ACTIONS, arn("kms", "key/*")),
        *bucket_grants("ManageBuckets", [Sub(f"arn:${{AWS::Partition}}:s3:::${{Application}}-{env}-*") for env in envs]),
    ]


def _jobs(each, envs: list[str]) -> list[Grant]:
    return [
        grant("ManageQueues", "sqs:CreateQueue sqs:DeleteQueue sqs:GetQueueAttributes sqs:SetQueueAttributes "
              "sqs:GetQueueUrl sqs:TagQueue sqs:UntagQueue sqs:ListQueueTags", each("${Application}-{env}-*", "sqs")),
        grant("ManageStateMachines", "states:CreateStateMachine states:UpdateStateMachine states:DeleteStateMachine "
              "states:DescribeStateMachine states:TagResource states:UntagResource states:ListTagsForResource",
              each("stateMachine:${Application}-{env}-*", "states")),
        grant("ManageSchedules", "scheduler:CreateSchedule scheduler:UpdateSchedule scheduler:DeleteSchedule "
              "scheduler:GetSchedule", each("schedule/default/${Application}-{env}-*", "scheduler")),
    ]


GROUPS = (
    _Group({"AWS::EC2::EIP", "AWS::EC2::FlowLog", "AWS::EC2::InternetGateway", "AWS::EC2::NatGateway",
            "AWS::EC2::Route", "AWS::EC2::RouteTable", "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress",
            "AWS::EC2::SecurityGroupEgress", "AWS::EC2::Subnet", "AWS::EC2::SubnetRouteTableAssociation",
            "AWS::EC2::VPC", "AWS::EC2::VPCEndpoint", "AWS::EC2::VPCGatewayAttachment"}, _network),
    _Group({"AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::ListenerRule",
            "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ElasticLoadBalancingV2::TargetGroup"}, _load_balancing),
    _Group({"AWS::ECS::Cluster", "AWS::ECS::Service", "AWS::ECS::TaskDefinition", "AWS::ECR::Repository",
            "AWS::ECR::RegistryScanningConfiguration"}, _containers),
    _Group({"AWS::CodeDeploy::Application", "AWS::CodeDeploy::DeploymentGroup", "AWS::CloudWatch::Alarm"}, _releases),
    _Group({"AWS::ApplicationAutoScaling::ScalableTarget", "AWS::ApplicationAutoScaling::ScalingPolicy"}, _scaling),
    _Group({"AWS::Logs::LogGroup", "AWS::KMS::Key", "AWS::S3::Bucket", "AWS::S3::BucketPolicy"}, _logs_keys_buckets),
    _Group({"AWS::SQS::Queue", "AWS::StepFunctions::StateMachine", "AWS::Scheduler::Schedule"}, _jobs),
)
COVERED = frozenset({"AWS::CloudFormation::Stack", "AWS::IAM::Role"}).union(*(g.types for g in GROUPS))
# Services the templates hand roles to (iam:PassedToService), and service-linked roles their resources need.
PASSED_TO = {
    "AWS::EC2::FlowLog": ("vpc-flow-logs.amazonaws.com",),
    "AWS::ECS::TaskDefinition": ("ecs-tasks.amazonaws.com",),
    "AWS::CodeDeploy::DeploymentGroup": ("codedeploy.amazonaws.com",),
    "AWS::StepFunctions::StateMachine": ("states.amazonaws.com",),
    "AWS::Scheduler::Schedule": ("scheduler.amazonaws.com",),
}
SERVICE_LINKED = {
    "AWS::ECS::Cluster": ("ecs.amazonaws.com",),
    "AWS::ECS::Service": ("ecs.amazonaws.com",),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ("elasticloadbalancing.amazonaws.com",),
    "AWS::ApplicationAutoScaling::ScalableTarget": ("ecs.application-autoscaling.amazonaws.com",),
    "AWS::ECR::RegistryScanningConfiguration": ("inspector2.amazonaws.com",),
}
