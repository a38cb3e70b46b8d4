"""The `fargate-stacks` command: subcommands, --version, init, validate, schema, the delegated deploy commands, the
installed package (wheel) and the make targets that call the same entry point."""
from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from generator import __version__, cli, init_app, schema
from generator.build import write
from generator.config import yaml_reader
from generator.config.loader import parse_app
from generator.errors import UsageError
from tests.support import DEFAULT_APP, EXAMPLE_APPS, FIXTURE_APPS, ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


# ------------------------------------------------------------------------------------------------ the command
def test_version_is_one_number_everywhere():
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "generator.__version__"}
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(r"^## (\S+)", changelog, flags=re.M).group(1) == __version__
    assert run("--version").stdout == f"fargate-stacks {__version__}\n"


def test_console_command_is_the_module_entry_point():
    assert PYPROJECT["project"]["scripts"] == {"fargate-stacks": "generator.cli:main"}
    help_text = run("--help").stdout
    for command in ("init", "build", "validate", "schema", "cost", "diagram", *cli.DEPLOY_COMMANDS,
                    *cli.OPS_COMMANDS):
        assert re.search(rf"^    {command}\b", help_text, flags=re.M), command


def test_deploy_commands_delegate_with_paths_of_the_current_directory(monkeypatch):
    from scripts import deploy
    seen = {}
    monkeypatch.setattr(deploy, "main", lambda argv, prog: seen.update(argv=argv, prog=prog) or 7)
    assert cli.main(["diff", "--env", "dev", "--app=mine.yaml"]) == 7
    assert seen["prog"] == "fargate-stacks"
    parsed = deploy.parser().parse_args(seen["argv"])
    assert (parsed.command, parsed.env, parsed.app, parsed.templates, parsed.params) == (
        "diff", "dev", Path("mine.yaml"), Path("templates_out"), Path("params"))   # the user's --app wins


def test_deploy_role_acts_on_the_account_not_an_environment(monkeypatch):
    """`fargate-stacks deploy-role` (make deploy-role) takes no --env: the stack is one per account."""
    from scripts import deploy
    seen = {}
    monkeypatch.setattr(deploy, "main", lambda argv, prog: seen.update(argv=argv) or 0)
    assert cli.main(["deploy-role", "--region", "me-south-1", "--yes"]) == 0
    parsed = deploy.parser().parse_args(seen["argv"])
    assert (parsed.command, parsed.app, parsed.templates, parsed.params, parsed.region, parsed.yes) == (
        "deploy-role", Path("app.yaml"), Path("templates_out"), Path("params"), "me-south-1", True)
    assert not hasattr(parsed, "env")
    with pytest.raises(SystemExit):
        deploy.parser().parse_args(["deploy-role", "--env", "dev"])


def test_day2_commands_delegate_with_paths_of_the_current_directory(monkeypatch):
    from scripts import ops
    seen = {}
    monkeypatch.setattr(ops, "main", lambda argv, prog: seen.update(argv=argv, prog=prog) or 5)
    assert cli.main(["logs", "--env", "dev", "--service", "api", "--follow"]) == 5
    assert seen["prog"] == "fargate-stacks"
    parsed = ops.parser().parse_args(seen["argv"])
    assert (parsed.command, parsed.env, parsed.service, parsed.follow, parsed.app, parsed.templates) == (
        "logs", "dev", "api", True, Path("app.yaml"), Path("templates_out"))


def test_rehearse_without_the_emulator_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_importable", lambda module: module != "moto")
    assert cli.main(["rehearse", "--env", "dev"]) == 2
    assert "pip install 'fargate-stacks[test]'" in capsys.readouterr().err


