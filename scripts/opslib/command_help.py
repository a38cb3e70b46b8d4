"""One line per day-2 command (`build-image`, `push-image`: `build` is the templates' build; make calls them
`make build`, `make push`), shared by scripts/ops.py and `fargate-stacks --help` (which lists the commands without
importing botocore)."""

HELP = {
    "status": "per service: tasks, image tag, release in progress, alarms in ALARM, last events; the database",
    "logs": "the service's CloudWatch Logs, every task, one colour per task (--since, --follow, --filter)",
    "exec": "ECS Exec into a running task of the service (--cmd, default /bin/sh)",
    "run": "a one-off task with the service's image, network and secrets (--cmd); its exit code and logs",
    "build-image": "docker build of the service's image, as the pipeline builds it (--tag, default the commit)",
    "push-image": "push the image to the environment's repository, then the scan gate",
    "release": "release one service's image tag without the pipeline (stack update, then blue/green for web)",
    "approve": "continue a web release waiting for approval on the test listener",
    "rollback": "stop a release in progress with rollback, or release the image that ran before",
    "db-load": "load an SQL dump from S3 (--dump s3://bucket/key.sql[.gz]) into an empty database (--force: any)",
}
