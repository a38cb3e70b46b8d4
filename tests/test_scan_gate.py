"""scripts/scan_gate.py: pure logic, exact API shapes through botocore's Stubber (basic and enhanced scanning), and
the real command against moto in server mode (marked slow).

moto answers describe_image_scan_findings with one fake HIGH finding unless the exact response is posted to
`POST /moto-api/static/ecr/scan-finding-results`; it cannot show enhanced scanning (ACTIVE, enhancedFindings, counts
that lag COMPLETE) nor pagination, so those shapes are covered with the Stubber.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = ROOT / "scripts" / "scan_gate.py"
_spec = importlib.util.spec_from_file_location("scan_gate", SCRIPT)
gate = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("scan_gate", gate)  # dataclasses look their module up while the file executes
_spec.loader.exec_module(gate)

REPO = "tunecast-dev-api"
TAG = "3f2a9c1d7e4b"
DIGEST = "sha256:" + "ab" * 32
REGION = "us-east-1"
FAKE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


# --------------------------------------------------------------------------------------------- response builders
def basic_finding(name, severity, package="openssl", version="3.0.2"):
    return {"name": name, "severity": severity, "uri": f"https://nvd.example/{name}",
            "attributes": [{"key": "package_name", "value": package}, {"key": "package_version", "value": version}]}


def enhanced_finding(vuln_id, severity, package="libssl3", version="3.0.2-0ubuntu1"):
    return {"severity": severity, "title": f"{vuln_id} - {package}", "status": "ACTIVE", "type": "PACKAGE_VULNERABILITY",
            "packageVulnerabilityDetails": {"vulnerabilityId": vuln_id, "source": "NVD",
                                            "vulnerablePackages": [{"name": package, "version": version}]}}


def scan_response(status, *, counts=None, findings=None, enhanced=None, next_token=None, digest=DIGEST,
                  description=None):
    body = {}
    if counts is not None:
        body["findingSeverityCounts"] = counts
    if findings is not None:
        body["findings"] = findings
    if enhanced is not None:
        body["enhancedFindings"] = enhanced
    resp = {"registryId": "123456789012", "repositoryName": REPO, "imageId": {"imageDigest": digest},
            "imageScanStatus": {"status": status, "description": description or f"status {status}"}}
    if body or status == "COMPLETE":
        resp["imageScanFindings"] = body
    if next_token:
        resp["nextToken"] = next_token
    return resp


def table(out: str) -> dict[str, int]:
    """The printed counts table as {severity: count}."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^  ([A-Z]+) +(\d+)(?:  <- fails the gate)?$", out, flags=re.M)}


