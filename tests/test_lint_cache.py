"""The lint cache (generator/lint/cache.py) and the lint workers (generator/lint/workers.py): a pass is reused only
for the same template bytes, the same interface (Parameters and Outputs) of every template it references (with
another cfn-lint: the same bytes of every template it references, transitively), the same cfn-lint and schemas, and
the same rule set (project rules' source, ignored rules, regions); anything else lints again. Failures are never
recorded; entries are written atomically and the cache is bounded."""
from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from generator.lint import cache, gate, workers
from tests.support import ROOT

ROOT_T = """AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Child:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ./child.yaml
      Parameters:
        Name: !Ref AWS::StackName
Outputs:
  Arn:
    Value: !GetAtt Child.Outputs.Arn
"""
CHILD = """AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Name:
    Type: String
Resources:
  Grandchild:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ./grandchild.yaml
      Parameters:
        Name: !Ref Name
Outputs:
  Arn:
    Value: !GetAtt Grandchild.Outputs.Arn
"""
GRANDCHILD = """AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Name:
    Type: String
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Ref Name
Outputs:
  Arn:
    Value: !Ref Topic
"""
REGION = "eu-west-1"


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh cache, and templates under the working directory (cfn-lint reads nested outputs only there)."""
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "cache"


def _stack(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {"root.yaml": ROOT_T, "child.yaml": CHILD, "grandchild.yaml": GRANDCHILD, **files}.items():
        (folder / name).write_text(text)
    return folder


def _lint(folder: Path, region: str = REGION) -> tuple[list[str], gate.LintStats]:
    found = gate.cfn_lint(folder, "t", region)
    return found, gate.LAST


def test_an_unchanged_directory_is_not_linted_again(store, tmp_path):
    t = _stack(tmp_path / "t")
    assert _lint(t) == ([], gate.LAST) and gate.LAST.linted == 3 and gate.LAST.cached == 0
    found, stats = _lint(t)
    assert found == [] and (stats.cached, stats.linted) == (3, 0)
    # the same bytes elsewhere (a new staging folder) hit too: the folder's name is not part of a key
    found, stats = _lint(_stack(tmp_path / "other"))
    assert (stats.cached, stats.linted) == (3, 0)


def test_a_changed_template_is_linted_again_and_its_parent_when_its_interface_changed(store, tmp_path):
    """cfn-lint (the pinned version) reads only a nested template's Parameters and Outputs while linting its parent,
    so a change elsewhere in it (its resources) lints it alone; a changed output or parameter lints its parent too,
    not the parent's parent (which reads only the parent's interface, unchanged)."""
    t = _stack(tmp_path / "t")
    _lint(t)
    (t / "grandchild.yaml").write_text(GRANDCHILD.replace("Type: AWS::SNS::Topic\n",
                                                          "Type: AWS::SNS::Topic\n    DeletionPolicy: Delete\n"))
    found, stats = _lint(t)
    assert found == [] and (stats.cached, stats.linted) == (2, 1), "the grandchild alone"
    (t / "grandchild.yaml").write_text(GRANDCHILD + "  Name:\n    Value: !GetAtt Topic.TopicName\n")
    found, stats = _lint(t)
    assert found == [] and (stats.cached, stats.linted) == (1, 2), "the grandchild and its parent"
    (t / "grandchild.yaml").write_text(GRANDCHILD.replace("Type: String", "Type: String\n    Default: x"))
    found, stats = _lint(t)
    assert found == [] and (stats.cached, stats.linted) == (1, 2), "a parameter's default is part of the interface"
    (t / "root.yaml").write_text(ROOT_T + "Description: root\n")
    found, stats = _lint(t)
    assert (stats.cached, stats.linted) == (2, 1)


def test_with_another_cfn_lint_a_change_lints_everything_that_references_it_transitively(store, tmp_path,
                                                                                         monkeypatch):
    """The interface is what the pinned cfn-lint's readers take; another version may read more, so the key holds the
    whole bytes of every referenced template, transitively."""
    monkeypatch.setattr(cache, "interfaces_only", lambda: False)
    t = _stack(tmp_path / "t")
    _lint(t)
    (t / "grandchild.yaml").write_text(GRANDCHILD.replace("Type: AWS::SNS::Topic\n",
                                                          "Type: AWS::SNS::Topic\n    DeletionPolicy: Delete\n"))
    found, stats = _lint(t)
    assert found == [] and stats.linted == 3, "grandchild, its parent and the root (through the parent)"


def test_the_installed_cfn_lint_is_the_one_whose_readers_were_checked():
    """Read from cfn-lint's version file without importing it; the interface keys apply to that version only."""
    cache.interfaces_only.cache_clear()
    assert cache.interfaces_only() is True


