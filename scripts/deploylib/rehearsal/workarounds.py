"""Known emulator gaps, worked around in the rehearsal harness only: each a named `Workaround` that patches moto in
this process for the duration of a rehearsal and is undone afterwards; the deploy code never knows it talks to an
emulator. `REHEARSAL_WITHOUT=<name>,...` leaves some out (to re-check a moto upgrade)."""
from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scripts.deploylib.errors import DeployError


# Types moto's services implement but its CloudFormation does not, which a workaround creates through the service's
# own backend (so they are real to every API call, never stand-ins).
CREATED_THROUGH_BACKENDS = ("AWS::RDS::DBCluster",)   # [aurora-clusters]


def emulator_supports(resource_type: str) -> bool:
    """moto's own test (moto.cloudformation.parsing.resource_class_from_type), without its warning, and the types the
    workarounds create through moto's service backends."""
    from moto.cloudformation.parsing import NULL_MODELS, get_model_map
    return resource_type.startswith("Custom::") or resource_type in NULL_MODELS or resource_type in get_model_map() \
        or resource_type in CREATED_THROUGH_BACKENDS


@dataclass(frozen=True)
class Workaround:
    name: str
    gap: str            # what stock moto 5.2.5 does
    fix: str            # what the patch does
    apply: Callable[[], Callable[[], None]]    # patches moto in this process; returns the undo


def _nested_stack_outputs() -> Callable[[], None]:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.cloudformation.models import Stack

    previous = Stack.__dict__.get("get_cfn_attribute")

    def get_cfn_attribute(self: Stack, attribute_name: str) -> Any:
        if attribute_name.startswith("Outputs."):
            wanted = attribute_name.split(".", 1)[1]
            for output in self.output_map.values():
                if output is not None and output.key == wanted:
                    return output.value
        raise UnformattedGetAttTemplateException()

    Stack.get_cfn_attribute = get_cfn_attribute

    def undo() -> None:
        if previous is None:
            del Stack.get_cfn_attribute
        else:
            Stack.get_cfn_attribute = previous
    return undo


def _kms_key_properties() -> Callable[[], None]:
    from moto.kms.models import Key

    original = Key.__dict__["create_from_cloudformation_json"]

    def create(cls: type, resource_name: str, cloudformation_json: dict, account_id: str, region_name: str,
               **kwargs: Any) -> Any:
        props = cloudformation_json.get("Properties") or {}
        if props.get("Tags"):
            props["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} if "Key" in t else t
                             for t in props["Tags"]]
        if isinstance(props.get("KeyPolicy"), dict):
            props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
        return original.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create)

    def undo() -> None:
        Key.create_from_cloudformation_json = original
    return undo


def _conditional_resources_listed() -> Callable[[], None]:
    from moto.cloudformation.models import Stack

    original = Stack.__dict__["stack_resources"]
    Stack.stack_resources = property(lambda self: [r for r in self.resource_map.values() if r is not None])

    def undo() -> None:
        Stack.stack_resources = original
    return undo


LEFT_BEHIND: list[str] = []   # filled by the delete-dependencies workaround, read by the report


def _delete_dependencies() -> Callable[[], None]:
    from moto.cloudformation.parsing import ResourceMap
    from moto.ec2.exceptions import DependencyViolationError

    original = ResourceMap.delete

    def delete(self: ResourceMap) -> None:
        try:
            original(self)
        except DependencyViolationError:
            for logical_id, resource in list(self._parsed_resources.items()):
                if hasattr(resource, "logical_resource_id"):
                    LEFT_BEHIND.append(f"{getattr(resource, 'cf_resource_type', '?')} "
                                       f"{getattr(resource, 'physical_resource_id', logical_id)}")
                    self._parsed_resources.pop(logical_id)

    ResourceMap.delete = delete

    def undo() -> None:
        ResourceMap.delete = original
    return undo


def _fn_cidr() -> Callable[[], None]:
    from moto.cloudformation import parsing

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::Cidr" in resource_json:
            block, count, bits = (original(v, resources_map) for v in resource_json["Fn::Cidr"])
            network = ipaddress.ip_network(str(block), strict=False)
            subnets = network.subnets(new_prefix=network.max_prefixlen - int(bits))
            return [str(net) for _, net in zip(range(int(count)), subnets)]
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json   # clean_json recurses through the module global, so nested uses see it

    def undo() -> None:
        parsing.clean_json = original
    return undo


