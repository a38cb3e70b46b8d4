"""Where people and tests reach an environment: the host name its certificate covers (`environments.<env>.domain_name`).

An ACM certificate names the domains it covers; the load balancer's own DNS name (`<name>-<id>.<region>.elb.
amazonaws.com`) is never one of them, so `https://<load balancer DNS>:8080` fails TLS verification in every browser
and test runner. With a certificate, the pipeline's test URL uses the environment's domain name instead
(generator/pipeline/stages.py, `test_url`).
"""
from __future__ import annotations

from collections.abc import Iterator

from generator.config.models import AppSpec
from generator.config.rules import rule
from generator.errors import Problem


@rule
def certificate_environments_name_their_domain(app: AppSpec) -> Iterator[Problem]:
    """With a `pipeline`, an environment with a `certificate_arn` names its `domain_name`: the test URL is
    `https://<domain_name>:8080`, a name the certificate covers (it cannot cover the load balancer's own DNS name)."""
    if app.pipeline is None:
        return
    for name, env in app.environments.items():
        if env.certificate_arn is not None and env.domain_name is None:
            yield Problem(f"environments.{name}.domain_name",
                          "required with certificate_arn: the pipeline's test URL must use a host name the "
                          "certificate covers; give the DNS name that points at this environment's load balancer, "
                          "e.g. app.example.com")