class FakeTime:
    """A clock that only moves when the gate sleeps: timeouts and settle windows without waiting."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


# --------------------------------------------------------------------------------------------- pure logic
def test_every_status_the_api_knows_is_classified_explicitly():
    enum = boto3.client("ecr", region_name=REGION).meta.service_model.operation_model(
        "DescribeImageScanFindings").output_shape.members["imageScanStatus"].members["status"].enum
    known = gate.READY | gate.WAITING | gate.BROKEN
    assert sorted(set(enum) - known) == [], "a new scan status: decide whether it is ready, waiting or broken"
    assert gate.classify("ACTIVE") == "ready" and gate.classify("COMPLETE") == "ready"
    assert gate.classify("FAILED") == "broken" and gate.classify("UNSUPPORTED_IMAGE") == "broken"
    assert gate.classify("IN_PROGRESS") == "wait" and gate.classify(None) == "wait"
    assert gate.classify("SOMETHING_NEW") == "wait"


@pytest.mark.parametrize("threshold, counts, failing", [
    ("MEDIUM", {"MEDIUM": 1}, 1),
    ("MEDIUM", {"HIGH": 2, "CRITICAL": 1, "LOW": 5}, 3),
    ("MEDIUM", {"LOW": 4, "INFORMATIONAL": 2, "UNDEFINED": 1}, 0),
    ("HIGH", {"MEDIUM": 3}, 0),
    ("CRITICAL", {"HIGH": 3, "CRITICAL": 1}, 1),
    ("LOW", {"LOW": 1}, 1),
    ("INFORMATIONAL", {"UNTRIAGED": 1}, 1),
    ("MEDIUM", {}, 0),
])
def test_threshold_counts_findings_at_or_above(threshold, counts, failing):
    assert gate.at_or_above(counts, threshold) == failing


def test_missing_counts_are_zero_and_listed_findings_fill_them_in():
    absent = gate.merge_pages([scan_response("COMPLETE")])
    assert absent.counts() == {} and absent.total() == 0
    # enhanced: counts absent, findings listed -> tallied
    enhanced = gate.merge_pages([scan_response("ACTIVE", enhanced=[enhanced_finding("CVE-1", "HIGH"),
                                                                   enhanced_finding("CVE-2", "LOW")])])
    assert enhanced.counts() == {"HIGH": 1, "LOW": 1}
    # incomplete counts: the larger number wins per severity, never the sum
    partial = gate.merge_pages([scan_response("COMPLETE", counts={"LOW": 3},
                                              findings=[basic_finding("CVE-3", "LOW"), basic_finding("CVE-4", "HIGH")])])
    assert partial.counts() == {"LOW": 3, "HIGH": 1}


def test_pages_are_folded_together():
    result = gate.merge_pages([
        scan_response("COMPLETE", counts={"LOW": 1, "HIGH": 1}, findings=[basic_finding("CVE-1", "LOW")],
                      next_token="t1"),
        scan_response("COMPLETE", counts={"LOW": 1, "HIGH": 1}, findings=[basic_finding("CVE-2", "HIGH")]),
    ])
    assert result.counts() == {"LOW": 1, "HIGH": 1}
    assert [f.name for f in result.findings] == ["CVE-1", "CVE-2"]


def test_report_shows_counts_table_and_top_findings_worst_first():
    result = gate.merge_pages([scan_response("ACTIVE", enhanced=[
        enhanced_finding("CVE-2024-0001", "LOW", "zlib", "1.2"),
        enhanced_finding("CVE-2024-0002", "CRITICAL", "openssl", "3.0.1"),
        enhanced_finding("CVE-2024-0003", "MEDIUM", "curl", "7.81"),
    ])])
    lines = gate.report_lines(result, "MEDIUM", top=2)
    text = "\n".join(lines)
    assert lines[0].split() == ["severity", "count"]
    assert [ln.split()[:2] for ln in lines[1:6]] == [["CRITICAL", "1"], ["HIGH", "0"], ["MEDIUM", "1"], ["LOW", "1"],
                                                     ["INFORMATIONAL", "0"]]
    assert table(text) == {"CRITICAL": 1, "HIGH": 0, "MEDIUM": 1, "LOW": 1, "INFORMATIONAL": 0}
    assert [ln.split()[0] for ln in lines if ln.endswith("<- fails the gate")] == ["CRITICAL", "MEDIUM"]
    assert "top 2 of 3 findings:" in text
    top = lines[-2:]
    assert top[0].split() == ["CRITICAL", "CVE-2024-0002", "openssl", "3.0.1"]
    assert top[1].split() == ["MEDIUM", "CVE-2024-0003", "curl", "7.81"]


def test_settle_must_be_shorter_than_timeout(capsys):
    with pytest.raises(SystemExit) as exc:
        gate.parse_args(["--repository", REPO, "--tag", TAG, "--timeout", "20", "--settle", "30"])
    assert exc.value.code == 2
    assert "--settle (30) must be shorter than --timeout (20)" in capsys.readouterr().err


def test_unknown_threshold_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        gate.parse_args(["--repository", REPO, "--tag", TAG, "--fail-on", "SEVERE"])
    assert exc.value.code == 2 and "invalid choice: 'SEVERE'" in capsys.readouterr().err
    assert gate.parse_args(["--repository", REPO, "--tag", TAG, "--fail-on", "high"]).fail_on == "HIGH"


# --------------------------------------------------------------------------------------------- Stubber (exact API)
@pytest.fixture
def stubbed():
    client = boto3.client("ecr", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def expect_digest(stub, digest=DIGEST):
    stub.add_response("describe_images", {"imageDetails": [{"imageDigest": digest, "imageTags": [TAG]}]},
                      {"repositoryName": REPO, "imageIds": [{"imageTag": TAG}]})


def expect_scan(stub, response, token=None):
    params = {"repositoryName": REPO, "imageId": {"imageDigest": DIGEST}}
    if token:
        params["nextToken"] = token
    stub.add_response("describe_image_scan_findings", response, params)


def run_stubbed(client, *extra, fake=None):
    fake = fake or FakeTime()
    lines: list[str] = []
    code = gate.main(["--repository", REPO, "--tag", TAG, "--poll-interval", "5", "--timeout", "60", *extra],
                     client=client, log=lines.append, clock=fake.clock, sleep=fake.sleep)
    return code, "\n".join(lines), fake


def test_enhanced_active_with_findings_and_no_counts_fails(stubbed):
    client, stub = stubbed
    expect_digest(stub)
    expect_scan(stub, scan_response("ACTIVE", enhanced=[enhanced_finding("CVE-2023-38545", "HIGH", "curl", "7.81.0"),
                                                       enhanced_finding("CVE-2023-0001", "LOW")]))
    code, out, fake = run_stubbed(client)
    assert code == 1, out
    assert "scan status: ACTIVE" in out and "FAIL: 1 finding(s) at or above MEDIUM" in out
    assert "CVE-2023-38545  curl 7.81.0" in out
    assert fake.sleeps == []  # findings are judged at once


def test_enhanced_active_low_only_passes_at_default(stubbed):
    client, stub = stubbed
    expect_digest(stub)
    expect_scan(stub, scan_response("ACTIVE", enhanced=[enhanced_finding("CVE-2023-0001", "LOW")]))
    code, out, _ = run_stubbed(client)
    assert code == 0, out
    assert "PASS: no finding at or above MEDIUM" in out


def test_complete_with_counts_absent_is_treated_as_zero(stubbed):
    client, stub = stubbed
    expect_digest(stub)
    expect_scan(stub, scan_response("COMPLETE"))  # zero findings: no findingSeverityCounts key at all
    code, out, _ = run_stubbed(client, "--settle", "0")
    assert code == 0, out
    assert table(out) == {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0, "INFORMATIONAL": 0}


def test_empty_result_must_stay_empty_for_the_settle_window(stubbed):
    """Enhanced scan on push: COMPLETE first, counts a poll later. The settle window catches the late finding."""
    client, stub = stubbed
    expect_digest(stub)
    expect_scan(stub, scan_response("COMPLETE"))
    expect_scan(stub, scan_response("COMPLETE", counts={"CRITICAL": 1}))
    code, out, fake = run_stubbed(client, "--settle", "10")
    assert code == 1, out
    assert "confirming for 10s" in out and fake.sleeps == [5]


def test_empty_result_passes_once_settled(stubbed):
    client, stub = stubbed
    expect_digest(stub)
    for _ in range(3):
        expect_scan(stub, scan_response("COMPLETE"))
    code, out, fake = run_stubbed(client, "--settle", "10")
    assert code == 0, out
    assert fake.sleeps == [5, 5]


def test_pagination_follows_next_token(stubbed):
    client, stub = stubbed
    expect_digest(stub)
    expect_scan(stub, scan_response("ACTIVE", enhanced=[enhanced_finding("CVE-1", "LOW")], next_token="page-2"))
    expect_scan(stub, scan_response("ACTIVE", enhanced=[enhanced_finding("CVE-2", "LOW")], next_token="page-3"),
                token="page-2")
    expect_scan(stub, scan_response("ACTIVE", enhanced=[enhanced_finding("CVE-3", "CRITICAL")]), token="page-3")
    code, out, _ = run_stubbed(client)
    assert code == 1, out
    assert "top 3 of 3 findings:" in out
    assert table(out)["CRITICAL"] == 1 and table(out)["LOW"] == 2


def test_in_progress_then_complete(stubbed):
    client, stub = stubbed
    expect_digest(stub)
    expect_scan(stub, scan_response("IN_PROGRESS"))
    expect_scan(stub, scan_response("IN_PROGRESS"))
    expect_scan(stub, scan_response("COMPLETE", counts={"MEDIUM": 2},
                                    findings=[basic_finding("CVE-A", "MEDIUM"), basic_finding("CVE-B", "MEDIUM")]))
    code, out, fake = run_stubbed(client, "--fail-on", "HIGH")
    assert code == 0, out
    assert fake.sleeps == [5, 5]
    assert out.count("scan status: IN_PROGRESS") == 1  # status changes are logged once
    assert table(out)["MEDIUM"] == 2 and "<- fails the gate" not in out


def test_missing_scan_starts_one_once_when_asked(stubbed):
    client, stub = stubbed
    expect_digest(stub)
    stub.add_client_error("describe_image_scan_findings", "ScanNotFoundException", "no scan", 400)
    stub.add_response("start_image_scan", {"registryId": "123456789012", "repositoryName": REPO,
                                           "imageId": {"imageDigest": DIGEST},
                                           "imageScanStatus": {"status": "IN_PROGRESS"}},
                      {"repositoryName": REPO, "imageId": {"imageDigest": DIGEST}})
    stub.add_client_error("describe_image_scan_findings", "ScanNotFoundException", "no scan", 400)
    expect_scan(stub, scan_response("COMPLETE", counts={"LOW": 1}, findings=[basic_finding("CVE-L", "LOW")]))
    code, out, _ = run_stubbed(client, "--start-scan")
    assert code == 0, out
    assert out.count("started a scan") == 1


def test_unsupported_image_has_no_verdict(stubbed):
    client, stub = stubbed
    expect_digest(stub)
    expect_scan(stub, scan_response("UNSUPPORTED_IMAGE", description="UnsupportedImageError: unsupported OS"))
    code, out, _ = run_stubbed(client)
    assert code == 2, out
    assert "scan status UNSUPPORTED_IMAGE: no verdict" in out


def test_missing_tag_has_no_verdict(stubbed):
    client, stub = stubbed
    stub.add_client_error("describe_images", "ImageNotFoundException", "The image requested does not exist", 400)
    code, out, _ = run_stubbed(client)
    assert code == 2
    assert f"no verdict: {REPO}:{TAG} not found (ImageNotFoundException)" in out


def test_other_api_errors_have_no_verdict_and_no_traceback(stubbed):
    client, stub = stubbed
    expect_digest(stub)
    stub.add_client_error("describe_image_scan_findings", "AccessDeniedException", "not authorized", 400)
    code, out, _ = run_stubbed(client)
    assert code == 2
    assert "AWS call failed: ClientError (AccessDeniedException)" in out and "Traceback" not in out


def test_credentials_in_error_messages_are_redacted(stubbed, monkeypatch):
    client, stub = stubbed
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    stub.add_client_error("describe_images", "UnrecognizedClientException",
                          f"bad credentials {FAKE_KEY_ID} / {FAKE_SECRET}", 400)
    code, out, _ = run_stubbed(client)
    assert code == 2
    assert FAKE_KEY_ID not in out and FAKE_SECRET not in out and "bad credentials <redacted> / <redacted>" in out


def test_an_internal_error_is_no_verdict_not_findings(stubbed, monkeypatch, capsys):
    client, stub = stubbed
    expect_digest(stub)
    expect_scan(stub, scan_response("COMPLETE", counts={"HIGH": 1}))
    monkeypatch.setattr(gate, "merge_pages", lambda pages: 1 / 0)
    code, out, _ = run_stubbed(client)
    assert code == 2 and "no verdict: internal error: ZeroDivisionError" in out
    assert "Traceback" in capsys.readouterr().err


def test_a_digest_as_tag_skips_the_lookup(stubbed):
    client, stub = stubbed
    expect_scan(stub, scan_response("COMPLETE", counts={"HIGH": 1}, findings=[basic_finding("CVE-H", "HIGH")]))
    lines: list[str] = []
    code = gate.main(["--repository", REPO, "--tag", DIGEST], client=client, log=lines.append)
    assert code == 1


def test_timeout_while_waiting(stubbed):
    client, stub = stubbed
    expect_digest(stub)
    for _ in range(3):  # t = 0, 5, 10; the wait after that ends on the deadline, where --timeout stops everything
        expect_scan(stub, scan_response("PENDING"))
    code, out, fake = run_stubbed(client, "--timeout", "12", "--settle", "0")
    assert code == 2, out
    assert fake.sleeps == [5, 5, 2]
    assert "timed out after 12s (last status: PENDING)" in out


# --------------------------------------------------------------------------------------------- moto, server mode
@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def moto_ecr(moto_endpoint, monkeypatch):
    """A fresh emulator state (so start_image_scan's once-a-day limit never bites) and a client pointed at it."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"), timeout=10)
    for name, value in cli_env(moto_endpoint).items():
        monkeypatch.setenv(name, value)
    client = boto3.client("ecr", region_name=REGION, endpoint_url=moto_endpoint)
    client.create_repository(repositoryName=REPO)
    return client


def cli_env(endpoint):
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": FAKE_KEY_ID, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
            "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


def push(client, *, scanned=True):
    """Put an image under TAG (and scan it, as scan on push would); returns its digest."""
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7,
                                      "digest": "sha256:" + "cd" * 32}, "layers": []})
    digest = client.put_image(repositoryName=REPO, imageManifest=manifest, imageTag=TAG)["image"]["imageId"][
        "imageDigest"]
    if scanned:
        client.start_image_scan(repositoryName=REPO, imageId={"imageTag": TAG})
    return digest


