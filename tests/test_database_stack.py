"""The database nested stack: an Aurora Serverless v2 cluster, its protection, credentials, per-environment settings
and the night-time pause or stop (docs/database.md)."""
from __future__ import annotations

import json

import pytest

from generator.components.database import engines
from generator.components.database.spec import DEFAULT_ENGINE_VERSION
from generator.config import aws_facts
from tests.conftest import PROD, make_app, of_type, parameter_values, root_parameters, template

SERVICES = [{"name": "api", "kind": "web", "port": 3000}]
OFF_HOURS = {"stop": "cron(0 20 ? * MON-FRI *)", "start": "cron(0 7 ? * MON-FRI *)", "timezone": "Europe/Berlin"}
ENVS = {"dev": {"cidr": "10.10.0.0/16", "off_hours": OFF_HOURS}, "prod": PROD}
POSTGRES = {"engine": "aurora-postgresql", "engine_version": "16.9", "name": "tunecast"}
MYSQL_WITHOUT_PAUSE = {"engine": "aurora-mysql", "engine_version": "8.0.mysql_aurora.3.04.6", "name": "jobs"}


def _app(database=POSTGRES, envs=None):
    return make_app(services=SERVICES, environments=envs or ENVS, database=database)


def _db(app) -> dict:
    return template(app, "database.yaml")


def test_no_database_block_no_database_stack():
    from generator.root import build
    assert "Database" not in build(make_app(services=SERVICES, environments=ENVS)).root.resources


def test_a_serverless_v2_cluster_in_the_private_subnets_encrypted_with_its_own_key():
    t = _db(_app())
    cluster = t["Resources"]["Cluster"]["Properties"]
    assert cluster["Engine"] == "aurora-postgresql" and cluster["EngineVersion"] == "16.9"
    assert cluster["EngineMode"] == "provisioned"          # Serverless v2 (`serverless` is v1): aws-reference §6
    assert cluster["StorageEncrypted"] == {"Fn::If": ["Restoring", {"Ref": "AWS::NoValue"}, True]}
    assert cluster["KmsKeyId"] == {"Fn::GetAtt": ["DatabaseKey", "Arn"]}
    # no fixed name: CloudFormation refuses to replace a custom-named resource, and a restore replaces the cluster
    assert cluster["Port"] == 5432 and "DBClusterIdentifier" not in cluster
    subnets = t["Resources"]["SubnetGroup"]["Properties"]["SubnetIds"]
    assert subnets == {"Ref": "PrivateSubnetIds"}
    assert t["Resources"]["DatabaseKey"]["Properties"]["EnableKeyRotation"] is True
    members = of_type(t, "AWS::RDS::DBInstance")
    assert set(members) == {"Writer", "Reader1", "Reader2"}
    for member in members.values():
        p = member["Properties"]
        assert p["DBInstanceClass"] == "db.serverless" and p["PubliclyAccessible"] is False
        assert p["DBClusterIdentifier"] == {"Ref": "Cluster"}


def test_credentials_are_managed_by_rds_and_no_password_is_anywhere():
    """ManageMasterUserPassword: RDS creates the secret (aws-reference §6); MasterUserPassword never appears."""
    app = _app()
    t = _db(app)
    cluster = t["Resources"]["Cluster"]["Properties"]
    assert cluster["ManageMasterUserPassword"] is True
    assert cluster["MasterUserSecret"] == {"KmsKeyId": {"Fn::GetAtt": ["DatabaseKey", "Arn"]}}
    assert "MasterUserPassword" not in cluster and "password" not in json.dumps(parameter_values(app, "dev")).lower()
    assert t["Outputs"]["SecretArn"]["Value"] == {"Fn::GetAtt": ["Cluster", "MasterUserSecret.SecretArn"]}


