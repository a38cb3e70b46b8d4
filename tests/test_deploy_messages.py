"""What the deploy script prints when things are odd: masking by value (never by a parameter's or service's name),
the endpoint URL's user name and password, a template bucket that denies object calls, and `outputs` of a stack
whose deploy failed. Exact API responses through botocore's Stubber, as in tests/test_deploy_flows.py."""
from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import unquote

import boto3
import pytest
import yaml
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from generator import render
from generator.build import render_app
from generator.config import parse_app
from generator.credentials import looks_like_secret, mask
from scripts import deploy as cli
from scripts.deploylib import commands, packaging
from scripts.deploylib.aws import Aws
from scripts.deploylib.errors import DeployError
from scripts.deploylib.target import load_target
from scripts.deploylib.ui import Console
from tests.test_deploy_flows import REGION, botocore_session, make  # noqa: F401 - `make` is a fixture

# --- masking by value ------------------------------------------------------------------------------------------------

TOKEN_APP = {"app": "shop", "owner": "team-a", "region": "eu-west-1",
             "services": [{"name": "token", "kind": "web", "port": 8080},
                          {"name": "web", "kind": "web", "port": 3000,
                           "routing": {"path_patterns": ["/app/*"], "priority": 10}}],
             "environments": {"dev": {"account_id": "111111111111", "cidr": "10.10.0.0/16"}}}


@pytest.fixture(scope="module")
def token_project(tmp_path_factory) -> Path:
    """The generated templates and parameter files of an app with a service called `token`."""
    root = tmp_path_factory.mktemp("token-app")
    (root / "app.yaml").write_text(yaml.safe_dump(TOKEN_APP))
    rendered = render_app(parse_app(TOKEN_APP, "app.yaml"))
    for folder, files in (("templates", rendered.templates), ("params", rendered.params)):
        (root / folder).mkdir()
        render.write_files(files, root / folder)
    return root


def test_a_service_called_token_does_not_mask_unrelated_values(token_project):
    target = load_target(token_project / "app.yaml", "dev", token_project / "templates", token_project / "params",
                         None)
    assert ("TokenImageTag", "bootstrap") in target.parameters
    session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="not-a-secret",
                            region_name=REGION, botocore_session=botocore_session())
    aws = Aws(session, REGION)
    out = io.StringIO()
    ctx = commands.Ctx(target, aws, Console(out=out, err=out, interactive=False), commands.Options(dry_run=True))
    assert ctx.console.secrets == set()
    bucket = packaging.default_bucket_name("shop", "111111111111", REGION)
    with Stubber(aws.client("sts")) as sts, Stubber(aws.client("s3")) as s3:
        sts.add_response("get_caller_identity", {"Account": "111111111111", "UserId": "AIDTEST",
                                                     "Arn": "arn:aws:iam::111111111111:user/ci"})
        s3.add_response("head_bucket", {}, {"Bucket": bucket})
        s3.add_response("get_bucket_location", {"LocationConstraint": REGION}, {"Bucket": bucket})
        commands.package(ctx)
    text = out.getvalue()
    assert "****" not in text
    url = text.splitlines()[-1]
    assert "&param_TokenImageTag=bootstrap" in url and "&param_WebImageTag=bootstrap" in url
    assert f"Quick-create link ({len(target.parameters)} parameters filled in):" in text


