"""The day-2 commands against the emulator (moto in server mode), through scripts/ops.py's own entry point with
--endpoint-url, exactly as `make status ENV=dev` runs them with AWS_ENDPOINT_URL set. The resources are created
directly (a cluster, task definitions, services, log events, a stack with the service-name outputs), so the commands
read what the templates would have made.

What the emulator lacks, and where it is covered instead (tests/test_ops_commands.py, botocore Stubber): CodeDeploy's
GetDeploymentTarget, StopDeployment and ContinueDeployment (the release lifecycle, the approval hold, rollback);
ECS ExecuteCommand sessions; RunTask without a launch type (`make run` uses the cluster's default capacity provider
strategy, as the scheduled jobs do: moto 5.2.5 answers it with a 500, placing the task on EC2 container instances
and adding up container-level memory our task definitions do not set), and containers that run at all; Docker and
the scan gate."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import boto3
import pytest

from scripts import ops
from scripts.deploylib.rehearsal.emulator import emulator
from scripts.deploylib.ui import Console
from tests.ops_support import ACCOUNT, REGION

pytestmark = pytest.mark.slow

APP = """\
app: shop
owner: team
region: eu-west-1
services:
  - {name: web, kind: web, port: 8080}
  - {name: jobs, kind: worker}
  - {name: nightly, kind: cron, schedule: "cron(0 3 * * ? *)"}
database: {engine: aurora-postgresql, name: shop}
queues: [{name: orders}]
tables: [{name: carts, partition_key: {name: id}}]
environments:
  dev:
    account_id: "111111111111"
    cidr: 10.10.0.0/16
    services: {web: {exec: true}}
"""
STACK = """\
Resources:
  Handle: {Type: AWS::CloudFormation::WaitConditionHandle}
Outputs:
  ServiceWebServiceName: {Value: shop-dev-ServiceWeb-Service-AbC}
  ServiceJobsServiceName: {Value: shop-dev-ServiceJobs-Service-DeF}
  QueueOrdersQueueUrl: {Value: "%(queue_url)s"}
  QueueOrdersDeadLetterQueueName: {Value: shop-dev-orders-dlq}
  TableCartsTableName: {Value: shop-dev-carts}
