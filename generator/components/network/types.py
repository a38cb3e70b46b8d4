"""The resource types the network stack creates, and what the rest of the system must know about each."""
from __future__ import annotations

from generator.components import shared
from generator.components.base import TypeFacts, Verifier
from generator.components.shared import ec2

VPC = shared.network   # the CloudFormation role's grants for every EC2 type here


def _eip(client, physical: str) -> bool:
    key = "AllocationIds" if physical.startswith("eipalloc-") else "PublicIps"
    return bool(client("ec2").describe_addresses(**{key: [physical]})["Addresses"])


TYPES = {
    **shared.pick("AWS::IAM::Role", "AWS::KMS::Key", "AWS::Logs::LogGroup", "AWS::EC2::SecurityGroup"),
    "AWS::EC2::VPC": TypeFacts(cfn_grants=VPC, verify=ec2("DescribeVpcs", "describe_vpcs", "VpcIds")),
    "AWS::EC2::Subnet": TypeFacts(cfn_grants=VPC, verify=ec2("DescribeSubnets", "describe_subnets", "SubnetIds")),
    "AWS::EC2::InternetGateway": TypeFacts(cfn_grants=VPC, verify=ec2(
        "DescribeInternetGateways", "describe_internet_gateways", "InternetGatewayIds")),
    "AWS::EC2::VPCGatewayAttachment": TypeFacts(cfn_grants=VPC),
    "AWS::EC2::RouteTable": TypeFacts(cfn_grants=VPC, verify=ec2(
        "DescribeRouteTables", "describe_route_tables", "RouteTableIds")),
    "AWS::EC2::Route": TypeFacts(cfn_grants=VPC),
    "AWS::EC2::SubnetRouteTableAssociation": TypeFacts(cfn_grants=VPC),
    "AWS::EC2::EIP": TypeFacts(cfn_grants=VPC, verify=Verifier("DescribeAddresses", _eip)),
    "AWS::EC2::NatGateway": TypeFacts(cfn_grants=VPC, verify=ec2(
        "DescribeNatGateways", "describe_nat_gateways", "NatGatewayIds")),
    "AWS::EC2::VPCEndpoint": TypeFacts(cfn_grants=VPC, verify=ec2(
        "DescribeVpcEndpoints", "describe_vpc_endpoints", "VpcEndpointIds")),
    "AWS::EC2::FlowLog": TypeFacts(cfn_grants=VPC, passed_to=("vpc-flow-logs.amazonaws.com",),
                                   verify=ec2("DescribeFlowLogs", "describe_flow_logs", "FlowLogIds")),
}
