"""E9005: values passed to a nested stack's Parameters are strings; a list must be joined with ","."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

LIST_FUNCTIONS = ("Fn::GetAZs", "Fn::Split", "Fn::Cidr")  # functions whose result is a list


def is_list_type(parameter_type):
    inner = parameter_type.removeprefix("AWS::SSM::Parameter::Value<").removesuffix(">") \
        if parameter_type.startswith("AWS::SSM::Parameter::Value<") else parameter_type
    return inner.startswith("List<") or inner == "CommaDelimitedList"


class NestedStackListParameters(CloudFormationLintRule):
    id = "E9005"
    shortdesc = "Nested stack parameters are strings: join lists with ','"
    description = (
        "AWS::CloudFormation::Stack Parameters values must be strings. A literal list, a Ref to a List<...> or "
        "CommaDelimitedList parameter (or AWS::NotificationARNs), Fn::GetAZs/Fn::Split/Fn::Cidr, or a GetAtt of a "
        "list attribute fails at deploy time ('must be a String'); cfn-lint lets it through. Pass "
        "!Join [',', <list>] and declare the child parameter as the list type."
    )
    source_url = "aws-reference.md §4 (list parameters); Top 10 pitfalls #7"
    tags = ["resources", "cloudformation", "nested stacks"]

    def match(self, cfn):
        matches = []
        for name, stack in h.resources(cfn, "AWS::CloudFormation::Stack").items():
            parameters = h.properties(stack).get("Parameters")
            if not isinstance(parameters, dict) or h.is_function(parameters):
                continue  # a whole parameter map behind Fn::If is not looked into
            for key, value in parameters.items():
                why = self._why_list(cfn, value)
                if why:
                    matches.append(RuleMatch(
                        ["Resources", name, "Properties", "Parameters", key],
                        f"Nested stack {name}: parameter {key} is {why}, but nested stack parameters are strings: "
                        "pass !Join [',', ...] and declare the child parameter as List<...>/CommaDelimitedList",
                    ))
        return matches

    def _why_list(self, cfn, value):
        """Why `value` is a list (a phrase for the message), or None. Follows Fn::If branches only: a list inside
        Fn::Join or Fn::Select is the fix, not the problem."""
        if isinstance(value, list):
            return "a literal list"
        if not isinstance(value, dict) or len(value) != 1:
            return None
        (function, argument), = value.items()
        if function == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
            return self._why_list(cfn, argument[1]) or self._why_list(cfn, argument[2])
        if function in LIST_FUNCTIONS:
            return f"{function} (a list)"
        if function == "Ref" and argument == "AWS::NotificationARNs":
            return "!Ref AWS::NotificationARNs (a list)"
        if function == "Ref" and isinstance(argument, str):
            parameter_type = h.field(h.parameter(cfn, argument), "Type")
            if isinstance(parameter_type, str) and is_list_type(parameter_type):
                return f"!Ref {argument}, a {parameter_type} parameter"
        if function == "Fn::GetAtt":
            for source, attribute in h.value_sources(value):
                if self._list_attribute(cfn, h.type_of(cfn, source), attribute):
                    return f"!GetAtt {source}.{attribute} (a list)"
        return None

    @staticmethod
    def _list_attribute(cfn, resource_type, attribute):
        if not resource_type or resource_type == "AWS::CloudFormation::Stack" or "." in attribute:
            return False
        try:
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(cfn.regions[0], resource_type).schema
        except Exception:  # unknown or custom type: no schema to ask, nothing to say
            return False
        return h.field(schema, "properties", attribute, "type") == "array"
