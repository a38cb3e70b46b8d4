"""Registry nested stack: one ECR repository per service, and (in one environment per account) registry scanning.

Repositories are KMS-encrypted with the stack's own key, their tags are immutable (push each build under a new
tag, e.g. the commit SHA) and a lifecycle policy keeps `registry.keep_releases` images. Names are
`<application>-<environment>-<service>`: lowercase by parameter constraint, never derived from the stack name
(nested stack names contain uppercase letters, which ECR rejects).

The registry scanning configuration is one setting per account and region. Only the environment chosen by
`manages_registry_scanning` creates it (a root parameter and a Condition), so two environments in one account do
not overwrite each other, and deleting one of them does not reset scanning for the other.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from troposphere import Equals, GetAtt, Ref, Sub, ecr, kms

from generator import naming
from generator.components.base import EnvInputs
from generator.components.registry.spec import RegistryEnv
from generator.components.service.sidecars import built as built_sidecars
from generator.policies.ecr import lifecycle_policy, repository_key_policy
from generator.wiring import OutputRef, StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec

MANAGES_SCANNING = "ManagesRegistryScanning"


class Repository(NamedTuple):
    name: OutputRef   # repository name (lowercase, valid for ECR)
    arn: OutputRef
    uri: OutputRef    # <account>.dkr.ecr.<region>.amazonaws.com/<name>


class RegistryOutputs(NamedTuple):
    repositories: dict[str, Repository]   # keyed by service name


def logical_name(service: str) -> str:
    """`my-svc` -> `MySvc`, for logical IDs and output names."""
    return "".join(part.capitalize() for part in service.split("-"))


def build(app: AppSpec, stack: StackBuilder, env: EnvInputs[RegistryEnv]) -> RegistryOutputs:
    key = stack.add(kms.Key(
        "RepositoryKey", Description=Sub("Encrypts the ${Application}-${EnvironmentName} ECR repositories"),
        EnableKeyRotation=True, KeyPolicy=repository_key_policy()))
    repositories = {}
    for svc in app.services:
        title = logical_name(svc.name)
        repo = stack.add(ecr.Repository(
            f"{title}Repository", RepositoryName=naming.physical_name(svc.name),
            ImageTagMutability="IMMUTABLE",
            # deprecated in favour of registry scanning, but still what applies where no registry rule matches
            ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
            EncryptionConfiguration=ecr.EncryptionConfiguration(EncryptionType="KMS", KmsKey=GetAtt(key, "Arn")),
            # a release is the service's image and its built sidecars' (<tag>-<sidecar>): kept and expired together
            LifecyclePolicy=ecr.LifecyclePolicy(LifecyclePolicyText=lifecycle_policy(
                app.registry.keep_releases, app.registry.untagged_days, 1 + len(built_sidecars(svc))))))
        repositories[svc.name] = Repository(
            stack.output(f"{title}RepositoryName", Ref(repo), f"ECR repository of the {svc.name} service"),
            stack.output(f"{title}RepositoryArn", GetAtt(repo, "Arn"), f"ARN of the {svc.name} repository"),
            stack.output(f"{title}RepositoryUri", GetAtt(repo, "RepositoryUri"), f"URI of the {svc.name} repository", public=True))
    _registry_scanning(app, stack, env)
    return RegistryOutputs(repositories)


def _registry_scanning(app: AppSpec, stack: StackBuilder, env: EnvInputs[RegistryEnv]) -> None:
    stack.template.add_condition(MANAGES_SCANNING, Equals(env.input(stack, "manage_registry_scanning"), "true"))
    # Every repository in the account, not just this app's: a narrower filter would switch other apps' scanning off.
    stack.add(ecr.RegistryScanningConfiguration(
        "RegistryScanning", Condition=MANAGES_SCANNING, ScanType=app.registry.scan_type.upper(),
        Rules=[ecr.ScanningRule(ScanFrequency="SCAN_ON_PUSH",
                                RepositoryFilters=[ecr.RepositoryFilter(Filter="*", FilterType="WILDCARD")])]))