def post_findings(endpoint, response):
    """Make moto answer describe_image_scan_findings with exactly `response` for that image."""
    body = json.dumps({"results": [response], "region": REGION}).encode()
    req = urllib.request.Request(f"{endpoint}/moto-api/static/ecr/scan-finding-results", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10)


def run_in_process(*extra):
    lines: list[str] = []
    code = gate.main(["--repository", REPO, "--tag", TAG, "--settle", "0", "--poll-interval", "0.05", *extra],
                     log=lines.append)
    return code, "\n".join(lines)


@pytest.mark.slow
def test_moto_clean_image_passes(moto_endpoint, moto_ecr):
    digest = push(moto_ecr)
    post_findings(moto_endpoint, scan_response("COMPLETE", digest=digest))
    code, out = run_in_process()
    assert code == 0, out
    assert "PASS" in out


@pytest.mark.slow
def test_moto_default_high_finding_fails(moto_endpoint, moto_ecr):
    push(moto_ecr)  # nothing posted: moto's stock answer is one HIGH finding (CVE-9999-9999 in moto_fake)
    code, out = run_in_process()
    assert code == 1, out
    assert table(out)["HIGH"] == 1 and "CVE-9999-9999  moto_fake 9.9.9" in out


@pytest.mark.slow
def test_moto_critical_only_fails_at_default_threshold(moto_endpoint, moto_ecr):
    digest = push(moto_ecr)
    post_findings(moto_endpoint, scan_response("COMPLETE", digest=digest, counts={"CRITICAL": 1},
                                               findings=[basic_finding("CVE-2024-3094", "CRITICAL", "xz-utils")]))
    code, out = run_in_process()
    assert code == 1, out
    assert "FAIL: 1 finding(s) at or above MEDIUM" in out


