#!/usr/bin/env python3
"""ECR scan gate: wait for the scan of one image and fail the build when findings reach a severity threshold.

    python3 scripts/scan_gate.py --repository NAME --tag TAG [--fail-on SEVERITY] [--timeout SECONDS]

Exit status:
  0  the scan is finished and no finding is at or above the threshold (default MEDIUM: MEDIUM, HIGH, CRITICAL fail)
  1  the scan is finished and at least one finding is at or above the threshold
  2  no verdict: the scan failed or is unsupported (FAILED, UNSUPPORTED_IMAGE, SCAN_ELIGIBILITY_EXPIRED, ...),
     the timeout passed first (it bounds everything: each AWS call, paging, waiting), the image or repository does
     not exist, an AWS call failed, the arguments are wrong, Ctrl-C, or the output cannot be written (a closed pipe
     or a full disk is never reported as 1)

Works with basic and enhanced (Amazon Inspector) scanning, where the stock `image_scan_complete` waiter does not:
under enhanced continuous scanning the status stays ACTIVE; COMPLETE can appear before the severity counts; with
zero findings the `findingSeverityCounts` key is absent. So a missing count is zero, the counts are also tallied
from `findings[]` and `enhancedFindings[]` over every page (the larger number wins), and an empty result must stay
empty for `--settle` seconds before it passes.

A severity the script does not know counts as failing at every threshold (fail closed).

Needs only Python 3 and boto3 (both present in CodeBuild standard images); imports nothing from this repository.
Honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_ECR (emulators), --region, else AWS_REGION, else AWS_DEFAULT_REGION, and
the usual credential chain. Prints the counts per severity and the top findings; never prints credentials, the user
name and password of an endpoint URL, or the environment.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable
from urllib.parse import unquote, urlsplit

EXIT_CLEAN, EXIT_FINDINGS, EXIT_NO_VERDICT = 0, 1, 2

# ---------------------------------------------------------------------------------------------------------------
# Pure logic: no AWS calls below this line until the "AWS edge" section.
# ---------------------------------------------------------------------------------------------------------------

THRESHOLDS = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")  # ascending; the values --fail-on accepts
# UNDEFINED (basic) and UNTRIAGED (Inspector) have no severity yet: shown, and ranked with INFORMATIONAL.
RANK = {"UNDEFINED": 0, "UNTRIAGED": 0, "INFORMATIONAL": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}
# A severity this script does not know (a new one from ECR or Inspector) fails at every threshold: fail closed.
UNKNOWN_RANK = RANK["CRITICAL"]
TABLE_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED", "UNTRIAGED")

READY = frozenset({"COMPLETE", "ACTIVE"})  # ACTIVE = enhanced continuous scanning: findings are current
WAITING = frozenset({"IN_PROGRESS", "PENDING"})
BROKEN = frozenset({"FAILED", "UNSUPPORTED_IMAGE", "SCAN_ELIGIBILITY_EXPIRED", "FINDINGS_UNAVAILABLE",
                    "LIMIT_EXCEEDED", "IMAGE_ARCHIVED", "IMAGE_SIZE_EXCEEDED"})


def classify(status: str | None) -> str:
    """'ready' (findings can be judged), 'broken' (no verdict will come) or 'wait' (anything else, incl. unknown)."""
    if status in READY:
        return "ready"
    if status in BROKEN:
        return "broken"
    return "wait"


def rank(severity: str | None) -> int:
    return RANK.get((severity or "UNDEFINED").upper(), UNKNOWN_RANK)


@dataclass(frozen=True)
class Finding:
    severity: str
    name: str
    package: str


@dataclass
class ScanResult:
    """Everything the gate needs from the pages of one describe_image_scan_findings answer."""

    status: str | None
    description: str = ""
    reported: dict[str, int] = field(default_factory=dict)  # findingSeverityCounts (absent = empty)
    listed: dict[str, int] = field(default_factory=dict)    # tallied from findings[] + enhancedFindings[]
    findings: list[Finding] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Per severity, the larger of the reported count and the listed tally; a missing count is zero."""
        keys = set(self.reported) | set(self.listed)
        return {k: max(self.reported.get(k, 0), self.listed.get(k, 0)) for k in keys}

    def total(self) -> int:
        return sum(self.counts().values())


def _basic_finding(raw: dict[str, Any]) -> Finding:
    attrs = {a.get("key"): a.get("value", "") for a in raw.get("attributes", [])}
    package = " ".join(v for v in (attrs.get("package_name"), attrs.get("package_version")) if v)
    return Finding(_severity(raw), raw.get("name") or "?", package or "-")


