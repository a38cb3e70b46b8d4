"""Pure awacs policy factories: resources in, PolicyDocument out. Scoped to what each caller touches."""
from generator.policies.common import assume_role, document
from generator.policies.jobs import run_job, start_job
from generator.policies.kms import logs_key_policy
from generator.policies.logs import write_log_group
from generator.policies.tasks import exec_channels, task_execution

__all__ = ["assume_role", "document", "exec_channels", "logs_key_policy", "run_job", "start_job", "task_execution",
           "write_log_group"]