def test_an_interface_keeps_types_and_ignores_everything_but_parameters_and_outputs():
    base = {"Parameters": {"A": {"Type": "Number", "Default": 1}}, "Outputs": {"O": {"Value": "x"}}}
    same = cache.interface({**base, "Resources": {"R": {"Type": "AWS::SNS::Topic"}}, "Description": "d"})
    assert same == cache.interface(base)
    for other in ({"Parameters": {"A": {"Type": "Number", "Default": "1"}}, "Outputs": base["Outputs"]},
                  {"Parameters": {"A": {"Type": "Number", "Default": None}}, "Outputs": base["Outputs"]},
                  {"Parameters": {"A": {"Type": "Number"}}, "Outputs": base["Outputs"]},
                  {"Parameters": base["Parameters"], "Outputs": {"O2": {"Value": "x"}}},
                  {"Parameters": base["Parameters"]}):
        assert cache.interface(other) != same, other
    assert cache.interface(["not", "a", "template"]) is None


def test_a_nested_template_that_no_longer_parses_lints_its_parent_again_and_fails(store, tmp_path):
    t = _stack(tmp_path / "t")
    _lint(t)
    (t / "child.yaml").write_text(CHILD + "Outputs: [broken\n")
    found, stats = _lint(t)
    assert stats.linted == 2 and any("child.yaml" in f for f in found), found


def test_a_nested_template_that_breaks_its_parent_is_never_a_stale_pass(store, tmp_path):
    """The root passes; then the child drops the output the root reads and the parameter it passes: the root's own
    bytes did not change, yet it must fail (E6101 on the nested output, E3043 on the nested parameters)."""
    t = _stack(tmp_path / "t")
    assert _lint(t)[0] == []
    (t / "child.yaml").write_text(CHILD.replace("Outputs:\n  Arn:", "Outputs:\n  Other:")
                                  .replace("Parameters:\n  Name:", "Parameters:\n  Label:")
                                  .replace("Name: !Ref Name", "Name: !Ref Label"))
    found, stats = _lint(t)
    assert any("root.yaml" in f and "E6101 'Outputs.Arn' is not one of" in f for f in found), found
    assert any("root.yaml" in f and "E3043" in f for f in found), found
    again, stats = _lint(t)
    assert again == found and (stats.cached, stats.linted) == (2, 1), "a failure is linted every time"


def test_whether_nested_templates_are_under_the_working_directory_is_part_of_the_key(store, tmp_path, monkeypatch):
    """cfn-lint reads a nested template's outputs only inside the working directory (the same bytes pass outside
    it and fail inside), so a pass recorded outside must not serve inside."""
    t = _stack(tmp_path / "t", **{"root.yaml": ROOT_T.replace("Child.Outputs.Arn", "Child.Outputs.Missing")})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    found, stats = _lint(t)
    assert found == [] and stats.linted == 3
    monkeypatch.chdir(tmp_path)
    found, stats = _lint(t)
    assert stats.linted == 2 and any("E6101" in f for f in found), found   # root and child: their references moved


