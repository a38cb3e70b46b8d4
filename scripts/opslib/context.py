"""What every day-2 command acts on: one environment of the app, its AWS clients, the console, and the physical
names of its resources (spelled by generator/naming.py, like the templates that create them)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from generator import image_tags, naming
from generator.config import ServiceSpec
from scripts.deploylib import stacks
from scripts.deploylib.aws import Aws
from scripts.deploylib.errors import DeployError
from scripts.deploylib.target import Target
from scripts.deploylib.ui import Console


@dataclass
class OpsOptions:
    service: str | None = None
    since: str = "15m"
    follow: bool = False
    filter: str | None = None
    cmd: str | None = None
    tag: str | None = None
    yes: bool = False
    dump: str | None = None      # db-load: s3://bucket/key.sql[.gz]
    force: bool = False          # db-load: load even into a database that has tables
    poll: float = 5.0            # seconds between polls of a long wait
    heartbeat: float = 30.0      # a line at least this often while nothing changes


@dataclass
class Ops:
    target: Target
    aws: Aws
    console: Console
    options: OpsOptions = field(default_factory=OpsOptions)
    _stack: dict[str, Any] | None = field(default=None, init=False)

    # --- names -------------------------------------------------------------------------------------------------
    @property
    def app(self) -> str:
        return self.target.app.app

    @property
    def env(self) -> str:
        return self.target.env

    @property
    def stack(self) -> str:
        return naming.stack_name(self.app, self.env)

    @property
    def cluster(self) -> str:
        return naming.cluster_name(self.app, self.env)

    def family(self, service: str) -> str:
        return naming.resource_name(self.app, self.env, service)

    def repository(self, service: str) -> str:
        return naming.resource_name(self.app, self.env, service)

    def log_group(self, service: str) -> str:
        return naming.service_log_group(self.app, self.env, service)

    def codedeploy(self, service: str) -> str:
        return naming.codedeploy_name(self.app, self.env, service)

    def make(self, command: str, **variables: str) -> str:
        extra = "".join(f" {k}={v}" for k, v in variables.items())
        return f"make {command} ENV={self.env}{extra}"

    # --- the app ----------------------------------------------------------------------------------------------
    def service(self, name: str | None = None) -> ServiceSpec:
        name = name or self.options.service
        name = dict(self.target.renamed).get(name, name)    # app.yaml's new name -> the one its resources carry
        services = {s.name: s for s in self.target.app.services}
        if not name:
            raise DeployError("no service given", f"pass SERVICE=<one of: {', '.join(services) or 'none'}>")
        if name not in services:
            raise DeployError(f"unknown service '{name}'",
                              f"app.yaml defines: {', '.join(services) or 'no services'} (pass SERVICE=<name>)")
        return services[name]

    def parameter(self, service: str, setting: str) -> str | None:
        """A per-service root parameter of this environment's parameter file (`ApiExecEnabled`)."""
        return dict(self.target.parameters).get(naming.service_parameter(service, setting))

    def image_tag_parameter(self, service: str) -> str:
        return image_tags.parameter(service)

    # --- AWS --------------------------------------------------------------------------------------------------
    def client(self, name: str) -> Any:
        return self.aws.client(name)

    def root_stack(self) -> dict[str, Any]:
        """The environment's root stack, described once per command."""
        if self._stack is None:
            stack = stacks.describe(self.client("cloudformation"), self.stack)
            if stack is None:
                raise DeployError(f"stack {self.stack} does not exist in {self.aws.region}",
                                  f"deploy it first: `{self.make('deploy')}`")
            self._stack = stack
        return self._stack

    def outputs(self) -> dict[str, str]:
        """The root stack's outputs (the ECS service names live there: ECS generates them)."""
        return {o["OutputKey"]: o.get("OutputValue", "") for o in self.root_stack().get("Outputs", [])}

    def running_parameters(self) -> dict[str, str]:
        return {p["ParameterKey"]: p.get("ParameterValue", "") for p in self.root_stack().get("Parameters", [])}

    def ecs_service(self, service: str) -> str | None:
        """The ECS service name of a web service or worker (None for cron, which runs tasks on a schedule)."""
        if self.service(service).kind == "cron":
            return None
        key = naming.root_output(naming.service_stack(service), "ServiceName")
        name = self.outputs().get(key)
        if not name:
            raise DeployError(f"stack {self.stack} has no output {key}",
                              f"the stack predates this service: `{self.make('deploy')}` creates it")
        return name

    def account(self) -> str:
        return self.target.app.account_of(self.env)

    def registry(self) -> str:
        return f"{self.account()}.dkr.ecr.{self.aws.region}.amazonaws.com"

    def repository_uri(self, service: str) -> str:
        return f"{self.registry()}/{self.repository(service)}"
