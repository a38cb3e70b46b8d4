"""Pure awacs policy factories: resources in, PolicyDocument out. Scoped to what each caller touches."""
from generator.policies.common import assume_role, document
from generator.policies.kms import logs_key_policy
from generator.policies.logs import write_log_group

__all__ = ["assume_role", "document", "logs_key_policy", "write_log_group"]
