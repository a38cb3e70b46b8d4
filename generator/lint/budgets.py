"""CloudFormation size limits, checked per template with a message that says what to do."""
from __future__ import annotations

from generator import cfnyaml

INLINE_BYTES = 51_200      # a template body sent in the API request
S3_BYTES = 1_000_000       # a template fetched from S3 (nested stacks always are)
MAX_RESOURCES = 500
MAX_PARAMETERS = 200
MAX_OUTPUTS = 200


def check(name: str, text: str, *, is_root: bool, data: dict | None = None) -> list[str]:
    """`data`: the template already parsed (the gate parses each staged template once)."""
    size = len(text.encode("utf-8"))
    findings = []
    limit, how = (INLINE_BYTES, "sent inline") if is_root else (S3_BYTES, "fetched from S3")
    if size > limit:
        findings.append(f"{name}: {size:,} bytes is over the {limit:,}-byte limit for a template {how}; "
                        "move resources into a nested stack")
    data = cfnyaml.loads(text) if data is None else data
    for section, most in (("Resources", MAX_RESOURCES), ("Parameters", MAX_PARAMETERS), ("Outputs", MAX_OUTPUTS)):
        count = len(data.get(section) or {})
        if count > most:
            findings.append(f"{name}: {count} {section.lower()} is over CloudFormation's limit of {most}; "
                            "split the stack")
    return findings
