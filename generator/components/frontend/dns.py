"""The frontend's Route 53 alias records, when an environment gives a hosted zone: A and AAAA per site name to the
distribution, and an A record for the load balancer's own name (the API origin)."""
from __future__ import annotations

from troposphere import And, Condition, Equals, GetAtt, Join, Not, Select, Split, cloudfront, route53

from generator.components.cluster import ClusterOutputs
from generator.wiring import StackBuilder

# CloudFront's alias target zone (Doc: "Amazon CloudFront endpoints and quotas", AWS General Reference).
CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"
HAS_ZONE = "HasHostedZone"
HAS_API_ORIGIN = "HasApiOriginDomain"


def site_records(stack: StackBuilder, slots: int, zone, domains, distribution: cloudfront.Distribution) -> None:
    """A and AAAA aliases for each site name. The number of names differs between environments, so there is one
    record pair per slot up to the most any environment gives (the same template everywhere), each present when its
    slot holds a name."""
    if slots == 0:
        return
    padded = Split(",", Join("", [Join(",", domains), "," * slots]))
    for i in range(slots):
        name = Select(i, padded)
        cond = f"HasSiteRecord{i + 1}"
        stack.template.add_condition(cond, And(Condition(HAS_ZONE), Not(Equals(name, ""))))
        for kind in ("A", "AAAA"):
            stack.add(route53.RecordSetType(
                f"SiteRecord{i + 1}{kind}", Condition=cond, HostedZoneId=zone, Name=name, Type=kind,
                AliasTarget=route53.AliasTarget(DNSName=GetAtt(distribution, "DomainName"),
                                                HostedZoneId=CLOUDFRONT_ZONE, EvaluateTargetHealth=False)))


def api_record(stack: StackBuilder, zone, origin_domain, cluster: ClusterOutputs) -> None:
    """An A alias for the load balancer's own name (the API origin), when a hosted zone is given."""
    stack.template.add_condition("HasApiRecord", And(Condition(HAS_ZONE), Condition(HAS_API_ORIGIN)))
    stack.add(route53.RecordSetType(
        "ApiOriginRecord", Condition="HasApiRecord", HostedZoneId=zone, Name=origin_domain, Type="A",
        AliasTarget=route53.AliasTarget(DNSName=stack.input(cluster.load_balancer_dns),
                                        HostedZoneId=stack.input(cluster.load_balancer_zone_id),
                                        EvaluateTargetHealth=False)))
