"""Network nested stack: a new VPC across 2 or 3 zones, or an existing one; flow logs and VPC endpoints."""
from __future__ import annotations

from typing import NamedTuple

from troposphere import Equals, GetAtt, Ref, Sub, ec2, iam, kms, logs

from generator import naming
from generator.config import AppSpec, zones
from generator.config.models import RETENTION_DAYS
from generator.policies import assume_role, logs_key_policy, write_log_group
from generator.stacks import vpc_layout
from generator.wiring import OutputRef, RootParameter, Source, StackBuilder

GROUP = "Network"
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")


class NetworkOutputs(NamedTuple):
    vpc_id: Source
    vpc_cidr: Source
    public_subnet_ids: Source
    private_subnet_ids: Source
    logs_key_arn: OutputRef


def _cidr_pattern(app: AppSpec) -> str:
    largest = app.network.subnet_prefix - 3 if app.network.mode == "new" else 28
    masks = "|".join(str(m) for m in range(16, largest + 1))
    octet = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    return rf"^{octet}(\.{octet}){{3}}/({masks})$"


def root_parameters(app: AppSpec) -> dict[str, RootParameter]:
    """The network's root parameters, each with how an environment fills it."""
    existing = app.network.mode == "existing"
    params = [
        RootParameter("VpcCidr", "CIDR of the VPC" + (" (for security group rules)." if existing else "; subnets are carved from it."),
                      GROUP, "VPC CIDR", lambda a, e: str(a.environments[e].cidr),
                      allowed_pattern=_cidr_pattern(app),
                      constraint="an IPv4 CIDR such as 10.10.0.0/16 with a mask the subnet layout fits in"),
        RootParameter("FlowLogRetentionDays", "Days VPC flow logs are kept.", GROUP, "Flow log retention (days)",
                      lambda a, e: str(a.env_value(e, "flow_log_retention_days")), type="Number",
                      allowed_values=tuple(str(d) for d in RETENTION_DAYS)),
        RootParameter("EnableInterfaceEndpoints", "Create interface endpoints for ECR, CloudWatch Logs and Secrets "
                      "Manager (private subnets then reach them without NAT).", GROUP, "Interface endpoints",
                      lambda a, e: "true" if a.env_value(e, "interface_endpoints") else "false",
                      allowed_values=("true", "false")),
    ]
    if existing:
        params += [
            RootParameter("VpcId", "The existing VPC to deploy into.", GROUP, "Existing VPC",
                          lambda a, e: a.environments[e].vpc_id, type="AWS::EC2::VPC::Id"),
            RootParameter("PublicSubnetIds", "Existing public subnets, one per zone (load balancer).", GROUP,
                          "Existing public subnets", lambda a, e: ",".join(a.environments[e].public_subnet_ids),
                          type="List<AWS::EC2::Subnet::Id>"),
            RootParameter("PrivateSubnetIds", "Existing private subnets, one per zone (tasks, databases).", GROUP,
                          "Existing private subnets", lambda a, e: ",".join(a.environments[e].private_subnet_ids),
                          type="List<AWS::EC2::Subnet::Id>"),
        ]
    else:
        params.append(RootParameter(
            "NatMode", "Outbound internet for private subnets: none, single (one NAT gateway) or per-az "
            "(one per zone).", GROUP, "NAT gateways", lambda a, e: a.env_value(e, "nat"),
            allowed_values=("none", "single", "per-az")))
        if app.network.az_count == 3:
            params.append(RootParameter(
                "AzCount", "Availability zones to use.", GROUP,
                "Availability zones", lambda a, e: str(a.env_value(e, "az_count")), allowed_values=("2", "3")))
        params += [
            RootParameter(
                "AvailabilityZoneKind", "How the subnets' zones are chosen: ids or names (pinned, AvailabilityZones "
                "lists them), or region (Fn::GetAZs at deploy time: only zones with a default subnet, in an order that "
                "may change).", GROUP, "Zones chosen by", lambda a, e: zones.kind(a.environments[e].zones),
                allowed_values=(zones.KIND_IDS, zones.KIND_NAMES, zones.KIND_REGION)),
            RootParameter(
                "AvailabilityZones", "The subnets' zones in order, zone IDs (euw1-az1) or names (eu-west-1a) as "
                "AvailabilityZoneKind says; empty with region.", GROUP, "Pinned zones",
                lambda a, e: ",".join(a.environments[e].zones or ()), type="CommaDelimitedList"),
        ]
    return {p.name: p for p in params}


def build(app: AppSpec, stack: StackBuilder) -> NetworkOutputs:
    params = root_parameters(app)
    key = stack.add(kms.Key(
        "LogsKey", Description=Sub("Encrypts the ${Application}-${EnvironmentName} CloudWatch log groups"),
        EnableKeyRotation=True, KeyPolicy=logs_key_policy()))
    logs_key_arn = stack.output("LogsKeyArn", GetAtt(key, "Arn"), "KMS key for the app's CloudWatch log groups")

    if app.network.mode == "existing":
        vpc_id = stack.input(params["VpcId"])
        private_subnets = stack.input(params["PrivateSubnetIds"])
        outputs = NetworkOutputs(params["VpcId"], params["VpcCidr"], params["PublicSubnetIds"],
                                 params["PrivateSubnetIds"], logs_key_arn)
    else:
        layout = vpc_layout.build(app, stack, params)
        vpc_id, private_subnets = Ref(layout.vpc), layout.private_subnet_list
        outputs = NetworkOutputs(
            stack.output("VpcId", Ref(layout.vpc), "VPC ID", "AWS::EC2::VPC::Id", public=True),
            stack.output("VpcCidr", GetAtt(layout.vpc, "CidrBlock"), "VPC CIDR block"),
            stack.output("PublicSubnetIds", layout.public_subnet_list, "Public subnets, one per zone",
                         "List<AWS::EC2::Subnet::Id>"),
            stack.output("PrivateSubnetIds", layout.private_subnet_list, "Private subnets, one per zone",
                         "List<AWS::EC2::Subnet::Id>"),
            logs_key_arn,
        )
    _flow_logs(stack, params, vpc_id, key)
    _interface_endpoints(stack, params, vpc_id, private_subnets)
    return outputs


def _flow_logs(stack: StackBuilder, params: dict[str, RootParameter], vpc_id, key) -> None:
    group = stack.add(logs.LogGroup(
        "FlowLogGroup", LogGroupName=naming.log_group_name("vpc-flow-logs"),
        RetentionInDays=stack.input(params["FlowLogRetentionDays"]), KmsKeyId=GetAtt(key, "Arn")))
    role = stack.add(iam.Role(
        "FlowLogRole", AssumeRolePolicyDocument=assume_role("vpc-flow-logs.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="write-flow-logs", PolicyDocument=write_log_group(GetAtt(group, "Arn")))]))
    stack.add(ec2.FlowLog(
        "FlowLog", ResourceId=vpc_id, ResourceType="VPC", TrafficType="ALL",
        LogDestinationType="cloud-watch-logs", LogDestination=GetAtt(group, "Arn"),
        DeliverLogsPermissionArn=GetAtt(role, "Arn")))


def _interface_endpoints(stack: StackBuilder, params: dict[str, RootParameter], vpc_id, private_subnets) -> None:
    t = stack.template
    enabled = "InterfaceEndpointsEnabled"
    t.add_condition(enabled, Equals(stack.input(params["EnableInterfaceEndpoints"]), "true"))
    cidr = stack.input(params["VpcCidr"])
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