"""
PARAMETERS = [{"ParameterKey": k, "ParameterValue": v} for k, v in (
    ("WebImageTag", "bootstrap"), ("JobsImageTag", "bootstrap"), ("NightlyImageTag", "bootstrap"),
    ("WebExecEnabled", "true"), ("JobsExecEnabled", "false"), ("NightlyExecEnabled", "false"))]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("ops")
    (root / "app.yaml").write_text(APP)
    (root / "templates_out").mkdir()
    (root / "params").mkdir()
    (root / "params" / "dev.json").write_text(json.dumps(PARAMETERS))
    (root / "params" / "dev.config.json").write_text(json.dumps({"Parameters": {}, "Tags": {}}))
    with emulator(ACCOUNT) as url:
        os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        session = boto3.Session(region_name=REGION)

        def client(name):
            return session.client(name, endpoint_url=url)
        sqs = client("sqs")
        queue_url = sqs.create_queue(QueueName="shop-dev-orders")["QueueUrl"]
        for body in ("a", "b"):
            sqs.send_message(QueueUrl=queue_url, MessageBody=body)
        dlq = sqs.create_queue(QueueName="shop-dev-orders-dlq")["QueueUrl"]
        sqs.send_message(QueueUrl=dlq, MessageBody="failed")
        client("dynamodb").create_table(TableName="shop-dev-carts", BillingMode="PAY_PER_REQUEST",
                                        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        stack = STACK % {"queue_url": queue_url}
        (root / "templates_out" / "root.yaml").write_text(stack)
        client("cloudformation").create_stack(StackName="shop-dev", TemplateBody=stack)
        ecs = client("ecs")
        ecs.create_cluster(clusterName="shop-dev")
        ec2 = client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.10.0.0/20")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="jobs", Description="jobs", VpcId=vpc)["GroupId"]
        network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group],
                                           "assignPublicIp": "DISABLED"}}
        registry = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
        for name, tags in (("web", ["v1", "v2"]), ("jobs", ["j1"]), ("nightly", ["n1"])):
            for tag in tags:
                ecs.register_task_definition(
                    family=f"shop-dev-{name}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                    cpu="256", memory="512",
                    containerDefinitions=[{"name": name, "image": f"{registry}/shop-dev-{name}:{tag}"}])
        for name, service, count in (("web", "shop-dev-ServiceWeb-Service-AbC", 2),
                                     ("jobs", "shop-dev-ServiceJobs-Service-DeF", 1)):
            ecs.create_service(cluster="shop-dev", serviceName=service, taskDefinition=f"shop-dev-{name}",
                               desiredCount=count, launchType="FARGATE", networkConfiguration=network)
        cd = client("codedeploy")
        cd.create_application(applicationName="shop-dev-web", computePlatform="ECS")
        cd.create_deployment_group(applicationName="shop-dev-web", deploymentGroupName="shop-dev-web",
                                   serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/cd")
        logs = client("logs")
        logs.create_log_group(logGroupName="/shop/dev/services/web")
        for task in ("aaaaaaaa1111", "bbbbbbbb2222"):
            logs.create_log_stream(logGroupName="/shop/dev/services/web", logStreamName=f"web/web/{task}")
        yield root, url


def run_ops(world, *argv: str) -> tuple[int, str, str]:
    root, url = world
    out, err = io.StringIO(), io.StringIO()
    console = Console(out=out, err=err, interactive=False, sleep=lambda _s: None)
    code = ops.main([argv[0], "--env=dev", f"--app={root / 'app.yaml'}", f"--templates={root / 'templates_out'}",
                     f"--params={root / 'params'}", f"--endpoint-url={url}", *argv[1:]], console=console)
    return code, out.getvalue(), err.getvalue()


def test_status_against_the_emulator(world):
    code, out, err = run_ops(world, "status")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "shop-dev (eu-west-1): stack CREATE_COMPLETE"
    # moto starts no tasks: its services report every desired task as pending
    assert lines[2].split()[:6] == ["web", "web", "2", "0", "2", "v2"]
    assert lines[3].split()[:6] == ["jobs", "worker", "1", "0", "1", "j1"]
    assert lines[4].split()[:6] == ["nightly", "cron", "-", "0", "-", "n1"]
    assert "Alarms in ALARM: 0 (none)" in out
    assert "no database cluster tagged for this environment" in out
    # the stores: SQS GetQueueAttributes on the queue and its DLQ, DynamoDB DescribeTable, as moto answers them
    assert "  queue orders: shop-dev-orders: 2 waiting, 0 in flight; dead-letter queue shop-dev-orders-dlq: 1" in out
    assert "  table carts: shop-dev-carts: ACTIVE" in out


def test_logs_against_the_emulator(world):
    root, url = world
    logs = boto3.Session(region_name=REGION).client("logs", endpoint_url=url)
    import time
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName="/shop/dev/services/web", logStreamName="web/web/aaaaaaaa1111",
                        logEvents=[{"timestamp": now - 2000, "message": "GET /health 200"}])
    logs.put_log_events(logGroupName="/shop/dev/services/web", logStreamName="web/web/bbbbbbbb2222",
                        logEvents=[{"timestamp": now - 1000, "message": "GET /api 500"}])
    code, out, err = run_ops(world, "logs", "--service=web", "--since=5m")
    assert code == 0, err
    assert [line.split(" ", 1)[1] for line in out.splitlines()[1:]] == ["aaaaaaaa GET /health 200",
                                                                      "bbbbbbbb GET /api 500"]


def test_approve_without_a_held_release_against_the_emulator(world):
    code, out, err = run_ops(world, "approve", "--service=web")
    assert code == 1 and err == "error: web has no release waiting for approval in dev\n"


def test_exec_when_off_for_the_environment(world):
    code, out, err = run_ops(world, "exec", "--service=jobs")
    assert code == 1 and err.startswith("error: ECS Exec is off for jobs in dev\n")
