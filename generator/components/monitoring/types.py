"""The resource types monitoring creates (the alert topic and its subscriptions, the dashboard) and those its hook adds
to other components' stacks (composite alarms, the EventBridge rules that count stopped tasks), with what the rest of
the system must know about each."""
from __future__ import annotations

from generator.components import shared
from generator.components.base import TypeFacts, Verifier
from generator.policies.grants import Grant, grant


def alerting(each, envs: list[str]) -> list[Grant]:
    """Actions from the registry handlers of AWS::SNS::Topic, AWS::SNS::Subscription, AWS::CloudWatch::CompositeAlarm,
    AWS::CloudWatch::Dashboard and AWS::Events::Rule (cfn-lint's bundled schemas)."""
    return [
        grant("ManageAlertTopics", "sns:CreateTopic sns:DeleteTopic sns:GetTopicAttributes sns:SetTopicAttributes "
              "sns:TagResource sns:UntagResource sns:ListTagsForResource sns:ListSubscriptionsByTopic "
              "sns:GetDataProtectionPolicy sns:PutDataProtectionPolicy sns:Subscribe",
              each("${Application}-{env}-alerts", "sns")),
        grant("ManageAlertSubscriptions", "sns:Unsubscribe sns:GetSubscriptionAttributes sns:SetSubscriptionAttributes",
              why_any="subscription ARNs end in an id SNS generates when the address is subscribed"),
        grant("ManageCompositeAlarms", "cloudwatch:PutCompositeAlarm cloudwatch:DescribeAlarms "
              "cloudwatch:DeleteAlarms cloudwatch:TagResource cloudwatch:UntagResource "
              "cloudwatch:ListTagsForResource", each("alarm:${Application}-{env}-*", "cloudwatch")),
        grant("ManageDashboards", "cloudwatch:PutDashboard cloudwatch:GetDashboard cloudwatch:DeleteDashboards",
              each("dashboard/${Application}-{env}", "cloudwatch", region=False)),
        grant("TagDashboards", "cloudwatch:TagResource cloudwatch:UntagResource cloudwatch:ListTagsForResource",
              why_any="the dashboard handler tags the dashboard (CloudFormation's system tags on create), and the IAM "
                      "reference gives CloudWatch's tag actions no dashboard resource type (alarms, insight rules, "
                      "SLOs only), so no dashboard ARN can scope them"),
        grant("ManageEventRules", "events:PutRule events:DeleteRule events:DescribeRule events:PutTargets "
              "events:RemoveTargets events:ListTargetsByRule events:TagResource events:UntagResource "
              "events:ListTagsForResource", each("rule/${Application}-{env}-*", "events")),
    ]


TYPES = {
    **shared.pick("AWS::KMS::Key"),
    "AWS::SNS::Topic": TypeFacts(cfn_grants=alerting, verify=Verifier(
        "GetTopicAttributes", lambda client, p: bool(client("sns").get_topic_attributes(TopicArn=p)["Attributes"]))),
    "AWS::SNS::Subscription": TypeFacts(cfn_grants=alerting),
    "AWS::CloudWatch::Dashboard": TypeFacts(cfn_grants=alerting, verify=Verifier(
        "GetDashboard", lambda client, p: bool(client("cloudwatch").get_dashboard(DashboardName=p)["DashboardBody"]))),
    "AWS::CloudWatch::CompositeAlarm": TypeFacts(cfn_grants=alerting),
    "AWS::Events::Rule": TypeFacts(cfn_grants=alerting, verify=Verifier(   # physical id: the rule's name
        "DescribeRule", lambda client, p: bool(client("events").describe_rule(Name=p.split("|")[-1])["Arn"]))),
    **shared.pick("AWS::CloudWatch::Alarm"),
}

# What a component whose stack watches its resources (MonitoringOutputs.watch) declares in its own TYPES: the composite
# alarm, and the EventBridge rule a service counts its stopped tasks with.
TYPES_FOR_WATCHERS = {t: TYPES[t] for t in ("AWS::CloudWatch::CompositeAlarm", "AWS::Events::Rule",
                                            "AWS::CloudWatch::Alarm")}
