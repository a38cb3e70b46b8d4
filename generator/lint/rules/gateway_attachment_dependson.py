"""E9014: whatever needs an attached gateway (routes, Elastic IPs, public load balancers) waits for the attachment."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

GATEWAYS = {"AWS::EC2::InternetGateway": "InternetGatewayId", "AWS::EC2::VPNGateway": "VpnGatewayId"}


class GatewayAttachmentDependsOn(CloudFormationLintRule):
    id = "E9014"
    shortdesc = "Routes through a gateway, Elastic IPs and internet-facing load balancers depend on the attachment"
    description = (
        "In a template that attaches an internet (or VPN) gateway with AWS::EC2::VPCGatewayAttachment, a route "
        "whose GatewayId is that gateway, an AWS::EC2::EIP and an internet-facing Elastic Load Balancing v2 load "
        "balancer must be created after the attachment (DependsOn, directly or through a chain), otherwise they "
        "can be created before the gateway is attached and fail (e.g. 'route table and network gateway belong to "
        "different networks'). Ref of the gateway alone does not wait for the attachment."
    )
    source_url = ("AWS CloudFormation User Guide, DependsOn attribute, 'When a DependsOn attribute is required' "
                  "(aws-attribute-dependson)")
    tags = ["resources", "ec2", "vpc"]

    def match(self, cfn):
        attachments = {}  # gateway id -> attachment ids
        for name, attachment in h.resources(cfn, "AWS::EC2::VPCGatewayAttachment").items():
            for key in GATEWAYS.values():
                for gateway, _ in h.value_sources(h.properties(attachment).get(key)):
                    attachments.setdefault(gateway, []).append(name)
        internet = sorted(a for g, ids in attachments.items()
                          if h.type_of(cfn, g) == "AWS::EC2::InternetGateway" for a in ids)
        matches = []
        for name, needs in self._needs(cfn, attachments, internet):
            if needs and not any(h.depends_on(cfn, name, a) for a in needs):
                matches.append(RuleMatch(
                    ["Resources", name],
                    f"{h.type_of(cfn, name)} {name} can be created before gateway attachment {needs[0]} exists: "
                    f"add DependsOn: {needs[0]}",
                ))
        return matches

    @staticmethod
    def _needs(cfn, attachments, internet):
        """(resource, attachments it must follow) for each resource that needs an attached gateway."""
        for name, route in h.resources(cfn, "AWS::EC2::Route").items():
            gateways = [g for g, _ in h.value_sources(h.properties(route).get("GatewayId")) if g in attachments]
            yield name, sorted(a for g in gateways for a in attachments[g])
        if not internet:
            return
        for name in h.resources(cfn, "AWS::EC2::EIP"):
            yield name, internet
        for name, lb in h.resources(cfn, "AWS::ElasticLoadBalancingV2::LoadBalancer").items():
            props = h.properties(lb)  # gateway load balancers have no scheme and need no internet gateway
            if props.get("Scheme", "internet-facing") == "internet-facing" and props.get("Type") != "gateway":
                yield name, internet