def _enhanced_finding(raw: dict[str, Any]) -> Finding:
    details = raw.get("packageVulnerabilityDetails") or {}
    packages = details.get("vulnerablePackages") or []
    package = "-"
    if packages:
        first = packages[0]
        package = " ".join(v for v in (first.get("name"), first.get("version")) if v) or "?"
        if len(packages) > 1:
            package += f" (+{len(packages) - 1} more)"
    name = details.get("vulnerabilityId") or raw.get("title") or raw.get("findingArn") or "?"
    return Finding(_severity(raw), name, package)


def _severity(raw: dict[str, Any]) -> str:
    return str(raw.get("severity") or "UNDEFINED").upper()


def merge_pages(pages: Iterable[dict[str, Any]]) -> ScanResult:
    """Fold the pages of one describe_image_scan_findings answer into a ScanResult."""
    result: ScanResult | None = None
    for page in pages:
        scan_status = page.get("imageScanStatus") or {}
        if result is None:
            result = ScanResult(scan_status.get("status"), scan_status.get("description") or "")
        body = page.get("imageScanFindings") or {}
        for sev, n in (body.get("findingSeverityCounts") or {}).items():
            sev = sev.upper()
            result.reported[sev] = max(result.reported.get(sev, 0), int(n or 0))
        for raw, make in [(r, _basic_finding) for r in body.get("findings") or []] + \
                         [(r, _enhanced_finding) for r in body.get("enhancedFindings") or []]:
            finding = make(raw)
            result.findings.append(finding)
            result.listed[finding.severity] = result.listed.get(finding.severity, 0) + 1
    return result if result is not None else ScanResult(None)


def at_or_above(counts: dict[str, int], threshold: str) -> int:
    """How many findings have a severity at or above the threshold."""
    limit = RANK[threshold.upper()]
    return sum(n for sev, n in counts.items() if rank(sev) >= limit)


def top_findings(findings: list[Finding], limit: int) -> list[Finding]:
    return sorted(findings, key=lambda f: (-rank(f.severity), f.name, f.package))[:limit]


def report_lines(result: ScanResult, threshold: str, top: int) -> list[str]:
    """The counts table and the top findings, as printed."""
    counts = result.counts()
    limit = RANK[threshold.upper()]
    lines = ["  severity        count"]
    for sev in TABLE_ORDER:
        if sev in THRESHOLDS or counts.get(sev):
            mark = "  <- fails the gate" if counts.get(sev) and rank(sev) >= limit else ""
            lines.append(f"  {sev:<14}{counts.get(sev, 0):>6}{mark}")
    for sev in sorted(set(counts) - set(TABLE_ORDER)):  # a severity this script does not know yet: fails
        mark = "  <- fails the gate (unknown severity)" if counts[sev] else ""
        lines.append(f"  {sev:<14}{counts[sev]:>6}{mark}")
    chosen = top_findings(result.findings, top)
    if chosen:
        lines.append(f"  top {len(chosen)} of {len(result.findings)} findings:")
        width = max(len(f.name) for f in chosen)
        lines += [f"  {f.severity:<14}{f.name:<{width}}  {f.package}" for f in chosen]
    return lines


class ScanNotFound(Exception):
    """No scan exists (yet) for the image."""


class OutOfTime(Exception):
    """--timeout passed while an AWS call was under way, or between two pages of one answer."""


@dataclass(frozen=True)
class Budget:
    """The --timeout, as a deadline every AWS call and every wait is held to."""

    deadline: float
    clock: Callable[[], float] = time.monotonic

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """fn(*args, **kwargs), or OutOfTime once the deadline passes. botocore's own connect/read timeouts and
        retries can add up to minutes (a slow or unreachable endpoint), so the call runs in a daemon thread that
        is abandoned at the deadline and dies with the process."""
        left = self.deadline - self.clock()
        if left <= 0:
            raise OutOfTime()
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller below
                box["error"] = exc

        worker = threading.Thread(target=run, name="scan-gate-aws-call", daemon=True)
        worker.start()
        worker.join(left)
        if worker.is_alive():
            raise OutOfTime()
        if "error" in box:
            raise box["error"]
        return box["value"]


class NoVerdict(Exception):
    """The gate cannot decide: missing image, failed AWS call, ... (exit 2)."""


@dataclass
class Outcome:
    code: int
    message: str
    result: ScanResult | None = None


