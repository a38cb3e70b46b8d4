"""A new VPC: public and private subnets per zone, internet gateway, NAT by mode, routes, S3 gateway endpoint.

Subnet CIDRs are carved from the VpcCidr parameter at deploy time with Fn::Cidr, always as six slots
(public 0-2, private 3-5), so moving an environment from 2 to 3 zones never renumbers a subnet.
Zones are pinned per environment (AvailabilityZones: zone IDs, or names) or, where an environment does not pin
them, taken from Fn::GetAZs at deploy time (zones.py says why production pins them).
"""
from __future__ import annotations

from typing import Any

from troposphere import And, Cidr, Condition, Equals, GetAZs, If, Join, Not, NoValue, Ref, Select, ec2

from typing import TYPE_CHECKING

from generator.components.base import EnvInputs
from generator.components.network.zones import KIND_IDS, KIND_NAMES
from generator.records import record
from generator.wiring import StackBuilder

if TYPE_CHECKING:
    from generator.components.network.spec import NetworkEnv
    from generator.config import AppSpec

THIRD_AZ = "ThirdAzEnabled"
ZONES_BY_ID = "ZonesById"
ZONES_BY_NAME = "ZonesByName"
HAS_NAT = "NatEnabled"
NAT_PER_AZ = "NatPerAz"
SLOTS = 6


@record
class Layout:
    vpc: ec2.VPC
    public_subnet_list: Any   # a list, or If(ThirdAzEnabled, 3 subnets, 2 subnets)
    private_subnet_list: Any
    private_subnets: tuple[ec2.Subnet, ...] = ()   # the first two zones' (always there), in zone order


def build(app: AppSpec, stack: StackBuilder, env: EnvInputs[NetworkEnv]) -> Layout:
    t = stack.template
    zones = app.network.az_count
    cidr = env.input(stack, "cidr")
    nat_mode = env.input(stack, "nat")
    t.add_condition(HAS_NAT, Not(Equals(nat_mode, "none")))
    t.add_condition(NAT_PER_AZ, Equals(nat_mode, "per-az"))
    if zones == 3:
        t.add_condition(THIRD_AZ, Equals(env.input(stack, "az_count"), "3"))
        t.add_condition("ThirdAzNatPerAz", And(Condition(THIRD_AZ), Condition(NAT_PER_AZ)))
        t.add_condition("ThirdAzNat", And(Condition(THIRD_AZ), Condition(HAS_NAT)))

    zone_kind = env.input(stack, "zone_kind")
    pinned = env.input(stack, "zones")
    t.add_condition(ZONES_BY_ID, Equals(zone_kind, KIND_IDS))
    t.add_condition(ZONES_BY_NAME, Equals(zone_kind, KIND_NAMES))

    vpc = stack.add(ec2.VPC("Vpc", CidrBlock=cidr, EnableDnsHostnames=True, EnableDnsSupport=True))
    igw = stack.add(ec2.InternetGateway("InternetGateway"))
    attach = stack.add(ec2.VPCGatewayAttachment("InternetGatewayAttachment", VpcId=Ref(vpc),
                                                InternetGatewayId=Ref(igw)))
    public_rt = stack.add(ec2.RouteTable("PublicRouteTable", VpcId=Ref(vpc)))
    # Without DependsOn the route can be created before the gateway is attached (passes lint, fails deploy).
    stack.add(ec2.Route("PublicDefaultRoute", RouteTableId=Ref(public_rt), DestinationCidrBlock="0.0.0.0/0",
                        GatewayId=Ref(igw), DependsOn=attach))

    public, private, route_tables = [], [], [public_rt]
    for i in range(zones):
        third = {"Condition": THIRD_AZ} if i == 2 else {}
        # A subnet names its zone by ID or by name (create-only either way), never both.
        zone = If(ZONES_BY_ID, NoValue, If(ZONES_BY_NAME, Select(i, pinned), Select(i, GetAZs(""))))
        zone_id = If(ZONES_BY_ID, Select(i, pinned), NoValue)

        def subnet(kind: str, slot: int, **extra: Any) -> ec2.Subnet:
            return stack.add(ec2.Subnet(
                f"{kind}Subnet{i + 1}", VpcId=Ref(vpc), AvailabilityZone=zone, AvailabilityZoneId=zone_id,
                CidrBlock=Select(slot, Cidr(cidr, SLOTS, 32 - app.network.subnet_prefix)),
                MapPublicIpOnLaunch=False, **third, **extra))

        pub = subnet("Public", i)
        stack.add(ec2.SubnetRouteTableAssociation(f"PublicSubnet{i + 1}RouteTable", SubnetId=Ref(pub),
                                                  RouteTableId=Ref(public_rt), **third))
        priv = subnet("Private", 3 + i)
        rt = stack.add(ec2.RouteTable(f"PrivateRouteTable{i + 1}", VpcId=Ref(vpc), **third))
        stack.add(ec2.SubnetRouteTableAssociation(f"PrivateSubnet{i + 1}RouteTable", SubnetId=Ref(priv),
                                                  RouteTableId=Ref(rt), **third))
        public.append(pub)
        private.append(priv)
        route_tables.append(rt)

    nats = [_nat(stack, i, public[i], attach) for i in range(zones)]
    for i, rt in enumerate(route_tables[1:]):
        # one NAT per zone in per-az mode, otherwise the first zone's NAT for everyone
        target = Ref(nats[0]) if i == 0 else If(NAT_PER_AZ, Ref(nats[i]), Ref(nats[0]))
        stack.add(ec2.Route(f"PrivateDefaultRoute{i + 1}", RouteTableId=Ref(rt), DestinationCidrBlock="0.0.0.0/0",
                            NatGatewayId=target, Condition="ThirdAzNat" if i == 2 else HAS_NAT))

    stack.add(ec2.VPCEndpoint(
        "S3GatewayEndpoint", VpcId=Ref(vpc), VpcEndpointType="Gateway",
        ServiceName=Join("", ["com.amazonaws.", Ref("AWS::Region"), ".s3"]),
        RouteTableIds=_per_zone([Ref(rt) for rt in route_tables], extra_head=1, zones=zones)))
    return Layout(vpc, _per_zone([Ref(s) for s in public], 0, zones), _per_zone([Ref(s) for s in private], 0, zones),
                  tuple(private[:2]))


def _nat(stack: StackBuilder, i: int, subnet: ec2.Subnet, attach: ec2.VPCGatewayAttachment) -> ec2.NatGateway:
    condition = HAS_NAT if i == 0 else ("ThirdAzNatPerAz" if i == 2 else NAT_PER_AZ)
    eip = stack.add(ec2.EIP(f"NatEip{i + 1}", Domain="vpc", Condition=condition, DependsOn=attach))
    return stack.add(ec2.NatGateway(f"NatGateway{i + 1}", SubnetId=Ref(subnet),
                                    AllocationId=eip.get_att("AllocationId"), Condition=condition))


def _per_zone(items: list, extra_head: int, zones: int) -> Any:
    """All items, or (with a third zone behind a condition) the list without the third zone's item."""
    if zones < 3:
        return items
    return If(THIRD_AZ, items, items[: extra_head + 2])
