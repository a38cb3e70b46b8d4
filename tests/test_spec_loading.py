"""How app.yaml is read (issue 9, item 1): the path is a regular file of sensible size, the YAML is read without
YAML 1.1's guesses, and every refusal is one line. The exact messages of spec cases are in tests/fixtures/invalid/;
what cannot live there (FIFOs, devices, symlink loops, odd paths, YAML that must load) is here.
"""
from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.config import load_app, parse_app
from generator.config import spec_file, yaml_reader
from generator.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
MINIMAL = (REPO / "tests" / "fixtures" / "apps" / "minimal.yaml").read_text(encoding="utf-8")


def _lines(path: Path | str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_app(path)
    return info.value.lines()


def test_a_fifo_is_reported_as_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "app.yaml"
    os.mkfifo(fifo)
    assert _lines(fifo) == [f"{fifo}: is a named pipe (FIFO), not a file; pass the app spec file with --app PATH"]


def test_a_device_is_reported_as_a_device() -> None:
    assert _lines("/dev/zero") == ["/dev/zero: is a character device, not a file; pass the app spec file with --app "
                                   "PATH"]


def test_a_directory_is_reported_as_a_directory(tmp_path: Path) -> None:
    assert _lines(tmp_path) == [f"{tmp_path}: is a directory; pass the app spec file with --app PATH"]


def test_a_symlink_loop_and_a_dangling_link_are_reported_as_links(tmp_path: Path) -> None:
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    assert _lines(loop) == [f"{loop}: is a symbolic link loop (a link that leads back to itself); pass the app spec "
                            "file with --app PATH"]
    dangling = tmp_path / "dangling.yaml"
    dangling.symlink_to(tmp_path / "gone.yaml")
    assert _lines(dangling) == [f"{dangling}: is a symbolic link to '{tmp_path / 'gone.yaml'}', which does not "
                                "exist; pass the app spec file with --app PATH"]


def test_a_file_used_as_a_directory_and_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert _lines(tmp_path / "file" / "app.yaml") == [
        f"{tmp_path / 'file' / 'app.yaml'}: a part of the path is a file, not a directory; pass the app spec file "
        "with --app PATH"]
    assert _lines(tmp_path / "none.yaml") == [
        f"{tmp_path / 'none.yaml'}: file not found; pass --app PATH or create app.yaml (see README)"]


def test_a_spec_larger_than_the_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(MINIMAL + "#" * spec_file.MAX_BYTES)
    assert _lines(big) == [f"{big}: is larger than 1,000,000 bytes, far more than an app spec needs; check that "
                           "--app names the app spec"]
    exact = tmp_path / "exact.yaml"
    exact.write_text(MINIMAL + "#" * (spec_file.MAX_BYTES - len(MINIMAL.encode())))
    assert load_app(exact).app == "mini"


def test_a_newline_in_the_path_keeps_every_problem_on_one_line(tmp_path: Path) -> None:
    odd = tmp_path / "two\nlines\u2028app.yaml"
    odd.write_text("app: shop\n")
    lines = _lines(odd)  # owner, region and environments are missing: three problems
    assert len(lines) == 3
    for line in lines:
        assert "\n" not in line and "\u2028" not in line and len(line.splitlines()) == 1
        assert line.startswith(f"{tmp_path}/two\\nlines\\u2028app.yaml: ")


def test_the_cli_on_a_fifo_exits_2_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "app.yaml"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "generator", "build", "--app", str(fifo), "--out",
                           str(tmp_path / "o"), "--params", str(tmp_path / "p")], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.endswith("is a named pipe (FIFO), not a file; pass the app spec file with --app PATH\n")


# --- the YAML -------------------------------------------------------------------------------------------------------


def test_plain_values_follow_yaml_1_2_core_and_keys_stay_as_written() -> None:
    data = yaml_reader.read("a: [010, 10, 1.5, 1e3, 0x1F, 1_000, 50:00, yes, No, on, true, ~, null, 2024-01-01, -3]\n"
                            "no: 1\n~: 2\n010: 3\ntrue: 4\n")
    assert data == {"a": ["010", 10, 1.5, 1000.0, "0x1F", "1_000", "50:00", "yes", "No", "on", True, None, None,
                          "2024-01-01", -3], "no": 1, "~": 2, "010": 3, "true": 4}


def test_str_tag_is_allowed_and_every_other_tag_refused() -> None:
    assert yaml_reader.read("a: !!str 010\nb: !!seq [1]\nc: !!map {d: 1}\n") == {"a": "010", "b": [1], "c": {"d": 1}}
    for text in ("a: !!int 10", "a: !!float 1", "a: !!timestamp 2024-01-01", "a: !!python/name:os.system",
                 "a: !custom x", "a: !!omap [{b: 1}]"):
        with pytest.raises(yaml_reader.SpecYAMLError) as info:
            yaml_reader.read(text)
        assert info.value.where == "line 1, column 4"
        assert info.value.message.startswith("the tag ") and info.value.message.endswith("; remove the tag")


