"""A day-2 command harness: one fixture app (a web service, a worker, a cron job, a database), its Target built in
memory, and botocore Stubbers on every client a command asks for, over a Console with a fake clock."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import boto3
from botocore.stub import ANY, Stubber

from scripts.deploylib.aws import Aws
from scripts.deploylib.target import Target
from scripts.deploylib.ui import Console
from scripts.opslib.context import Ops, OpsOptions
from tests.conftest import make_app
from tests.test_deploy_flows import botocore_session

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
REGION = "eu-west-1"
ACCOUNT = "111111111111"
SERVICES = [{"name": "web", "kind": "web", "port": 8080},
            {"name": "jobs", "kind": "worker"},
            {"name": "nightly", "kind": "cron", "schedule": "cron(0 3 * * ? *)"}]
APP = make_app(app="shop", services=SERVICES, database={"engine": "aurora-postgresql", "name": "shop"},
               environments={"dev": {"account_id": ACCOUNT, "cidr": "10.10.0.0/16",
                                     "services": {"web": {"exec": True}}}})
PARAMETERS = (("WebImageTag", "bootstrap"), ("JobsImageTag", "bootstrap"), ("NightlyImageTag", "bootstrap"),
              ("WebExecEnabled", "true"), ("JobsExecEnabled", "false"), ("NightlyExecEnabled", "false"))
CLUSTER = "shop-dev"
WEB_SERVICE = "shop-dev-ServiceWeb-Service-AbC"
JOBS_SERVICE = "shop-dev-ServiceJobs-Service-DeF"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/shop-dev/0000"
REPO = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def root_stack(status: str = "UPDATE_COMPLETE", web_tag: str = "aaa111") -> dict:
    return {"StackName": "shop-dev", "StackId": STACK_ID, "StackStatus": status, "CreationTime": T0,
            "Parameters": [{"ParameterKey": "WebImageTag", "ParameterValue": web_tag}],
            "Outputs": [{"OutputKey": "ServiceWebServiceName", "OutputValue": WEB_SERVICE},
                        {"OutputKey": "ServiceJobsServiceName", "OutputValue": JOBS_SERVICE}]}


@dataclass
class OpsHarness:
    ops: Ops
    out: io.StringIO
    err: io.StringIO
    stubs: dict[str, Stubber] = field(default_factory=dict)
    sleeps: list = field(default_factory=list)

    def stub(self, service: str) -> Stubber:
        if service not in self.stubs:
            stubber = Stubber(self.ops.aws.client(service))
            stubber.activate()
            self.stubs[service] = stubber
        return self.stubs[service]

    def add(self, service: str, operation: str, response: dict, expected=None) -> None:
        """`expected`: the exact parameters, or ANY / None for whatever the command sends."""
        self.stub(service).add_response(operation, response, None if expected is ANY else expected)

    def error(self, service: str, operation: str, code: str, message: str = "", expected: dict | None = None,
              status: int = 400) -> None:
        self.stub(service).add_client_error(operation, code, message, status, expected_params=expected)

    def described_stack(self, **kwargs) -> None:
        self.add("cloudformation", "describe_stacks", {"Stacks": [root_stack(**kwargs)]}, {"StackName": "shop-dev"})

    def output(self) -> str:
        return self.out.getvalue()

    def done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def harness(**options) -> OpsHarness:
    out, err = io.StringIO(), io.StringIO()
    clock = {"t": 0.0}
    sleeps: list = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock["t"] += seconds

    console = Console(out=out, err=err, interactive=False, sleep=sleep, now=lambda: T0,
                      monotonic=lambda: clock["t"])
    session = boto3.Session(botocore_session=botocore_session(), aws_access_key_id="AKIDTEST",
                            aws_secret_access_key="secret", region_name=REGION)
    target = Target(app=APP, env="dev", spec=APP.environments["dev"], region=REGION,
                    templates_dir=Path("/nonexistent"), params_dir=Path("/nonexistent"),
                    parameters=PARAMETERS, tags=(), stack_policy=None)
    ops = Ops(target, Aws(session, REGION, None, retries={"mode": "standard", "max_attempts": 1}), console,
              OpsOptions(**options))
    return OpsHarness(ops, out, err, sleeps=sleeps)