def wait_for_verdict(fetch: Callable[[], ScanResult], *, threshold: str, timeout: float, poll_interval: float,
                     settle: float, on_missing: Callable[[], None] = lambda: None,
                     log: Callable[[str], None] = print, clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep, deadline: float | None = None) -> Outcome:
    """Poll `fetch` until the scan can be judged, is broken, or `timeout` seconds pass (by `deadline`, when the
    caller started the clock earlier; `fetch` raises OutOfTime when the deadline passes inside it).

    A result with findings is judged at once. An empty result (no counts, no findings) only passes after it has
    been seen empty for `settle` seconds, because enhanced scanning may report COMPLETE/ACTIVE before its findings.
    `on_missing` runs once, the first time no scan exists (used by --start-scan).
    """
    deadline = clock() + timeout if deadline is None else deadline
    empty_since: float | None = None
    missing_seen = False
    last_status = None
    result: ScanResult | None = None
    first = True
    while True:
        if not first and clock() >= deadline:     # the wait before this poll used up the time
            return _timed_out(timeout, last_status, result)
        first = False
        try:
            result = fetch()
        except OutOfTime:
            return _timed_out(timeout, last_status or "no complete answer", None,
                              "; an AWS call or the pages of its answer were still coming")
        except ScanNotFound:
            result = None
            if not missing_seen:
                missing_seen = True
                log("  no scan found for the image yet")
                on_missing()
        if result is not None:
            kind = classify(result.status)
            if result.status != last_status:
                suffix = f" ({result.description})" if result.description else ""
                log(f"  scan status: {result.status or 'none'}{suffix}")
                last_status = result.status
            if kind == "broken":
                return Outcome(EXIT_NO_VERDICT, f"scan status {result.status}: no verdict", result)
            if kind == "ready":
                if result.total():
                    return _judged(result, threshold)
                now = clock()
                if empty_since is None:
                    empty_since = now
                    if settle > 0:
                        log(f"  no findings reported; confirming for {settle:g}s (counts can lag the status)")
                if now - empty_since >= settle:
                    return _judged(result, threshold)
            else:
                empty_since = None
        now = clock()
        if now >= deadline:
            return _timed_out(timeout, last_status, result)
        sleep(max(0.0, min(poll_interval, deadline - now)))


def _timed_out(timeout: float, last_status: str | None, result: ScanResult | None, detail: str = "") -> Outcome:
    return Outcome(EXIT_NO_VERDICT, f"timed out after {timeout:g}s (last status: {last_status or 'no scan'}{detail})",
                   result)


def _judged(result: ScanResult, threshold: str) -> Outcome:
    n = at_or_above(result.counts(), threshold)
    if n:
        return Outcome(EXIT_FINDINGS, f"FAIL: {n} finding(s) at or above {threshold}", result)
    return Outcome(EXIT_CLEAN, f"PASS: no finding at or above {threshold}", result)


# ---------------------------------------------------------------------------------------------------------------
# AWS edge: the only code that calls boto3.
# ---------------------------------------------------------------------------------------------------------------

def resolve_region(cli_value: str | None, environ: dict[str, str] | None = None) -> str:
    """--region, else AWS_REGION, else AWS_DEFAULT_REGION. botocore itself reads only AWS_DEFAULT_REGION (and the
    profile), while CodeBuild and most tools set AWS_REGION."""
    environ = os.environ if environ is None else environ
    region = cli_value or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise NoVerdict("no AWS region: pass --region or set AWS_REGION")
    return region


def make_client(region: str, timeout: float):
    import boto3
    from botocore.config import Config

    # boto3 >= 1.28 reads AWS_ENDPOINT_URL itself; passing it keeps older SDKs in build images pointed the same way.
    endpoint = os.environ.get("AWS_ENDPOINT_URL_ECR") or os.environ.get("AWS_ENDPOINT_URL") or None
    # Short socket timeouts and few retries keep calls within --timeout in the ordinary case; Budget.call is the bound.
    return boto3.client("ecr", region_name=region, endpoint_url=endpoint,
                        config=Config(retries={"mode": "standard", "max_attempts": 3},
                                      connect_timeout=min(10.0, timeout), read_timeout=min(30.0, timeout)))


def _error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _registry(registry_id: str | None) -> dict[str, str]:
    return {"registryId": registry_id} if registry_id else {}