def test_the_cluster_is_snapshotted_its_members_are_not():
    """Snapshot on the cluster; Delete on members (the RDS handler rejects a member's snapshot: aws-reference §4,
    project rule E9008)."""
    t = _db(_app())
    cluster = t["Resources"]["Cluster"]
    assert (cluster["DeletionPolicy"], cluster["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")
    for member in of_type(t, "AWS::RDS::DBInstance").values():
        assert (member["DeletionPolicy"], member["UpdateReplacePolicy"]) == ("Delete", "Delete")
    assert t["Resources"]["DatabaseKey"]["DeletionPolicy"] == "RetainExceptOnCreate"


def test_tls_only_logs_exported_and_parameter_groups_of_the_engine_family():
    pg = _db(_app())
    assert pg["Resources"]["ClusterParameters"]["Properties"]["Family"] == "aurora-postgresql16"
    assert pg["Resources"]["ClusterParameters"]["Properties"]["Parameters"]["rds.force_ssl"] == "1"
    assert pg["Resources"]["InstanceParameters"]["Properties"]["Family"] == "aurora-postgresql16"
    assert pg["Resources"]["Cluster"]["Properties"]["EnableCloudwatchLogsExports"] == ["postgresql"]
    my = _db(_app(MYSQL_WITHOUT_PAUSE))
    assert my["Resources"]["ClusterParameters"]["Properties"]["Family"] == "aurora-mysql8.0"
    assert my["Resources"]["ClusterParameters"]["Properties"]["Parameters"]["require_secure_transport"] == "ON"
    assert my["Resources"]["Cluster"]["Properties"]["EnableCloudwatchLogsExports"] == ["audit", "error", "slowquery"]
    assert my["Resources"]["Cluster"]["Properties"]["Port"] == 3306


def test_the_security_group_admits_nobody_until_a_service_attaches():
    group = _db(_app())["Resources"]["SecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert group["SecurityGroupEgress"] == [{"CidrIp": "127.0.0.1/32", "Description": "No outbound traffic",
                                             "IpProtocol": "-1"}]


def test_per_environment_settings_are_root_parameters_with_production_defaults():
    app = _app()
    dev, prod = parameter_values(app, "dev"), parameter_values(app, "prod")
    assert {k: dev[k] for k in ("MinCapacity", "MaxCapacity", "Readers", "BackupRetentionDays", "DeletionProtection",
                                "PerformanceInsights", "AutoPauseSeconds", "RestoreFrom")} == {
        "MinCapacity": "0", "MaxCapacity": "4", "Readers": "0", "BackupRetentionDays": "7",
        "DeletionProtection": "false", "PerformanceInsights": "false", "AutoPauseSeconds": "300", "RestoreFrom": ""}
    assert {k: prod[k] for k in ("MinCapacity", "MaxCapacity", "Readers", "BackupRetentionDays",
                                 "DeletionProtection", "PerformanceInsights")} == {
        "MinCapacity": "0.5", "MaxCapacity": "16", "Readers": "1", "BackupRetentionDays": "30",
        "DeletionProtection": "true", "PerformanceInsights": "true"}
    root = root_parameters(app)
    assert root["Readers"]["AllowedValues"] == ["0", "1", "2"]
    assert (root["BackupRetentionDays"]["MinValue"], root["BackupRetentionDays"]["MaxValue"]) == (1, 35)
    assert (root["MaxCapacity"]["MinValue"], root["MaxCapacity"]["MaxValue"]) == (0, 256)
    cluster = _db(app)["Resources"]["Cluster"]["Properties"]
    assert cluster["DeletionProtection"] == {"Ref": "DeletionProtection"}
    assert cluster["BackupRetentionPeriod"] == {"Ref": "BackupRetentionDays"}


def test_explicit_settings_win_over_the_defaults():
    envs = {"dev": {"cidr": "10.10.0.0/16", "database": {"min_capacity": 1, "max_capacity": 8.5, "readers": 1,
                                                         "auto_pause_minutes": 60, "deletion_protection": True}},
            "prod": {**PROD, "database": {"readers": 2, "backup_retention_days": 35}}}
    app = _app(envs=envs)
    dev, prod = parameter_values(app, "dev"), parameter_values(app, "prod")
    assert (dev["MinCapacity"], dev["MaxCapacity"], dev["Readers"], dev["AutoPauseSeconds"],
            dev["DeletionProtection"]) == ("1", "8.5", "1", "3600", "true")
    assert (prod["Readers"], prod["BackupRetentionDays"]) == ("2", "35")


def test_readers_are_conditions_on_the_environment_count():
    t = _db(_app())
    assert t["Resources"]["Reader1"]["Condition"] == "HasReader1"
    assert t["Resources"]["Reader2"]["Condition"] == "HasReader2"
    assert "Condition" not in t["Resources"]["Writer"]
    assert t["Conditions"]["HasReader1"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "Readers"}, "0"]}]}
    assert t["Conditions"]["HasReader2"] == {"Fn::Equals": [{"Ref": "Readers"}, "2"]}
    assert t["Resources"]["Writer"]["Properties"]["PromotionTier"] == 0
    assert t["Resources"]["Reader1"]["Properties"]["PromotionTier"] == 1


