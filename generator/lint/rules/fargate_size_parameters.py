"""E9006: Fargate Cpu/Memory that come from parameters are constrained to sizes Fargate accepts."""
import re
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

# CPU units -> memory (MiB) Fargate accepts; aws-reference.md §5 (BOTO ecs.RegisterTaskDefinition).
# A copy of generator/config/types.py FARGATE_SIZES, so that this rule runs with plain cfn-lint on any template.
FARGATE_SIZES = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}
ALL_MEMORY = sorted({m for sizes in FARGATE_SIZES.values() for m in sizes})


def amount(value):
    """CPU units or MiB from '1024', 1024, '1 vCPU' or '2 GB' (the forms RegisterTaskDefinition accepts); else None."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(vcpu|gb)?\s*", str(value), re.IGNORECASE)
    if not found:
        return None
    number = float(found[1]) * (1024 if found[2] else 1)
    return int(number) if number.is_integer() else None


def fits(cpu, memory):
    return memory in FARGATE_SIZES.get(cpu, ())


class FargateSizeParameters(CloudFormationLintRule):
    id = "E9006"
    shortdesc = "Fargate Cpu/Memory from parameters are limited to valid Fargate sizes"
    description = (
        "cfn-lint (E3047) checks Fargate cpu/memory only for literals. When a FARGATE task definition takes Cpu or "
        "Memory from a parameter, the parameter must have AllowedValues, each a valid Fargate size, and each allowed "
        "value must fit at least one value the other side can take (the literal, or one of the other parameter's "
        "AllowedValues). When both are parameters, not every pair of allowed values is required to be valid (the "
        "parameter files choose the pair), but a value that fits no value of the other side can never deploy."
    )
    source_url = "aws-reference.md §5 (Fargate CPU/memory table); Top 10 pitfalls #8"
    tags = ["resources", "ecs", "fargate", "parameters"]

    def match(self, cfn):
        matches = []
        for name, task in h.resources(cfn, "AWS::ECS::TaskDefinition").items():
            props = h.properties(task)
            if "FARGATE" not in [c for _, c in h.listed(props.get("RequiresCompatibilities"))]:
                continue
            sides = {key: self._side(cfn, props.get(key)) for key in ("Cpu", "Memory")}
            if not any(parameter for parameter, _ in sides.values()):
                continue  # literals only: E3047's job
            for key, (parameter, values) in sides.items():
                if parameter is None:
                    continue
                other = sides["Memory" if key == "Cpu" else "Cpu"][1]
                problems = self._problems(key, parameter, values, other)
                for problem in problems:
                    matches.append(RuleMatch(
                        ["Resources", name, "Properties", key],
                        f"TaskDefinition {name}: {key} is !Ref {parameter}, {problem}",
                    ))
        return matches

    @staticmethod
    def _side(cfn, value):
        """(parameter name or None, list of (raw, amount) the side can take, or None when unknown)."""
        name = h.field(value, "Ref")
        declared = h.parameter(cfn, name) if isinstance(name, str) else None
        if declared is not None:
            allowed = declared.get("AllowedValues")
            return name, [(v, amount(v)) for v in allowed] if isinstance(allowed, list) and allowed else None
        if isinstance(value, (str, int)):
            return None, [(value, amount(value))]
        return None, None  # Fn::FindInMap, Fn::If ...: not checked

    @staticmethod
    def _problems(key, parameter, values, others):
        if values is None:
            sizes = ", ".join(map(str, FARGATE_SIZES)) if key == "Cpu" else "512 to 122880 MiB, by Cpu"
            return [f"which has no AllowedValues, so an invalid size fails only at RegisterTaskDefinition: "
                    f"give {parameter} AllowedValues from the Fargate sizes ({sizes}) or use a Mapping"]
        problems = []
        for raw, size in values:
            valid = size in FARGATE_SIZES if key == "Cpu" else size in ALL_MEMORY
            if not valid:
                problems.append(f"whose allowed value {raw!r} is not a Fargate {key.lower()} size: remove it")
                continue
            if others is None:
                continue
            pairs = [(size, o) if key == "Cpu" else (o, size) for _, o in others]
            if not any(fits(cpu, memory) for cpu, memory in pairs):
                other_key = "Memory" if key == "Cpu" else "Cpu"
                fitting = FARGATE_SIZES[size] if key == "Cpu" else [c for c in FARGATE_SIZES if fits(c, size)]
                problems.append(
                    f"whose allowed value {raw!r} fits none of the {other_key} values it can meet "
                    f"({', '.join(str(r) for r, _ in others)}); Fargate pairs it with {other_key} "
                    f"{', '.join(map(str, fitting))}: remove it or widen the {other_key} choices"
                )
        return problems
