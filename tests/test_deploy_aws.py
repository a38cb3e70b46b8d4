"""The edges: CLI, Makefile wiring, credentials, regions, throttling, error messages."""
from __future__ import annotations

import http.server
import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from scripts import deploy as cli
from scripts.deploylib import aws as awsmod
from scripts.deploylib.aws import Aws, check_region, friendly_errors
from scripts.deploylib.errors import DeployError
from scripts.deploylib.ui import Console

ROOT = Path(__file__).resolve().parent.parent
def run_cli(project: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main([*args, "--app", str(project / "app.yaml"), "--templates", str(project / "templates"),
                     "--params", str(project / "params")], Console(out=out, err=err, interactive=False))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def no_aws_config(monkeypatch, tmp_path):
    """No credentials anywhere: no env keys, no files, no metadata service."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_help_lists_every_subcommand():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "deploy.py"), "--help"], capture_output=True,
                            text=True, cwd="/", timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ("package", "diff", "deploy", "watch", "destroy", "drift", "outputs", "rehearse"):
        assert f"\n    {command} " in result.stdout


def _plain_make_env() -> dict[str, str]:
    """The environment without the parent make's variables: under `make test` they would make the child print
    "Entering/Leaving directory" lines and inherit flags such as -s or -k."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}


def test_makefile_targets_pass_env_and_flags():
    result = subprocess.run(["make", "--no-print-directory", "-n", "deploy", "ENV=prod", "YES=1", "BUCKET=my-bucket",
                             "FORCE=0"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=_plain_make_env())
    assert result.returncode == 0, result.stderr
    command = result.stdout.strip().splitlines()[-1]
    assert command.startswith(".venv/bin/python scripts/deploy.py deploy --env='prod' ")
    assert "--bucket='my-bucket'" in command and "--yes" in command and "--force" not in command
    destroy = subprocess.run(["make", "--no-print-directory", "-n", "destroy", "ENV=dev", "FORCE=1", "DRY_RUN=true"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60, env=_plain_make_env()).stdout
    assert "--force" in destroy and "--dry-run" in destroy and "--yes" not in destroy


def test_makefile_help_lists_the_deploy_targets_after_bench():
    text = (ROOT / "Makefile").read_text()
    targets = ["package", "diff", "deploy", "watch", "destroy", "drift", "outputs", "rehearse"]
    # the deploy commands need the AWS SDK (the deploy layer of .venv), rehearse the emulator too (the test layer)
    positions = [text.index(f"\n{t}: $(VENV)/.installed-{'test' if t == 'rehearse' else 'deploy'} ## ")
                 for t in targets]
    assert positions == sorted(positions)
    assert text.index("\nbench: ") < positions[0] < text.index("\nschema: ")


def test_unknown_region_is_named_with_suggestions():
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="eu-west-1")
    with pytest.raises(DeployError) as err:
        check_region(session, "eu-west-9")
    assert err.value.message == "unknown AWS region 'eu-west-9'"
    assert err.value.hints[0].startswith("did you mean eu-west-")
    check_region(session, "eu-west-1")
    check_region(session, "cn-north-1")


def test_unknown_region_from_the_environment_stops_the_cli(project, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "mars-north-1")
    code, _, err = run_cli(project, "outputs", "--env", "dev")
    assert code == 1
    assert err.startswith("error: unknown AWS region 'mars-north-1'\n")
    assert "AWS_REGION" in err


def test_missing_credentials_say_what_to_set(project, no_aws_config):
    code, out, err = run_cli(project, "outputs", "--env", "dev")
    assert code == 1
    assert err.splitlines()[0] == ("error: no usable AWS credentials (the default credential chain): Unable to "
                                   "locate credentials")
    assert "set AWS_PROFILE" in err and "aws sso login" in err
    assert "Traceback" not in err


def test_unknown_profile_is_named(project, no_aws_config, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "nope")
    code, _, err = run_cli(project, "outputs", "--env", "dev")
    assert code == 1
    assert err.splitlines()[0] == "error: AWS profile 'nope' is not configured"


def test_unknown_environment_via_cli(project):
    code, _, err = run_cli(project, "deploy", "--env", "qa")
    assert (code, err.splitlines()[0]) == (1, "error: unknown environment 'qa'")


def stubbed(client_name: str = "cloudformation") -> tuple[Aws, Stubber]:
    aws = Aws(boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="eu-west-1"), "eu-west-1")
    stub = Stubber(aws.client(client_name))
    stub.activate()
    return aws, stub


@pytest.mark.parametrize("code, expected", [
    ("ExpiredToken", "the AWS credentials of profile 'ops' have expired"),
    ("Throttling", "AWS kept throttling DescribeStacks through 10 retries with backoff (Throttling)"),
    ("InvalidClientTokenId", "AWS rejected the credentials of profile 'ops' (InvalidClientTokenId)"),
    ("AccessDenied", "access denied on DescribeStacks: nope"),
])
def test_aws_errors_become_messages(code, expected):
    aws, stub = stubbed()
    stub.add_client_error("describe_stacks", code, "nope")
    with pytest.raises(DeployError) as err:
        with friendly_errors("ops"):
            aws.cf.describe_stacks(StackName="x")
    assert err.value.message == expected


def test_clients_retry_adaptively_ten_times():
    aws, _ = stubbed()
    assert aws.cf.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 11}  # 10 retries
    assert awsmod.RETRIES == {"mode": "adaptive", "max_attempts": 10}