def test_each_part_of_the_rule_set_is_part_of_the_key(store, tmp_path, monkeypatch):
    t = _stack(tmp_path / "t")
    _lint(t)
    assert _lint(t)[1].linted == 0
    # the regions
    assert _lint(t, region="us-east-1")[1].linted == 3
    # the ignored rules
    monkeypatch.setattr(gate, "IGNORED_RULES", {**gate.IGNORED_RULES, "W2001": "a test"})
    assert _lint(t)[1].linted == 3
    monkeypatch.undo()
    monkeypatch.setenv(cache.ENV, str(store))
    monkeypatch.chdir(tmp_path)
    assert _lint(t)[1].linted == 0
    # the project rules' source (any file of the rules directory, helpers included)
    rules = tmp_path / "rules"
    rules.mkdir()
    for p in cache.RULES_DIR.iterdir():
        if p.is_file():
            (rules / p.name).write_bytes(p.read_bytes())
    monkeypatch.setattr(cache, "RULES_DIR", rules)
    assert _lint(t)[1].linted == 0, "same bytes, same key"
    (rules / "_helpers.py").write_bytes((rules / "_helpers.py").read_bytes() + b"\n# changed\n")
    assert _lint(t)[1].linted == 3


def test_the_cfn_lint_version_its_dependencies_and_its_schemas_are_part_of_the_key(store, tmp_path, monkeypatch):
    t = _stack(tmp_path / "t")
    _lint(t)
    real = cache.cfnlint_dir()
    fake = tmp_path / "site" / "cfnlint"
    (fake / "data" / "schemas").mkdir(parents=True)
    (fake / "version.py").write_bytes((real / "version.py").read_bytes())
    (fake / "data" / "schemas" / "version.json").write_bytes((real / "data/schemas/version.json").read_bytes())
    for name in os.listdir(real.parent):
        if name.endswith((".dist-info", ".egg-info")):
            (fake.parent / name).mkdir()
    monkeypatch.setattr(cache, "cfnlint_dir", lambda: fake)
    assert _lint(t)[1].linted == 0, "a copy of the same files is the same cfn-lint"
    (fake / "version.py").write_text('"""x"""\n__version__ = "9.9.9"\n')
    assert _lint(t)[1].linted == 3
    _lint(t)
    # a dependency upgraded beside it (regex decides every pattern check)
    regex = next(p for p in fake.parent.iterdir() if p.name.startswith("regex-"))
    regex.rename(fake.parent / "regex-2099.1.1.dist-info")
    assert _lint(t)[1].linted == 3
    _lint(t)
    # schemas newer than the bundled ones, from `cfn-lint --update-specs`
    downloaded = tmp_path / "xdg" / "aws" / "cfn-lint" / "schemas"
    downloaded.mkdir(parents=True)
    (downloaded / "version.json").write_text('{"schema_date": "2099-01-01"}')
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _lint(t)[1].linted == 3


def test_a_cfnlintrc_switches_the_cache_off(store, tmp_path):
    t = _stack(tmp_path / "t")
    _lint(t)
    (tmp_path / ".cfnlintrc").write_text("ignore_checks: []\n")
    found, stats = _lint(t)
    assert stats.linted == 3 and stats.cache.startswith("off")


def test_the_cache_can_be_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, "off")
    monkeypatch.chdir(tmp_path)
    t = _stack(tmp_path / "t")
    _lint(t)
    found, stats = _lint(t)
    assert stats.linted == 3 and stats.cache == "off"


def test_a_transform_the_key_cannot_follow_is_always_linted(store, tmp_path):
    t = _stack(tmp_path / "t", **{"grandchild.yaml": "Transform: AWS::LanguageExtensions\n" + GRANDCHILD})
    _lint(t)
    found, stats = _lint(t)
    assert found == [] and stats.linted == 2, ("the grandchild, and the child that opens it (the root reads only "
                                               "the child's interface, which does not change with the grandchild)")


def test_entries_are_written_atomically_and_unreadable_ones_are_misses(tmp_path):
    s = cache.Store(tmp_path)
    key = "ab" * 32
    errors = []

    def writer():
        for _ in range(200):
            s.record_pass(key, "x.yaml")

    def reader():
        for _ in range(400):
            try:
                s.passed(key)   # a miss or a pass, never a partial file
            except Exception as exc:   # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=f) for f in (writer, writer, reader, reader)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors and s.passed(key)
    assert [p.name for p in (tmp_path / key[:2]).iterdir()] == [key], "no temporary file left behind"
    (tmp_path / key[:2] / key).write_text('{"verdict": "pa')
    assert not s.passed(key)


