"""Apps of the size issue 10 asks for, generated rather than committed (a fixture file of 50 services would be long
and the golden tests would build its root template, whose parameter budget is stream D's).

    large_pipeline_spec()   # 50 services: 30 web with routing, 15 workers, 5 cron; dev, staging, prod; a pipeline
                              with integration tests in staging and approvals in staging and prod
"""
from __future__ import annotations

from troposphere import Template

from generator import root
from generator.config import AppSpec, parse_app

CONNECTION = "arn:aws:codeconnections:eu-west-1:111111111111:connection/7d3f5c1a-2b4e-4f6a-9c8d-1e2f3a4b5c6d"
APPROVED = ("storefront-web-02", "storefront-web-07")   # their releases wait for the lead in staging and prod


def large_pipeline_spec(web: int = 30, workers: int = 15, cron: int = 5,
                        environments: tuple[str, ...] = ("dev", "staging", "prod")) -> dict:
    """The raw app.yaml of a large app; the first web service is the catch-all, the others route by path."""
    services = [{"name": f"storefront-web-{i:02d}", "kind": "web", "port": 8080, "health_check_path": "/health",
                 **({"routing": {"path_patterns": [f"/s{i:02d}/*"], "priority": i}} if i > 1 else {})}
                for i in range(1, web + 1)]
    services += [{"name": f"storefront-worker-{i:02d}", "kind": "worker", "command": ["python", "-m", "worker"]}
                 for i in range(1, workers + 1)]
    services += [{"name": f"storefront-cron-{i:02d}", "kind": "cron", "schedule": "cron(0 3 * * ? *)",
                  "command": ["python", "-m", "job"]} for i in range(1, cron + 1)]
    envs: dict[str, dict] = {}
    for n, env in enumerate(environments):
        spec: dict = {"account_id": "222222222222" if env == "prod" else "111111111111", "cidr": f"10.{10 + n}.0.0/16"}
        if env == "prod":
            spec.update(production=True, zones=["euw1-az1", "euw1-az2"],
                        services={name: {"wait_for_approval_minutes": 60} for name in APPROVED})
        if env == "staging":
            spec["services"] = {name: {"wait_for_approval_minutes": 120} for name in APPROVED}
        envs[env] = spec
    return {"app": "bigshop", "owner": "shop-team", "region": "eu-west-1", "services": services,
            "environments": envs,
            "pipeline": {"account_id": "111111111111", "connection_arn": CONNECTION, "repository": "bigshop/bigshop",
                         "notification_email": "releases@example.com", "test_environment": "staging",
                         "test_command": "make e2e"}}


def large_pipeline_app(**kwargs) -> AppSpec:
    return parse_app(large_pipeline_spec(**kwargs), "large-pipeline")


def environment_stacks(app: AppSpec) -> root.Build:
    """The environment's nested stacks without the root template (the pipeline reads their resource types; the root's
    parameter budget for 50 services is stream D's, so root.build may refuse such an app for now)."""
    return root.Build(Template(), root.build_stacks(app), [])
