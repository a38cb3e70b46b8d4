"""S3 bucket policies: TLS only, and the load balancer's access-log delivery."""
from __future__ import annotations

from awacs import s3
from awacs.aws import Allow, Bool, Condition, Deny, Principal, Statement, StringEquals
from troposphere import FindInMap, GetAtt, If, Ref, Sub

from generator.policies.common import VERSION, document

ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"

# Regions opened before August 2022 document delivery by a regional Elastic Load Balancing account rather than the
# service principal; the policy grants both there. Region is app-wide, so this is resolved when templates are built.
LEGACY_ELB_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-south-1": "718504428378", "ap-northeast-1": "582318560864", "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ca-central-1": "985666609251", "eu-central-1": "054676820928", "eu-west-1": "156460612806",
    "eu-west-2": "652711504416", "eu-west-3": "009996457667", "eu-south-1": "635631232127",
    "eu-north-1": "897822967062", "me-south-1": "076674570225", "sa-east-1": "507241528517",
}


def deny_insecure_transport(bucket) -> Statement:
    """Every request to the bucket or its objects over plain HTTP is denied."""
    arn = GetAtt(bucket, "Arn")
    return Statement(Sid="DenyInsecureTransport", Effect=Deny, Principal=Principal("*"), Action=[s3.Action("*")],
                     Resource=[arn, Sub("${Arn}/*", Arn=arn)],
                     Condition=Condition(Bool("aws:SecureTransport", "false")))


ELB_ACCOUNTS_MAP = "ElbLogDeliveryAccounts"
HAS_ELB_ACCOUNT = "HasRegionalElbLogAccount"


def elb_accounts_mapping(regions: list[str]) -> dict:
    """The regional Elastic Load Balancing accounts of the regions in use (`none` where the region has none), for a
    template deployed in several regions: `FindInMap` by `AWS::Region` keeps it the same everywhere."""
    return {r: {"Account": LEGACY_ELB_ACCOUNTS.get(r, "none")} for r in regions}


def load_balancer_access_logs(bucket, prefix: str, regions: str | list[str]):
    """Elastic Load Balancing may put objects under `<prefix>/AWSLogs/<this account>/` only; nothing else.

    One region in use: its regional account (if it has one) is written in. Several: the account comes from the
    `ElbLogDeliveryAccounts` mapping by `AWS::Region`, the statement present where the region has one (the template
    declares the mapping, elb_accounts_mapping, and the condition `HasRegionalElbLogAccount`)."""
    regions = [regions] if isinstance(regions, str) else regions
    objects = Sub(f"${{Arn}}/{prefix}/AWSLogs/${{AWS::AccountId}}/*", Arn=GetAtt(bucket, "Arn"))
    statements = [Statement(Sid="LoadBalancerLogDelivery", Effect=Allow, Principal=Principal("Service", ELB_LOG_DELIVERY),
                            Action=[s3.PutObject], Resource=[objects])]
    if len(regions) > 1:
        regional = Statement(
            Sid="LoadBalancerLogDeliveryRegionalAccount", Effect=Allow,
            Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${Account}:root", Account=FindInMap(
                ELB_ACCOUNTS_MAP, Ref("AWS::Region"), "Account"))),
            Action=[s3.PutObject], Resource=[objects])
        # A plain document: awacs takes no Fn::If among the statements.
        return {"Version": VERSION, "Statement": [*statements, If(HAS_ELB_ACCOUNT, regional, Ref("AWS::NoValue")),
                                                  deny_insecure_transport(bucket)]}
    legacy = LEGACY_ELB_ACCOUNTS.get(regions[0])
    if legacy:
        statements.append(Statement(
            Sid="LoadBalancerLogDeliveryRegionalAccount", Effect=Allow,
            Principal=Principal("AWS", Sub(f"arn:${{AWS::Partition}}:iam::{legacy}:root")),
            Action=[s3.PutObject], Resource=[objects]))
    return document(*statements, deny_insecure_transport(bucket))


CLOUDFRONT = "cloudfront.amazonaws.com"


def cloudfront_origin_access(bucket, distribution_arn):
    """Origin access control: CloudFront may read objects, and only on behalf of this environment's distribution
    (`AWS:SourceArn`). Doc: "Restrict access to an Amazon S3 origin" (Amazon CloudFront developer guide)."""
    return document(
        Statement(Sid="CloudFrontReadsObjects", Effect=Allow, Principal=Principal("Service", CLOUDFRONT),
                  Action=[s3.GetObject], Resource=[Sub("${Arn}/*", Arn=GetAtt(bucket, "Arn"))],
                  Condition=Condition(StringEquals("AWS:SourceArn", distribution_arn))),
        deny_insecure_transport(bucket))