def _unbounded(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


def resolve_digest(client, repository: str, tag: str, registry_id: str | None = None,
                   call: Callable[..., Any] = _unbounded) -> str:
    """The digest the tag points at (a `sha256:` value passed as the tag is used as is). `call` runs the AWS call
    (Budget.call holds it to the deadline)."""
    if tag.startswith("sha256:"):
        return tag
    try:
        resp = call(client.describe_images, repositoryName=repository, imageIds=[{"imageTag": tag}],
                    **_registry(registry_id))
    except Exception as exc:  # noqa: BLE001 - reported as "no verdict"
        if _error_code(exc) in ("ImageNotFoundException", "RepositoryNotFoundException"):
            raise NoVerdict(f"{repository}:{tag} not found ({_error_code(exc)})") from exc
        raise
    details = resp.get("imageDetails") or []
    if not details or not details[0].get("imageDigest"):
        raise NoVerdict(f"{repository}:{tag} not found")
    return details[0]["imageDigest"]


def fetch_pages(client, repository: str, digest: str, registry_id: str | None = None,
                call: Callable[..., Any] = _unbounded) -> list[dict[str, Any]]:
    """Every page of describe_image_scan_findings (follows nextToken); ScanNotFound if no scan exists yet. Each page
    goes through `call`, so with Budget.call a nextToken that never ends stops at the deadline (OutOfTime)."""
    pages: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"repositoryName": repository, "imageId": {"imageDigest": digest},
                              **_registry(registry_id)}
    while True:
        try:
            page = call(client.describe_image_scan_findings, **kwargs)
        except Exception as exc:  # noqa: BLE001
            if _error_code(exc) == "ScanNotFoundException":
                raise ScanNotFound() from exc
            if _error_code(exc) in ("ImageNotFoundException", "RepositoryNotFoundException"):
                raise NoVerdict(f"{repository}@{digest} not found ({_error_code(exc)})") from exc
            raise
        pages.append(page)
        token = page.get("nextToken")
        if not token:
            return pages
        kwargs["nextToken"] = token


def start_scan(client, repository: str, digest: str, registry_id: str | None, log: Callable[[str], None],
               call: Callable[..., Any] = _unbounded) -> None:
    """Ask for a basic scan once; a refusal (daily limit, enhanced scanning, ...) is logged and polling goes on."""
    try:
        call(client.start_image_scan, repositoryName=repository, imageId={"imageDigest": digest},
             **_registry(registry_id))
        log("  started a scan")
    except Exception as exc:  # noqa: BLE001
        code = _error_code(exc)
        if not code:
            raise
        log(f"  could not start a scan ({code}); waiting for one to appear")


# ---------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------

_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
# user:password@ (or user@) in a URL, e.g. an AWS_ENDPOINT_URL an error message repeats.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR")


