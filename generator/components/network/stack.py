"""Network nested stack: a new VPC across 2 or 3 zones, or an existing one; flow logs and VPC endpoints."""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from troposphere import Equals, GetAtt, Ref, Sub, ec2, iam, kms, logs

from generator import naming
from generator.components.base import EnvInputs
from generator.components.network import layout
from generator.components.network.spec import NetworkEnv
from generator.policies import assume_role, logs_key_policy, write_log_group
from generator.wiring import OutputRef, Source, StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec

INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")


class NetworkOutputs(NamedTuple):
    vpc_id: Source
    vpc_cidr: Source
    public_subnet_ids: Source
    private_subnet_ids: Source
    logs_key_arn: OutputRef
    # The zone names of the first two private subnets (a VPC of our own; none for an existing VPC, whose subnets'
    # zones a template cannot look up): the database places its writer and first reader in different zones.
    private_subnet_zones: tuple[OutputRef, ...] = ()


def build(app: AppSpec, stack: StackBuilder, env: EnvInputs[NetworkEnv]) -> NetworkOutputs:
    key = stack.add(kms.Key(
        "LogsKey", Description=Sub("Encrypts the ${Application}-${EnvironmentName} CloudWatch log groups"),
        EnableKeyRotation=True, KeyPolicy=logs_key_policy()))
    logs_key_arn = stack.output("LogsKeyArn", GetAtt(key, "Arn"), "KMS key for the app's CloudWatch log groups")

    if app.network.mode == "existing":
        vpc_id = env.input(stack, "vpc_id")
        private_subnets = env.input(stack, "private_subnet_ids")
        outputs = NetworkOutputs(env["vpc_id"], env["cidr"], env["public_subnet_ids"], env["private_subnet_ids"],
                                 logs_key_arn)
    else:
        vpc = layout.build(app, stack, env)
        vpc_id, private_subnets = Ref(vpc.vpc), vpc.private_subnet_list
        outputs = NetworkOutputs(
            stack.output("VpcId", Ref(vpc.vpc), "VPC ID", "AWS::EC2::VPC::Id", public=True),
            stack.output("VpcCidr", GetAtt(vpc.vpc, "CidrBlock"), "VPC CIDR block"),
            stack.output("PublicSubnetIds", vpc.public_subnet_list, "Public subnets, one per zone",
                         "List<AWS::EC2::Subnet::Id>"),
            stack.output("PrivateSubnetIds", vpc.private_subnet_list, "Private subnets, one per zone",
                         "List<AWS::EC2::Subnet::Id>"),
            logs_key_arn,
            # GetAtt AvailabilityZone: the zone's name, also where the subnet was pinned by zone ID
            tuple(stack.output(f"PrivateSubnet{i}Zone", GetAtt(subnet, "AvailabilityZone"),
                               f"Zone name of private subnet {i}") for i, subnet in enumerate(vpc.private_subnets, 1)),
        )
    _flow_logs(stack, env, vpc_id, key)
    _interface_endpoints(stack, env, vpc_id, private_subnets)
    return outputs


def _flow_logs(stack: StackBuilder, env: EnvInputs[NetworkEnv], vpc_id, key) -> None:
    group = stack.add(logs.LogGroup(
        "FlowLogGroup", LogGroupName=naming.log_group_name("vpc-flow-logs"),
        RetentionInDays=env.input(stack, "flow_log_retention_days"), KmsKeyId=GetAtt(key, "Arn")))
    role = stack.add(iam.Role(
        "FlowLogRole", AssumeRolePolicyDocument=assume_role("vpc-flow-logs.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="write-flow-logs", PolicyDocument=write_log_group(GetAtt(group, "Arn")))]))
    stack.add(ec2.FlowLog(
        "FlowLog", ResourceId=vpc_id, ResourceType="VPC", TrafficType="ALL",
        LogDestinationType="cloud-watch-logs", LogDestination=GetAtt(group, "Arn"),
        DeliverLogsPermissionArn=GetAtt(role, "Arn")))


def _interface_endpoints(stack: StackBuilder, env: EnvInputs[NetworkEnv], vpc_id, private_subnets) -> None:
    t = stack.template
    enabled = "InterfaceEndpointsEnabled"
    t.add_condition(enabled, Equals(env.input(stack, "interface_endpoints"), "true"))
    cidr = env.input(stack, "cidr")
    sg = stack.add(ec2.SecurityGroup(
        "EndpointSecurityGroup", Condition=enabled, VpcId=vpc_id,
        GroupDescription="HTTPS from inside the VPC to the interface endpoints",
        SecurityGroupIngress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp=cidr, Description="HTTPS from the VPC")],
        # Endpoints never open connections; deny all egress by allowing only loopback.
        SecurityGroupEgress=[ec2.SecurityGroupRule(
            IpProtocol="icmp", FromPort=-1, ToPort=-1, CidrIp="127.0.0.1/32", Description="No egress")]))
    for service in INTERFACE_ENDPOINTS:
        stack.add(ec2.VPCEndpoint(
            "Endpoint" + "".join(part.capitalize() for part in service.split(".")), Condition=enabled,
            VpcId=vpc_id, VpcEndpointType="Interface", PrivateDnsEnabled=True,
            ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
            SubnetIds=private_subnets, SecurityGroupIds=[Ref(sg)]))