@pytest.mark.parametrize("text, shown", [
    ("connect to postgres://app:hunter2@db.internal:5432/app failed",
     "connect to postgres://****@db.internal:5432/app failed"),
    ("env DB_PASSWORD=hunter2 rejected", "env DB_PASSWORD=**** rejected"),
    ('{"apiKey": "abc123xyz"}', '{"apiKey": "****"}'),
    ("key AKIAIOSFODNN7EXAMPLE is invalid", "key **** is invalid"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY----- after", "**** after"),
    ("TokenImageTag=bootstrap, param_WebImageTag=bootstrap", "TokenImageTag=bootstrap, param_WebImageTag=bootstrap"),
    ("arn:aws:secretsmanager:eu-west-1:111111111111:secret:db-AbCdEf", "arn:aws:secretsmanager:eu-west-1:"
                                                                     "111111111111:secret:db-AbCdEf"),
    ("  ~ SecretMinCount : 1 -> 2", "  ~ SecretMinCount : 1 -> 2"),
])
def test_printed_text_is_masked_by_what_values_look_like(text, shown):
    assert Console(out=io.StringIO()).redact(text) == shown == mask(text)


@pytest.mark.parametrize("value, kind", [
    ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "an AWS secret access key"),
    ("ghp_" + "a1B2" * 9, "a GitHub token"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "a JSON web token"),
    ("3f2a9c1d7e4b3f2a9c1d7e4b3f2a9c1d7e4b3f2a", None),        # a git SHA as an image tag
    ("bootstrap", None),
    ("cron(0 3 * * ? *)", None),
])
def test_whole_values_are_judged_by_their_shape(value, kind):
    assert looks_like_secret(value) == kind


