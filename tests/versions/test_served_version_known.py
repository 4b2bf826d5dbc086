"""The served version travels with the data (issue 17, item 4): a lookup started before
v2 existed, a lookup deployed without it, and a table the sync fills for the first time
never serve v1 (retired) or defaults in its place.

Against DynamoDB Local and the demo world of tests/versions/world.py: v1 of
user_transactions is built and synced, then v2 is declared, built, backfilled, promoted
and v1 retired while the lookup runs.
"""

from __future__ import annotations

import json
import urllib.error

import pytest

from tests.online_stores import store_for
from tests.versions.test_versions_scenario import (
    SHARED,
    V1_ONLY,
    V2_ONLY,
    VIEW,
    Server,
    served_names,
    version_items,
)


def ok(world, *args: str):
    result = world.cli(*args)
    assert result.exit_code == 0, (args, result.output)
    return result


def promote_v2_and_retire_v1(world) -> str:
    """Declare, build, backfill and promote v2, then retire v1; the promote's output."""
    world.add_version_2()
    for args in (("build",), ("apply",), ("backfill", VIEW, "--version", "2")):
        ok(world, *args)
    promoted = ok(world, "promote", VIEW, "--version", "2", "--reason", "24h window")
    # right after the promotion a lookup may still hold v1: retire waits out two refresh
    # intervals of the promotion itself, then retires
    ok(world, "retire", VIEW, "--version", "1", "--reason", "v2 live")
    assert version_items(world, 1) == {}
    return promoted.output


def item_value(item: dict, feature: str):
    """A feature's value in a DynamoDB item, read by hand (null when absent)."""
    attribute = item.get(feature)
    if attribute is None or "NULL" in attribute:
        return None
    number = attribute["N"]
    return int(number) if feature.startswith("txn_count") else float(number)


def assert_v2_values(world, body: dict, key: int) -> None:
    """The answer is v2's stored values for ``key``, as DynamoDB holds them."""
    assert body.get("versions") == {VIEW: 2}, body
    assert body["degraded"] is False
    assert served_names(body) == SHARED | V2_ONLY
    item = version_items(world, 2)[f"user#{key}"]
    for name, answer in body["results"][0]["features"].items():
        feature = name.split(":", 1)[1]
        assert answer["status"] in ("PRESENT", "STALE"), (name, answer)
        assert answer["value"] == pytest.approx(item_value(item, feature)), name


def a_key(world) -> int:
    (key,) = world.sql("select min(user_id) from main.fs_user__transactions")[0]
    return int(key)


def test_a_running_serve_serves_the_version_promoted_after_it_started(world):
    server = Server(world)  # its contracts know v1 only: v2 is declared below
    ok(world, "package-lambda")  # a Lambda package of that state, too
    try:
        key = a_key(world)
        before = server.get(key, VIEW)
        assert served_names(before) == SHARED | V1_ONLY and "versions" not in before
        promoted = promote_v2_and_retire_v1(world)

        server.tick()
        body = server.get(key, VIEW)
        assert_v2_values(world, body, key)  # not v1's defaults, without a restart
        assert server.app.versions.reloads == 1
        server.tick()
        assert_v2_values(world, server.get(key, VIEW), key)
        assert server.app.versions.reloads == 1  # once

        # a pin of the retired version is refused, naming it, never served from defaults
        with pytest.raises(urllib.error.HTTPError) as refused:
            server.get(key, f"{VIEW}@v1:txn_count_1h")
        assert refused.value.code == 400
        assert json.loads(refused.value.read())["message"] == (
            "version 1 of feature view `user_transactions` is retired: it is no longer "
            "served. Ask for user_transactions@v2 instead")
        # the catalog the endpoint lists is the reloaded one
        catalog = json.loads(urllib.request.urlopen(f"{server.url}/v1/feature-views",
                                                    timeout=60).read())
        (listed,) = [v for v in catalog["feature_views"] if v["name"] == VIEW]
        assert listed["version"] == 1  # the base of the contract, as before
        # promote said so
        assert ("a running `featurestore serve` started before v2 was declared reloads its "
                "contracts then and serves it") in promoted
        assert ("WARNING: the Lambda package dist/lookup-lambda.zip has v1 of "
                "user_transactions only: a lookup deployed from it cannot know v2 and answers "
                "503 version_unavailable for user_transactions until it is rebuilt "
                "(`featurestore package-lambda`) and deployed again") in promoted
    finally:
        server.close()


