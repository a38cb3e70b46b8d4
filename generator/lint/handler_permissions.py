"""Gate check: the role that deploys a template allows every action its resource handlers declare.

CloudFormation runs each resource type's handlers with the stack's role, and a create or update ends with the read
handler, so one missing action fails the resource with AccessDenied mid-deploy (aws-reference §8). Each type's
CloudFormation registry schema lists what its handlers call (`handlers.{create,read,update,delete}.permissions`);
cfn-lint ships those schemas (`cfnlint/data/schemas/providers/<region>.json` maps a type to the hash of
`resources/<hash>.json`), so the pinned cfn-lint is the source of truth for the region the app deploys to.

For each `Deployer` (a template, its nested templates, and the role CloudFormation uses for them), every action of
every handler of every resource type must match an `Allow` of the role's policies (IAM wildcards `*` and `?`,
case-insensitive), or be in `ALLOW_LIST` with the reason it cannot be needed. What this check does not look at:
resource ARNs and conditions (tests/test_pipeline_iam.py checks each action's scope against the IAM reference,
tests/test_generated_names.py that every generated name falls inside its grant).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from generator.deployer import Deployer   # defined apart: a generation declares deployers, never imports the check
from generator.lint import cfnlint_dir
from generator.records import record

SCHEMAS = cfnlint_dir() / "data" / "schemas"
IAM_ACTIONS_FILE = cfnlint_dir() / "data" / "AdditionalSpecs" / "Policies.json"  # cfn-lint's W3037 data
HANDLERS = ("create", "read", "update", "delete")
NESTED_STACK = "AWS::CloudFormation::Stack"

# Types a transform replaces before any handler runs, and what it creates instead. The SAM transform turns a
# function with an explicit `Role`, no `Events`, no `AutoPublishAlias` and no `DeploymentPreference` into one
# AWS::Lambda::Function (SAM specification, AWS::Serverless::Function "generated resources"); anything else is
# refused below rather than guessed.
TRANSFORMED = {
    "AWS::Serverless::Function": ("AWS::Lambda::Function",),
}
_SAM_PROPERTIES_THAT_ADD_RESOURCES = ("Events", "AutoPublishAlias", "DeploymentPreference", "FunctionUrlConfig",
                                      "Policies", "ProvisionedConcurrencyConfig", "EventInvokeConfig")

# Actions a type needs beyond its schema: services that act with the caller's rights on resources the handler never
# names. (resource type, handler) -> (source, actions).
EXTRA_NEEDS: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    # Target tracking creates and deletes its TargetTracking-* alarms with the caller's rights, and registering an
    # ECS scalable target describes and updates the service.
    ("AWS::ApplicationAutoScaling::ScalingPolicy", "create"): (
        "Doc: IAM permissions required for Amazon ECS service auto scaling",
        ("cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms")),
    ("AWS::ApplicationAutoScaling::ScalingPolicy", "delete"): (
        "Doc: IAM permissions required for Amazon ECS service auto scaling", ("cloudwatch:DeleteAlarms",)),
    ("AWS::ApplicationAutoScaling::ScalableTarget", "create"): (
        "Doc: IAM permissions required for Amazon ECS service auto scaling",
        ("ecs:DescribeServices", "ecs:UpdateService")),
}

# Handler entries that name an API, not the IAM action that authorizes it (S3 API reference: "To use this operation,
# you must have permission to perform the s3:PutBucketCORS action", and likewise for each configuration it removes).
AUTHORIZED_BY = {
    "s3:DeleteBucketCors": "s3:PutBucketCORS",
    "s3:DeleteBucketAnalyticsConfiguration": "s3:PutAnalyticsConfiguration",
    "s3:DeleteBucketMetricsConfiguration": "s3:PutMetricsConfiguration",
    "s3:DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "s3:DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "s3:DeleteBucketReplication": "s3:PutReplicationConfiguration",
}

# Types whose schema declares no handler permissions (not yet registry resources), with what stands in for them.
UNDECLARED = {
    "AWS::CodeBuild::Project": "a non-registry resource (its schema has no handlers); the stack role's codebuild "
                               "grants follow the CodeBuild API reference and tests/test_pipeline_iam.py",
}

# (resource type, action) -> why the role need not allow it: IAM actions of create/update/delete handlers tied to
# properties the generator never sets. Never a read-handler action: the read handler runs after every create and
# update. tests/test_handler_permissions.py fails on an entry that no longer applies (the type is gone, the schema
# dropped the action, or the role grants it after all).
_NEVER_SET: dict[str, dict[str, str]] = {
    "AWS::Logs::LogGroup": {
        "DataProtectionPolicy (and its audit destinations) is never set":
            "logs:PutDataProtectionPolicy logs:DeleteDataProtectionPolicy logs:CreateLogDelivery "
            "firehose:TagDeliveryStream",
        "ResourcePolicyDocument is never set": "logs:PutResourcePolicy logs:DeleteResourcePolicy",
        "FieldIndexPolicies is never set": "logs:PutIndexPolicy logs:DeleteIndexPolicy",
        "BearerTokenAuthenticationEnabled is never set": "logs:PutBearerTokenAuthentication",
        "DeletionProtectionEnabled is never set": "logs:PutLogGroupDeletionProtection",
    },
    "AWS::CloudFront::Distribution": {
        "ConnectionMode is never set (no multi-tenant distributions, so no connection groups)":
            "cloudfront:CreateConnectionGroup cloudfront:GetConnectionGroup",
        "VpcOriginConfig is never set (the load balancer is an internet-facing custom origin)": "cloudfront:GetVpcOrigin"},
    "AWS::IAM::Role": {"PermissionsBoundary is never set":
                       "iam:PutRolePermissionsBoundary iam:DeleteRolePermissionsBoundary"},
    "AWS::IAM::ManagedPolicy": {"Groups and Users are never set (policies attach to roles only)":
                                "iam:AttachGroupPolicy iam:DetachGroupPolicy iam:AttachUserPolicy "
                                "iam:DetachUserPolicy"},
    "AWS::ApplicationAutoScaling::ScalableTarget": {
        "ServiceNamespace is always ecs; provisioned concurrency belongs to Lambda targets":
            "lambda:GetProvisionedConcurrencyConfig lambda:PutProvisionedConcurrencyConfig "
            "lambda:DeleteProvisionedConcurrencyConfig"},
    "AWS::CodeDeploy::DeploymentGroup": {
        "Deployment is never set (ECS releases come from the pipeline's CodeDeployToECS actions)":
            "codedeploy:CreateDeployment codedeploy:GetApplicationRevision codedeploy:RegisterApplicationRevision "
            "codedeploy:StopDeployment",
        "OnPremisesInstanceTagFilters and OnPremisesTagSet are never set (ECS compute platform)":
            "codedeploy:RegisterOnPremisesInstance"},
    "AWS::EC2::EIP": {"TransferAddress is never set": "ec2:AcceptAddressTransfer"},
    "AWS::EC2::NatGateway": {
        "SecondaryAllocationIds and SecondaryPrivateIpAddresses(Count) are never set":
            "ec2:AssignPrivateNatGatewayAddress ec2:UnassignPrivateNatGatewayAddress "
            "ec2:AssociateNatGatewayAddress ec2:DisassociateNatGatewayAddress"},
    "AWS::EC2::Subnet": {"Ipv6CidrBlock is never set": "ec2:AssociateSubnetCidrBlock ec2:DisassociateSubnetCidrBlock"},
    "AWS::EC2::VPC": {"VpcEncryptionControl is never set": "ec2:CreateVpcEncryptionControl",
                      "InstanceTenancy is never set": "ec2:ModifyVpcTenancy"},
    "AWS::EC2::VPCEndpoint": {
        "ServiceNetworkArn is never set (endpoints to AWS services only)":
            "vpc-lattice:CreateServiceNetworkVpcEndpointAssociation",
        "ServiceRegion is never set (same-region endpoints)": "vpce:AllowMultiRegion"},
    "AWS::EC2::VPCGatewayAttachment": {"VpnGatewayId is never set (internet gateways only)":
                                       "ec2:AttachVpnGateway ec2:DetachVpnGateway"},
    "AWS::ECS::Cluster": {
        "account-wide ECS settings, not a cluster property: Container Insights is set per cluster (ClusterSettings, "
        "ecs:UpdateClusterSettings), and granting these would let the stack role change every principal's defaults":
            "ecs:PutAccountSetting ecs:PutAccountSettingDefault"},
    "AWS::ElasticLoadBalancingV2::Listener": {"no authenticate-cognito action is used":
                                              "cognito-idp:DescribeUserPoolClient"},
    "AWS::ElasticLoadBalancingV2::ListenerRule": {"no authenticate-cognito action is used":
                                                  "cognito-idp:DescribeUserPoolClient"},
    "AWS::ElasticLoadBalancingV2::LoadBalancer": {
        "MinimumLoadBalancerCapacity is never set": "elasticloadbalancing:ModifyCapacityReservation",
        "Ipv4IpamPoolId is never set": "elasticloadbalancing:ModifyIpPools"},
    "AWS::ElasticLoadBalancingV2::TargetGroup": {
        "Targets is never set (ECS registers the tasks itself)":
            "elasticloadbalancing:RegisterTargets elasticloadbalancing:DeregisterTargets"},
    "AWS::S3::Bucket": {
        "AbacStatus is never set": "s3:PutBucketAbac",
        "AccelerateConfiguration is never set": "s3:PutAccelerateConfiguration",
        "IntelligentTieringConfigurations is never set": "s3:PutIntelligentTieringConfiguration",
        "InventoryConfigurations is never set": "s3:PutInventoryConfiguration",
        "ObjectLockConfiguration and ObjectLockEnabled are never set":
            "s3:PutBucketObjectLockConfiguration",
        "WebsiteConfiguration is never set": "s3:PutBucketWebsite",
        "LoggingConfiguration is never set (its delivery writes and clears objects)": "s3:PutObjectAcl s3:DeleteObject",
        "MetadataTableConfiguration and MetadataConfiguration are never set":
            "s3:CreateBucketMetadataTableConfiguration s3:UpdateBucketMetadataJournalTableConfiguration "
            "s3:UpdateBucketMetadataInventoryTableConfiguration s3:UpdateBucketMetadataAnnotationTableConfiguration "
            "s3tables:CreateNamespace s3tables:CreateTable s3tables:CreateTableBucket s3tables:GetTable "
            "s3tables:GetTableMetadataLocation s3tables:PutTableBucketPolicy s3tables:PutTableEncryption "
            "s3tables:PutTablePolicy s3tables:UpdateTableMetadataLocation"},
    "AWS::SNS::Topic": {"DataProtectionPolicy is never set": "sns:PutDataProtectionPolicy"},
    "AWS::DynamoDB::Table": {
        "ImportSourceSpecification is never set (the import reads S3 and writes CloudWatch Logs and items)":
            "dynamodb:ImportTable dynamodb:DescribeImport dynamodb:BatchWriteItem logs:CreateLogStream "
            "logs:DescribeLogStreams logs:PutLogEvents",
        "Replicas are never set (a table, not a global table; replica creation copies items)":
            "dynamodb:CreateTableReplica dynamodb:AssociateTableReplica dynamodb:Scan dynamodb:Query "
            "dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem dynamodb:DeleteItem",
        "KinesisStreamSpecification is never set (DynamoDB streams only)":
            "dynamodb:EnableKinesisStreamingDestination dynamodb:DisableKinesisStreamingDestination "
            "dynamodb:UpdateKinesisStreamingDestination kinesis:DescribeStream kinesis:PutRecords",
        "ResourcePolicy is never set (access is granted by the task roles)":
            "dynamodb:PutResourcePolicy dynamodb:DeleteResourcePolicy"},
    "AWS::EFS::FileSystem": {
        "ReplicationConfiguration is never set": "elasticfilesystem:CreateReplicationConfiguration "
                                                 "elasticfilesystem:DeleteReplicationConfiguration"},
    "AWS::ElastiCache::ReplicationGroup": {
        "LogDeliveryConfigurations is never set": "logs:CreateLogStream logs:PutLogEvents logs:GetLogDelivery "
                                                  "logs:ListLogDeliveries logs:UpdateLogDelivery firehose:PutRecord "
                                                  "firehose:PutRecordBatch firehose:TagDeliveryStream"},
    "AWS::SecretsManager::Secret": {
        "ReplicaRegions is never set": "secretsmanager:ReplicateSecretToRegions "
                                       "secretsmanager:RemoveRegionsFromReplication"},
    "AWS::Lambda::Function": {
        "VpcConfig is never set": "ec2:DescribeNetworkInterfaces ec2:DescribeSecurityGroups ec2:DescribeSubnets "
                                  "ec2:DescribeVpcs",
        "FileSystemConfigs is never set": "elasticfilesystem:DescribeMountTargets s3files:ListMountTargets",
        "KmsKeyArn is never set (environment variables use the AWS-managed key)": "kms:Encrypt",
        "CodeSigningConfigArn is never set": "lambda:GetCodeSigningConfig lambda:PutFunctionCodeSigningConfig",
        "Layers is never set": "lambda:GetLayerVersion",
        "ReservedConcurrentExecutions is never set": "lambda:PutFunctionConcurrency",
        "CapacityProviderConfig, FunctionScalingConfig and PublishToLatestPublished are never set (Lambda managed "
        "instances)": "lambda:PassCapacityProvider lambda:PutFunctionScalingConfig lambda:PublishVersion"},
}
ALLOW_LIST: dict[tuple[str, str], str] = {
    (resource_type, action): reason
    for resource_type, reasons in _NEVER_SET.items() for reason, actions in reasons.items() for action in actions.split()
}


@record(frozen=True)
class Need:
    """One handler action one resource type needs (the IAM action: AUTHORIZED_BY applied), and in which template the
    type appears."""

    resource_type: str
    handler: str
    action: str
    template: str


# --- the registry schemas ----------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _provider(region: str) -> Mapping[str, str]:
    path = SCHEMAS / "providers" / f"{region}.json"
    if not path.exists():
        path = SCHEMAS / "providers" / "us-east-1.json"
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _iam_text() -> str:
    return IAM_ACTIONS_FILE.read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def service_actions(service: str) -> frozenset[str]:
    """The IAM actions cfn-lint knows for one service (lowercase), as its W3037 rule checks policies. Only that
    service's part of the 2 MB file is decoded (the file is cfn-lint's own, one top-level key per line)."""
    text = _iam_text()
    start = text.find(f'\n "{service}": {{')
    if start < 0:
        spec = json.loads(text).get(service, {})
    else:
        spec, _ = json.JSONDecoder().raw_decode(text, text.index("{", start))
    return frozenset(spec.get("Actions", {}))


def is_iam_action(action: str) -> bool:
    service, _, name = action.lower().partition(":")
    return name in service_actions(service)


@lru_cache(maxsize=None)
def handler_permissions(region: str, resource_type: str) -> Mapping[str, tuple[str, ...]] | None:
    """{handler: actions} from the type's registry schema in `region`, or None when the region has no schema."""
    digest = _provider(region).get(resource_type)
    if digest is None:
        return None
    schema = json.loads((SCHEMAS / "resources" / f"{digest}.json").read_text(encoding="utf-8"))
    handlers = schema.get("handlers", {})
    return {h: tuple(handlers.get(h, {}).get("permissions", ())) for h in HANDLERS}


