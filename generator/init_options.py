"""`fargate-stacks init`'s options and defaults: light on purpose, since the command line builds every command's
parser on each run (generator/init_app.py, which loads the spec models, is imported only to run `init`)."""
from __future__ import annotations

import argparse

KINDS = ("web", "worker", "cron")
DEFAULT_REGION = "eu-west-1"
DEFAULT_SERVICES = "web:web:8080"
DEFAULT_ENVIRONMENTS = "dev,prod"
PRODUCTION_NAMES = ("prod", "production")     # an environment with one of these names is a production environment
DEFAULT_PORT = 8080


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", help="app name: 2-20 lowercase letters, digits and '-' (default: the directory's name)")
    p.add_argument("--owner", help="the team that owns the app, the Owner tag (default: <name>-team)")
    p.add_argument("--region", help=f"AWS region (default: {DEFAULT_REGION})")
    p.add_argument("--services", metavar="LIST", help="services as NAME:KIND[:PORT], comma-separated, KIND one of "
                                                      f"{', '.join(KINDS)} (default: {DEFAULT_SERVICES})")
    p.add_argument("--database", action=argparse.BooleanOptionalAction, default=None,
                   help="an Aurora PostgreSQL database (default: no)")
    p.add_argument("--environments", metavar="LIST", help="environments in promotion order, comma-separated; "
                   f"one named {' or '.join(PRODUCTION_NAMES)} is production (default: {DEFAULT_ENVIRONMENTS})")
    p.add_argument("--pipeline", action=argparse.BooleanOptionalAction, default=None,
                   help="a delivery pipeline (CodePipeline) with placeholder account and connection (default: no)")
    p.add_argument("--repository", help="with --pipeline: the GitHub repository, owner/name")
    p.add_argument("--output", default="app.yaml", help="the file to write (default: app.yaml; never overwritten)")
    p.add_argument("--yes", "-y", action="store_true", help="ask nothing: flags and defaults decide (the default "
                                                            "without a terminal)")
