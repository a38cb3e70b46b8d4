"""The resource types the service stacks create (every kind), and what the rest of the system must know about each."""
from __future__ import annotations

from generator.components import monitoring, shared
from generator.components.base import TypeFacts, Verifier


def _ecs_service(client, physical: str) -> bool:
    # arn:aws:ecs:<region>:<account>:service/<cluster>/<name>
    cluster = physical.split(":service/", 1)[1].split("/")[0] if ":service/" in physical else "default"
    found = client("ecs").describe_services(cluster=cluster, services=[physical])["services"]
    return any(svc.get("status") == "ACTIVE" for svc in found)


TYPES = {
    **shared.pick("AWS::IAM::Role", "AWS::Logs::LogGroup", "AWS::EC2::SecurityGroup", "AWS::CloudWatch::Alarm",
                  "AWS::SQS::Queue", "AWS::Scheduler::Schedule",
                  "AWS::EC2::SecurityGroupIngress"),   # on the security group of a store the service uses
    # alarms (generator/components/service/alarms.py, through monitoring's hook)
    **monitoring.TYPES_FOR_WATCHERS,
    "AWS::ECS::TaskDefinition": TypeFacts(cfn_grants=shared.containers, passed_to=("ecs-tasks.amazonaws.com",),
                                          verify=Verifier("DescribeTaskDefinition", lambda client, p: bool(
                                              client("ecs").describe_task_definition(taskDefinition=p)[
                                                  "taskDefinition"]))),
    "AWS::ECS::Service": TypeFacts(cfn_grants=shared.containers, service_linked=("ecs.amazonaws.com",),
                                   verify=Verifier("DescribeServices", _ecs_service)),
    "AWS::ApplicationAutoScaling::ScalableTarget": TypeFacts(
        cfn_grants=shared.scaling, service_linked=("ecs.application-autoscaling.amazonaws.com",)),
    "AWS::ApplicationAutoScaling::ScalingPolicy": TypeFacts(cfn_grants=shared.scaling),
    # web
    "AWS::ElasticLoadBalancingV2::TargetGroup": TypeFacts(cfn_grants=shared.load_balancing, verify=Verifier(
        "DescribeTargetGroups", lambda client, p: bool(
            client("elbv2").describe_target_groups(TargetGroupArns=[p])["TargetGroups"]))),
    "AWS::ElasticLoadBalancingV2::ListenerRule": TypeFacts(cfn_grants=shared.load_balancing, verify=Verifier(
        "DescribeRules", lambda client, p: bool(client("elbv2").describe_rules(RuleArns=[p])["Rules"]))),
    "AWS::CodeDeploy::Application": TypeFacts(cfn_grants=shared.releases),
    "AWS::CodeDeploy::DeploymentGroup": TypeFacts(cfn_grants=shared.releases,
                                                  passed_to=("codedeploy.amazonaws.com",)),
    # cron
    "AWS::StepFunctions::StateMachine": TypeFacts(
        cfn_grants=shared.jobs, passed_to=("states.amazonaws.com",), verify=Verifier(
            "DescribeStateMachine", lambda client, p: bool(
                client("stepfunctions").describe_state_machine(stateMachineArn=p)["stateMachineArn"]))),
}
