"""The resource types the frontend stack creates, and what the rest of the system must know about each."""
from __future__ import annotations

from generator.components import shared
from generator.components.base import TypeFacts, Verifier
from generator.policies.cfn_actions import arn
from generator.policies.grants import Grant, grant


def edge(each, envs: list[str]) -> list[Grant]:
    """CloudFront and Route 53, from their registry handlers. CloudFront ARNs have no region."""
    return [
        grant("ManageDistributions", "cloudfront:CreateDistribution cloudfront:UpdateDistribution "
              "cloudfront:DeleteDistribution cloudfront:GetDistribution cloudfront:GetDistributionConfig "
              "cloudfront:TagResource cloudfront:UntagResource cloudfront:ListTagsForResource "
              "cloudfront:UpdateDistributionWithStagingConfig",
              arn("cloudfront", "distribution/*", region=False)),
        grant("ManageOriginAccess", "cloudfront:UpdateOriginAccessControl cloudfront:DeleteOriginAccessControl "
              "cloudfront:GetOriginAccessControl",
              arn("cloudfront", "origin-access-control/*", region=False)),
        grant("ManageResponseHeadersPolicies", "cloudfront:CreateResponseHeadersPolicy "
              "cloudfront:UpdateResponseHeadersPolicy cloudfront:DeleteResponseHeadersPolicy "
              "cloudfront:GetResponseHeadersPolicy", arn("cloudfront", "response-headers-policy/*", region=False)),
        # The function handler's tag actions are granted on distributions only: IAM knows no tags on functions.
        grant("ManageFunctions", "cloudfront:CreateFunction cloudfront:UpdateFunction cloudfront:DeleteFunction "
              "cloudfront:DescribeFunction cloudfront:GetFunction cloudfront:PublishFunction",
              each("function/${Application}-{env}-*", "cloudfront", region=False)),
        grant("ListCloudFront", "cloudfront:ListDistributions cloudfront:ListOriginAccessControls "
              "cloudfront:ListResponseHeadersPolicies cloudfront:ListFunctions cloudfront:CreateOriginAccessControl",
              why_any="CloudFront's list actions and CreateOriginAccessControl have no resource type (IAM service "
                      "authorization reference)"),
        grant("ManageRecords", "route53:ChangeResourceRecordSets route53:ListResourceRecordSets "
              "route53:GetHostedZone", arn("route53", "hostedzone/*", region=False, account=False)),
        grant("FindRecords", "route53:GetChange route53:ListHostedZones",
              why_any="Route 53 changes have generated ids and ListHostedZones has no resource type"),
    ]


def _distribution(client, physical: str) -> bool:
    return bool(client("cloudfront").get_distribution(Id=physical)["Distribution"])


TYPES = {
    **shared.pick("AWS::S3::Bucket", "AWS::S3::BucketPolicy"),
    "AWS::CloudFront::Distribution": TypeFacts(cfn_grants=edge, verify=Verifier("GetDistribution", _distribution)),
    "AWS::CloudFront::OriginAccessControl": TypeFacts(cfn_grants=edge),
    "AWS::CloudFront::ResponseHeadersPolicy": TypeFacts(cfn_grants=edge),
    "AWS::CloudFront::Function": TypeFacts(cfn_grants=edge),
    "AWS::Route53::RecordSet": TypeFacts(cfn_grants=edge),
}