def test_validate_checks_through_the_gate_and_writes_nothing(tmp_path):
    app = tmp_path / "app.yaml"
    shutil.copy(FIXTURE_APPS / "minimal.yaml", app)
    result = run("validate", "--app", str(app), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(rf"{re.escape(str(app))}: valid: 6 templates and 2 parameter files pass the gate "
                        r"\(lint-clean, [\dhms.]+\); nothing was written\n", result.stdout)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.yaml"]
    app.write_text(app.read_text().replace("port: 8000", "port: 0"))
    bad = run("validate", "--app", str(app), cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith(f"{app}: services.app.port: ") and "Traceback" not in bad.stderr


# ------------------------------------------------------------------------------------------------ schema
def test_committed_schema_is_in_sync():
    assert (ROOT / schema.COMMITTED).read_text() == schema.text(), "schema/app.schema.json is stale: run make schema"


def test_schema_has_enums_examples_titles_descriptions_and_defaults():
    s = schema.build()
    service = s["$defs"]["ServiceSpec"]["properties"]
    assert service["cpu"]["enum"] == [256, 512, 1024, 2048, 4096, 8192, 16384] and service["cpu"]["default"] == 256
    assert 30720 in service["memory"]["enum"] and 512 in service["memory"]["enum"]
    assert "eu-west-1" in s["properties"]["region"]["enum"]
    assert service["schedule"]["examples"] == ["cron(0 3 * * ? *)", "rate(1 hour)"]
    for name, node in {"AppSpec": s, **s["$defs"]}.items():
        assert node.get("title") and node.get("description"), name
        for field, spec in node["properties"].items():
            assert spec.get("title") and spec.get("description"), f"{name}.{field}"


def test_schema_accepts_every_app_and_refuses_what_the_models_refuse():
    import jsonschema
    validator = jsonschema.Draft202012Validator(json.loads((ROOT / schema.COMMITTED).read_text()))
    for path in [ROOT / "app.yaml", *FIXTURE_APPS.glob("*.yaml"), *EXAMPLE_APPS]:
        raw = yaml_reader.read(path.read_text())
        assert list(validator.iter_errors(raw)) == [], path
    raw = yaml_reader.read(DEFAULT_APP.read_text())
    raw["services"][0]["cpu"] = 300
    raw["environments"]["Prod"] = raw["environments"].pop("prod")
    messages = sorted(e.message for e in validator.iter_errors(raw))
    assert any("300 is not one of" in m for m in messages) and any("'Prod' does not match" in m for m in messages)


def test_every_app_names_the_schema_on_its_first_line():
    for path in [ROOT / "app.yaml", *FIXTURE_APPS.glob("*.yaml"), *EXAMPLE_APPS]:
        first = path.read_text().splitlines()[0]
        assert first == schema.modeline(path, ROOT / schema.COMMITTED), path
        relative = first.split("$schema=", 1)[1]
        assert (path.parent / relative).resolve() == (ROOT / schema.COMMITTED).resolve()


def test_an_example_path_that_names_no_field_fails():
    with pytest.raises(schema.SchemaPathError):
        schema._field(schema.build(), "services[].no_such_field")


# ------------------------------------------------------------------------------------------------ init
REGIONS = ("eu-west-1", "us-east-1")
SERVICES = ("web:web:8080", "api:web:3000,web:web", "jobs:worker", "nightly:cron",
            "web:web:8080,api:web:3000,jobs:worker,nightly:cron", "s1:web:80,s2:web:81,s3:web:82,s4:web:83,s5:web:84")
ENVIRONMENTS = ("dev", "dev,prod", "dev,staging,prod", "production")
COMBINATIONS = list(itertools.product(REGIONS, SERVICES, (False, True), ENVIRONMENTS, (False, True)))


def _choices(region, services, database, environments, pipeline) -> init_app.Choices:
    return init_app.Choices("shop", region, init_app.parse_services(services), database,
                            init_app.parse_environments(environments), pipeline)


@pytest.mark.parametrize("combo", COMBINATIONS, ids=["-".join(map(str, c)) for c in COMBINATIONS])
def test_every_combination_of_init_flags_loads(combo):
    text = init_app.render(_choices(*combo))
    assert text.splitlines()[0] == "# yaml-language-server: $schema=schema/app.schema.json"
    parse_app(yaml_reader.read(text))


@pytest.mark.slow
@pytest.mark.parametrize("combo", [
    ("eu-west-1", "web:web:8080,api:web:3000,jobs:worker,nightly:cron", True, "dev,staging,prod", True),
    ("us-east-1", "jobs:worker", False, "dev", False),
    ("us-east-1", "api:web:3000,web:web", True, "production", False),
])
def test_representative_init_apps_build_lint_clean(tmp_path, combo):
    app = parse_app(yaml_reader.read(init_app.render(_choices(*combo))))
    rendered = write(app, tmp_path / "templates_out", tmp_path / "params")      # raises on any finding
    assert "root.yaml" in rendered.templates


def _args(**given) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    init_app.add_arguments(parser)
    return parser.parse_args([f"--{k.replace('_', '-')}={v}" for k, v in given.items()])


def test_init_writes_app_and_schema_and_never_overwrites(tmp_path):
    said = []
    out = tmp_path / "app.yaml"
    assert init_app.run(_args(output=out, name="shop", services="api:web:3000", environments="dev,prod"),
                        say=said.append, interactive=False) == 0
    assert said == [f"wrote {out} and {tmp_path / 'schema' / 'app.schema.json'}; next: fargate-stacks validate "
                    f"--app {out} (or build)"]
    assert (tmp_path / "schema" / "app.schema.json").read_text() == schema.text()
    before = out.read_text()
    with pytest.raises(UsageError) as err:
        init_app.run(_args(output=out, name="other"), say=said.append, interactive=False)
    assert err.value.lines() == [f"{out}: already exists; init never overwrites a file: move it away or pass "
                                 "--output PATH"]
    assert out.read_text() == before


def test_init_refuses_a_spec_that_would_not_load_and_writes_nothing(tmp_path):
    from generator.errors import ConfigError
    with pytest.raises(ConfigError) as err:
        init_app.run(_args(output=tmp_path / "app.yaml", name="Shop"), say=print, interactive=False)
    assert err.value.lines()[0].startswith(f"{tmp_path / 'app.yaml'}: app: ")
    assert not list(tmp_path.iterdir())


def test_init_asks_for_what_flags_leave_open_and_asks_again_after_a_bad_answer(tmp_path, capsys):
    answers = iter(["", "us-east-1", "api:db", "api:web:3000,jobs:worker", "yes", "dev,prod", "maybe", "no"])
    asked = []

    def ask(question):
        asked.append(question)
        return next(answers)

    init_app.run(_args(output=tmp_path / "app.yaml"), say=lambda _: None, ask=ask, interactive=True)
    assert asked[0] == f"App name [{init_app.default_name(tmp_path)}]: "
    assert len(asked) == 8                       # a bad services answer and a bad yes/no answer asked again
    app = parse_app(yaml_reader.read((tmp_path / "app.yaml").read_text()))
    assert (app.region, [s.name for s in app.services], app.database is not None, list(app.environments),
            app.pipeline) == ("us-east-1", ["api", "jobs"], True, ["dev", "prod"], None)
    assert capsys.readouterr().err.splitlines() == ["  'api:db': kind 'db' is not one of web, worker, cron",
                                                     "  'maybe': answer yes or no"]


@pytest.mark.parametrize("text, message", [
    ("api", "'api' is not NAME:KIND or NAME:KIND:PORT (e.g. api:web:3000, jobs:worker)"),
    ("api:db", "'api:db': kind 'db' is not one of web, worker, cron"),
    ("jobs:worker:80", "'jobs:worker:80': only web services have a port"),
    ("api:web:99999", "'api:web:99999': the port is a number from 1 to 65535"),
])
def test_bad_service_flags_say_what_is_wrong(text, message):
    with pytest.raises(ValueError) as err:
        init_app.parse_services(text)
    assert str(err.value) == message


# ------------------------------------------------------------------------------------------------ packaging
@pytest.mark.slow
def test_the_wheel_installs_a_working_command(tmp_path):
    """`pip install .` without the network: the wheel built from this checkout (no build isolation: the pinned
    setuptools is in the test lock), installed without dependencies next to .venv's, then run in an empty
    directory: --version, init (with a pipeline, so the buildspec templates must be in the wheel), build (the lint
    rules must be too)."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    # Built from a copy of what the wheel is made of: setuptools writes build/ and *.egg-info/ into the folder it
    # builds, which must not be the repository while other tests read it (make test runs modules side by side).
    checkout = tmp_path / "checkout"
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        checkout.mkdir(exist_ok=True)
        shutil.copy2(ROOT / name, checkout / name)
    for package in ("generator", "scripts", "buildspecs"):
        shutil.copytree(ROOT / package, checkout / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"),
                    str(checkout)], check=True, capture_output=True, timeout=300)
    wheel, = (tmp_path / "dist").glob("fargate_stacks-*.whl")
    assert wheel.name == f"fargate_stacks-{__version__}-py3-none-any.whl"
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "-q", "--target", str(site), str(wheel)], check=True,
                   capture_output=True, timeout=300)
    assert sorted((site / "buildspecs").glob("*.yml.j2")) and (site / "generator" / "lint" / "rules").is_dir()
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}

    def command(*args):
        result = subprocess.run([str(site / "bin" / "fargate-stacks"), *args], cwd=work, env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert command("--version") == f"fargate-stacks {__version__}\n"
    command("init", "--yes", "--name", "shop", "--environments", "dev,prod", "--pipeline")
    assert "wrote 10 templates to templates_out/" in command("build")
    assert (work / "templates_out" / "pipeline.yaml").is_file() and (work / "params" / "prod.json").is_file()


# ------------------------------------------------------------------------------------------------ make
def _make(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=60, check=True).stdout


def test_make_help_shows_every_variable():
    out = _make("-s", "help")
    makefile = (ROOT / "Makefile").read_text()
    variables = set(re.findall(r"^([A-Z_]+) \?=", makefile, flags=re.M))
    variables |= set(re.findall(r"_flag,([A-Z_]+),", makefile)) | set(re.findall(r"\$\(if \$\(([A-Z_]+)\),", makefile))
    assert {"APP", "OUT", "PARAMS", "ENV", "PYTHON", "DIAGRAM", "YES", "FORCE", "DRY_RUN", "IMAGE_TAG",
            "BUCKET"} <= variables
    for name in variables:
        assert re.search(rf"^  {name}\b", out, flags=re.M), f"make help does not show {name}"


def test_make_templates_installs_only_the_runtime_and_calls_the_cli():
    plan = _make("-n", "-W", "requirements.lock", "templates")
    assert "requirements.lock" in plan and "requirements-test.lock" not in plan
    assert "requirements-diagram.lock" not in plan and "requirements-deploy.lock" not in plan
    assert ".venv/bin/python -m generator build --app='app.yaml'" in plan
    assert _make("-n", "cost", "ENV=prod").strip().endswith("-m generator cost --app='app.yaml' --env='prod'")
    assert _make("-n", "cost").strip().endswith("-m generator cost --app='app.yaml'")


def _pins(name: str) -> dict[str, str]:
    lines = [line for line in (ROOT / name).read_text().splitlines() if line and not line.startswith("#")]
    return {line.split("==")[0].lower().replace("_", "-"): line.split("==")[1] for line in lines}


def test_lock_layers_pin_each_package_once_and_keep_tests_out_of_the_runtime():
    layers = [_pins(n) for n in ("requirements.lock", "requirements-deploy.lock", "requirements-diagram.lock",
                                 "requirements-test.lock")]
    runtime, deploy, diagram, test = layers
    for i, a in enumerate(layers):
        for b in layers[i + 1:]:
            assert not (a.keys() & b.keys())
    for package in ("moto", "pytest", "hypothesis", "flask", "cloud-radar", "cairosvg", "pillow", "boto3",
                    "botocore"):
        assert package not in runtime
    for requirement in PYPROJECT["project"]["dependencies"]:
        name, version = requirement.split("==")
        assert {**runtime, **deploy}[name.lower()] == version
    assert set(deploy) >= {"boto3", "botocore"}
    for extra, layer in (("diagram", diagram), ("test", test)):
        for requirement in PYPROJECT["project"]["optional-dependencies"][extra]:
            name, version = requirement.split("==")
            assert layer[name.lower().split("[")[0]] == version
    backend, = PYPROJECT["build-system"]["requires"]
    assert test[backend.split("==")[0]] == backend.split("==")[1]       # the wheel test builds offline