def test_merge_keys_and_aliases_are_supported_and_own_keys_win() -> None:
    text = MINIMAL.replace("environments:\n  dev:\n    cidr: 10.0.0.0/16\n", (
        "environments:\n"
        "  dev: &dev\n    cidr: 10.0.0.0/16\n    spot_share: 80\n    services: &counts {app: {min_count: 1, max_count: 3}}\n"
        "  staging:\n    <<: *dev\n    cidr: 10.1.0.0/16\n"
        "  prod:\n    <<: [*dev, {spot_share: 0}]\n    cidr: 10.2.0.0/16\n    production: true\n"
        "    zones: [use1-az1, use1-az2]\n"))
    data = yaml_reader.read(text)
    assert data["environments"]["staging"] == {"cidr": "10.1.0.0/16", "spot_share": 80,
                                               "services": {"app": {"min_count": 1, "max_count": 3}}}
    assert data["environments"]["prod"]["spot_share"] == 80  # the first mapping of a merge list wins
    app = parse_app(copy.deepcopy(data))
    assert app.environments["staging"].services["app"].max_count == 3


def test_a_duplicate_key_is_refused_but_a_merged_key_may_be_overridden() -> None:
    with pytest.raises(yaml_reader.SpecYAMLError) as info:
        yaml_reader.read("a: 1\nb: 2\na: 3\n")
    assert (info.value.where, info.value.message) == ("line 3, column 1", "duplicate key 'a' (first at line 1); "
                                                                          "keep one of them")
    with pytest.raises(yaml_reader.SpecYAMLError):
        yaml_reader.read("a: 1\n'a': 2\n")  # the same key, quoted or not
    assert yaml_reader.read("x: &x {a: 1}\ny: {<<: *x, a: 2}\n")["y"] == {"a": 2}


def test_depth_counts_what_aliases_bring_in() -> None:
    """Each anchor is five levels deep and refers to the previous one: shallow as written, deep once expanded."""
    lines = ["l0: &l0 [[[[[x]]]]]"] + [f"l{i}: &l{i} [[[[[*l{i - 1}]]]]]" for i in range(1, 8)]
    with pytest.raises(yaml_reader.SpecYAMLError) as info:
        yaml_reader.read("\n".join(lines) + "\n")
    assert info.value.message.startswith("nested more than 32 levels deep (counting what aliases bring in)")
    assert yaml_reader.read("\n".join(lines[:4]) + "\n")["l3"]  # 21 levels: fine


def test_a_mapping_that_contains_itself_is_refused() -> None:
    with pytest.raises(yaml_reader.SpecYAMLError) as info:
        yaml_reader.read("a: &a\n  b: *a\n")
    assert info.value.message == "an alias refers to the mapping or list that contains it; an app spec cannot be " \
                                 "recursive"


def test_the_set_tag_no_longer_makes_builds_depend_on_the_hash_seed(tmp_path: Path) -> None:
    """Issue 9: a `!!set` command made two builds differ under different PYTHONHASHSEED; now it is refused, the same
    way under every seed."""
    spec = tmp_path / "app.yaml"
    spec.write_text(MINIMAL.replace("    port: 8000\n", "    port: 8000\n    command: !!set {a, b, c, d, e}\n"))
    outputs = {subprocess.run([sys.executable, "-m", "generator", "build", "--app", str(spec), "--out",
                               str(tmp_path / "o"), "--params", str(tmp_path / "p")], cwd=REPO, text=True,
                              capture_output=True, env={**os.environ, "PYTHONHASHSEED": seed}).stderr
               for seed in ("1", "2")}
    assert outputs == {f"{spec}: line 10, column 14: the tag !!set is not allowed: the app spec holds text, numbers, "
                       "true/false, lists and mappings only; remove the tag\n"}


@pytest.mark.parametrize(("field", "value", "message"), [
    ("port", "'8080'", "expected a whole number, got '8080'"),
    ("port", "8080.0", "expected a whole number, got 8080.0"),
    ("cpu", "true", "expected a whole number, got true"),
])
def test_types_are_strict(tmp_path: Path, field: str, value: str, message: str) -> None:
    spec = tmp_path / "app.yaml"
    spec.write_text(MINIMAL.replace("    port: 8000\n", f"    port: 8000\n    {field}: {value}\n" if field != "port"
                                    else f"    port: {value}\n"))
    [line] = _lines(spec)
    assert line.startswith(f"{spec}: services.app.{field}: {message}")
