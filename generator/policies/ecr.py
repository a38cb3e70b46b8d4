"""ECR: the repositories' KMS key policy and the image lifecycle policy."""
from __future__ import annotations

import json

from awacs import kms
from awacs.aws import Allow, Principal, Statement
from troposphere import Sub

from generator.policies.common import document


def repository_key_policy():
    """Account administrators manage the key. ECR encrypts and decrypts layers through a grant it creates with the
    credentials of whoever creates the repository, so pushers and pullers need no KMS permissions of their own."""
    return document(
        Statement(Sid="AccountAdministers", Effect=Allow,
                  Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
                  Action=[kms.Action("*")], Resource=["*"]),
    )


def lifecycle_policy(keep_releases: int, untagged_days: int, images_per_release: int = 1) -> str:
    """The lifecycle policy text: untagged images expire after `untagged_days`; of the rest, the newest
    `keep_releases` releases stay, each `images_per_release` images (the service's and its built sidecars',
    `<tag>-<sidecar>`, which a rollback needs together). ECR requires the `any` rule to have the highest
    rulePriority (it is evaluated last), and
    an image matched by an earlier rule is never expired by a later one, so untagged images do not use up releases."""
    rules = [
        {"rulePriority": 1,
         "description": f"Expire untagged images {untagged_days} days after push",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                       "countNumber": untagged_days},
         "action": {"type": "expire"}},
        {"rulePriority": 2,
         "description": f"Keep the newest {keep_releases} releases" + (
             f" ({images_per_release} images each)" if images_per_release > 1 else ""),
         "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                       "countNumber": keep_releases * images_per_release},
         "action": {"type": "expire"}},
    ]
    return json.dumps({"rules": rules}, sort_keys=True, separators=(",", ":"))
