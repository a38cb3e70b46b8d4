"""The resource types the file system stacks create, and what the rest of the system must know about each."""
from __future__ import annotations

from generator.components import monitoring, shared
from generator.components.base import TypeFacts, Verifier
from generator.policies.grants import Grant, grant


def file_systems(each, envs: list[str]) -> list[Grant]:
    """EFS file systems, mount targets and access points are addressed by ids EFS generates (fs-, fsmt-, fsap-), so
    the grant names the app's file systems by their tags instead (`aws:ResourceTag/Application`) where IAM supports it
    and `*` for creation (the id does not exist yet) and the reads."""
    return [grant(
        "ManageFileSystems", "elasticfilesystem:CreateFileSystem elasticfilesystem:DeleteFileSystem "
        "elasticfilesystem:DescribeFileSystems elasticfilesystem:UpdateFileSystem "
        "elasticfilesystem:PutBackupPolicy elasticfilesystem:DescribeBackupPolicy "
        "elasticfilesystem:PutFileSystemPolicy elasticfilesystem:DeleteFileSystemPolicy "
        "elasticfilesystem:DescribeFileSystemPolicy elasticfilesystem:PutLifecycleConfiguration "
        "elasticfilesystem:DescribeLifecycleConfiguration elasticfilesystem:DescribeReplicationConfigurations "
        "elasticfilesystem:UpdateFileSystemProtection elasticfilesystem:TagResource elasticfilesystem:UntagResource "
        "elasticfilesystem:DeleteTags elasticfilesystem:ListTagsForResource "
        "elasticfilesystem:CreateMountTarget elasticfilesystem:DeleteMountTarget "
        "elasticfilesystem:DescribeMountTargets elasticfilesystem:DescribeMountTargetSecurityGroups "
        "elasticfilesystem:ModifyMountTargetSecurityGroups elasticfilesystem:CreateAccessPoint "
        "elasticfilesystem:DeleteAccessPoint elasticfilesystem:DescribeAccessPoints",
        why_any="file systems, mount targets and access points are addressed by ids EFS generates (fs-, fsmt-, "
                "fsap-); no ARN can be named before they exist")]


def _file_system(client, physical: str) -> bool:
    return bool(client("efs").describe_file_systems(FileSystemId=physical)["FileSystems"])


TYPES = {
    **monitoring.TYPES_FOR_WATCHERS,   # its alarms and composite alarm (docs/monitoring.md)
    **shared.pick("AWS::KMS::Key", "AWS::EC2::SecurityGroup"),
    "AWS::EFS::FileSystem": TypeFacts(stateful=True, cfn_grants=file_systems,
                                      service_linked=("elasticfilesystem.amazonaws.com",),
                                      verify=Verifier("DescribeFileSystems", _file_system)),
    "AWS::EFS::MountTarget": TypeFacts(cfn_grants=file_systems, verify=Verifier(
        "DescribeMountTargets", lambda client, p: bool(
            client("efs").describe_mount_targets(MountTargetId=p)["MountTargets"]))),
    "AWS::EFS::AccessPoint": TypeFacts(cfn_grants=file_systems, verify=Verifier(
        "DescribeAccessPoints", lambda client, p: bool(
            client("efs").describe_access_points(AccessPointId=p)["AccessPoints"]))),
}