@pytest.mark.slow
def test_moto_low_only_passes_at_default_threshold(moto_endpoint, moto_ecr):
    digest = push(moto_ecr)
    post_findings(moto_endpoint, scan_response("COMPLETE", digest=digest, counts={"LOW": 2},
                                               findings=[basic_finding("CVE-L1", "LOW"), basic_finding("CVE-L2", "LOW")]))
    code, out = run_in_process()
    assert code == 0, out
    assert table(out)["LOW"] == 2


@pytest.mark.slow
def test_moto_failed_scan_has_no_verdict(moto_endpoint, moto_ecr):
    digest = push(moto_ecr)
    post_findings(moto_endpoint, scan_response("FAILED", digest=digest, description="The scan failed."))
    code, out = run_in_process()
    assert code == 2, out
    assert "scan status FAILED: no verdict" in out


@pytest.mark.slow
def test_moto_scan_in_progress_times_out(moto_endpoint, moto_ecr):
    digest = push(moto_ecr)
    post_findings(moto_endpoint, scan_response("IN_PROGRESS", digest=digest))
    started = time.monotonic()
    # long enough for the first calls on a loaded machine: --timeout now bounds the tag lookup and each call too
    code, out = run_in_process("--timeout", "1.5")
    assert code == 2, out
    # the deadline may land between polls or during one (a slow answer on a loaded machine): both time out
    assert "timed out after 1.5s (last status: IN_PROGRESS" in out
    assert time.monotonic() - started < 10