def test_auto_pause_where_the_engine_can_pause():
    """MinCapacity 0 pauses an idle instance; SecondsUntilAutoPause only then (RDS API reference,
    ServerlessV2ScalingConfiguration: "For Aurora versions that support the Aurora Serverless v2 auto-pause feature,
    the smallest value that you can use is 0")."""
    t = _db(_app())
    scaling = t["Resources"]["Cluster"]["Properties"]["ServerlessV2ScalingConfiguration"]
    assert scaling["MinCapacity"] == {"Ref": "MinCapacity"}
    assert scaling["SecondsUntilAutoPause"] == {"Fn::If": ["AutoPause", {"Ref": "AutoPauseSeconds"},
                                                           {"Ref": "AWS::NoValue"}]}
    assert t["Conditions"]["AutoPause"] == {"Fn::Equals": [{"Ref": "MinCapacity"}, "0"]}
    assert not of_type(t, "AWS::Scheduler::Schedule")   # no stop/start: pausing costs nothing and resumes by itself


def test_scheduled_stop_and_start_where_the_engine_cannot_pause():
    """Aurora MySQL 3.04 has no auto-pause (docs: 3.08.0 and higher): the off_hours times stop and start the
    cluster with EventBridge Scheduler's universal target for the RDS API, outside production only."""
    app = _app(MYSQL_WITHOUT_PAUSE)
    assert parameter_values(app, "dev")["MinCapacity"] == "0.5"
    t = _db(app)
    schedules = of_type(t, "AWS::Scheduler::Schedule")
    assert set(schedules) == {"StopSchedule", "StartSchedule"}
    stop, start = schedules["StopSchedule"], schedules["StartSchedule"]
    assert stop["Condition"] == start["Condition"] == "OffHours"
    assert stop["Properties"]["Target"]["Arn"] == {"Fn::Sub": "arn:${AWS::Partition}:scheduler:::aws-sdk:rds:stopDBCluster"}
    assert start["Properties"]["Target"]["Arn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:scheduler:::aws-sdk:rds:startDBCluster"}
    assert stop["Properties"]["ScheduleExpression"] == {"Ref": "OffHoursStop"}
    assert start["Properties"]["ScheduleExpressionTimezone"] == {"Ref": "OffHoursTimezone"}
    assert t["Conditions"]["OffHours"] == {"Fn::And": [{"Fn::Equals": [{"Ref": "Production"}, "false"]},
                                                       {"Fn::Not": [{"Fn::Equals": [{"Ref": "OffHoursStop"}, ""]}]}]}
    policy = t["Resources"]["OffHoursRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert policy == [{"Sid": "StopAndStart", "Effect": "Allow", "Action": ["rds:StopDBCluster", "rds:StartDBCluster"],
                       "Resource": [{"Fn::GetAtt": ["Cluster", "DBClusterArn"]}]}]
    assert parameter_values(app, "prod")["OffHoursStop"] == ""


def test_restore_from_a_snapshot_through_the_template():
    """SnapshotIdentifier is create-only: setting it restores a new cluster (replacement), and the properties a
    restore ignores are left out then (cfn-lint W3688; aws-reference §6)."""
    envs = {"dev": {"cidr": "10.10.0.0/16", "database": {"restore_from": "tunecast-dev-20261130-1700"}},
            "prod": PROD}
    app = _app(envs=envs)
    assert parameter_values(app, "dev")["RestoreFrom"] == "tunecast-dev-20261130-1700"
    cluster = _db(app)["Resources"]["Cluster"]["Properties"]
    assert cluster["SnapshotIdentifier"] == {"Fn::If": ["Restoring", {"Ref": "RestoreFrom"}, {"Ref": "AWS::NoValue"}]}
    for ignored in ("MasterUsername", "DatabaseName", "StorageEncrypted"):
        assert cluster[ignored]["Fn::If"][:2] == ["Restoring", {"Ref": "AWS::NoValue"}]


def test_the_default_engine_version_runs_serverless_v2_and_can_pause():
    assert DEFAULT_ENGINE_VERSION in aws_facts.current_engine_versions("aurora-postgresql")
    assert engines.supports_serverless_v2("aurora-postgresql", DEFAULT_ENGINE_VERSION)
    assert engines.supports_auto_pause("aurora-postgresql", DEFAULT_ENGINE_VERSION)


