"""Rehearsal: the real deploy code (`commands.py`) against moto in server mode on 127.0.0.1.

The command starts the emulator, runs package -> diff -> deploy -> outputs -> deploy again (expects "no changes")
-> destroy, then reports which resources the emulator really created (list_stack_resources on every stack, plus a
describe call on the service where that is cheap) and which it skipped (types moto's CloudFormation does not
implement). It stops the emulator and resets its state on the way out.

Known emulator gaps are worked around *here only*, each as a named `Workaround` applied for the duration of the
rehearsal and undone afterwards; the deploy code never knows it is talking to an emulator. The harness also
isolates the process from the operator's AWS settings (no profile, no real endpoint, fake credentials) and makes
moto answer as the environment's account, so the account check in the deploy path runs unchanged.

What no emulator shows (say so, do not pretend): real rollback behaviour, real nested change-set contents, IAM
evaluation, stack policy enforcement, delete clean-up, service quotas.
"""
from scripts.deploylib.errors import DeployError
from scripts.deploylib.rehearsal.emulator import EMULATOR_ERRORS, emulator
from scripts.deploylib.rehearsal.inventory import Resource, inventory, verifiers
from scripts.deploylib.rehearsal.prerequisites import provide_prerequisites
from scripts.deploylib.rehearsal.report import NOT_COVERED, Report, render_report
from scripts.deploylib.rehearsal.run import DEFAULT_ACCOUNT, FAKE_KEY, main, rehearse
from scripts.deploylib.rehearsal.workarounds import (LEFT_BEHIND, WITHOUT_ENV, WORKAROUNDS, Workaround,
                                                     active_workarounds, emulator_supports)

__all__ = ["DEFAULT_ACCOUNT", "EMULATOR_ERRORS", "FAKE_KEY", "LEFT_BEHIND", "NOT_COVERED", "WITHOUT_ENV", "WORKAROUNDS",
           "DeployError", "Report", "Resource", "Workaround", "active_workarounds", "emulator", "emulator_supports",
           "inventory", "main", "provide_prerequisites", "rehearse", "render_report", "verifiers"]
