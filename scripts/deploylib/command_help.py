"""One line per deploy command, shared by scripts/deploy.py and `fargate-stacks --help` (which lists the commands
without importing botocore)."""

HELP = {
    "package": "upload templates to S3 and print the root URL and quick-create link",
    "diff": "preview the changes (change set across nested stacks), then delete the change set",
    "deploy": "preview, confirm, execute and stream events, then app.yaml's migrate",
    "watch": "resume streaming the events of a running operation",
    "destroy": "delete the environment (prints what is deleted, retained, snapshotted)",
    "drift": "drift detection on every stack, as a table",
    "outputs": "print the root stack outputs",
    "rehearse": "run package/diff/deploy/outputs/destroy against a local moto emulator",
    "snapshot": "take a manual snapshot of the database cluster and print its identifier",
    "snapshots": "list the database cluster's snapshots, newest first",
    "restore": "restore the database from a snapshot through the template: preview, confirm, deploy",
    "deploy-role": "the pipeline's deploy role in this account (deploy-role.yaml via S3): preview, confirm, deploy",
    "publish-frontend": "upload the frontend build (--dir) to the environment's site bucket, then invalidate",
}
