"""E9013: a pipeline that deploys its own stack restarts its execution after updating itself."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

DEPLOY_MODES = ("CREATE_UPDATE", "REPLACE_ON_FAILURE", "CHANGE_SET_EXECUTE")


def is_own_stack(stack_name):
    """StackName is this very stack: !Ref AWS::StackName or !Sub '${AWS::StackName}'."""
    return stack_name in ({"Ref": "AWS::StackName"}, {"Fn::Sub": "${AWS::StackName}"})


class PipelineSelfUpdateRestart(CloudFormationLintRule):
    id = "E9013"
    shortdesc = "A self-updating pipeline sets RestartExecutionOnUpdate: true"
    description = (
        "A CodePipeline pipeline with a CloudFormation action that deploys the pipeline's own stack (StackName "
        "!Ref AWS::StackName) updates its own definition mid-run; CodePipeline then cancels the running execution, "
        "so the stages after the self-update never run. Set RestartExecutionOnUpdate: true. Only a StackName "
        "written as AWS::StackName in the pipeline's template is recognized (a root stack name passed into a "
        "nested stack as a parameter is not)."
    )
    source_url = "aws-reference.md §2 (editing a pipeline, self-update pattern)"
    tags = ["resources", "codepipeline", "cloudformation"]

    def match(self, cfn):
        matches = []
        reported = set()
        for pipeline, path, action in h.pipeline_actions(cfn):
            configuration = action.get("Configuration")
            if (pipeline in reported or h.provider(action) != "CloudFormation"
                    or h.field(configuration, "ActionMode") not in DEPLOY_MODES
                    or not is_own_stack(h.field(configuration, "StackName"))):
                continue
            restart = h.field(cfn.template["Resources"][pipeline], "Properties", "RestartExecutionOnUpdate")
            if restart is True or str(restart).lower() == "true":
                continue
            reported.add(pipeline)
            matches.append(RuleMatch(
                ["Resources", pipeline, "Properties"],
                f"Pipeline {pipeline} updates its own stack in action {action.get('Name')!r} but does not set "
                "RestartExecutionOnUpdate: true, so the self-update cancels the running execution: set it",
            ))
        return matches