def redact(line: str) -> str:
    """Defence in depth for error messages passed through: no access key ids, secrets, session tokens, or the user
    name and password of an endpoint URL."""
    line = _KEY_ID.sub("<redacted>", line)
    line = _URL_USERINFO.sub(r"\1<redacted>@", line)
    values = [os.environ.get(name) for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")]
    for name in ENDPOINT_VARIABLES:   # the parts of userinfo, also when a message shows them decoded
        parts = urlsplit(os.environ.get(name) or "")
        values += [parts.username and unquote(parts.username), parts.password and unquote(parts.password)]
    for value in sorted(filter(None, values), key=len, reverse=True):
        if len(value) >= 4:
            line = line.replace(value, "<redacted>")
    return line


DEFAULT_SETTLE = 30.0


def _seconds(allow_zero: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            raise argparse.ArgumentTypeError(f"must be a finite number {'>= 0' if allow_zero else '> 0'}: {text!r}")
        return value
    return parse


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="scan_gate.py", description="Wait for the ECR scan of an image and fail on findings at or above a "
        "severity. Exit 0 clean, 1 findings at/above the threshold, 2 no verdict (scan failed/unsupported, "
        "timeout, missing image, AWS error, bad arguments, output that cannot be written).")
    p.add_argument("--repository", required=True, help="ECR repository name")
    p.add_argument("--tag", required=True, help="image tag (or a sha256: digest)")
    p.add_argument("--fail-on", default="MEDIUM", type=str.upper, choices=THRESHOLDS, metavar="SEVERITY",
                   help=f"lowest severity that fails the gate: {', '.join(THRESHOLDS)} (default MEDIUM); a severity "
                        "the script does not know always fails")
    p.add_argument("--timeout", default=600.0, type=_seconds(allow_zero=False), metavar="SECONDS",
                   help="seconds until a verdict, AWS calls and paging included (600)")
    p.add_argument("--poll-interval", default=10.0, type=_seconds(allow_zero=False), metavar="SECONDS",
                   help="seconds between polls (10)")
    p.add_argument("--settle", default=None, type=_seconds(allow_zero=True), metavar="SECONDS",
                   help=f"seconds an empty result must stay empty before it passes ({DEFAULT_SETTLE:g}, or half of "
                        "a shorter --timeout; 0 trusts the first one)")
    p.add_argument("--top", default=10, type=_count, metavar="N", help="findings to list (10)")
    p.add_argument("--registry-id", help="registry (account) id, when not the caller's")
    p.add_argument("--region", help="AWS region (default: AWS_REGION, else AWS_DEFAULT_REGION)")
    p.add_argument("--start-scan", action="store_true",
                   help="if no scan exists, start a basic scan once (not needed with scan on push)")
    args = p.parse_args(argv)
    if args.settle is None:
        args.settle = min(DEFAULT_SETTLE, args.timeout / 2)
    elif args.settle >= args.timeout:
        p.error(f"--settle ({args.settle:g}) must be shorter than --timeout ({args.timeout:g})")
    return args


class OutputFailed(Exception):
    """A line could not be printed (closed pipe, full disk): exit 2, since 1 means findings."""


def main(argv: list[str] | None = None, *, client=None, log: Callable[[str], None] | None = None,
         sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> int:
    args = parse_args(argv)
    budget = Budget(clock() + args.timeout, clock)
    sink = log or (lambda line: print(line, flush=True))

    def out(line: str) -> None:
        try:
            sink(redact(line))
        except OSError as exc:
            raise OutputFailed(exc) from exc

    try:
        return _gate(args, budget, client, out, sleep, clock)
    except OutputFailed as exc:
        _silence_stdout()
        cause = exc.__cause__
        if not isinstance(cause, BrokenPipeError):
            _stderr(f"scan gate: no verdict: cannot write the output ({getattr(cause, 'strerror', None) or cause})")
        return EXIT_NO_VERDICT
    except KeyboardInterrupt:
        _stderr("scan gate: no verdict: interrupted")
        return EXIT_NO_VERDICT


def _gate(args: argparse.Namespace, budget: Budget, client, out: Callable[[str], None],
          sleep: Callable[[float], None], clock: Callable[[], float]) -> int:
    try:
        ecr = client if client is not None else make_client(resolve_region(args.region), args.timeout)
        digest = resolve_digest(ecr, args.repository, args.tag, args.registry_id, budget.call)
        out(f"scan gate: {args.repository}:{args.tag} ({digest}), fails on {args.fail_on} or above, "
            f"timeout {args.timeout:g}s")
        outcome = wait_for_verdict(
            lambda: merge_pages(fetch_pages(ecr, args.repository, digest, args.registry_id, budget.call)),
            threshold=args.fail_on, timeout=args.timeout, poll_interval=args.poll_interval, settle=args.settle,
            on_missing=(lambda: start_scan(ecr, args.repository, digest, args.registry_id, out, budget.call))
            if args.start_scan else (lambda: None),
            log=out, clock=clock, sleep=sleep, deadline=budget.deadline)
    except OutputFailed:
        raise
    except NoVerdict as exc:
        out(f"scan gate: no verdict: {exc}")
        return EXIT_NO_VERDICT
    except OutOfTime:
        out(f"scan gate: no verdict: timed out after {args.timeout:g}s looking up {args.repository}:{args.tag}")
        return EXIT_NO_VERDICT
    except Exception as exc:  # noqa: BLE001 - whatever goes wrong, the answer is "no verdict" (2), never 1
        if not type(exc).__module__.startswith(("botocore", "boto3")):
            import traceback
            traceback.print_exc()
            out(f"scan gate: no verdict: internal error: {type(exc).__name__}")
            return EXIT_NO_VERDICT
        code = _error_code(exc)
        out(f"scan gate: no verdict: AWS call failed: {type(exc).__name__}{f' ({code})' if code else ''}: {exc}")
        return EXIT_NO_VERDICT
    if outcome.result is not None and outcome.result.status is not None:
        for line in report_lines(outcome.result, args.fail_on, args.top):
            out(line)
    out(f"scan gate: {outcome.message}")
    return outcome.code


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush cannot fail (exit 120, 'Exception ignored')."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _stderr(line: str) -> None:
    try:
        print(redact(line), file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