class _Throttler(http.server.BaseHTTPRequestHandler):
    """Answers DescribeStacks with Throttling twice, then with a stack."""

    calls: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length", 0))
        self.calls.append(self.rfile.read(length).decode())
        if len(self.calls) <= 2:
            body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded"
                    b"</Message></Error><RequestId>1</RequestId></ErrorResponse>")
            self.send_response(400)
        else:
            body = (b"<DescribeStacksResponse><DescribeStacksResult><Stacks><member><StackName>s</StackName>"
                    b"<StackId>id</StackId><CreationTime>2026-03-01T12:00:00Z</CreationTime>"
                    b"<StackStatus>CREATE_COMPLETE</StackStatus></member></Stacks></DescribeStacksResult>"
                    b"</DescribeStacksResponse>")
            self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_throttling_is_retried_with_backoff(monkeypatch):
    from botocore.retries import standard
    delays: list[float] = []
    original = standard.ExponentialBackoff.delay_amount

    def no_wait(self, context):            # record the backoff botocore computed, but do not sleep it
        delays.append(original(self, context))
        return 0
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", no_wait)
    from botocore.retries import bucket
    acquired: list[int] = []                # adaptive mode's client-side rate limiter: count, do not wait
    monkeypatch.setattr(bucket.TokenBucket, "acquire", lambda self, amount=1, block=True: acquired.append(1) or True)
    _Throttler.calls = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Throttler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        aws = Aws(boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="eu-west-1"),
                  "eu-west-1", endpoint_url=f"http://127.0.0.1:{server.server_address[1]}")
        stacks = aws.cf.describe_stacks(StackName="s")["Stacks"]
    finally:
        server.shutdown()
    assert stacks[0]["StackStatus"] == "CREATE_COMPLETE"
    assert len(_Throttler.calls) == 3 and all("Action=DescribeStacks" in c for c in _Throttler.calls)
    assert len(delays) == 2 and all(d >= 0 for d in delays)
    assert acquired, "adaptive retry mode sends through its rate limiter once throttled"


def test_error_output_is_redacted():
    console = Console(out=io.StringIO(), err=io.StringIO())
    console.add_secrets(["hunter2-long", "ab"])
    console.say("password hunter2-long and ab")
    assert console.out.getvalue() == "password **** and ab\n"   # 2-char values are not used for masking
