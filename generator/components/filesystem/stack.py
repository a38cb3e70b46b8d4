"""A file system's nested stack: an encrypted EFS file system (its own KMS key), a policy refusing unencrypted
connections, a mount target in every zone of the environment, a security group the mounting services' tasks are let
into (on NFS, 2049), and one access point per mounting service that pins its POSIX identity and directory.

Services mount it with IAM authorization and encryption in transit (`services[].mounts`); a file system policy exists,
so a client without a task-role grant cannot mount it at all (EFS: "if a file system policy exists, access is
granted by the policy and IAM identity policies", docs/data-stores.md).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, NamedTuple

from awacs import aws as awacs_aws
from awacs.aws import Bool, Condition, Deny, Principal, Statement
from troposphere import Equals, GetAtt, If, Ref, Select, ec2, efs

from generator import naming, tagging
from generator.components import stores
from generator.components.base import EnvInputs
from generator.components.filesystem.spec import FileSystemEnv, mounting_services
from generator.components.monitoring import MonitoringOutputs, metric_alarm, search_widget
from generator.policies.common import document
from generator.wiring import OutputRef, RootParameter, StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec
    from generator.components.filesystem.spec import FileSystemSpec
    from generator.components.network import NetworkOutputs

NFS = 2049
FIVE_MINUTES = 5
BACKUPS = "BackupsEnabled"
THIRD_ZONE = "ThirdZone"


class AccessPoint(NamedTuple):
    id: OutputRef
    arn: OutputRef


class FileSystemOutputs(NamedTuple):
    id: OutputRef
    arn: OutputRef
    security_group_id: OutputRef
    access_points: dict[str, AccessPoint]   # keyed by mounting service


def build(app: AppSpec, fs: FileSystemSpec, stack: StackBuilder, env: EnvInputs[FileSystemEnv], *,
          net: NetworkOutputs, zones: RootParameter, alerts: MonitoringOutputs) -> FileSystemOutputs:
    t = stack.template
    _, key_arn = stores.store_key(stack, f"{fs.name} file system")
    t.add_condition(BACKUPS, Equals(env.input(stack, "backups"), "true"))
    resource = stack.add(efs.FileSystem(
        "FileSystem", Encrypted=True, KmsKeyId=key_arn, PerformanceMode="generalPurpose",
        ThroughputMode=fs.throughput_mode,
        BackupPolicy=efs.BackupPolicy(Status=If(BACKUPS, "ENABLED", "DISABLED")),
        LifecyclePolicies=[efs.LifecyclePolicy(TransitionToIA="AFTER_30_DAYS"),
                           efs.LifecyclePolicy(TransitionToPrimaryStorageClass="AFTER_1_ACCESS")],
        FileSystemPolicy=json.loads(document(Statement(
            Sid="DenyUnencryptedTransport", Effect=Deny, Principal=Principal("AWS", "*"),
            Action=[awacs_aws.Action("elasticfilesystem", "*")], Resource=["*"],
            Condition=Condition(Bool("aws:SecureTransport", "false")))).to_json()),
        # EFS names its tag property differently; the standard tags plus a Name the console shows
        FileSystemTags=tagging.tag_list(Name=naming.physical_name(fs.name))))
    group = stack.add(ec2.SecurityGroup(
        "SecurityGroup", GroupDescription=f"NFS into the {fs.name} file system from the services that mount it",
        VpcId=stack.input(net.vpc_id),
        # Mount targets never open connections; allow only loopback (an empty list would allow everything).
        SecurityGroupEgress=[ec2.SecurityGroupRule(IpProtocol="icmp", FromPort=-1, ToPort=-1, CidrIp="127.0.0.1/32",
                                                   Description="No egress")]))
    subnets = stack.input(net.private_subnet_ids)
    if app.network.az_count == 3:
        t.add_condition(THIRD_ZONE, Equals(stack.input(zones), "3"))
    for i in range(app.network.az_count):
        stack.add(efs.MountTarget(
            f"MountTarget{i + 1}", FileSystemId=Ref(resource), SubnetId=Select(i, subnets),
            SecurityGroups=[GetAtt(group, "GroupId")], **({"Condition": THIRD_ZONE} if i == 2 else {})))
    access_points = {}
    for service in mounting_services(app, fs.name):
        title = naming.pascal(service)
        point = stack.add(efs.AccessPoint(
            f"{title}AccessPoint", FileSystemId=Ref(resource),
            PosixUser=efs.PosixUser(Uid=str(fs.uid), Gid=str(fs.gid)),
            RootDirectory=efs.RootDirectory(Path=fs.directory, CreationInfo=efs.CreationInfo(
                OwnerUid=str(fs.uid), OwnerGid=str(fs.gid), Permissions="0750")),
            AccessPointTags=tagging.tag_list(Name=naming.physical_name(fs.name, service))))
        access_points[service] = AccessPoint(
            stack.output(f"{title}AccessPointId", Ref(point), f"Access point of the {service} service"),
            stack.output(f"{title}AccessPointArn", GetAtt(point, "Arn"), f"Access point ARN of the {service} service"))
    _watch(app, fs, stack, resource, alerts)
    what = f"the {fs.name} file system"
    return FileSystemOutputs(
        id=stack.output("FileSystemId", Ref(resource), f"ID of {what}", public=True),
        arn=stack.output("FileSystemArn", GetAtt(resource, "Arn"), f"ARN of {what}"),
        security_group_id=stack.output("SecurityGroupId", GetAtt(group, "GroupId"), f"Security group of {what}",
                                       "AWS::EC2::SecurityGroup::Id"),
        access_points=access_points)


def _watch(app: AppSpec, fs: FileSystemSpec, stack: StackBuilder, resource: efs.FileSystem,
           alerts: MonitoringOutputs) -> None:
    """The file system's alarms (docs/monitoring.md), over three five-minute windows, all breaching: PercentIOLimit
    above `filesystem_io_percent` (General Purpose mode's I/O limit), and in `bursting` mode the burst credit
    balance below `filesystem_burst_credits_gib` (at zero, throughput falls to the baseline the size stored earns).
    AWS/EFS metrics by FileSystemId ("Amazon CloudWatch metrics for Amazon EFS", EFS User Guide)."""
    subject = f"filesystem-{fs.name}"
    where = {"FileSystemId": Ref(resource)}
    alarms = [stack.add(metric_alarm(
        "IoLimitAlarm", alerts.text(stack, f"{subject}: I/O above {{filesystem_io_percent}}% of the General Purpose "
                                           "limit for 15 minutes"), "AWS/EFS", "PercentIOLimit", "Maximum", where,
        threshold=alerts.limit(stack, "filesystem_io_percent"), minutes=FIVE_MINUTES, periods=3))]
    metrics = ["PercentIOLimit"]
    if fs.throughput_mode == "bursting":
        alarms.append(stack.add(metric_alarm(
            "BurstCreditsAlarm", alerts.text(stack, f"{subject}: burst credits below "
                                                    "{filesystem_burst_credits_bytes} bytes for 15 minutes"),
            "AWS/EFS", "BurstCreditBalance", "Minimum", where,
            threshold=alerts.limit(stack, "filesystem_burst_credits_bytes"), minutes=FIVE_MINUTES, periods=3,
            comparison="LessThanThreshold")))
        metrics.append("BurstCreditBalance")
    alerts.watch(stack, subject, alarms, f"{subject}: one of its alarms is in ALARM (the message names which)",
                 widgets=(search_widget(f"File system {fs.name}: " + ", ".join(metrics), "{AWS/EFS,FileSystemId}",
                                        tuple(metrics), "Maximum"),))
