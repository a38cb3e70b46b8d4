"""E9010: every CodePipeline action configuration value is a string of at most 1000 characters."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

MAX_LENGTH = 1000


class PipelineConfigurationStrings(CloudFormationLintRule):
    id = "E9010"
    shortdesc = "CodePipeline action Configuration values are strings (JSON-encode ParameterOverrides etc.)"
    description = (
        "Action Configuration is a map of strings, each at most 1000 characters. ParameterOverrides (CloudFormation) "
        "and EnvironmentVariables (CodeBuild) must be JSON-encoded strings, not maps/lists; cfn-lint accepts a map, "
        "and the pipeline fails to create or the action fails on its first run. In troposphere use json.dumps(...)."
    )
    source_url = "aws-reference.md §2 (ParameterOverrides, CodeBuild action, 1000-char limit); Top 10 pitfalls #5"
    tags = ["resources", "codepipeline"]

    def match(self, cfn):
        matches = []
        for pipeline, path, action in h.pipeline_actions(cfn):
            configuration = action.get("Configuration")
            if not isinstance(configuration, dict) or h.is_function(configuration):
                continue  # a whole configuration behind Fn::If is not looked into
            for key, value in configuration.items():
                where = f"Pipeline {pipeline}, action {action.get('Name')!r}: Configuration.{key}"
                if isinstance(value, list) or (isinstance(value, dict) and not h.is_function(value)):
                    problem = (f"{where} is a {'list' if isinstance(value, list) else 'map'}, but action "
                               "configuration values are strings: JSON-encode it (json.dumps in troposphere)")
                elif isinstance(value, str) and len(value) > MAX_LENGTH:
                    problem = (f"{where} is {len(value)} characters; action configuration values are limited to "
                               f"{MAX_LENGTH}: move the data into an artifact (e.g. a template configuration file)")
                else:
                    continue
                matches.append(RuleMatch([*path, "Configuration", key], problem))
        return matches