def _find_in_map_number_keys() -> Callable[[], None]:
    from moto.cloudformation import parsing

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::FindInMap" in resource_json:
            map_name, *path = resource_json["Fn::FindInMap"]
            result = resources_map[original(map_name, resources_map)]
            for key in path:
                key = original(key, resources_map)
                result = result[str(key) if isinstance(result, dict) and str(key) in result else key]
            return result
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json

    def undo() -> None:
        parsing.clean_json = original
    return undo


def _elbv2_attributes() -> Callable[[], None]:
    from moto.elbv2.models import FakeLoadBalancer

    original = FakeLoadBalancer.get_cfn_attribute

    def get_cfn_attribute(self: FakeLoadBalancer, attribute_name: str) -> Any:
        if attribute_name == "LoadBalancerFullName":
            return self.arn.split(":loadbalancer/", 1)[1]      # app/<name>/<id>, as CloudFormation returns it
        if attribute_name == "CanonicalHostedZoneID":
            return self.canonical_hosted_zone_id
        if attribute_name == "SecurityGroups":
            return list(self.security_groups or [])
        return original(self, attribute_name)

    FakeLoadBalancer.get_cfn_attribute = get_cfn_attribute

    def undo() -> None:
        FakeLoadBalancer.get_cfn_attribute = original
    return undo


class _StandIn:
    """Stands in for a resource type moto does not implement: a name, fake attributes, no service behind it."""

    def __init__(self, name: str, resource_type: str, account_id: str, region_name: str) -> None:
        self.physical_resource_id = name
        self.cf_resource_type = resource_type
        service = resource_type.split("::")[1].lower() if resource_type.count("::") == 2 else "unknown"
        self.arn = f"arn:aws:{service}:{region_name}:{account_id}:rehearsal-stand-in/{name}"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> "_StandIn":
        return cls(resource_name, kwargs.get("ResourceType", "?"), account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: Any, account_id: str, region_name: str) -> "_StandIn":
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, *args: Any, **kwargs: Any) -> None:
        return None

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True   # moto checks a GetAtt in Outputs against the type's class; a stand-in has every attribute

    def is_created(self) -> bool:
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        return None

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn if attribute_name.endswith("Arn") else f"{self.physical_resource_id}-{attribute_name}"

    @classmethod
    def has_cfn_attr(cls, attribute: str) -> bool:
        return True


def _skipped_type_stand_ins() -> Callable[[], None]:
    from moto.cloudformation import parsing

    original = parsing.parse_and_create_resource
    original_class = parsing.resource_class_from_type
    original_validate = parsing.ResourceMap.validate_outputs

    def stand_in_class(resource_type: str) -> Any:
        return original_class(resource_type) if emulator_supports(resource_type) else _StandIn

    def validate_outputs(self: Any) -> None:
        # An output's GetAtt on a skipped type is checked against the type's class (None: HTTP 500); only while
        # outputs are validated does a skipped type answer with the stand-in's class.
        parsing.resource_class_from_type = stand_in_class
        try:
            original_validate(self)
        finally:
            parsing.resource_class_from_type = original_class

    def parse_and_create_resource(logical_id: str, resource_json: dict, resources_map: Any, account_id: str,
                                  region_name: str) -> Any:
        resource_type = resource_json["Type"]
        if emulator_supports(resource_type):
            return original(logical_id, resource_json, resources_map, account_id, region_name)
        condition = resource_json.get("Condition")
        if condition and not resources_map.lazy_condition_map[condition]:
            return None
        # Properties are deliberately not resolved: resolving them would create what they reference early,
        # ignoring that resource's DependsOn (moto's resource map is lazy).
        name = parsing.generate_resource_name(resource_type, resources_map["AWS::StackName"], logical_id)
        stand_in = _StandIn(name, resource_type, account_id, region_name)
        stand_in.logical_resource_id = logical_id
        return stand_in

    parsing.parse_and_create_resource = parse_and_create_resource
    parsing.ResourceMap.validate_outputs = validate_outputs

    def undo() -> None:
        parsing.parse_and_create_resource = original
        parsing.ResourceMap.validate_outputs = original_validate
    return undo


