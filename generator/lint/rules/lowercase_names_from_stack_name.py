"""E9015: lowercase-only physical names are not built from AWS::StackName."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

# Resource type -> name property that accepts lowercase letters only.
LOWERCASE_NAMES = {"AWS::ECR::Repository": "RepositoryName", "AWS::S3::Bucket": "BucketName"}


class LowercaseNamesFromStackName(CloudFormationLintRule):
    id = "E9015"
    shortdesc = "ECR repository and S3 bucket names are not built from AWS::StackName"
    description = (
        "ECR repository names and S3 bucket names must be lowercase. A stack name may contain uppercase letters, "
        "and a nested stack's name always does (<root>-<LogicalId>-<RANDOM SUFFIX>), so a name built from "
        "AWS::StackName fails to create. Build it from lowercase-constrained parameters (e.g. "
        "${Application}-${EnvironmentName}-web) or leave the name to CloudFormation."
    )
    source_url = "aws-reference.md §3 (ECR), §4 (nested stacks); schema AWS::ECR::Repository RepositoryName pattern"
    tags = ["resources", "ecr", "s3", "naming"]

    def match(self, cfn):
        matches = []
        for resource_type, key in LOWERCASE_NAMES.items():
            for name, resource in h.resources(cfn, resource_type).items():
                value = h.properties(resource).get(key)
                if any(source == "AWS::StackName" for source, _ in h.value_sources(value)):
                    matches.append(RuleMatch(
                        ["Resources", name, "Properties", key],
                        f"{resource_type} {name}: {key} {h.show(value)} is built from AWS::StackName, which can "
                        "contain uppercase letters (a nested stack's name always does), but the name must be "
                        "lowercase: build it from lowercase-constrained parameters instead",
                    ))
        return matches
