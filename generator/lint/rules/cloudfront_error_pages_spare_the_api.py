"""E9020: a CloudFront distribution that also reaches a custom origin (an API) has no distribution-wide
CustomErrorResponses: they apply to every behaviour and would turn the API's errors into the SPA's index.html."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py


class CloudFrontErrorPagesSpareTheApi(CloudFormationLintRule):
    id = "E9020"
    shortdesc = "No distribution-wide custom error responses when CloudFront also fronts an API"
    description = (
        "An AWS::CloudFront::Distribution with a custom origin (CustomOriginConfig: a load balancer or any API) has "
        "no CustomErrorResponses. They are distribution-wide: a single-page app's 403/404 -> /index.html rule would "
        "also rewrite the API's 403, 404 and 5xx answers into a 200 HTML page. Route the SPA with a CloudFront "
        "Function on the static behaviour instead."
    )
    source_url = ("Amazon CloudFront developer guide, 'Generating custom error responses' (error responses apply to "
                  "the whole distribution)")
    tags = ["resources", "cloudfront"]

    def match(self, cfn):
        matches = []
        for name, distribution in h.resources(cfn, "AWS::CloudFront::Distribution").items():
            config = h.properties(distribution).get("DistributionConfig")
            if not isinstance(config, dict) or not config.get("CustomErrorResponses"):
                continue
            custom = [o.get("Id") for _, o in h.listed(config.get("Origins"))
                      if isinstance(o, dict) and "CustomOriginConfig" in o]
            if custom:
                matches.append(RuleMatch(
                    ["Resources", name, "Properties", "DistributionConfig", "CustomErrorResponses"],
                    f"AWS::CloudFront::Distribution {name} has CustomErrorResponses and a custom origin "
                    f"({custom[0]}): they would rewrite that origin's errors too; route the single-page app with "
                    "a CloudFront Function on the static behaviour instead"))
        return matches