def _subnet_zones() -> Callable[[], None]:
    from moto.ec2.models.subnets import Subnet

    previous = Subnet.__dict__.get("get_cfn_attribute")

    def get_cfn_attribute(self: Subnet, attribute_name: str) -> Any:
        if attribute_name == "AvailabilityZone":
            return self.availability_zone
        return previous(self, attribute_name)

    Subnet.get_cfn_attribute = get_cfn_attribute

    def undo() -> None:
        Subnet.get_cfn_attribute = previous
    return undo


def _efs_attributes() -> Callable[[], None]:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.efs.models import AccessPoint, FileSystem

    answers = {FileSystem: {"Arn": "file_system_arn", "FileSystemId": "file_system_id"},
               AccessPoint: {"Arn": "access_point_arn", "AccessPointId": "access_point_id"}}
    previous = {model: (model.__dict__.get("get_cfn_attribute"), model.__dict__.get("has_cfn_attr"))
                for model in answers}

    def patch(model: type, attributes: dict[str, str]) -> None:
        def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
            if attribute_name in attributes:
                return getattr(self, attributes[attribute_name])
            raise UnformattedGetAttTemplateException()
        model.get_cfn_attribute = get_cfn_attribute
        model.has_cfn_attr = classmethod(lambda cls, attribute: attribute in attributes)

    for model, attributes in answers.items():
        patch(model, attributes)
    # Ref on an access point is its id (fsap-...), which the task definition's AuthorizationConfig takes
    physical = AccessPoint.__dict__.get("physical_resource_id")
    AccessPoint.physical_resource_id = property(lambda self: self.access_point_id)

    def undo() -> None:
        for model, (getter, checker) in previous.items():
            for name, original in (("get_cfn_attribute", getter), ("has_cfn_attr", checker)):
                if original is None:
                    delattr(model, name)
                else:
                    setattr(model, name, original)
        if physical is None:
            del AccessPoint.physical_resource_id
        else:
            AccessPoint.physical_resource_id = physical
    return undo


def _no_value_in_lists() -> Callable[[], None]:
    from moto.cloudformation import parsing

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        cleaned = original(resource_json, resources_map)
        if isinstance(resource_json, list) and isinstance(cleaned, list):
            return [item for item in cleaned if item is not None]
        return cleaned

    parsing.clean_json = clean_json

    def undo() -> None:
        parsing.clean_json = original
    return undo


def _change_set_outputs() -> Callable[[], None]:
    from moto.cloudformation.models import ChangeSet

    original = ChangeSet.apply

    def apply(self: ChangeSet) -> None:
        original(self)
        stack = self.stack
        stack.template = self.template
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.output_map = stack._create_output_map()

    ChangeSet.apply = apply

    def undo() -> None:
        ChangeSet.apply = original
    return undo


def _bucket_policy_conditions() -> Callable[[], None]:
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    original = FakeBucket.get_permission

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy.decode())
        statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
        document["Statement"] = [s for s in statements if "Condition" not in s]
        if not document["Statement"]:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps(document)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission

    def undo() -> None:
        FakeBucket.get_permission = original
    return undo


def _termination_protection() -> Callable[[], None]:
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    def update_termination_protection(self: CloudFormationResponse) -> ActionResult:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        stack.enable_termination_protection = str(self._get_param("EnableTerminationProtection")).lower() == "true"
        return ActionResult({"StackId": stack.stack_id})

    CloudFormationResponse.update_termination_protection = update_termination_protection

    def undo() -> None:
        del CloudFormationResponse.update_termination_protection
    return undo


def _true(value: Any) -> bool:
    return str(value).lower() == "true"


def _name(value: Any) -> Any:
    """moto resolves a Ref to an RDS subnet or parameter group to the object, not its name."""
    return getattr(value, "name", value)


