"""The runbooks (`make runbooks`): equal to the committed ones (runbooks/ for app.yaml, tests/golden/<app>/runbooks/
for each fixture app; `make golden` rewrites them), strict about missing facts, spec-driven sections, and every
`make` command line they document is a real target of the Makefile with its real variable names, checked by
`make -n`."""
from __future__ import annotations

import difflib
import os
import re
import shlex
import subprocess

import jinja2
import pytest

from generator.config import load_app
from generator.runbooks import model, render
from tests.conftest import make_app
from tests.support import DEFAULT_APP, GOLDEN_SETS, ROOT, app_id, read_tree
from tests.update_tool_golden import TOOL_GOLDEN_APPS, runbook_dir

MAKEFILE = (ROOT / "Makefile").read_text()
TARGETS = set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, flags=re.M))
# Every variable the Makefile reads: defined with ?=, read as $(NAME) in a recipe or an argument list, or a flag
# checked by `_flag` (FORCE=1).
VARIABLES = (set(re.findall(r"^([A-Z_]+) \?=", MAKEFILE, flags=re.M)) | set(re.findall(r"\$\(([A-Z_]+)\)", MAKEFILE))
             | set(re.findall(r"_flag,([A-Z_]+),", MAKEFILE)))


@pytest.mark.parametrize("app_path", TOOL_GOLDEN_APPS, ids=app_id)
def test_runbooks_match_the_committed_ones(app_path):
    got = render.render(load_app(app_path))
    want = read_tree(runbook_dir(app_path))
    problems = []
    for name in sorted(set(got) | set(want)):
        if got.get(name) != want.get(name):
            diff = difflib.unified_diff(want.get(name, "").splitlines(), got.get(name, "").splitlines(),
                                        f"committed/{name}", f"generated/{name}", lineterm="", n=2)
            problems.append("\n".join(list(diff)[:40]))
    assert not problems, "runbooks changed; if intended run `make golden` and review:\n" + "\n".join(problems)


def documented_commands() -> dict[str, str]:
    """Every `make ...` command line in every runbook of every golden app: normalised line -> where it appears."""
    found: dict[str, str] = {}
    for app_path in TOOL_GOLDEN_APPS:
        for name, text in render.render(load_app(app_path)).items():
            for line in re.findall(r"(?m)^(make [^`\n]+)$", text) + re.findall(r"`(make [^`]+)`", text):
                found.setdefault(line.strip(), f"{app_path.stem}:{name}")
    return found


COMMANDS = documented_commands()


def test_the_runbooks_document_commands():
    targets = {shlex.split(c.replace("<", "'<").replace(">", ">'"))[1] for c in COMMANDS}
    assert {"deploy", "diff", "release", "rollback", "status", "approve", "logs", "build", "push",
            "restore", "snapshots"} <= targets


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_documented_command_is_a_real_target_with_real_variables(command, tmp_path):
    # placeholders such as <tag printed by push> become one word, as an operator would type them
    argv = shlex.split(re.sub(r"<[^>]*>", "x", command))
    target, assignments = argv[1], argv[2:]
    if target not in TARGETS and target in model.DATA_TIER_TARGETS:
        pytest.skip(f"`make {target}` comes with the data tier (the database branch); not in this Makefile yet")
    assert target in TARGETS, f"{COMMANDS[command]}: `{command}`: no target {target!r} in the Makefile"
    for assignment in assignments:
        name = assignment.split("=", 1)[0]
        assert re.fullmatch(r"[A-Z_]+", name) and name in VARIABLES, \
            f"{COMMANDS[command]}: `{command}`: the Makefile reads no variable {name!r}"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    result = subprocess.run(["make", "--no-print-directory", "-n", target, *assignments], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, f"{COMMANDS[command]}: `{command}`: {result.stderr}"


def test_a_missing_fact_is_an_error_not_an_empty_line():
    environment = render._environment()
    template = environment.from_string("{{ rb.no_such_fact }}")
    runbook = model.build(load_app(DEFAULT_APP), "dev")
    with pytest.raises(jinja2.UndefinedError):
        template.render(rb=runbook)


SERVICES = [{"name": "web", "kind": "web", "port": 8080,
             "secrets": {"DB_URL": "${Application}/${EnvironmentName}/db:url", "TOKEN": "shared/token"}}]


def test_sections_follow_the_spec():
    plain = render.render(make_app(services=SERVICES))
    assert "Restoring the database" not in plain["dev/rollback.md"]
    assert "make migrate" not in plain["dev/deploy.md"]
    assert "None: app.yaml lists no `manual_steps` for dev." in plain["dev/manual-steps.md"]
    assert "| `demo/dev/db` | url | web: DB_URL |" in plain["dev/secrets.md"]
    assert "--name 'shared/token' --secret-string '...'" in plain["dev/secrets.md"]
    with_db = render.render(make_app(services=SERVICES, database={"engine": "aurora-mysql", "engine_version": "8.4", "name": "shop"}))
    assert "make restore ENV=dev SNAPSHOT=<snapshot id from the list>" in with_db["dev/rollback.md"]
    assert "make snapshot ENV=dev" in with_db["dev/deploy.md"]


def test_manual_steps_are_rendered_per_environment_with_placeholders_filled():
    app = make_app(environments={"dev": {"cidr": "10.10.0.0/16"},
                                 "prod": {"production": True, "account_id": "222222222222", "cidr": "10.30.0.0/16",
                                          "zones": ["euw1-az1", "euw1-az2"]}},
                   manual_steps=[{"title": "IdP client", "steps": ["Create client {app}-{env} for {domain}"]},
                                 {"title": "Prod only", "environments": ["prod"], "steps": ["Tell the bank"],
                                  "verify": "the bank says {env} is allowed"}])
    found = render.render(app)
    assert "- [ ] Create client demo-dev for <dev load balancer DNS name>" in found["dev/manual-steps.md"]
    assert "Prod only" not in found["dev/manual-steps.md"]
    assert "## 2. Prod only\n\n- [ ] Tell the bank\n\nCheck: the bank says prod is allowed\n" in \
        found["prod/manual-steps.md"]


def test_durations_come_from_the_deployment_configuration():
    assert model.shift_minutes("CodeDeployDefault.ECSCanary10Percent5Minutes") == 5
    assert model.shift_minutes("CodeDeployDefault.ECSLinear10PercentEvery1Minutes") == 9
    assert model.shift_minutes("CodeDeployDefault.ECSLinear10PercentEvery3Minutes") == 27
    assert model.shift_minutes("CodeDeployDefault.ECSAllAtOnce") == 0
