"""E9011: every artifact a CodeDeployToECS action names is one of its input artifacts."""
import re
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

ARTIFACT_KEYS = re.compile(r"Image[1-4]ArtifactName|TaskDefinitionTemplateArtifact|AppSpecTemplateArtifact")


class CodeDeployToEcsInputArtifacts(CloudFormationLintRule):
    id = "E9011"
    shortdesc = "CodeDeployToECS artifact names are among the action's InputArtifacts"
    description = (
        "A CodeDeployToECS action reads ImageNArtifactName, TaskDefinitionTemplateArtifact and "
        "AppSpecTemplateArtifact from its own InputArtifacts; naming any other artifact passes cfn-lint and fails "
        "the pipeline. Add the artifact to the action's InputArtifacts (1-5 of them) or fix the name."
    )
    source_url = "aws-reference.md §2 (CodeDeployToECS action); Top 10 pitfalls #5"
    tags = ["resources", "codepipeline", "codedeploy"]

    def match(self, cfn):
        matches = []
        for pipeline, path, action in h.pipeline_actions(cfn):
            configuration = action.get("Configuration")
            if h.provider(action) != "CodeDeployToECS" or not isinstance(configuration, dict):
                continue
            inputs = [h.field(a, "Name") for _, a in h.listed(action.get("InputArtifacts"))]
            for key, value in configuration.items():
                if ARTIFACT_KEYS.fullmatch(str(key)) and isinstance(value, str) and value not in inputs:
                    matches.append(RuleMatch(
                        [*path, "Configuration", key],
                        f"Pipeline {pipeline}, action {action.get('Name')!r}: Configuration.{key} is {value!r}, "
                        f"which is not one of the action's InputArtifacts ({', '.join(map(str, inputs)) or 'none'}): "
                        "add it to InputArtifacts or fix the name",
                    ))
        return matches
