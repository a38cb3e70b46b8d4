"""The resource types the registry stack creates, and what the rest of the system must know about each."""
from __future__ import annotations

from generator.components import shared
from generator.components.base import TypeFacts, Verifier

TYPES = {
    **shared.pick("AWS::KMS::Key"),
    "AWS::ECR::Repository": TypeFacts(stateful=True, cfn_grants=shared.containers, verify=Verifier(
        "DescribeRepositories",
        lambda client, p: bool(client("ecr").describe_repositories(repositoryNames=[p])["repositories"]))),
    "AWS::ECR::RegistryScanningConfiguration": TypeFacts(cfn_grants=shared.containers,
                                                         service_linked=("inspector2.amazonaws.com",)),
}
