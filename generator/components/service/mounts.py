"""What a service's stack does with its `mounts` (docs/data-stores.md): an EFS volume per mount through the service's
own access point, with IAM authorization and encryption in transit; the container's mount point; and, as for a store
it `uses`, a task-role grant (mount, and write unless read-only, only through that access point) and an ingress rule
of its own on the file system's security group on NFS (2049).

The grant and the ingress are an `Attachment` of the file system for this one service, applied by the same code as
`uses` (generator/components/service/uses.py); only the volume is particular to mounts.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from awacs.aws import Action, Allow, Condition, Statement, StringEquals
from troposphere import ecs

from generator.components.attachments import Attachment, Ingress, Use
from generator.components.filesystem.stack import NFS, FileSystemOutputs
from generator.components.service.uses import wire
from generator.wiring import StackBuilder

if TYPE_CHECKING:
    from generator.config import ServiceSpec


class Mounts(NamedTuple):
    uses: list[Use]
    volumes: list[ecs.Volume]
    mount_points: list[ecs.MountPoint]


def _grant(fs: FileSystemOutputs, access_point_arn, write: bool):
    actions = ["elasticfilesystem:ClientMount"] + (["elasticfilesystem:ClientWrite"] if write else [])

    def statements(ref):
        return [Statement(Sid="Mount", Effect=Allow, Action=[Action(*a.split(":")) for a in actions],
                          Resource=[ref(fs.arn)],
                          Condition=Condition(StringEquals("elasticfilesystem:AccessPointArn", ref(access_point_arn))))]
    return statements


def mounts(stack: StackBuilder, svc: ServiceSpec, file_systems: Mapping[str, FileSystemOutputs]) -> Mounts:
    found = Mounts([], [], [])
    for mount in svc.mounts:   # the spec rules have refused unknown names and repeats
        fs = file_systems[mount.file_system]
        point = fs.access_points[svc.name]
        access = "read" if mount.read_only else "read-write"
        attachment = Attachment(mount.file_system, grants={access: _grant(fs, point.arn, not mount.read_only)},
                                ingress=Ingress(fs.security_group_id, NFS))
        found.uses.append(Use(attachment, access))
        found.volumes.append(ecs.Volume(Name=mount.file_system, EFSVolumeConfiguration=ecs.EFSVolumeConfiguration(
            FilesystemId=wire(stack, fs.id), TransitEncryption="ENABLED",
            AuthorizationConfig=ecs.AuthorizationConfig(AccessPointId=wire(stack, point.id), IAM="ENABLED"))))
        found.mount_points.append(ecs.MountPoint(SourceVolume=mount.file_system, ContainerPath=mount.path,
                                                 ReadOnly=mount.read_only))
    return found
