"""``featurestore online restore --table T`` (issue 21, item 4): a whole online table
rebuilt from the warehouse holds the original's items and serving pointers, and answers
every lookup as the original does."""

from __future__ import annotations

import datetime as dt
import json

from featurestore.online.config import OnlineConfig
from featurestore.online.store import MARKER_PK
from tests.versions.test_versions_scenario import VIEW

# the sync's own bookkeeping: who ran, when (a restore's are its own)
BOOKKEEPING = {"written_at"}


def items(endpoint: str, table: str) -> dict[tuple[str, str], dict]:
    """Every item of ``table`` but the sync's markers, without ``written_at``: what a
    lookup can read."""
    client = OnlineConfig(endpoint=endpoint).client()
    found, request = {}, {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**request)
        for item in page["Items"]:
            if item["pk"]["S"] != MARKER_PK:
                found[(item["pk"]["S"], item["sk"]["S"])] = {
                    name: value for name, value in item.items() if name not in BOOKKEEPING}
        if "LastEvaluatedKey" not in page:
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_a_restored_table_answers_as_the_original(world):
    from featurestore.apps.versions import promote
    from featurestore.lookup.local import lookup_keys

    world.add_version_2()
    for args in (("build",), ("apply",), ("backfill", VIEW, "--version", "2")):
        result = world.cli(*args)
        assert result.exit_code == 0, (args, result.output)
    promote(world.project, VIEW, 2, reason="v2 is better")
    restored = world.table + "_restored"

    result = world.cli("online", "restore", "--table", restored, "--no-gate", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["table"], report["created"], report["refused"], report["failed"]) == (
        restored, True, {}, {})
    # every live version of every online view, each a first load
    assert {(view["view"], view["version"]) for view in report["views"]} >= {
        (VIEW, 1), (VIEW, 2)}
    assert {view["mode"] for view in report["views"]} == {"first load (BatchWriteItem)"}
    assert report["pointers"] == {VIEW: {"served": 2, "retired": []}}

    original = items(world.endpoint, world.table)
    copy = items(world.endpoint, restored)
    assert report["items"] == len(copy) - 1  # the serving pointer is not a feature item
    # the same feature items, and the serving pointer the promotion wrote, field by field
    assert copy == original

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    keys = [{"user_id": row[0]} for row in world.sql(
        "select distinct user_id from main.fs_user__transactions order by 1 limit 40")]
    keys.append({"user_id": 987654321})  # no item anywhere: the same default or null
    features = [VIEW, f"{VIEW}@v1", "user_profile"]
    answers = {}
    for table in (world.table, restored):
        project = world.project
        project.settings = project.settings.with_online(table=table)
        answers[table] = lookup_keys(project, "user", keys, features, now=now)
    assert answers[restored] == answers[world.table]
    assert answers[restored]["versions"] == {VIEW: 2}
    assert answers[restored]["degraded"] is False