class _AuroraCluster:
    """AWS::RDS::DBCluster for moto's CloudFormation, created through moto's own RDS backend (CreateDBCluster,
    RestoreDBClusterFromSnapshot): the cluster then exists for every RDS call (DescribeDBClusters, snapshots,
    restores), as it would in AWS."""

    ATTRIBUTES = ("Endpoint.Address", "Endpoint.Port", "ReadEndpoint.Address", "MasterUserSecret.SecretArn",
                  "DBClusterArn", "DBClusterResourceId")

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.physical_resource_id = cluster.db_cluster_identifier

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::RDS::DBCluster"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "DBClusterIdentifier"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> "_AuroraCluster":
        from moto.rds.models import rds_backends
        p = cloudformation_json["Properties"]
        scaling = p.get("ServerlessV2ScalingConfiguration") or {}
        settings = {
            "db_cluster_identifier": (p.get("DBClusterIdentifier") or resource_name).lower(), "engine": p["Engine"],
            "engine_version": p.get("EngineVersion"), "port": int(p["Port"]) if p.get("Port") else None,
            "db_subnet_group_name": _name(p.get("DBSubnetGroupName")),
            "vpc_security_group_ids": p.get("VpcSecurityGroupIds") or [],
            "db_cluster_parameter_group_name": _name(p.get("DBClusterParameterGroupName")),
            "kms_key_id": p.get("KmsKeyId"), "backup_retention_period": int(p.get("BackupRetentionPeriod") or 1),
            "deletion_protection": _true(p.get("DeletionProtection")), "copy_tags_to_snapshot": True,
            "enable_cloudwatch_logs_exports": p.get("EnableCloudwatchLogsExports"),
            "serverless_v2_scaling_configuration": {k: float(v) for k, v in scaling.items()},
            "tags": p.get("Tags"),
        }
        backend = rds_backends[account_id][region_name]
        if p.get("SnapshotIdentifier"):
            return cls(backend.restore_db_cluster_from_snapshot(p["SnapshotIdentifier"], settings))
        return cls(backend.create_db_cluster({
            **settings, "database_name": p.get("DatabaseName"), "master_username": p.get("MasterUsername"),
            "storage_encrypted": _true(p.get("StorageEncrypted")),
            "manage_master_user_password": _true(p.get("ManageMasterUserPassword")),
            "master_user_secret_kms_key_id": (p.get("MasterUserSecret") or {}).get("KmsKeyId")}))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        return original_resource   # the rehearsal redeploys unchanged templates

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str) -> None:
        from moto.rds.models import rds_backends
        rds_backends[account_id][region_name].delete_db_cluster(resource_name)

    def is_created(self) -> bool:
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.rds.models import rds_backends
        backend = rds_backends[account_id][region_name]
        if self.physical_resource_id in backend.clusters:
            backend.delete_db_cluster(self.physical_resource_id)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        c = self.cluster
        return {"Endpoint.Address": lambda: c.endpoint, "Endpoint.Port": lambda: str(c.port),
                "ReadEndpoint.Address": lambda: c.reader_endpoint,
                "MasterUserSecret.SecretArn": lambda: c.master_user_secret.secret_arn,
                "DBClusterArn": lambda: c.db_cluster_arn,
                "DBClusterResourceId": lambda: c.db_cluster_resource_id}[attribute_name]()


