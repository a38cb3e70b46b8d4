"""Generator of environment-agnostic CloudFormation nested stacks for ECS Fargate apps."""

# The one place the version is written: pyproject.toml reads it (dynamic), `fargate-stacks --version` prints it and
# CHANGELOG.md's newest entry names it (tests/test_packaging.py keeps them equal).
__version__ = "0.2.0"

# PyYAML's reader compiles its pattern of printable characters in 53 M instructions at import; this makes it 5 M, in
# every process of the generator that imports yaml (generator/pyyaml_speedups.py)
from generator import pyyaml_speedups as _pyyaml_speedups  # noqa: E402

_pyyaml_speedups.install()