@pytest.mark.slow
def test_moto_start_scan_when_none_exists(moto_endpoint, moto_ecr):
    push(moto_ecr, scanned=False)
    code, out = run_in_process("--start-scan")
    assert code == 1, out  # moto's stock HIGH finding
    assert "no scan found for the image yet" in out and "started a scan" in out


@pytest.mark.slow
@pytest.mark.parametrize("posted, fail_on, expected", [("HIGH", "MEDIUM", 1), ("HIGH", "CRITICAL", 0), (None, None, 0)],
                         ids=["high-fails", "high-under-critical-threshold", "clean"])
def test_cli_subprocess_exit_codes_and_no_credentials(moto_endpoint, moto_ecr, posted, fail_on, expected):
    digest = push(moto_ecr)
    findings = [basic_finding("CVE-2023-4863", posted, "libwebp")] if posted else None
    post_findings(moto_endpoint, scan_response("COMPLETE", digest=digest, findings=findings,
                                               counts={posted: 1} if posted else None))
    args = [str(ROOT / ".venv" / "bin" / "python"), str(SCRIPT), "--repository", REPO, "--tag", TAG,
            "--settle", "0", "--timeout", "10"] + (["--fail-on", fail_on] if fail_on else [])
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **cli_env(moto_endpoint)}
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    out = proc.stdout + proc.stderr
    assert proc.returncode == expected, out
    assert f"fails on {fail_on or 'MEDIUM'} or above" in out
    assert FAKE_KEY_ID not in out and FAKE_SECRET not in out


