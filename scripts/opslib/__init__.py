"""The day-2 commands (scripts/ops.py): status, logs, exec, run, build, push, release, rollback.

They share the deploy commands' edges (scripts/deploylib: session, clients, errors, console) and take every AWS name
from generator/naming.py, the module the templates are built from.
"""
