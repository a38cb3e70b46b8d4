"""The database stack's typed outputs, and what a service that `uses: [database]` gets from them."""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from generator.components.attachments import Attachment, Ingress, SecretSource
from generator.components.database.spec import NAME
from generator.wiring import OutputRef

if TYPE_CHECKING:
    from generator.config import AppSpec


class DatabaseOutputs(NamedTuple):
    endpoint: OutputRef             # the writer endpoint's host name
    reader_endpoint: OutputRef
    port: OutputRef
    name: OutputRef                 # the database created in the cluster
    cluster_id: OutputRef           # DBClusterIdentifier (snapshots, restores)
    secret_arn: OutputRef           # the RDS-managed master user secret (JSON keys username, password)
    key_arn: OutputRef              # the KMS key of the storage and the secret
    security_group_id: OutputRef    # services that use the database add their ingress here
    attachment: Attachment          # what a service that `uses: [database]` gets (attachment())


def attachment(app: AppSpec, outputs: DatabaseOutputs) -> Attachment:
    """What a service that uses the database gets (docs/database.md, "Services that use the database"): the writer's
    host, the port and the database name as variables; the master user's name and password from the RDS-managed
    secret as ECS secrets (JSON keys `username`, `password`: the execution role reads that secret when a task starts,
    and Secrets Manager decrypts it with the database key); ingress on the database's group from the service's group
    on the port. The task role needs nothing: the credentials are the way in."""
    db = app.database
    assert db is not None
    return Attachment(
        NAME, environment={"DB_HOST": outputs.endpoint, "DB_PORT": db.listen_port, "DB_NAME": db.name},
        secrets={"DB_USER": SecretSource(outputs.secret_arn, "username"),
                 "DB_PASSWORD": SecretSource(outputs.secret_arn, "password")},
        grants={"read-write": lambda ref: []},
        ingress=Ingress(outputs.security_group_id, db.listen_port))