def test_help_runs_without_aws():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and "--fail-on SEVERITY" in proc.stdout


# --------------------------------------------------------------------------------------------- the contract's edges
@pytest.mark.parametrize("option, value, message", [
    ("--timeout", "nan", "must be a finite number > 0: 'nan'"),
    ("--timeout", "inf", "must be a finite number > 0: 'inf'"),
    ("--timeout", "0", "must be a finite number > 0: '0'"),
    ("--timeout", "-5", "must be a finite number > 0: '-5'"),
    ("--poll-interval", "nan", "must be a finite number > 0: 'nan'"),
    ("--poll-interval", "0", "must be a finite number > 0: '0'"),
    ("--poll-interval", "-1", "must be a finite number > 0: '-1'"),
    ("--settle", "nan", "must be a finite number >= 0: 'nan'"),
    ("--settle", "-1", "must be a finite number >= 0: '-1'"),
    ("--timeout", "soon", "not a number of seconds: 'soon'"),
    ("--top", "-1", "must not be negative: '-1'"),
])
def test_nonsense_durations_are_refused(capsys, option, value, message):
    with pytest.raises(SystemExit) as exc:
        gate.parse_args(["--repository", REPO, "--tag", TAG, f"{option}={value}"])
    assert exc.value.code == 2
    assert f"argument {option}: {message}" in capsys.readouterr().err


