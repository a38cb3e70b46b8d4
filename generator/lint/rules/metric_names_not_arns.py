"""E9016: CloudWatch metric dimensions and scaling resource labels use names, not ARNs."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

# What a metric identifier needs from each resource type: the attribute to GetAtt (None: its Ref value).
WANTED = {
    "AWS::ECS::Service": "Name",                                             # Ref is the ARN
    "AWS::ECS::Cluster": None,                                               # Ref is the name
    "AWS::ElasticLoadBalancingV2::TargetGroup": "TargetGroupFullName",       # targetgroup/<name>/<id>
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "LoadBalancerFullName",     # app/<name>/<id>
}


class MetricNamesNotArns(CloudFormationLintRule):
    id = "E9016"
    shortdesc = "Alarm dimensions and ALB resource labels use service names and full names, not ARNs"
    description = (
        "CloudWatch dimensions ServiceName/ClusterName (AWS/ECS, ECS/ContainerInsights) and TargetGroup/LoadBalancer "
        "(AWS/ApplicationELB), and a scaling policy's ResourceLabel, take !GetAtt Service.Name, !Ref Cluster, "
        "!GetAtt TG.TargetGroupFullName and !GetAtt LB.LoadBalancerFullName. Ref of a service, target group or load "
        "balancer is an ARN: the alarm then watches a metric that never exists (INSUFFICIENT_DATA forever) and "
        "ALBRequestCountPerTarget scaling fails."
    )
    source_url = "aws-reference.md §5 (Container Insights dims, ScalingPolicy ResourceLabel); Top 10 pitfalls #1"
    tags = ["resources", "cloudwatch", "applicationautoscaling"]

    def match(self, cfn):
        matches = []
        for name, path, value in self._identifiers(cfn):
            for source, attribute in h.value_sources(value):
                kind = h.type_of(cfn, source)
                if kind in WANTED and attribute != WANTED[kind]:
                    given = f"!GetAtt {source}.{attribute}" if attribute else f"!Ref {source}"
                    wanted = f"!GetAtt {source}.{WANTED[kind]}" if WANTED[kind] else f"!Ref {source}"
                    matches.append(RuleMatch(
                        ["Resources", name, "Properties", *path],
                        f"{h.type_of(cfn, name)} {name}: {h.dotted(path)} uses {given}, which is not the name the "
                        f"metric is published under: use {wanted}",
                    ))
        return matches

    @staticmethod
    def _identifiers(cfn):
        """(resource, path under Properties, value) of each alarm dimension value and scaling resource label."""
        for name, alarm in h.resources(cfn, "AWS::CloudWatch::Alarm").items():
            props = h.properties(alarm)
            for i, dimension in h.listed(props.get("Dimensions")):
                yield name, ["Dimensions", i, "Value"], h.field(dimension, "Value")
            for i, metric in h.listed(props.get("Metrics")):
                for j, dimension in h.listed(h.field(metric, "MetricStat", "Metric", "Dimensions")):
                    yield name, ["Metrics", i, "MetricStat", "Metric", "Dimensions", j, "Value"], \
                        h.field(dimension, "Value")
        for name, policy in h.resources(cfn, "AWS::ApplicationAutoScaling::ScalingPolicy").items():
            path = ["TargetTrackingScalingPolicyConfiguration", "PredefinedMetricSpecification", "ResourceLabel"]
            yield name, path, h.field(h.properties(policy), *path)
