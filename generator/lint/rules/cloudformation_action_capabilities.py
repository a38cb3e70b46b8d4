"""E9012: a CloudFormation pipeline action's Capabilities is a comma-separated list without spaces."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")


class CloudFormationActionCapabilities(CloudFormationLintRule):
    id = "E9012"
    shortdesc = "CloudFormation action Capabilities: comma-separated, no spaces, known names"
    description = (
        "The CloudFormation deploy action takes Capabilities as one string, comma-separated with no spaces "
        "(e.g. CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND); a space or an unknown name makes the action fail at run "
        "time. Known names: " + ", ".join(CAPABILITIES) + "."
    )
    source_url = "aws-reference.md §2 (CloudFormation action, Capabilities)"
    tags = ["resources", "codepipeline", "cloudformation"]

    def match(self, cfn):
        matches = []
        for pipeline, path, action in h.pipeline_actions(cfn):
            value = h.field(action, "Configuration", "Capabilities")
            if h.provider(action) != "CloudFormation" or not isinstance(value, str):
                continue
            names = [n.strip() for n in value.split(",")]
            problems = [f"no spaces allowed, write {','.join(names)!r}"] if value != ",".join(names) else []
            known = ", ".join(CAPABILITIES)
            problems += [f"{n!r} is not a capability ({known})" for n in names if n not in CAPABILITIES]
            if problems:
                matches.append(RuleMatch(
                    [*path, "Configuration", "Capabilities"],
                    f"Pipeline {pipeline}, action {action.get('Name')!r}: Capabilities {value!r}: "
                    + "; ".join(problems),
                ))
        return matches
