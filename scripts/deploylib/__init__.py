"""Deploy tooling behind `scripts/deploy.py`: package, preview, deploy, destroy, drift, outputs, rehearse.

Pure functions (packaging plan, preview text, quick-create URL, root causes, drift table, destroy plan) live
apart from the boto3 calls (`commands.py` and the `*_calls` helpers), so they can be tested without AWS.
"""
