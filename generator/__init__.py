"""Generator of environment-agnostic CloudFormation nested stacks for ECS Fargate apps."""

# The one place the version is written: pyproject.toml reads it (dynamic), `fargate-stacks --version` prints it and
# CHANGELOG.md's newest entry names it (tests/test_packaging.py keeps them equal).
__version__ = "0.2.0"
