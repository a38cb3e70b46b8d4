"""CloudFormation size limits, checked per template with a message that says what to do.

A template sent inline is measured as it is sent: packaged. `aws cloudformation package` (the pipeline's self-update)
and scripts/deploy.py replace each local `TemplateURL` (`./network.yaml`, 14 characters) with an S3 URL of about 150
and write the whole template again in long-form YAML (`Fn::GetAtt: [a, b]` instead of `!GetAtt a.b`), so a template
can fit as written and not once packaged. `packaged` builds that form with the longest S3 location either packager
can produce (aws-reference §2: artifact_exporter.py, s3uploader.py; scripts/deploylib/packaging.py).
"""
from __future__ import annotations

from typing import Any

from generator import cfnyaml

INLINE_BYTES = 51_200      # a template body sent in the API request
S3_BYTES = 1_000_000       # a template fetched from S3 (nested stacks always are)
MAX_RESOURCES = 500
MAX_PARAMETERS = 200
MAX_OUTPUTS = 200
# What an app.yaml author can do when a template sent inline is too big.
INLINE_WAY_OUT = {
    "root.yaml": "the pipeline's CloudFormation deploy action sends the environments' root inline (make deploy and "
                 "the quick-create link send it through S3, up to 1 MB): split the services over two apps, or "
                 "deploy this one with make deploy and no pipeline block",
}

# The longest S3 location a packager writes: a bucket name of S3's maximum 63 characters, a prefix of the longest app
# name (20) plus the self-update's `/templates`, a key named after a SHA-256 (scripts/deploy.py; the CLI uses the
# shorter MD5) with the CLI's `.template` extension.
WORST_BUCKET = "b" * 63
WORST_PREFIX = "a" * 20 + "/templates"
WORST_KEY = "0" * 64 + ".template"
# Properties `aws cloudformation package` uploads when they name a local path, by resource type (those we emit).
PACKAGED_PROPERTIES = {"AWS::CloudFormation::Stack": "TemplateURL", "AWS::Serverless::Function": "CodeUri"}


def _domain(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


def _is_local(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith(("https://", "http://", "s3://"))


def packaged(text: str, region: str, data: dict | None = None) -> str:
    """The template as a packager sends it: local paths replaced by the longest S3 locations, long-form YAML.
    `data`: the template already parsed (left unchanged: only the rewritten resources are copied)."""
    data = cfnyaml.loads(text) if data is None else data
    resources = data.get("Resources") or {}
    rewritten: dict[str, Any] = {}
    for name, resource in resources.items():
        prop = PACKAGED_PROPERTIES.get((resource or {}).get("Type", ""))
        props = (resource or {}).get("Properties") or {}
        if prop and _is_local(props.get(prop)):
            location = (f"https://{WORST_BUCKET}.s3.{region}.{_domain(region)}/{WORST_PREFIX}/{WORST_KEY}"
                        if prop == "TemplateURL" else f"s3://{WORST_BUCKET}/{WORST_PREFIX}/{WORST_KEY}")
            rewritten[name] = {**resource, "Properties": {**props, prop: location}}
    if not rewritten:
        return text
    return cfnyaml.dumps({**data, "Resources": {name: rewritten.get(name, resource)
                                                for name, resource in resources.items()}})


def check(name: str, text: str, *, is_root: bool, region: str = "us-east-1", data: dict | None = None) -> list[str]:
    """`is_root`: the template is sent inline (else CloudFormation reads it from S3). Either way it is measured as
    packaged, the form that is uploaded or sent. `data`: the template already parsed (the gate parses each staged
    template once)."""
    findings = []
    data = cfnyaml.loads(text) if data is None else data
    size, sent = len(text.encode("utf-8")), len(packaged(text, region, data).encode("utf-8"))
    how = f"{sent:,} bytes once packaged" if sent > size else f"{size:,} bytes"
    if is_root and max(size, sent) > INLINE_BYTES:
        findings.append(f"{name}: {how} is over the {INLINE_BYTES:,}-byte limit for a template sent inline; "
                        + INLINE_WAY_OUT.get(name, "move resources into a nested stack"))
    elif not is_root and max(size, sent) > S3_BYTES:
        findings.append(f"{name}: {how} is over the {S3_BYTES:,}-byte limit for a template read from S3; "
                        "move resources into a nested stack")
    for section, most in (("Resources", MAX_RESOURCES), ("Parameters", MAX_PARAMETERS), ("Outputs", MAX_OUTPUTS)):
        count = len(data.get(section) or {})
        if count > most:
            findings.append(f"{name}: {count} {section.lower()} is over CloudFormation's limit of {most}; "
                            "split the stack")
    return findings
