#!/usr/bin/env python3
"""`make lock`: resolve the pins of pyproject.toml into the layered lock files (needs the package index).

    requirements.lock          the generator's runtime: `pip install .` without the AWS SDK (make templates)
    requirements-deploy.lock   what the rest of `pip install .` adds: the AWS SDK of the deploy commands
    requirements-diagram.lock  what the `diagram` extra adds on top (the PNG renderer)
    requirements-test.lock     what the `test` extra adds on top of both, and the build backend
    requirements-checkov.lock  checkov, alone in its own venv (it pins boto3==1.35.49, which conflicts with ours)

Each layer holds only what the layers below lack, so a package is pinned in exactly one file and `make test`
installs the three into .venv in order. `--keep` resolves against the current lock files (no version moves: used
when a layer is added or split); without it transitive versions move to the newest the pins allow.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The dependencies only the deploy commands import (scripts/deploy.py); make templates never needs them.
DEPLOY_ONLY = ("boto3", "botocore")
LAYERS = (("requirements.lock", None, "the generator's runtime (make templates, validate, cost, diagram): `pip "
                                      "install .` without the AWS SDK"),
          ("requirements-deploy.lock", "", "+ the AWS SDK of the deploy commands (`pip install .` has it)"),
          ("requirements-diagram.lock", "diagram", "+ the PNG renderer of `make diagram` (extra `diagram`)"),
          ("requirements-test.lock", "test", "+ the test stack of `make test` (extra `test`)"))
CHECKOV = ("requirements-checkov.lock", "checkov==3.3.30",
           "checkov in .venv-checkov (it pins boto3==1.35.49, which conflicts with ours)")


def layer_lines(frozen: list[list[str]]) -> list[list[str]]:
    """Cumulative `pip freeze` outputs (runtime, runtime+diagram, ...) -> each layer's own pins (pure)."""
    seen: set[str] = set()
    layers = []
    for lines in frozen:
        pins = sorted({line for line in lines if line and not line.startswith("#")} - seen, key=str.lower)
        seen.update(pins)
        layers.append(pins)
    return layers


def _pyproject() -> dict:
    import tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _project() -> dict:
    return _pyproject()["project"]


def _build_backend() -> list[str]:
    """The build backend's pins (pip freeze leaves setuptools out): the test layer carries them, so the wheel test
    builds without the network (`pip wheel --no-build-isolation`)."""
    return list(_pyproject()["build-system"]["requires"])


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return path / "bin" / "python"


def _pip(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", *args], check=True)


def _freeze(python: Path) -> list[str]:
    out = subprocess.run([str(python), "-m", "pip", "freeze", "--exclude", "fargate-stacks"], check=True,
                         capture_output=True, text=True).stdout
    return out.splitlines()


def _write(name: str, what: str, pins: list[str]) -> None:
    header = f"# {what}. Regenerate: make lock (scripts/lock_files.py)\n"
    (ROOT / name).write_text(header + "".join(p + "\n" for p in pins), encoding="utf-8")
    print(f"wrote {name} ({len(pins)} packages)")


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    with tempfile.TemporaryDirectory(prefix="lock-") as tmp:
        constraints: list[str] = []
        if args.keep:
            current = Path(tmp) / "current.txt"
            current.write_text("".join((ROOT / name).read_text() for name, _, _ in LAYERS if (ROOT / name).exists()))
            constraints = ["-c", str(current)]
        python = _venv(Path(tmp) / "venv")
        frozen = []
        extras: list[str] = []
        for _, extra, _ in LAYERS:
            if extra is None:       # the project's own pins, less the deploy-only ones
                targets = [r for r in _project()["dependencies"] if r.split("==")[0].lower() not in DEPLOY_ONLY]
            else:
                if extra:
                    extras.append(extra)
                targets = [f"{ROOT}[{','.join(extras)}]" if extras else str(ROOT)]
            _pip(python, "--quiet", *constraints, *targets)
            frozen.append(_freeze(python))
        layers = layer_lines(frozen)
        layers[-1] = sorted(layers[-1] + _build_backend(), key=str.lower)
        for (name, _, what), pins in zip(LAYERS, layers):
            _write(name, what, pins)
        if not args.keep:
            checkov = _venv(Path(tmp) / "checkov")
            _pip(checkov, "--quiet", CHECKOV[1])
            _write(CHECKOV[0], CHECKOV[2], layer_lines([_freeze(checkov)])[0])
    return 0


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keep", action="store_true", help="resolve against the current lock files (no version moves); "
                                                       "leaves requirements-checkov.lock alone")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
