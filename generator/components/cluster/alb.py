"""The cluster stack's load balancer: access-log bucket, security group, load balancer and its three listeners.

- HTTP on 80 always exists; with a certificate it redirects to HTTPS, without one it is the production listener.
  One resource whose default action switches (never two port-80 listeners swapped by a Condition: CloudFormation
  creates the replacement before deleting the old one, and the port is taken).
- HTTPS on 443 exists only with a certificate. Production default action: a fixed 404; services add rules.
- The test listener on 8080 (HTTPS with a certificate, else HTTP) is reachable only from the test CIDR.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from troposphere import Equals, FindInMap, GetAtt, If, NoValue, Not, Ref, ec2, s3
from troposphere import elasticloadbalancingv2 as elb

from generator import naming
from generator.components.network import NetworkOutputs
from generator.components.shared import checkov_skip
from generator.policies.s3 import (ELB_ACCOUNTS_MAP, HAS_ELB_ACCOUNT, elb_accounts_mapping,
                                   load_balancer_access_logs)
from generator.records import record
from generator.wiring import StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec

LOG_PREFIX = "alb"
TEST_PORT = 8080
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
ANYWHERE = "0.0.0.0/0"


@record(frozen=True)
class Inputs:
    certificate_arn: Any
    test_cidr: Any
    retention_days: Any
    has_certificate: str   # Condition names
    is_production: str
    idle_timeout: Any = 60
    cloudfront_prefix_list: Any = None   # set when CloudFront fronts the API: the only source on the production port


@record
class Alb:
    load_balancer: elb.LoadBalancer
    security_group: ec2.SecurityGroup
    http_listener: elb.Listener
    https_listener: elb.Listener
    test_listener: elb.Listener


def build(app: AppSpec, stack: StackBuilder, net: NetworkOutputs, inputs: Inputs) -> Alb:
    bucket, bucket_policy = _access_log_bucket(app, stack, inputs)
    sg = _security_group(app, stack, net, inputs)
    is_prod = inputs.is_production
    lb = stack.add(elb.LoadBalancer(
        "LoadBalancer", Type="application", Scheme="internet-facing", IpAddressType="ipv4",
        Subnets=stack.input(net.public_subnet_ids), SecurityGroups=[Ref(sg)],
        LoadBalancerAttributes=[
            elb.LoadBalancerAttributes(Key="access_logs.s3.enabled", Value="true"),
            elb.LoadBalancerAttributes(Key="access_logs.s3.bucket", Value=Ref(bucket)),
            elb.LoadBalancerAttributes(Key="access_logs.s3.prefix", Value=LOG_PREFIX),
            elb.LoadBalancerAttributes(Key="routing.http.drop_invalid_header_fields.enabled", Value="true"),
            elb.LoadBalancerAttributes(Key="routing.http.desync_mitigation_mode", Value="defensive"),
            elb.LoadBalancerAttributes(Key="deletion_protection.enabled", Value=If(is_prod, "true", "false")),
            # Long polling and WebSockets (Socket.IO) hold connections open: the environment's idle timeout.
            elb.LoadBalancerAttributes(Key="idle_timeout.timeout_seconds", Value=inputs.idle_timeout),
        ],
        # ELB checks it may write to the bucket when logging is switched on: the policy must exist first.
        DependsOn=[bucket_policy]))

    has_cert = inputs.has_certificate
    certificates = [elb.Certificate(CertificateArn=inputs.certificate_arn)]
    not_found = [elb.Action(Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(
        StatusCode="404", ContentType="text/plain", MessageBody="No service matches this request"))]
    to_https = [elb.Action(Type="redirect", RedirectConfig=elb.RedirectConfig(
        Protocol="HTTPS", Port="443", Host="#{host}", Path="/#{path}", Query="#{query}", StatusCode="HTTP_301"))]
    http = stack.add(elb.Listener(
        "HttpListener", LoadBalancerArn=Ref(lb), Port=80, Protocol="HTTP",
        DefaultActions=If(has_cert, to_https, not_found),
        Metadata=checkov_skip(("CKV_AWS_2", "Redirects to HTTPS when a certificate is set; plain HTTP only in "
                                     "environments without one (CertificateArn empty)."))))
    https = stack.add(elb.Listener(
        "HttpsListener", Condition=has_cert, LoadBalancerArn=Ref(lb), Port=443, Protocol="HTTPS",
        Certificates=certificates, SslPolicy=SSL_POLICY, DefaultActions=not_found))
    test = stack.add(elb.Listener(
        "TestListener", LoadBalancerArn=Ref(lb), Port=TEST_PORT, Protocol=If(has_cert, "HTTPS", "HTTP"),
        Certificates=If(has_cert, certificates, NoValue), SslPolicy=If(has_cert, SSL_POLICY, NoValue),
        DefaultActions=not_found,
        Metadata=checkov_skip(("CKV_AWS_2", "HTTPS when a certificate is set; plain HTTP only in environments without "
                                     "one, and reachable only from the test CIDR."),
                       ("CKV_AWS_103", f"Protocol and SslPolicy switch together on HasCertificate: whenever it is "
                                       f"HTTPS the policy is {SSL_POLICY} (TLS 1.2+); checkov cannot follow Fn::If."))))
    return Alb(lb, sg, http, https, test)


def _access_log_bucket(app: AppSpec, stack: StackBuilder, inputs: Inputs) -> tuple[s3.Bucket, s3.BucketPolicy]:
    bucket = stack.add(s3.Bucket(
        "AccessLogBucket", BucketName=naming.bucket_name("alb-logs"),
        # Logs are evidence: a deleted or replaced stack leaves the bucket (its lifecycle rule still empties it);
        # the policies come from its type's facts (stateful), like every stateful resource's.
        BucketEncryption=s3.BucketEncryption(ServerSideEncryptionConfiguration=[s3.ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))]),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id="expire-access-logs", Status="Enabled", ExpirationInDays=inputs.retention_days,
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=7),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=1))]),
        Metadata=checkov_skip(
            ("CKV_AWS_18", "This bucket receives access logs; logging it to itself would be circular and a "
                           "separate server-access-log bucket would need its own log bucket in turn."),
            ("CKV_AWS_145", "Load balancer access logs support only SSE-S3 (AES256), not SSE-KMS."),
        )))
    regions = app.regions()
    if len(regions) > 1:   # environments in several regions: the same template everywhere
        stack.template.add_mapping(ELB_ACCOUNTS_MAP, elb_accounts_mapping(regions))
        stack.template.add_condition(HAS_ELB_ACCOUNT, Not(Equals(FindInMap(
            ELB_ACCOUNTS_MAP, Ref("AWS::Region"), "Account"), "none")))
    policy = stack.add(s3.BucketPolicy(
        "AccessLogBucketPolicy", Bucket=Ref(bucket),
        PolicyDocument=load_balancer_access_logs(bucket, LOG_PREFIX, regions)))
    return bucket, policy


def _security_group(app: AppSpec, stack: StackBuilder, net: NetworkOutputs, inputs: Inputs) -> ec2.SecurityGroup:
    ports: dict[int, list[str]] = {}
    for svc in app.services:
        port = svc.ingress()[1]
        if svc.kind == "web" and port is not None:
            ports.setdefault(port, []).append(svc.name)
    egress = [ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp=stack.input(net.vpc_cidr),
                                    Description=f"To the {', '.join(names)} service tasks (port {port})")
              for port, names in sorted(ports.items())]
    if not egress:
        # No web service yet: allow no egress at all (an empty list would mean "allow everything").
        egress = [ec2.SecurityGroupRule(IpProtocol="icmp", FromPort=-1, ToPort=-1, CidrIp="127.0.0.1/32",
                                        Description="No egress")]
    test = ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=TEST_PORT, ToPort=TEST_PORT, CidrIp=inputs.test_cidr,
                                 Description="Test listener, from the test CIDR only")
    if inputs.cloudfront_prefix_list is not None:
        return _behind_cloudfront(stack, net, inputs, egress, test)
    sg = stack.add(ec2.SecurityGroup(
        "LoadBalancerSecurityGroup", VpcId=stack.input(net.vpc_id),
        GroupDescription="Internet to the load balancer; load balancer to the web service tasks",
        SecurityGroupIngress=[
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=80, ToPort=80, CidrIp=ANYWHERE,
                                  Description="HTTP from the internet (redirected to HTTPS when a certificate is set)"),
            test,
        ],
        SecurityGroupEgress=egress,
        Metadata=checkov_skip(("CKV_AWS_260", "An internet-facing load balancer: port 80 is open so plain-HTTP visitors "
                                       "are redirected to HTTPS (or served, where no certificate is set)."))))
    # A separate resource, not an Fn::If inside the list, so every rule stays a plain, described rule.
    stack.add(ec2.SecurityGroupIngress(
        "LoadBalancerHttpsIngress", Condition=inputs.has_certificate, GroupId=GetAtt(sg, "GroupId"),
        IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp=ANYWHERE, Description="HTTPS from the internet"))
    return sg


def _behind_cloudfront(stack: StackBuilder, net: NetworkOutputs, inputs: Inputs, egress: list,
                       test: ec2.SecurityGroupRule) -> ec2.SecurityGroup:
    """CloudFront fronts the API: the production port (443 with a certificate, else 80) admits only CloudFront's
    origin-facing servers (the managed prefix list `com.amazonaws.global.cloudfront.origin-facing`), the test port
    only the test CIDR. One prefix-list rule: the list weighs 55 rules against the group's quota of 60 (Docs:
    "Restrict access to Application Load Balancers", Amazon CloudFront developer guide; "AWS-managed prefix list
    weight", Amazon VPC user guide)."""
    port = If(inputs.has_certificate, 443, 80)
    return stack.add(ec2.SecurityGroup(
        "LoadBalancerSecurityGroup", VpcId=stack.input(net.vpc_id),
        GroupDescription="CloudFront to the load balancer; load balancer to the web service tasks",
        SecurityGroupIngress=[
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port,
                                  SourcePrefixListId=inputs.cloudfront_prefix_list,
                                  Description="Production listener, from CloudFront's origin-facing servers only"),
            test,
        ],
        SecurityGroupEgress=egress))