def test_concurrent_builds_share_the_cache_safely(store, tmp_path):
    """Two processes lint the same templates at once against one cache: both see every template linted or cached,
    and the cache ends with one entry per template."""
    t = _stack(tmp_path / "t")
    code = ("import sys; from pathlib import Path; from generator.lint import gate; "
            "assert gate.cfn_lint(Path(sys.argv[1]), 't', 'eu-west-1') == []")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([str(ROOT / ".venv/bin/python"), "-c", code, str(t)], env=env) for _ in range(2)]
    assert [p.wait() for p in procs] == [0, 0]
    entries = [p for p in store.rglob("*") if p.is_file()]
    assert not any(p.name.startswith(".tmp-") for p in entries)
    # one pass per template, and one parse of each (generator/lint/parsed.py)
    assert len([p for p in entries if p.parent.name != "parsed"]) == 3
    assert len([p for p in entries if p.parent.name == "parsed"]) == 3


def test_the_cache_is_bounded(tmp_path):
    s = cache.Store(tmp_path)
    keys = [f"{i:064x}" for i in range(12)]
    for i, key in enumerate(keys):
        s.record_pass(key, "t.yaml")
        os.utime(s._entry(key), (1_000_000 + i, 1_000_000 + i))
    assert s.passed(keys[0])   # used now: the most recent
    assert s.prune(keep=5) == 7
    kept = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert kept == sorted([keys[0], *keys[-4:]])


def test_the_default_cache_is_outside_committed_paths():
    assert cache.DEFAULT_DIR == ROOT / ".cache" / "lint"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(cache.DEFAULT_DIR / "ab" / "x")], cwd=ROOT)
    assert ignored.returncode == 0, ".cache/ must be in .gitignore"


def _same_findings_in_workers_and_in_process(files: list[str], monkeypatch) -> workers.Result:
    """Lints `files` in two forked workers and with cfn-lint's API in this process; asserts the same findings, file
    by file, and returns the in-process result."""
    ignore = sorted(gate.IGNORED_RULES)
    monkeypatch.setenv(workers.ENV_WORKERS, "2")
    parallel = workers.lint(files, [REGION], ignore)
    serial = workers.in_process(files, [REGION], ignore)
    assert parallel.workers == 2 and not parallel.fallback
    assert {k: sorted(v) for k, v in parallel.findings.items()} == {k: sorted(v) for k, v in serial.findings.items()}
    return serial


def test_workers_report_what_cfn_lint_reports_in_process(tmp_path, monkeypatch):
    """The same findings, file by file, from the helper's forked workers (which parse a nested template once for
    both the nested parameters and the nested outputs) as from cfn-lint's API in this process: warnings, a template
    that does not parse, nested parameters and outputs that do not match."""
    monkeypatch.chdir(tmp_path)
    t = _stack(tmp_path / "t", **{
        "root.yaml": ROOT_T.replace("Child.Outputs.Arn", "Child.Outputs.Missing"),
        "child.yaml": CHILD.replace("Parameters:\n  Name:", "Parameters:\n  Label:"),
        "bad.yaml": "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\nParameters:\n  Unused:\n    Type: String\n",
        "broken.yaml": "Resources: [\n"})
    serial = _same_findings_in_workers_and_in_process(sorted(str(p) for p in t.glob("*.yaml")), monkeypatch)
    assert sum(1 for v in serial.findings.values() if v) == 4, serial.findings
    assert {f[2] for f in serial.findings[str(t / "root.yaml")]} >= {"E3043", "E6101"}, serial.findings


