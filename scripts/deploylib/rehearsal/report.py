"""The rehearsal's report: the steps, what the emulator created, skipped or could not evaluate, the workarounds, and
what no emulator shows."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from scripts.deploylib.rehearsal.inventory import Resource, verifiers
from scripts.deploylib.rehearsal.workarounds import WITHOUT_ENV, WORKAROUNDS

NOT_COVERED = (
    "drift: moto 5.2.5 has no DetectStackDrift; the drift flow is tested with botocore Stubber "
    "(tests/test_deploy_flows.py)",
    "failure paths (failed change sets, rollbacks, root causes) are tested with Stubber: moto never rolls back "
    "(a bad resource is an HTTP 500 and the stack stays *_IN_PROGRESS)",
    "nested change-set contents: moto ignores IncludeNestedStacks, so the preview shows only the root's changes",
    "IAM evaluation, stack policy enforcement, delete clean-up and service quotas are not emulated",
)


@dataclass
class Report:
    stack: str
    env: str
    url: str = ""
    steps: list[tuple[str, str]] = field(default_factory=list)     # (step, result)
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    left_behind: list[str] = field(default_factory=list)
    prerequisites: list[str] = field(default_factory=list)
    workarounds: tuple[str, ...] = ()
    seconds: float = 0.0
    ok: bool = True

    def created_types(self) -> Counter:
        return Counter(r.resource_type for r in self.resources if r.outcome == "created")

    def skipped_types(self) -> Counter:
        return Counter(r.resource_type for r in self.resources if r.outcome == "skipped")

    def outcomes(self) -> Counter:
        return Counter(r.outcome for r in self.resources)

    def missing(self) -> list[Resource]:
        return [r for r in self.resources if r.outcome == "missing" or r.verified is False]


def render_report(report: Report) -> str:
    lines = [f"Rehearsal of {report.stack} (moto in server mode at {report.url}): "
             f"{'OK' if report.ok else 'FAILED'} in {report.seconds:.1f}s", "", "Steps:"]
    lines += [f"  {step:<12} {result}" for step, result in report.steps]
    # One counter per outcome, summing to the templates' resources; each section below repeats its own count in
    # the same `(N resources, M types)` form.
    outcomes = report.outcomes()
    parts = [f"{outcomes[key]} {word}" for key, word in (("created", "created"), ("skipped", "skipped"),
             ("not-applicable", "not applicable"), ("unevaluated", "not evaluated"), ("missing", "missing"))]
    lines += ["", f"Resources in the templates: {len(report.resources)} = {' + '.join(parts)}"]
    created = report.created_types()
    lines += ["", f"Created by the emulator ({_count(created)}):"]
    calls = {t: v.call for t, v in verifiers().items() if t in created}
    for rtype, count in sorted(created.items()):
        checks = [r.verified for r in report.resources if r.resource_type == rtype and r.outcome == "created"]
        how = (f"verified with {calls[rtype]}" if all(checks) else f"NOT found by {calls[rtype]}") \
            if rtype in calls else "listed by CloudFormation only"
        lines.append(f"  {rtype:<44} {count:>3}  {how}")
    skipped = report.skipped_types()
    lines += ["", f"Skipped by the emulator ({_count(skipped)}; moto does not implement the type; a real deploy "
                  "creates them):"]
    if not skipped:
        lines.append("  (none)")
    for rtype, count in sorted(skipped.items()):
        names = [f"{r.stack}/{r.logical_id}" for r in report.resources
                 if r.resource_type == rtype and r.outcome == "skipped"]
        lines.append(f"  {rtype:<44} {count:>3}  e.g. {names[0]}")
    not_applicable = [r for r in report.resources if r.outcome == "not-applicable"]
    if not_applicable:
        lines += ["", f"Not applicable in '{report.env}' ({_count(Counter(r.resource_type for r in not_applicable))}; "
                      "their Condition is false for its parameter values; a real deploy does not create them either):"]
        for condition, count in sorted(Counter(r.condition for r in not_applicable).items()):
            names = [f"{r.stack}/{r.logical_id}" for r in not_applicable if r.condition == condition]
            lines.append(f"  {condition:<44} {count:>3}  e.g. {names[0]}")
    unevaluated = [r for r in report.resources if r.outcome == "unevaluated"]
    if unevaluated:
        lines += ["", f"Not created, Condition not evaluated offline "
                      f"({_count(Counter(r.resource_type for r in unevaluated))}):"]
        lines += [f"  {r.stack}/{r.logical_id} ({r.resource_type}, Condition {r.condition})" for r in unevaluated]
    missing = report.missing()
    if missing:
        lines += ["", f"MISSING ({_count(Counter(r.resource_type for r in missing))}; implemented by the emulator, "
                      "expected, but not there):"]
        lines += [f"  {r.stack}/{r.logical_id} ({r.resource_type})" for r in missing]
    if report.left_behind:
        lines += ["", f"Left behind by the emulator's stack delete ({len(report.left_behind)}, see "
                      "[delete-dependencies]):"]
        lines += [f"  {item}" for item in report.left_behind]
    if report.prerequisites:
        lines += ["", "Manual prerequisites the harness made exist in the emulator (a person provides them in a "
                      "real account):"]
        lines += [f"  {item}" for item in report.prerequisites]
    lines += ["", "Emulator workarounds (in the rehearsal harness only; the deploy code is unchanged):"]
    for w in WORKAROUNDS:
        left_out = " (LEFT OUT via " + WITHOUT_ENV + ")" if w.name not in report.workarounds else ""
        lines += [f"  [{w.name}]{left_out} {w.gap}.", f"      workaround: {w.fix}."]
    lines += ["", "Not shown by the rehearsal:"]
    lines += [f"  - {item}" for item in NOT_COVERED]
    return "\n".join(lines) + "\n"


def _count(types: Counter) -> str:
    n, kinds = sum(types.values()), len(types)
    return f"{n} resource{'s' if n != 1 else ''}, {kinds} type{'s' if kinds != 1 else ''}"