@pytest.mark.parametrize(("engine", "version", "serverless", "pause"), [
    ("aurora-postgresql", "13.9", True, False), ("aurora-postgresql", "13.23", True, True),
    ("aurora-postgresql", "14.6", True, False), ("aurora-postgresql", "14.17", True, True),
    ("aurora-postgresql", "12.22", False, False), ("aurora-postgresql", "17.4", True, True),
    ("aurora-mysql", "8.0.mysql_aurora.3.04.6", True, False), ("aurora-mysql", "8.0.mysql_aurora.3.08.0", True, True),
    ("aurora-mysql", "5.7.mysql_aurora.2.12.6", False, False), ("aurora-mysql", "8.4.mysql_aurora.8.4.7", True, False),
])
def test_engine_versions_for_serverless_v2_and_auto_pause(engine, version, serverless, pause):
    """The minimum versions of "Supported Regions and Aurora DB engines for Aurora Serverless v2" and the capacity
    table "Scaling to Zero ACUs ... for Aurora Serverless v2" points to (generator/components/database/engines.py)."""
    assert engines.supports_serverless_v2(engine, version) is serverless
    assert engines.supports_auto_pause(engine, version) is pause


def test_operators_find_the_cluster_and_its_secret_on_the_root_stack():
    from generator.root import build
    outputs = build(_app()).root.outputs
    assert {"DatabaseEndpoint", "DatabaseClusterId", "DatabaseSecretArn"} <= set(outputs)


# --- services that use the database (docs/attachments.md) -------------------------------------------------------------

USING = [{"name": "api", "kind": "web", "port": 3000, "uses": ["database"]},
         {"name": "nightly", "kind": "cron", "schedule": "cron(0 3 * * ? *)", "uses": ["database"]},
         {"name": "web", "kind": "web", "port": 8080, "routing": {"path_patterns": ["/x/*"], "priority": 5}}]


def _using_app():
    return make_app(services=USING, environments=ENVS, database=POSTGRES)