@pytest.mark.parametrize("endpoint", ["http://alice:pa55word@127.0.0.1:9/", "http://alice:pa%40ss-word@127.0.0.1:9/"])
def test_the_user_and_password_of_the_endpoint_url_are_never_printed(project, monkeypatch, endpoint):  # noqa: F811
    """The endpoint reaches messages two ways: the preflight line, and botocore's connection error."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)

    def unreachable(ctx, as_json=False):
        ctx.console.say(f"{ctx.name}: endpoint {ctx.aws.endpoint_url}")
        raise EndpointConnectionError(endpoint_url=f"{ctx.aws.endpoint_url} (decoded: {unquote(endpoint)})")

    monkeypatch.setattr(commands, "outputs", unreachable)
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["outputs", "--env", "dev", "--app", str(project / "app.yaml"), "--templates",
                     str(project / "templates"), "--params", str(project / "params")],
                    Console(out=out, err=err, interactive=False))
    text = out.getvalue() + err.getvalue()
    assert code == 1
    assert "endpoint http://****@127.0.0.1:9/" in text
    assert "cannot reach AWS at http://****@127.0.0.1:9/ (decoded: http://****@127.0.0.1:9/)" in text
    assert "alice" not in text and "pa55word" not in text and "pa@ss-word" not in text and "pa%40ss" not in text


# --- the template bucket -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("operation", ["head_object", "put_object"])
def test_a_bucket_that_denies_object_calls_is_explained_with_its_name(make, operation):  # noqa: F811
    h = make()
    h.preflight()
    h.s3.add_response("head_bucket", {}, {"Bucket": h.plan.bucket})
    h.s3.add_response("get_bucket_location", {"LocationConstraint": REGION}, {"Bucket": h.plan.bucket})
    if operation == "head_object":      # a HEAD response has no body: botocore sees the bare status code
        h.s3.add_client_error("head_object", "403", "Forbidden", 403)
    else:
        h.s3.add_client_error("head_object", "404", "Not Found", 404)
        h.s3.add_client_error("put_object", "AccessDenied", "Access Denied", 403)
    with pytest.raises(DeployError) as err:
        commands.package(h.ctx)
    h.done()
    api = {"head_object": "HeadObject", "put_object": "PutObject"}[operation]
    code = {"head_object": "403", "put_object": "AccessDenied"}[operation]
    assert err.value.message == f"S3 bucket '{h.plan.bucket}' denied {api} on the templates it should hold ({code})"
    assert err.value.hints[0].startswith(f"this identity needs s3:GetObject and s3:PutObject on "
                                         f"arn:aws:s3:::{h.plan.bucket}/* and s3:ListBucket on arn:aws:s3:::"
                                         f"{h.plan.bucket} (without s3:ListBucket, S3 answers 403 instead of 404")
    assert "Forbidden" not in "\n".join(err.value.lines())


# --- outputs after a failed deploy ---------------------------------------------------------------------------------

@pytest.mark.parametrize("status, message, hint", [
    ("REVIEW_IN_PROGRESS",
     "stack shop-dev is REVIEW_IN_PROGRESS: nothing was deployed yet (a change set was created but not executed, or "
     "its execution failed), so it has no outputs",
     "deploy it with `make deploy ENV=dev`; why an execution failed shows in the console: CloudFormation > Stacks > "
     "shop-dev > Change sets"),
    ("ROLLBACK_COMPLETE",
     "stack shop-dev is ROLLBACK_COMPLETE: its first deploy failed and was rolled back, so it has no outputs",
     "see why with `make watch ENV=dev` (or the Events tab), then `make destroy ENV=dev` (it holds nothing) and "
     "`make deploy ENV=dev` again"),
    ("CREATE_IN_PROGRESS", "stack shop-dev is CREATE_IN_PROGRESS: it has no outputs until that finishes",
     "follow it with `make watch ENV=dev`, then run this again"),
    ("DELETE_FAILED", "stack shop-dev is DELETE_FAILED and has no outputs",
     "see why with `make watch ENV=dev` (or the Events tab) and docs/deploy.md, \"When something goes wrong\""),
])
def test_outputs_of_a_stack_whose_deploy_failed_say_so_and_what_to_do(make, status, message, hint):  # noqa: F811
    h = make()
    h.describe(status)
    with pytest.raises(DeployError) as err:
        commands.outputs(h.ctx)
    h.done()
    assert (err.value.message, err.value.hints) == (message, (hint,))


def test_outputs_kept_by_a_rolled_back_update_are_shown_with_a_warning(make):  # noqa: F811
    h = make()
    h.describe("UPDATE_ROLLBACK_COMPLETE", Outputs=[{"OutputKey": "VpcId", "OutputValue": "vpc-123"}])
    assert commands.outputs(h.ctx) == 0
    h.done()
    assert "  VpcId  vpc-123" in h.output()
    assert h.err.getvalue() == ("warning: stack shop-dev is UPDATE_ROLLBACK_COMPLETE: its last change did not "
                                "complete, these outputs are from before it (see why with `make watch ENV=dev`)\n")


def test_a_complete_stack_without_outputs_still_says_so(make):  # noqa: F811
    h = make()
    h.describe("CREATE_COMPLETE")
    assert commands.outputs(h.ctx) == 0
    assert h.output() == "shop-dev has no outputs.\n"


def test_a_refused_execution_deletes_the_change_set_and_the_review_stack(make):  # noqa: F811
    """ExecuteChangeSet itself can fail (e.g. the change set's status changed); the stack must not be left
    REVIEW_IN_PROGRESS with a change set nobody will execute."""
    from tests.test_deploy_flows import deploy_until_execute

    h = make()
    cs = deploy_until_execute(h, kind="CREATE")
    h.events(h.sid)
    h.cf.add_client_error("execute_change_set", "InvalidChangeSetStatus",
                          "ChangeSet cannot be executed in its current status of [FAILED]",
                          expected_params={"ChangeSetName": cs})
    h.cf.add_response("delete_change_set", {}, {"ChangeSetName": cs})
    h.describe("REVIEW_IN_PROGRESS", name=h.sid)
    h.cf.add_response("delete_stack", {}, {"StackName": h.sid})
    with pytest.raises(DeployError) as err:
        commands.deploy(h.ctx)
    h.done()
    assert err.value.message == ("CloudFormation did not execute deploy-20260301-120000: InvalidChangeSetStatus: "
                                 "ChangeSet cannot be executed in its current status of [FAILED]")
    assert err.value.hints == ("the change set was deleted and nothing was deployed; fix the cause and deploy again",)
