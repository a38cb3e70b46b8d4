"""The rehearsal of the data stores (issue 11 item 8): the same deploy code against moto in server mode, for the two
fixture apps that hold every kind of store (their golden templates and parameter files). What the emulator
implements is created and verified with a describe call; what it does not is reported as skipped, never as created.
Slow-marked: each rehearsal starts an emulator and deploys the whole nested tree.
"""
from __future__ import annotations

import io

import pytest

from scripts.deploylib import rehearsal
from scripts.deploylib.target import load_target
from scripts.deploylib.ui import Console
from tests.support import FIXTURE_APPS, GOLDEN

pytestmark = pytest.mark.slow


def _rehearse(app: str, env: str, tmp_path_factory):
    golden = GOLDEN / app
    target = load_target(FIXTURE_APPS / f"{app}.yaml", env, golden / "templates", golden / "params", None)
    out = io.StringIO()
    return rehearsal.rehearse(target, Console(out=out, err=out, interactive=False), tmp_path_factory.mktemp(app))


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
    return _rehearse("chat", "dev", tmp_path_factory)


@pytest.fixture(scope="module")
def django(tmp_path_factory):
    return _rehearse("django-celery", "staging", tmp_path_factory)


def _verified(report, rtype: str) -> int:
    found = [r for r in report.resources if r.resource_type == rtype and r.outcome == "created"]
    assert found and all(r.verified for r in found), (rtype, found)
    return len(found)


def test_the_chat_app_creates_its_queue_table_and_bucket(chat):
    assert chat.ok, rehearsal.render_report(chat)
    assert _verified(chat, "AWS::SQS::Queue") == 2          # the queue and its dead-letter queue
    assert _verified(chat, "AWS::DynamoDB::Table") == 1
    assert _verified(chat, "AWS::S3::Bucket") == 2          # the files bucket and the access-log bucket
    assert _verified(chat, "AWS::KMS::Key") >= 4
    # policies moto does not implement are named as skipped, never counted as created
    assert {"AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy"} <= set(chat.skipped_types())


def test_the_django_app_creates_its_file_system_and_names_the_cache_it_cannot(django):
    assert django.ok, rehearsal.render_report(django)
    assert _verified(django, "AWS::EFS::FileSystem") == 1
    assert _verified(django, "AWS::EFS::MountTarget") == 2   # staging uses two zones: the third is not applicable
    assert _verified(django, "AWS::EFS::AccessPoint") == 2   # django and celery mount it; beat does not
    assert {"AWS::ElastiCache::ReplicationGroup", "AWS::ElastiCache::SubnetGroup",
            "AWS::SecretsManager::Secret"} <= set(django.skipped_types())
    text = rehearsal.render_report(django)
    assert "[efs-attributes]" in text