def test_a_service_that_uses_the_database_gets_its_address_and_credentials():
    """DB_HOST/DB_PORT/DB_NAME as variables; DB_USER/DB_PASSWORD through ECS `secrets` from the RDS-managed secret's
    JSON keys `username`/`password` (`<arn>:<key>::`, aws-reference §6): never a value in the task definition."""
    t = template(_using_app(), "service-api.yaml")
    (container,) = t["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["DB_HOST"] == {"Ref": "DatabaseEndpoint"} and env["DB_PORT"] == "5432" and env["DB_NAME"] == "tunecast"
    assert container["Secrets"] == [
        {"Name": "DB_PASSWORD", "ValueFrom": {"Fn::Sub": ["${Arn}:password::", {"Arn": {"Ref": "DatabaseSecretArn"}}]}},
        {"Name": "DB_USER", "ValueFrom": {"Fn::Sub": ["${Arn}:username::", {"Arn": {"Ref": "DatabaseSecretArn"}}]}}]
    root = template(_using_app(), "root.yaml")
    assert root["Resources"]["ServiceApi"]["Properties"]["Parameters"]["DatabaseSecretArn"] == {
        "Fn::GetAtt": ["Database", "Outputs.SecretArn"]}


def test_only_the_execution_role_reads_the_secret_and_the_task_role_gets_nothing():
    t = template(_using_app(), "service-api.yaml")
    statements = {s["Sid"]: s for policy in t["Resources"]["ExecutionRole"]["Properties"]["Policies"]
                  for s in policy["PolicyDocument"]["Statement"]}
    assert statements["ReadSecrets"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert statements["ReadSecrets"]["Resource"] == [{"Ref": "DatabaseSecretArn"}]
    # kms:Decrypt only through Secrets Manager (the secret is encrypted with the database key, whose policy lets IAM
    # policies of the account grant its use)
    assert statements["DecryptSecrets"]["Action"] == ["kms:Decrypt"]
    assert "kms:ViaService" in statements["DecryptSecrets"]["Condition"]["StringEquals"]
    assert '"PolicyName": "uses"' not in json.dumps(t["Resources"]["TaskRole"])


def test_ingress_on_the_database_group_from_each_using_service_only():
    app = _using_app()
    for name in ("api", "nightly"):
        rule = template(app, f"service-{name}.yaml")["Resources"]["UsesDatabaseIngress"]["Properties"]
        assert rule["GroupId"] == {"Ref": "DatabaseSecurityGroupId"}
        assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": ["SecurityGroup", "GroupId"]}
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 5432, 5432)
    web = template(app, "service-web.yaml")
    assert "UsesDatabaseIngress" not in web["Resources"] and "DatabaseSecretArn" not in web.get("Parameters", {})


def test_the_mysql_port_reaches_variables_and_ingress():
    app = make_app(services=USING, environments=ENVS, database={**MYSQL_WITHOUT_PAUSE, "port": 3307})
    t = template(app, "service-api.yaml")
    (container,) = t["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert {e["Name"]: e["Value"] for e in container["Environment"]}["DB_PORT"] == "3307"
    assert t["Resources"]["UsesDatabaseIngress"]["Properties"]["FromPort"] == 3307
    assert _db(app)["Resources"]["Cluster"]["Properties"]["Port"] == 3307


def test_the_default_app_api_nest_jobs_and_cron_use_the_database():
    from tests.support import DEFAULT_APP
    from generator.config import load_app
    app = load_app(DEFAULT_APP)
    assert {s.name for s in app.services if "database" in s.uses} == {"api", "nest", "jobs", "cron"}


def test_the_first_reader_is_in_another_zone_than_the_writer():
    """A VPC of our own: writer in the first private subnet's zone, Reader1 in the second's, Reader2 with the writer.
    RDS's default is "a random, system-chosen Availability Zone" (AWS::RDS::DBInstance AvailabilityZone), which may be
    the writer's. The zone is the subnet's GetAtt AvailabilityZone: a name also where the zones are pinned by ID."""
    from generator.root import build
    app = _app()
    stacks = build(app)
    db, net = _db(app), template(app, "network.yaml")
    zones = {title: member["Properties"]["AvailabilityZone"]
             for title, member in of_type(db, "AWS::RDS::DBInstance").items()}
    assert zones == {"Writer": {"Ref": "PrivateSubnet1Zone"}, "Reader1": {"Ref": "PrivateSubnet2Zone"},
                     "Reader2": {"Ref": "PrivateSubnet1Zone"}}
    for i in (1, 2):
        assert net["Outputs"][f"PrivateSubnet{i}Zone"]["Value"] == {
            "Fn::GetAtt": [f"PrivateSubnet{i}", "AvailabilityZone"]}
        assert db["Parameters"][f"PrivateSubnet{i}Zone"]["Type"] == "String"
        wired = stacks.root.resources["Database"].properties["Parameters"][f"PrivateSubnet{i}Zone"]
        assert json.loads(json.dumps(wired.to_dict())) == {"Fn::GetAtt": ["Network", f"Outputs.PrivateSubnet{i}Zone"]}


def test_the_registry_schema_lets_a_zone_be_added_without_replacing_the_instances():
    """AvailabilityZone is not among AWS::RDS::DBInstance's createOnlyProperties in the pinned cfn-lint's registry
    schema, so adding it to an existing environment's instances is an update, not a replacement (which production's
    stack policy would refuse). ModifyDBInstance has no AvailabilityZone parameter: RDS does not move an existing
    instance (docs/database.md says how to move a reader)."""
    import botocore.session
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("eu-west-1", "AWS::RDS::DBInstance").schema
    assert "AvailabilityZone" in schema["properties"]
    assert "/properties/AvailabilityZone" not in schema["createOnlyProperties"]
    assert "/properties/DBClusterIdentifier" in schema["createOnlyProperties"]     # why a restore replaces them
    modify = botocore.session.get_session().get_service_model("rds").operation_model("ModifyDBInstance")
    assert "AvailabilityZone" not in modify.input_shape.members


def test_in_an_existing_vpc_rds_picks_the_zones():
    """The subnets' zones of an existing VPC are not known to the template (Fn::GetAZs lists the region's zones, not
    the given subnets'): no AvailabilityZone rather than a wrong one, which would fail the deploy."""
    network = {"mode": "existing", "az_count": 2}
    envs = {"staging": {"cidr": "172.31.0.0/16", "vpc_id": "vpc-0a1b2c3d4e5f60718",
                        "public_subnet_ids": ["subnet-0aa1111111111111a", "subnet-0bb2222222222222b"],
                        "private_subnet_ids": ["subnet-0cc3333333333333c", "subnet-0dd4444444444444d"]}}
    app = make_app(services=SERVICES, environments=envs, database=POSTGRES, network=network)
    for member in of_type(_db(app), "AWS::RDS::DBInstance").values():
        assert "AvailabilityZone" not in member["Properties"]