# --- what the templates need -------------------------------------------------------------------------------------
def _nested_files(resource: dict) -> str | None:
    url = resource.get("Properties", {}).get("TemplateURL")
    return url[2:] if isinstance(url, str) and url.startswith("./") else None


def resource_types(templates: Mapping[str, dict], top: str) -> Iterator[tuple[str, str, dict]]:
    """(template, type, resource) for `top` and every template it nests (TemplateURL `./file`)."""
    seen: set[str] = set()
    todo = [top]
    for name in todo:           # breadth first, in declaration order: a type is reported where it first appears
        if name in seen or name not in templates:
            continue
        seen.add(name)
        for resource in (templates[name].get("Resources") or {}).values():
            yield name, resource["Type"], resource
            if resource["Type"] == NESTED_STACK and (child := _nested_files(resource)):
                todo.append(child)


def needs(templates: Mapping[str, dict], top: str, region: str) -> tuple[list[Need], list[str]]:
    """Every handler action the types under `top` need (transforms expanded), and problems (unknown types)."""
    found: dict[tuple[str, str, str], Need] = {}
    problems = []
    for template, declared, resource in resource_types(templates, top):
        types = TRANSFORMED.get(declared, (declared,))
        if declared in TRANSFORMED:
            extra = [p for p in _SAM_PROPERTIES_THAT_ADD_RESOURCES if p in resource.get("Properties", {})]
            if extra or "Role" not in resource.get("Properties", {}):
                problems.append(f"{template}: {declared} with {', '.join(extra) or 'no Role'}: the transform then "
                                f"creates more than {', '.join(types)}; teach generator/lint/handler_permissions.py "
                                f"what it creates")
        for resource_type in types:
            perms = handler_permissions(region, resource_type)
            if perms is None:
                problems.append(f"{template}: {resource_type} has no registry schema for {region} in the pinned "
                                f"cfn-lint, so the role's rights for it cannot be checked")
                continue
            if not any(perms.values()) and resource_type not in UNDECLARED:
                problems.append(f"{template}: {resource_type}: its registry schema declares no handler permissions; "
                                f"say what stands in for them in UNDECLARED (generator/lint/handler_permissions.py)")
            for handler in HANDLERS:
                extra = EXTRA_NEEDS.get((resource_type, handler), ("", ()))[1]
                for listed in (*perms[handler], *extra):
                    action = AUTHORIZED_BY.get(listed, listed)
                    found.setdefault((resource_type, handler, action), Need(resource_type, handler, action, template))
    return sorted(found.values(), key=lambda n: (n.resource_type, n.action, n.handler)), problems