def _aurora_clusters() -> Callable[[], None]:
    from moto.cloudformation import models, parsing, responses, utils
    from moto.rds.models import DBCluster, DBInstance, rds_backends

    original_map, original_instance = parsing.get_model_map, DBInstance.create_from_cloudformation_json.__func__
    original_cfg = DBCluster.get_cfg

    def get_cfg(self: Any) -> dict:
        # a cluster with ManageMasterUserPassword has no _master_user_password, which get_cfg (the restore) pops
        self.__dict__.setdefault("_master_user_password", None)
        return original_cfg(self)
    original_tags = utils.yaml_tag_constructor

    def yaml_tag_constructor(loader: Any, tag: Any, node: Any) -> Any:
        # `!GetAtt Cluster.Endpoint.Address` is resource Cluster, attribute Endpoint.Address (the first dot only)
        if tag == "!GetAtt" and not isinstance(node.value, list):
            return {"Fn::GetAtt": node.value.split(".", 1)}
        return original_tags(loader, tag, node)

    def get_model_map() -> dict:
        return {**original_map(), _AuroraCluster.cloudformation_type(): _AuroraCluster}

    def create_instance(cls: type, resource_name: str, cloudformation_json: Any, account_id: str,
                        region_name: str, **kwargs: Any) -> Any:
        p = cloudformation_json["Properties"]
        if not p.get("DBClusterIdentifier"):
            return original_instance(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        return rds_backends[account_id][region_name].create_db_instance({
            "db_instance_identifier": resource_name.replace("_", "-").lower(),
            "db_cluster_identifier": p["DBClusterIdentifier"], "engine": p.get("Engine"),
            "db_instance_class": p.get("DBInstanceClass"), "db_parameter_group_name": _name(p.get("DBParameterGroupName")),
            "publicly_accessible": _true(p.get("PubliclyAccessible")),
            "auto_minor_version_upgrade": _true(p.get("AutoMinorVersionUpgrade")),
            "enable_performance_insights": _true(p.get("EnablePerformanceInsights")),
            "promotion_tier": p.get("PromotionTier"), "availability_zone": p.get("AvailabilityZone"),
            "tags": p.get("Tags")})

    parsing.get_model_map = get_model_map
    DBInstance.create_from_cloudformation_json = classmethod(create_instance)
    models.yaml_tag_constructor = responses.yaml_tag_constructor = yaml_tag_constructor
    DBCluster.get_cfg = get_cfg

    def undo() -> None:
        DBCluster.get_cfg = original_cfg
        parsing.get_model_map = original_map
        DBInstance.create_from_cloudformation_json = classmethod(original_instance)
        models.yaml_tag_constructor = responses.yaml_tag_constructor = original_tags
    return undo


WORKAROUNDS = (
    Workaround("nested-stack-outputs",
               "Fn::GetAtt <NestedStack>.Outputs.<Name> crashes (HTTP 500: moto's Stack model has no "
               "get_cfn_attribute); the first nested stack is created and the root stays CREATE_IN_PROGRESS",
               "adds get_cfn_attribute for Outputs.<Name> to moto's Stack model, reading the nested stack's outputs",
               _nested_stack_outputs),
    Workaround("kms-key-properties",
               "AWS::KMS::Key with Tags crashes (HTTP 500, KeyError 'TagKey'): moto hands CloudFormation's "
               "{Key, Value} tags to its KMS API code, which expects {TagKey, TagValue}; and it stores KeyPolicy "
               "as an object, so every later KMS call on the key (DescribeKey...) fails with HTTP 500",
               "converts the tags to {TagKey, TagValue} and the key policy to a JSON string before moto's KMS "
               "handler sees them",
               _kms_key_properties),
    Workaround("fn-cidr",
               "Fn::Cidr is not implemented: the function is passed through as a dict and the enclosing "
               "Fn::Select fails (HTTP 500, KeyError)",
               "evaluates Fn::Cidr [block, count, bits] with Python's ipaddress, as CloudFormation does",
               _fn_cidr),
    Workaround("find-in-map-number-keys",
               "a Ref to a Number parameter resolves to a Python number instead of a string (CloudFormation "
               "passes strings), so Fn::FindInMap keyed by it misses the '80'-style keys (HTTP 500, KeyError)",
               "looks mapping keys up as strings, as CloudFormation does",
               _find_in_map_number_keys),
    Workaround("elbv2-attributes",
               "Fn::GetAtt on an ELBv2 load balancer's LoadBalancerFullName, CanonicalHostedZoneID or "
               "SecurityGroups is left unresolved; an output re-exported by the root then makes every "
               "DescribeStacks on the root fail (HTTP 500, 'references undefined resource LoadBalancer')",
               "returns them as CloudFormation does (full name app/<name>/<id> from the ARN, moto's zone id, the "
               "security groups)",
               _elbv2_attributes),
    Workaround("skipped-type-stand-ins",
               "types moto does not implement (CloudWatch alarms, CodeDeploy, Application Auto Scaling, "
               "EventBridge Scheduler, S3 bucket policies...) are skipped with a warning; a Ref to one resolves "
               "to nothing, and a GetAtt on one, or an output using one (re-exported by the root, or a GetAtt "
               "in Outputs, e.g. a CloudFront distribution's DomainName), fails the stack (HTTP 500)",
               "a stand-in object with a generated name and fake attribute values takes their place, so the rest "
               "of the tree is created; the report lists them under 'skipped', never as created",
               _skipped_type_stand_ins),
    Workaround("subnet-zones",
               "Fn::GetAtt on an AWS::EC2::Subnet's AvailabilityZone raises NotImplementedError (HTTP 500), so the "
               "network stack's zone outputs (where the database places its writer and first reader) crash it",
               "answers the subnet's zone name, which moto knows",
               _subnet_zones),
    Workaround("efs-attributes",
               "Fn::GetAtt on an AWS::EFS::FileSystem (Arn, FileSystemId) or AWS::EFS::AccessPoint (Arn, "
               "AccessPointId) crashes (HTTP 500: moto's EFS models have no get_cfn_attribute), and Ref on an "
               "access point is not its id",
               "answers those attributes, and Ref with the access point's id, from what moto created",
               _efs_attributes),
    Workaround("no-value-in-lists",
               "an Fn::If that yields AWS::NoValue inside a list (a role's optional policy) stays in the list as "
               "None, and creating the role crashes (HTTP 500, TypeError in moto's IAM model)",
               "drops such items from the list, as CloudFormation does",
               _no_value_in_lists),
    Workaround("conditional-resources-listed",
               "ListStackResources lists every resource whose Condition is false (and every type it skipped) "
               "as a blank entry with no logical id, type or physical id",
               "lists only the resources moto actually created",
               _conditional_resources_listed),
    Workaround("delete-dependencies",
               "a stack delete removes route tables, NAT gateways, VPC endpoints and gateway attachments from "
               "moto's bookkeeping but not from EC2, so deleting the VPC fails with DependencyViolation and "
               "DeleteStack fails (HTTP 400)",
               "lets that stack delete finish and names the VPC the emulator could not delete (a real delete "
               "removes everything; real clean-up is not something any emulator shows)",
               _delete_dependencies),
    Workaround("change-set-outputs",
               "ExecuteChangeSet creates/updates the resources but never re-reads the template's Outputs: a stack "
               "deployed through a change set reports no outputs",
               "re-reads the template and rebuilds the stack's outputs after moto applies a change set",
               _change_set_outputs),
    Workaround("bucket-policy-conditions",
               "bucket policies are evaluated without any request context and an unmet Condition counts as an "
               "explicit Deny, so the template bucket's TLS-only statement (Deny when aws:SecureTransport is "
               "false) denies every object call (HTTP 403)",
               "evaluates bucket policies without their conditional statements (moto cannot know the request "
               "context); unconditional statements still apply",
               _bucket_policy_conditions),
    Workaround("aurora-clusters",
               "AWS::RDS::DBCluster has no CloudFormation model (moto's RDS API creates clusters, its CloudFormation "
               "does not), so the database stack's outputs crash it (HTTP 500, 'NoneType' object has no attribute "
               "'has_cfn_attr'); and AWS::RDS::DBInstance ignores DBClusterIdentifier (an Aurora member would be "
               "created as a stand-alone instance); and `!GetAtt Cluster.Endpoint.Address` is read as attribute "
               "`Endpoint` (moto splits the short form at every dot, CloudFormation at the first); and restoring a "
               "snapshot of a cluster with ManageMasterUserPassword crashes (KeyError '_master_user_password')",
               "reads the short form at the first dot; creates the cluster through moto's own RDS backend (CreateDBCluster with the managed master user "
               "secret, or RestoreDBClusterFromSnapshot with SnapshotIdentifier) and member instances into it, so "
               "DescribeDBClusters, snapshots and restores see them as in AWS",
               _aurora_clusters),
    Workaround("termination-protection",
               "UpdateTerminationProtection is not implemented (production deploys and forced destroys call it)",
               "adds the action; it records the flag on the stack (moto never enforces it)",
               _termination_protection),
)
WITHOUT_ENV = "REHEARSAL_WITHOUT"   # comma-separated workaround names to leave out (to re-check a moto upgrade)


def active_workarounds() -> tuple[Workaround, ...]:
    left_out = {n.strip() for n in os.environ.get(WITHOUT_ENV, "").split(",") if n.strip()}
    unknown = left_out - {w.name for w in WORKAROUNDS}
    if unknown:
        raise DeployError(f"{WITHOUT_ENV} names unknown workarounds: {', '.join(sorted(unknown))}",
                          f"known: {', '.join(w.name for w in WORKAROUNDS)}")
    return tuple(w for w in WORKAROUNDS if w.name not in left_out)
