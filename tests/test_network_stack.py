"""The network nested stack: properties that matter at deploy time, for new and existing VPCs."""
from __future__ import annotations

import pytest

from tests.conftest import make_app, template


def _app(**network):
    pinned = [f"euw1-az{i + 1}" for i in range(network.get("az_count", 3))]   # production pins its zones
    envs = {"dev": {"cidr": "10.10.0.0/16", "az_count": 2},
            "prod": {"cidr": "10.30.0.0/16", "production": True, "zones": pinned}}
    return make_app(network={"az_count": 3, **network}, environments=envs)


def _network(app) -> dict:
    return template(app, "network.yaml")


def _root(app) -> dict:
    return template(app, "root.yaml")


def test_zones_are_pinned_by_id_or_name_or_come_from_the_region_at_deploy_time():
    """tests/test_zones.py renders these with each environment's values."""
    res = _network(_app())["Resources"]
    subnets = {k: r["Properties"] for k, r in res.items() if r["Type"] == "AWS::EC2::Subnet"}
    assert len(subnets) == 6
    for name, props in subnets.items():
        i = int(name[-1]) - 1
        pinned = {"Fn::Select": [i, {"Ref": "AvailabilityZones"}]}
        assert props["AvailabilityZone"] == {"Fn::If": ["ZonesById", {"Ref": "AWS::NoValue"}, {"Fn::If": [
            "ZonesByName", pinned, {"Fn::Select": [i, {"Fn::GetAZs": ""}]}]}]}, name
        assert props["AvailabilityZoneId"] == {"Fn::If": ["ZonesById", pinned, {"Ref": "AWS::NoValue"}]}, name


def test_subnet_cidrs_are_carved_from_the_parameter_in_fixed_slots():
    res = _network(_app(subnet_prefix=20))["Resources"]
    cidr = res["PrivateSubnet1"]["Properties"]["CidrBlock"]
    assert cidr == {"Fn::Select": [3, {"Fn::Cidr": [{"Ref": "VpcCidr"}, 6, 12]}]}
    assert res["PublicSubnet3"]["Properties"]["CidrBlock"]["Fn::Select"][0] == 2
    assert res["PublicSubnet3"]["Condition"] == "ThirdAzEnabled"


def test_nat_mode_is_a_parameter_with_conditions():
    t = _network(_app())
    res = t["Resources"]
    assert t["Conditions"]["NatEnabled"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "NatMode"}, "none"]}]}
    assert res["NatGateway1"]["Condition"] == "NatEnabled"
    assert res["NatGateway2"]["Condition"] == "NatPerAz"
    assert res["NatGateway3"]["Condition"] == "ThirdAzNatPerAz"
    route2 = res["PrivateDefaultRoute2"]["Properties"]["NatGatewayId"]
    assert route2 == {"Fn::If": ["NatPerAz", {"Ref": "NatGateway2"}, {"Ref": "NatGateway1"}]}


def test_internet_routes_wait_for_the_gateway_attachment():
    res = _network(_app())["Resources"]
    assert res["PublicDefaultRoute"]["DependsOn"] == "InternetGatewayAttachment"
    assert res["NatEip1"]["DependsOn"] == "InternetGatewayAttachment"


def test_flow_logs_go_to_an_encrypted_log_group_with_retention_parameter():
    res = _network(_app())["Resources"]
    group = res["FlowLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "FlowLogRetentionDays"}
    assert group["KmsKeyId"] == {"Fn::GetAtt": ["LogsKey", "Arn"]}
    assert res["FlowLog"]["Properties"]["LogDestinationType"] == "cloud-watch-logs"
    assert res["LogsKey"]["Properties"]["EnableKeyRotation"] is True
    policy = res["FlowLogRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    assert policy["Resource"][0] == {"Fn::GetAtt": ["FlowLogGroup", "Arn"]}, "scoped to its own log group"


def test_s3_gateway_endpoint_serves_every_route_table():
    ep = _network(_app())["Resources"]["S3GatewayEndpoint"]["Properties"]
    tables = ep["RouteTableIds"]["Fn::If"]
    assert [len(tables[1]), len(tables[2])] == [4, 3]


def test_interface_endpoints_sit_behind_a_parameter():
    t = _network(_app())
    eps = {k: v for k, v in t["Resources"].items() if v["Type"] == "AWS::EC2::VPCEndpoint"
           and v["Properties"]["VpcEndpointType"] == "Interface"}
    assert sorted(eps) == ["EndpointEcrApi", "EndpointEcrDkr", "EndpointLogs", "EndpointSecretsmanager"]
    assert {v["Condition"] for v in eps.values()} == {"InterfaceEndpointsEnabled"}


def test_subnet_lists_cross_the_stack_boundary_as_comma_joined_strings():
    out = _network(_app())["Outputs"]["PrivateSubnetIds"]["Value"]
    assert out["Fn::If"][1] == {"Fn::Join": [",", [{"Ref": f"PrivateSubnet{i}"} for i in (1, 2, 3)]]}


def test_two_zone_app_has_no_zone_condition():
    t = _network(_app(az_count=2))
    assert "ThirdAzEnabled" not in t.get("Conditions", {})
    assert "AzCount" not in _root(_app(az_count=2))["Parameters"]


def test_existing_vpc_ids_come_from_parameters_and_lists_are_joined():
    app = make_app(network={"mode": "existing"}, environments={"dev": {
        "cidr": "10.1.0.0/16", "vpc_id": "vpc-0123456789abcdef0",
        "public_subnet_ids": ["subnet-0123456789abcdef1", "subnet-0123456789abcdef2"],
        "private_subnet_ids": ["subnet-0123456789abcdef3", "subnet-0123456789abcdef4"]}})
    root = _root(app)
    assert root["Parameters"]["PrivateSubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"
    passed = root["Resources"]["Network"]["Properties"]["Parameters"]
    assert passed["PrivateSubnetIds"] == {"Fn::Join": [",", {"Ref": "PrivateSubnetIds"}]}
    assert passed["VpcId"] == {"Ref": "VpcId"}
    net = _network(app)
    assert not [r for r in net["Resources"].values() if r["Type"] in ("AWS::EC2::VPC", "AWS::EC2::Subnet")]
    assert net["Resources"]["FlowLog"]["Properties"]["ResourceId"] == {"Ref": "VpcId"}


@pytest.mark.parametrize("prefix,masks", [(20, "16|17"), (24, "16|17|18|19|20|21")])
def test_vpc_cidr_parameter_only_accepts_masks_the_layout_fits(prefix, masks):
    pattern = _root(_app(subnet_prefix=prefix))["Parameters"]["VpcCidr"]["AllowedPattern"]
    assert pattern.endswith(f"/({masks})$")