def test_a_timeout_shorter_than_the_default_settle_time_adapts_it():
    assert gate.parse_args(["--repository", REPO, "--tag", TAG, "--timeout", "5"]).settle == 2.5
    assert gate.parse_args(["--repository", REPO, "--tag", TAG]).settle == 30
    assert gate.parse_args(["--repository", REPO, "--tag", TAG, "--timeout", "5", "--settle", "0"]).settle == 0


@pytest.mark.parametrize("threshold", gate.THRESHOLDS)
def test_an_unknown_severity_fails_at_every_threshold(threshold):
    assert gate.at_or_above({"SEVERE": 1}, threshold) == 1
    assert gate.at_or_above({"UNDEFINED": 1, "UNTRIAGED": 1}, threshold) == (2 if threshold == "INFORMATIONAL" else 0)


def test_a_finding_of_unknown_severity_fails_the_gate(stubbed):
    client, stub = stubbed
    expect_digest(stub)
    expect_scan(stub, scan_response("ACTIVE", enhanced=[enhanced_finding("CVE-2025-0001", "IMPORTANT", "zlib")]))
    code, out, _ = run_stubbed(client, "--fail-on", "CRITICAL")
    assert code == 1, out
    assert "  IMPORTANT          1  <- fails the gate (unknown severity)" in out
    assert "FAIL: 1 finding(s) at or above CRITICAL" in out


def test_a_next_token_that_never_ends_stops_at_the_timeout(stubbed):
    """Each page takes a (fake) second; pages keep naming a next one. The gate stops paging at the deadline."""
    client, stub = stubbed
    fake = FakeTime()

    def one_second_per_page(event_name, **_):
        if event_name.endswith(".DescribeImageScanFindings"):
            fake.now += 1

    client.meta.events.register_first("before-call.*.*", one_second_per_page)
    expect_digest(stub)
    for n in range(5):
        expect_scan(stub, scan_response("ACTIVE", enhanced=[enhanced_finding(f"CVE-{n}", "LOW")],
                                        next_token=f"page-{n + 1}"), token=f"page-{n}" if n else None)
    code, out, _ = run_stubbed(client, "--timeout", "5", fake=fake)
    assert code == 2, out
    assert out.splitlines()[-1] == ("scan gate: timed out after 5s (last status: no complete answer; an AWS call or the pages of "
                                    "its answer were still coming)")


def test_output_that_cannot_be_written_is_no_verdict_never_findings(stubbed):
    client, stub = stubbed
    expect_digest(stub)
    expect_scan(stub, scan_response("COMPLETE", counts={"HIGH": 1}, findings=[basic_finding("CVE-H", "HIGH")]))

    def log(line):
        if line.startswith("scan gate: FAIL"):
            raise BrokenPipeError(32, "Broken pipe")

    code = gate.main(["--repository", REPO, "--tag", TAG, "--timeout", "60"], client=client, log=log)
    assert code == 2