# --- what the role allows ----------------------------------------------------------------------------------------
def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def role_statements(template: dict, role: str) -> list[dict]:
    """The statements of the role's inline policies and of the managed policies of the same template it attaches."""
    resources = template.get("Resources") or {}
    props = resources[role].get("Properties", {})
    documents = [p["PolicyDocument"] for p in props.get("Policies") or []]
    for arn in props.get("ManagedPolicyArns") or []:
        if isinstance(arn, dict) and "Ref" in arn and arn["Ref"] in resources:
            documents.append(resources[arn["Ref"]]["Properties"]["PolicyDocument"])
    return [s for d in documents for s in _as_list(d["Statement"])]


class Allowed:
    """The actions a set of statements allows, wildcards honoured (conditions and resources are not evaluated)."""

    def __init__(self, statements: Iterable[dict]):
        allow, deny, self.unreadable = [], [], []
        for st in statements:
            if "NotAction" in st:
                self.unreadable.append(st.get("Sid", "?"))
                continue
            target = allow if st.get("Effect") == "Allow" else deny
            if st.get("Effect") != "Allow" and (st.get("Condition") or _as_list(st.get("Resource")) != ["*"]):
                continue  # a scoped or conditional Deny does not remove the action everywhere
            target += [a for a in _as_list(st.get("Action", [])) if isinstance(a, str)]
        self._allow = _pattern(allow)
        self._deny = _pattern(deny)

    def __contains__(self, action: str) -> bool:
        return bool(self._allow.fullmatch(action)) and not self._deny.fullmatch(action)


