"""The validation gate: cfn-lint in-process, our own rules, parameter files and size budgets."""