def test_aws_region_alone_is_enough(monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert gate.resolve_region(None) == "eu-central-1"
    assert gate.make_client(gate.resolve_region(None), 5).meta.region_name == "eu-central-1"
    assert gate.resolve_region("us-west-2") == "us-west-2"
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(gate.NoVerdict, match="no AWS region: pass --region or set AWS_REGION"):
        gate.resolve_region(None)


def script_env(endpoint: str, **extra: str) -> dict[str, str]:
    """The script's environment: only what is given, never the caller's AWS settings."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": FAKE_KEY_ID, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET, "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true", **extra}


def run_script(args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / ".venv" / "bin" / "python"), str(SCRIPT), "--repository", REPO, *args],
                          env=env, timeout=90, cwd=ROOT, **kwargs)


def test_the_user_and_password_of_an_endpoint_url_are_never_printed():
    """Nothing listens on port 9: botocore's error repeats the endpoint URL, userinfo and all."""
    proc = run_script(["--tag", TAG, "--timeout", "5"], script_env("http://alice:s3cr3t-pw@127.0.0.1:9/",
                                                                   AWS_REGION=REGION), capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "EndpointConnectionError" in out and "http://<redacted>@127.0.0.1:9/" in out
    assert "alice" not in out and "s3cr3t-pw" not in out


@pytest.mark.parametrize("stdout, stderr", [("closed-pipe", ""), (
    "/dev/full", "scan gate: no verdict: cannot write the output (No space left on device)\n")])
def test_a_closed_or_full_standard_output_exits_2(stdout, stderr):
    env = script_env("http://127.0.0.1:9/", AWS_REGION=REGION)
    args = ["--tag", DIGEST, "--timeout", "5"]        # a digest: the first line is printed before any AWS call
    if stdout == "closed-pipe":
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            proc = run_script(args, env, stdout=write_end, stderr=subprocess.PIPE, text=True)
        finally:
            os.close(write_end)
    else:
        with open(stdout, "w") as full:
            proc = run_script(args, env, stdout=full, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 2
    assert proc.stderr == stderr


# --------------------------------------------------------------------------------------------- a misbehaving endpoint
@pytest.fixture
def fake_ecr():
    """An ECR endpoint (JSON 1.1 protocol) that misbehaves on purpose: mode `endless` answers every findings page with
    a next token, `slow-findings` / `slow-lookup` never answer that call (until the test ends)."""
    import http.server
    import threading

    state = {"mode": "endless", "calls": 0}
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            action = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
            state["calls"] += 1
            if state["mode"] == f"slow-{'lookup' if action == 'DescribeImages' else 'findings'}":
                release.wait(120)
            if action == "DescribeImages":
                body = {"imageDetails": [{"imageDigest": DIGEST, "imageTags": [TAG]}]}
            else:
                body = scan_response("ACTIVE", enhanced=[enhanced_finding(f"CVE-{state['calls']}", "LOW")],
                                     next_token=f"page-{state['calls']}")
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    release.set()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode, last_line", [
    ("endless", "scan gate: timed out after 5s (last status: no complete answer; an AWS call or the pages of its "
                "answer were still coming)"),
    ("slow-findings", "scan gate: timed out after 5s (last status: no complete answer; an AWS call or the pages of its "
                      "answer were still coming)"),
    ("slow-lookup", f"scan gate: no verdict: timed out after 5s looking up {REPO}:{TAG}"),
])
def test_the_timeout_bounds_paging_and_slow_endpoints(fake_ecr, mode, last_line):
    """Without the bound, `endless` never returns and a slow answer takes botocore's read timeout (60 s) times its
    retries. The script must give its verdict about when --timeout says (a generous margin for a loaded machine). 5 s,
    not 2: with 2 s the script's own start (importing boto3) and first answer did not fit on a loaded machine (load
    average 15 with make test's two workers), and it timed out in the lookup instead of in the paging."""
    state, endpoint = fake_ecr
    state["mode"] = mode
    started = time.monotonic()
    proc = run_script(["--tag", TAG, "--timeout", "5", "--poll-interval", "0.5"],
                      script_env(endpoint, AWS_REGION=REGION), capture_output=True, text=True)
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == last_line
    assert elapsed < 20, f"took {elapsed:.0f}s with --timeout 5"


@pytest.mark.slow
def test_moto_with_only_aws_region_set(moto_endpoint, moto_ecr):
    """The help says AWS_REGION is honoured; botocore itself reads only AWS_DEFAULT_REGION."""
    digest = push(moto_ecr)
    post_findings(moto_endpoint, scan_response("COMPLETE", digest=digest))
    proc = run_script(["--tag", TAG, "--settle", "0", "--timeout", "10"],
                      script_env(moto_endpoint, AWS_REGION=REGION), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS" in proc.stdout