def test_a_failed_helper_falls_back_to_linting_in_process(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    t = _stack(tmp_path / "t", **{"root.yaml": ROOT_T + "Parameters:\n  Unused:\n    Type: String\n"})
    helper = workers.helper()
    os.killpg(helper.proc.pid, 9)
    helper.proc.wait()
    monkeypatch.setattr(workers, "_shared", helper)    # dead, but still the current one: lint() must notice
    monkeypatch.setattr(workers.Helper, "alive", lambda self: True)
    result = workers.lint([str(t / "root.yaml")], [REGION], sorted(gate.IGNORED_RULES))
    assert result.workers == 0 and result.fallback
    assert [f[2] for f in result.findings[str(t / "root.yaml")]] == ["W2001"]


def test_an_idle_helper_ends_with_its_input_and_a_forked_copy_does_not_use_it():
    helper = workers.helper()
    assert helper.alive()
    pid = os.fork()
    if pid == 0:   # the child: not the helper's owner
        os._exit(0 if not helper.alive() else 1)
    assert os.waitpid(pid, 0)[1] == 0
    workers.stop()
    assert helper.proc.poll() is not None


def test_an_interrupted_lint_stops_the_helper_and_its_workers(tmp_path, monkeypatch):
    """Ctrl-C while the helper lints: the helper's process group is gone before the build removes its staged files
    (else its workers would go on linting files that disappear)."""
    monkeypatch.chdir(tmp_path)
    t = _stack(tmp_path / "t")
    helper = workers.helper()

    class Interrupted:
        def readline(self):
            raise KeyboardInterrupt

        def close(self):
            pass

    real = helper.proc.stdout
    monkeypatch.setattr(helper.proc, "stdout", Interrupted())
    with pytest.raises(KeyboardInterrupt):
        helper.lint([str(p) for p in t.glob("*.yaml")], [REGION], sorted(gate.IGNORED_RULES), 2)
    assert helper.proc.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(helper.proc.pid, 0)   # no process of its group is left
    real.close()
    assert workers.helper() is not helper, "a new helper for the next build"


def test_the_shared_nested_parse_was_checked_against_the_pinned_cfn_lint():
    """The workers let cfn-lint's two readers of a nested template share one parse with only its Parameters and
    Outputs, for the version whose readers were read (NestedStackParameters._get_template_parameters and
    context._nested_stack_get_atts), and each speed-up of generator/lint/speedups/. Raising the pin: read them
    again, then raise CHECKED_CFN_LINT."""
    from cfnlint.version import __version__

    from generator.lint import zygote

    pinned = next(line.split("==")[1].strip('", ') for line in (ROOT / "pyproject.toml").read_text().splitlines()
                  if line.strip().startswith('"cfn-lint=='))
    assert __version__ == pinned == zygote.CHECKED_CFN_LINT


def test_workers_with_their_speedups_report_what_cfn_lint_reports_in_process(tmp_path, monkeypatch):
    """The helper replaces pieces of cfn-lint with faster equivalents (generator/lint/speedups/; every template
    of the repository: tests/test_lint_speedups.py): over every project rule fixture (good and bad) and a generated service
    template broken in several ways (wrong types, unknown references, a dropped property), the findings are the same,
    file by file, as cfn-lint's own API in this process."""
    monkeypatch.chdir(tmp_path)
    files = []
    for fixture in sorted((ROOT / "tests" / "fixtures" / "lint_rules").glob("*/*.yaml")):
        copy = tmp_path / f"{fixture.parent.name}-{fixture.name}"
        copy.write_bytes(fixture.read_bytes())
        files.append(str(copy))
    service = (ROOT / "examples" / "tunecast" / "templates_out" / "service-api.yaml").read_text()
    broken = (service.replace("Port: 3000", "Port: not-a-port").replace("!Ref Cluster", "!Ref NoSuchThing")
              .replace("Type: AWS::CloudWatch::Alarm", "Type: AWS::CloudWatch::Alarm\n    DeletionPolicy: Sometimes"))
    (tmp_path / "service-broken.yaml").write_text(broken)
    (tmp_path / "service.yaml").write_text(service)
    files += [str(tmp_path / "service-broken.yaml"), str(tmp_path / "service.yaml")]
    serial = _same_findings_in_workers_and_in_process(files, monkeypatch)
    rules = {f[2] for found in serial.findings.values() for f in found}
    assert len(serial.findings[str(tmp_path / "service-broken.yaml")]) >= 3 and len(rules) >= 10, rules
