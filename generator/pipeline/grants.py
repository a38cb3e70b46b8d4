"""The pipeline's IAM statements are `Grant`s; the type lives in generator/policies/grants.py (the components declare
the CloudFormation role's grants for their resource types with it too)."""
from generator.policies.grants import ANY, Grant, document, grant

__all__ = ["ANY", "Grant", "document", "grant"]