def test_a_sync_into_a_new_table_writes_the_registry_pointer_first(world, monkeypatch):
    from featurestore.online.config import OnlineConfig

    promoted = promote_v2_and_retire_v1(world)
    assert ("no Lambda package found (dist/lookup-lambda.zip): a deployed lookup whose "
            "registry snapshot predates v2 answers 503 version_unavailable for "
            "user_transactions until it is redeployed") in promoted
    old = store_for(OnlineConfig(endpoint=world.endpoint).client(), world.table
                    ).read_pointers([VIEW])[VIEW]
    new_table = f"{world.table[:180]}_new"
    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", new_table)
    world.env["FEATURESTORE_ONLINE_TABLE"] = new_table
    world.table = new_table
    ok(world, "online", "init")
    result = ok(world, "sync", "--no-gate")
    assert f"{VIEW} v2" in result.output and f"{VIEW} v1" not in result.output

    key = a_key(world)
    answer = ok(world, "lookup", "user", str(key), "-f", VIEW, "--json")
    body = json.loads(answer.output[answer.output.index("{"):])
    assert_v2_values(world, body, key)  # not v1 (retired): v2, whose items the sync wrote

    client = OnlineConfig(endpoint=world.endpoint).client()
    pointer = store_for(client, new_table).read_pointers([VIEW])[VIEW]
    assert (pointer.served, pointer.previous, sorted(pointer.retired)) == (2, 1, [1])
    # the registry's last change, as the old table's pointer holds it
    assert (pointer.event_id, pointer.action, pointer.subject, pointer.changed_by,
            pointer.reason) == (old.event_id, "retire_started", 1, "alice", "v2 live")
    # views never promoted nor retired get no pointer: their base version is served
    others = store_for(client, new_table).read_pointers(["user_profile"])["user_profile"]
    assert others.event_id is None

    # a second sync finds the pointer and leaves it as it is
    ok(world, "sync", "--no-gate")
    assert store_for(client, new_table).read_pointers([VIEW])[VIEW] == pointer


def test_a_training_set_pinned_to_a_retired_version_is_refused_unless_allowed(world):
    from featurestore import FeatureStore
    from featurestore.errors import RequestError

    promote_v2_and_retire_v1(world)
    (retired_at,) = world.sql("select changed_at from featurestore.feature_versions where "
                              "action = 'retire_started'")[0]
    when = f"retired {retired_at:%Y-%m-%d %H:%M} UTC by alice: v2 live"
    key = a_key(world)
    spine = world.base / "spine.csv"
    spine.write_text(f"user_id,event_ts\n{key},2030-01-01T00:00:00\n")
    out = world.base / "train.parquet"
    refusal = (f"`user_transactions@v1` is {when}. Its online items are deleted and lookups "
               "refuse it, so a model trained on it cannot be served. Pin a live version, or "
               "pass --allow-retired (allow_retired=True in the SDK) to build it anyway; the "
               "manifest records it.")

    args = ("training-set", "--spine", str(spine), "--features", f"{VIEW}@v1:txn_count_1h",
            "--out", str(out))
    refused = world.cli(*args)
    assert (refused.exit_code, refused.stderr.splitlines()[-1]) == (1, f"Error: {refusal}")
    assert not out.exists()
    allowed = world.cli(*args, "--allow-retired")
    assert allowed.exit_code == 0, allowed.output
    assert (f"training-set: WARNING: `user_transactions@v1` is {when}; building it because "
            "of --allow-retired (recorded in the manifest): a model trained on it cannot be "
            "served") in allowed.stderr.splitlines()
    (view,) = json.loads((world.base / "train.parquet.manifest.json").read_text())["views"]
    assert (view["name"], view["version"], view["pinned"]) == (VIEW, 1, True)
    assert view["retired"] == {"at": retired_at.isoformat(), "by": "alice",
                               "reason": "v2 live", "allowed": True}
    # unpinned, the version served (v2): nothing to refuse, nothing recorded
    ok(world, "training-set", "--spine", str(spine), "--features", f"{VIEW}:txn_count_24h",
       "--out", str(out))
    assert "retired" not in json.loads(
        (world.base / "train.parquet.manifest.json").read_text())["views"][0]

    # the SDK: the same refusal, and the same record when allowed
    store = FeatureStore(world.root)
    with pytest.raises(RequestError) as raised:
        store.training_set(str(spine), f"{VIEW}@v1:txn_count_1h")
    assert str(raised.value) == refusal
    with pytest.warns(UserWarning, match=r"`user_transactions@v1` is retired .* by alice"):
        table = store.training_set(str(spine), f"{VIEW}@v1:txn_count_1h",
                                   allow_retired=True, out=world.base / "sdk.parquet")
    assert table.column_names == ["user_id", "event_ts", f"{VIEW}__txn_count_1h",
                                  f"{VIEW}__feature_ts"]
    (view,) = json.loads((world.base / "sdk.parquet.manifest.json").read_text())["views"]
    assert view["retired"]["by"] == "alice"
