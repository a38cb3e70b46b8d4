"""The validation gate: cfn-lint (in worker processes, passes cached), our own rules, parameter files, size budgets."""
from pathlib import Path

RULES_DIR = Path(__file__).parent / "rules"   # the project's cfn-lint rules (E9xxx)