def _pattern(actions: list[str]) -> re.Pattern:
    if not actions:
        return re.compile(r"(?!)")
    alternatives = sorted({re.escape(a).replace(r"\*", ".*").replace(r"\?", ".") for a in actions})
    return re.compile("|".join(alternatives), re.IGNORECASE)


# --- the check ---------------------------------------------------------------------------------------------------
@record(frozen=True)
class Result:
    """One deployer's outcome: what was needed, what the allow-list excused, what no IAM policy can grant (handler
    entries cfn-lint's IAM data does not know as actions), what is missing."""

    deployer: Deployer
    needs: tuple[Need, ...]
    allow_listed: tuple[Need, ...]
    not_iam: tuple[Need, ...]
    missing: tuple[Need, ...]
    problems: tuple[str, ...]


def evaluate(templates: Mapping[str, dict], deployer: Deployer, region: str,
             statements: list[dict] | None = None) -> Result:
    """`statements`: the role's policy statements when they are not in `templates` (default: read from the role)."""
    found, problems = needs(templates, deployer.template, region)
    allowed = Allowed(statements if statements is not None
                      else role_statements(templates[deployer.role_template], deployer.role))
    if allowed.unreadable:
        problems.append(f"{deployer.role_template}: {deployer.role}: statements {', '.join(allowed.unreadable)} use "
                        f"NotAction, which this check cannot evaluate")
    excused, not_iam, missing = [], [], []
    for need in found:
        if need.action in allowed:
            continue
        if need.handler != "read" and (need.resource_type, need.action) in ALLOW_LIST:
            excused.append(need)
        elif not is_iam_action(need.action):   # a handler entry naming an API or a typo: nothing a policy can grant
            not_iam.append(need)
        else:
            missing.append(need)
    return Result(deployer, tuple(found), tuple(excused), tuple(not_iam), tuple(missing), tuple(problems))


def check(templates: Mapping[str, dict], shown_as: str, region: str, deployers: Iterable[Deployer]) -> list[str]:
    """Gate findings for the parsed templates of a build (file name -> data), one line per missing action (several
    handlers of one type share a line)."""
    findings = []
    deployers = [d for d in deployers if d.template in templates]
    for deployer in deployers:
        result = evaluate(templates, deployer, region)
        findings += [f"{shown_as}/{p}" for p in result.problems]
        by_action: dict[tuple[str, str], list[Need]] = {}
        for need in result.missing:
            by_action.setdefault((need.resource_type, need.action), []).append(need)
        for (resource_type, action), group in sorted(by_action.items()):
            handlers = "/".join(sorted({n.handler for n in group}, key=HANDLERS.index))
            findings.append(
                f"{shown_as}/{deployer.role_template}: {deployer.role} does not allow {action}, which the "
                f"{resource_type} {handlers} handler needs ({group[0].template}); grant it in {deployer.where(resource_type)} or "
                f"allow-list it with its reason in generator/lint/handler_permissions.py")
    return findings
