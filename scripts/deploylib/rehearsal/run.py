"""The rehearsal itself: package -> diff -> deploy -> inventory -> outputs -> deploy again -> destroy, against a fresh
emulator, with the real deploy code (commands.py)."""
from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import boto3

from scripts.deploylib import commands, stacks
from scripts.deploylib.aws import Aws, check_region, resolve_region
from scripts.deploylib.errors import DeployError
from scripts.deploylib.rehearsal.emulator import EMULATOR_ERRORS, emulator
from scripts.deploylib.rehearsal.inventory import inventory
from scripts.deploylib.rehearsal.prerequisites import provide_prerequisites
from scripts.deploylib.rehearsal.report import Report, render_report
from scripts.deploylib.rehearsal.workarounds import LEFT_BEHIND, active_workarounds
from scripts.deploylib.target import Target, load_target
from scripts.deploylib.ui import Console

DEFAULT_ACCOUNT = "123456789012"
FAKE_KEY = "rehearsal"   # not a secret: moto accepts any key


def rehearse(target: Target, console: Console, build_dir: Path, region: str | None = None) -> Report:
    """package -> diff -> deploy -> inventory -> outputs -> deploy again -> destroy, against a fresh emulator."""
    started = time.monotonic()
    region = region or target.region
    account = target.spec.account_id or DEFAULT_ACCOUNT
    report = Report(stack=target.stack_name, env=target.env,
                    workarounds=tuple(w.name for w in active_workarounds()))
    LEFT_BEHIND.clear()
    EMULATOR_ERRORS.clear()
    with emulator(account) as url:
        report.url = url
        session = boto3.Session(aws_access_key_id=FAKE_KEY, aws_secret_access_key=FAKE_KEY, region_name=region)
        check_region(session, region)
        # Harness setting, not a code change: moto's HTTP 500s are bugs, not throttling; retrying them with
        # backoff would only delay the report.
        aws = Aws(session, region, url, retries={"mode": "standard", "max_attempts": 1})
        ctx = commands.Ctx(dataclasses.replace(target, region=region), aws, console, commands.Options(
            yes=True, force=True, build_dir=build_dir, event_poll=0.05, change_set_poll=0.05, drift_poll=0.05,
            migrate=False))

        def step(name: str, run: Callable[[], str]) -> None:
            console.say(f"\n=== rehearsal: {name} " + "=" * max(0, 60 - len(name)))
            seen = len(EMULATOR_ERRORS)
            try:
                report.steps.append((name, run()))
            except Exception as exc:   # noqa: BLE001 - every failure ends the rehearsal with a report
                report.ok = False
                detail = " / ".join(exc.lines()) if isinstance(exc, DeployError) else f"{type(exc).__name__}: {exc}"
                for _ in range(40):          # the server logs its traceback just after sending the 500
                    if EMULATOR_ERRORS[seen:] or "500" not in str(exc):
                        break
                    time.sleep(0.025)
                crashed = EMULATOR_ERRORS[seen:]
                if crashed:
                    detail = (f"the emulator failed (HTTP 500): {crashed[-1]} -- an emulator gap, or a template "
                              f"error moto reports as a crash; client saw: {detail[:200]}")
                report.steps.append((name, "FAILED: " + detail))
                raise _StepFailed() from exc

        packaged: list[commands.Packaged] = []

        def package() -> str:
            packaged.append(commands.package(ctx))
            return f"ok: {len(packaged[0].plan.artifacts)} templates uploaded"

        def outputs() -> str:
            commands.outputs(ctx)
            return f"ok: {len(report.outputs)} outputs"

        report.prerequisites = provide_prerequisites(aws, ctx.target)
        try:
            step("package", package)
            step("diff", lambda: f"ok: exit {commands.diff(ctx)}")
            step("deploy", lambda: f"ok: exit {commands.deploy(ctx)}")
            if target.app.migrate is not None:
                report.steps.append(("migrate", "not run: the emulator runs no containers, so a migration task "
                                                "never exits (tests/test_migration.py covers it with Stubber)"))
            stack = stacks.describe(aws.cf, target.stack_name) or {}
            report.outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}
            report.resources = inventory(aws, packaged[0].plan, stack.get("StackId", target.stack_name),
                                         target.stack_name)
            step("outputs", outputs)
            step("redeploy", lambda: _redeploy(ctx))
            report.steps.append(("drift", "not run: the emulator has no DetectStackDrift (Stubber tests cover it)"))
            step("destroy", lambda: _destroy(ctx))
        except _StepFailed:
            pass
        report.left_behind = list(LEFT_BEHIND)
    report.ok = report.ok and not report.missing()
    report.seconds = time.monotonic() - started
    return report


class _StepFailed(Exception):
    pass


def _redeploy(ctx: commands.Ctx) -> str:
    """The same templates and parameters again must be "No changes" (idempotence)."""
    said: list[str] = []
    console = ctx.console
    original = console.say

    def say(text: str = "") -> None:
        said.append(text)
        original(text)

    console.say = say    # type: ignore[method-assign] - listen to what the deploy code prints
    try:
        code = commands.deploy(ctx)
    finally:
        console.say = original    # type: ignore[method-assign]
    if any(line.endswith("Nothing to deploy.") for line in said):
        return f"ok: exit {code}, no changes (same templates and parameters again)"
    raise DeployError("deploying the same templates and parameters again found changes; the deployment is not "
                      "idempotent (or the emulator reports changes it should not)")


def _destroy(ctx: commands.Ctx) -> str:
    code = commands.destroy(ctx)
    gone = stacks.describe(ctx.cf, ctx.name) is None
    if not gone:
        raise DeployError(f"{ctx.name} still exists after destroy")
    return f"ok: exit {code}, root stack gone"


def main(args: argparse.Namespace, console: Console) -> int:
    target = load_target(args.app, args.env, args.templates, args.params, None)
    region, _ = resolve_region(args.region, target.app.region_of(target.env), environ={})
    build_dir = args.build_dir.parent / "rehearsal" if args.build_dir.name == "packaged" else args.build_dir
    report = rehearse(target, console, build_dir, region)
    console.say("")
    console.say(render_report(report).rstrip("\n"))
    return 0 if report.ok else 1
