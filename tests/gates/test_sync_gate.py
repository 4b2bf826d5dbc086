"""A failing gate stops the sync for that view: DynamoDB keeps no item of it."""

from __future__ import annotations

import datetime as dt

import pytest


def _items_of(client, table: str, sk: str) -> int:
    return client.scan(TableName=table, Select="COUNT", FilterExpression="sk = :sk",
                       ExpressionAttributeValues={":sk": {"S": sk}})["Count"]


@pytest.mark.slow
def test_failing_gate_leaves_dynamodb_untouched(gate_project, dynamodb_table, dynamodb_local,
                                                monkeypatch):
    from click.testing import CliRunner

    from bench.feature_tables import create_feature_tables
    from featurestore.apps.cli import cli

    client, table = dynamodb_table
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", dynamodb_local)
    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", table)
    with gate_project.warehouse() as warehouse:  # fresh now: the sync gates as of now
        create_feature_tables(warehouse.connection, dt.datetime.now(dt.UTC).replace(tzinfo=None))
    gate_project.sql("update fs_user__profile set country = null where user_id % 4 = 0")

    result = CliRunner().invoke(cli, ["--project-dir", str(gate_project.root), "sync",
                                      "--view", "user_profile", "--view", "merchant_risk"],
                                obj={}, catch_exceptions=False)
    assert result.exit_code == 2
    assert ("quality/user_profile: null_rate(country) observed 0.25, threshold <= 0 "
            "(max_null_rate)") in result.output
    assert ("1 view(s) not published because a gate or a dbt test refused their built "
            "state: user_profile (DynamoDB untouched for them)") in result.output
    assert _items_of(client, table, "user_profile#v1") == 0
    assert _items_of(client, table, "merchant_risk#v1") == 50  # the passing view is published
