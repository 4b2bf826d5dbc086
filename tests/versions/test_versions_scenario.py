"""The issue's scenario on the demo data, against DynamoDB Local: v1 of
user_transactions is live and served while v2 (a 24-hour window instead of 1 hour, and a
new feature) is backfilled, synced, compared, promoted, rolled back, shadowed and v1
retired. v1's items are compared with their first state at every step until the
retirement deletes them.
"""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest

VIEW = "user_transactions"
V1_ONLY = {"txn_count_1h", "txn_amount_sum_1h"}
V2_ONLY = {"txn_count_24h", "txn_amount_sum_24h", "txn_amount_max_7d"}
SHARED = {"txn_count_7d", "txn_count_30d", "txn_amount_sum_7d", "txn_amount_sum_30d",
          "txn_amount_avg_7d", "txn_amount_avg_30d", "last_txn_amount"}


def version_items(world, version: int) -> dict[str, dict]:
    """pk -> item of every online item of one version (a full Scan)."""
    from featurestore.online.config import OnlineConfig

    client = OnlineConfig(endpoint=world.endpoint).client()
    found, request = {}, {"TableName": world.table, "FilterExpression": "sk = :sk",
                          "ExpressionAttributeValues": {":sk": {"S": f"{VIEW}#v{version}"}},
                          "ConsistentRead": True}
    while True:
        page = client.scan(**request)
        found.update({item["pk"]["S"]: item for item in page["Items"]})
        if "LastEvaluatedKey" not in page:
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class Server:
    """The lookup endpoint (`featurestore serve`'s app and HTTP server) in a thread, with
    the clock of its serving-pointer refresh in the test's hands."""

    def __init__(self, world):
        from featurestore.lookup.http_server import make_server
        from featurestore.lookup.local import local_app

        # a deadline no loaded machine reaches: these tests read values, not degradation
        self.app = local_app(world.project, cache=False, deadline_ms=120_000)
        self.now = 1_000.0
        self.app.versions.clock = lambda: self.now
        self.server = make_server(self.app)
        self.url = "http://{}:{}".format(*self.server.server_address[:2])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def tick(self) -> None:
        """Let one refresh interval of the serving pointers pass."""
        self.now += self.app.versions.refresh_s

    def get(self, key: int, features: str, **query: str) -> dict:
        from urllib.parse import urlencode

        url = f"{self.url}/v1/features/user/{key}?" + urlencode({"features": features,
                                                               **query})
        with urllib.request.urlopen(url, timeout=60) as response:
            return json.loads(response.read())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server(world):
    world.add_version_2()
    for args in (("build",), ("apply",)):
        result = world.cli(*args)
        assert result.exit_code == 0, (args, result.output)
    running = Server(world)
    yield running
    running.close()


def served_names(body: dict) -> set[str]:
    (row,) = body["results"]
    return {name.split(":", 1)[1] for name in row["features"]}


def test_versions_scenario(world, server):
    v1_before = version_items(world, 1)
    assert len(v1_before) == 170  # every user with a transaction
    assert version_items(world, 2) == {}
    key = int(next(iter(v1_before)).split("#")[1])

    # plan shows how v2 differs from v1
    plan = world.cli("plan")
    assert plan.exit_code == 0
    assert "= user_transactions v2 (unchanged)" in plan.output  # applied by the fixture
    result = world.cli("apply")
    assert result.exit_code == 0

    # v1 served before anything: the lookup answers v1's features, names the version
    body = server.get(key, VIEW)
    assert served_names(body) == SHARED | V1_ONLY and body["versions"] == {VIEW: 1}

    # a version never synced cannot be promoted: every lookup would get defaults
    refused = world.cli("promote", VIEW, "--version", "2", "--reason", "too early")
    assert refused.exit_code == 2
    assert "user_transactions v2 has never been synced to this store" in refused.output

    # backfill v2: its own items, v1 untouched
    result = world.cli("backfill", VIEW, "--version", "2")
    assert result.exit_code == 0, result.output
    assert f"{VIEW} v2: built (fs_user__transactions.v2) and synced, 170 item(s)" in \
        result.output
    v2_items = version_items(world, 2)
    assert set(v2_items) == set(v1_before)
    assert all(V2_ONLY <= set(item) and not V1_ONLY & set(item) for item in v2_items.values())
    assert version_items(world, 1) == v1_before
    # a backfill of the version served is refused: replay into a new version instead
    refused = world.cli("backfill", VIEW, "--version", "1")
    assert refused.exit_code == 1
    assert "v1 of `user_transactions` is the version served" in refused.output

    # compare: per feature, recorded in gate_results
    result = world.cli("compare", VIEW, "--from", "1", "--to", "2", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    by_name = {f["feature"]: f for f in report["features"]}
    assert report["entities"] == {"v1": 170, "v2": 170}
    assert report["newest_feature_ts"]["v1"] == report["newest_feature_ts"]["v2"]
    assert by_name["txn_count_7d"]["changed_share"] == 0.0
    assert by_name["txn_count_7d"]["psi"] == pytest.approx(0.0, abs=1e-9)
    assert (by_name["txn_count_1h"]["in_from"], by_name["txn_count_1h"]["in_to"]) == \
        (True, False)
    assert by_name["txn_amount_max_7d"]["null_rate_to"] is not None
    recorded = world.sql("select expectation, passed from featurestore.gate_results "
                         "where suite = 'compare' and run_id = ?", [report["run_id"]])
    assert ("psi(txn_count_7d) v1->v2", True) in recorded
    assert ("presence(txn_amount_max_7d) v1->v2", True) in recorded

    # promote: recorded with who, when, why; the running lookup serves v2 within one
    # refresh interval of its pointers, without a redeploy
    result = world.cli("promote", VIEW, "--version", "2", "--reason", "24h window")
    assert result.exit_code == 0, result.output
    assert "user_transactions: v1 -> v2 promoted by alice" in result.output
    assert served_names(server.get(key, VIEW)) == SHARED | V1_ONLY  # within the interval
    server.tick()
    body = server.get(key, VIEW)
    assert served_names(body) == SHARED | V2_ONLY and body["versions"] == {VIEW: 2}
    (row,) = body["results"]
    pk = f"user#{key}"
    assert row["features"][f"{VIEW}:txn_count_24h"]["value"] == \
        int(v2_items[pk]["txn_count_24h"]["N"])
    # a pinned reference still reads v1
    pinned = server.get(key, f"{VIEW}@v1:txn_count_1h,{VIEW}:txn_count_24h")
    assert set(pinned["results"][0]["features"]) == {f"{VIEW}@v1:txn_count_1h",
                                                     f"{VIEW}:txn_count_24h"}
    events = world.sql("select action, version, previous_version, by_user, reason, forced "
                       "from featurestore.feature_versions order by changed_at")
    assert events == [("backfill", 2, 1, "alice", "", False),
                      ("promote", 2, 1, "alice", "24h window", False)]
    assert version_items(world, 1) == v1_before

    # retire of the version served is refused, whatever --force says
    refused = world.cli("retire", VIEW, "--version", "2", "--reason", "x", "--force")
    assert refused.exit_code == 2
    assert "v2 of `user_transactions` is the version served" in refused.output

    # rollback: v1 again, the same way
    result = world.cli("rollback", VIEW, "--reason", "v2 skews")
    assert result.exit_code == 0, result.output
    server.tick()
    body = server.get(key, VIEW)
    assert served_names(body) == SHARED | V1_ONLY and body["versions"] == {VIEW: 1}

    # shadow: v2 read with v1 in the same request, logged only
    shadowed = server.get(key, f"{VIEW}:txn_count_7d,{VIEW}:txn_count_1h",
                          shadow=f"{VIEW}@v2")
    assert set(shadowed["results"][0]["features"]) == {f"{VIEW}:txn_count_7d",
                                                       f"{VIEW}:txn_count_1h"}
    assert "shadow" not in json.dumps(shadowed)
    (line,) = [ln for ln in world.serving_lines() if "shadow" in ln]
    assert set(line["features"]) == {f"{VIEW}:txn_count_7d", f"{VIEW}:txn_count_1h"}
    assert set(line["shadow"]) == {f"{VIEW}@v2:txn_count_7d"}  # v2 has no txn_count_1h
    assert line["versions"] == {VIEW: 1}
    assert line["shadow"][f"{VIEW}@v2:txn_count_7d"]["value"] == \
        int(v2_items[pk]["txn_count_7d"]["N"])
    # the two compared on live traffic, from the serving log (suite shadow)
    result = world.cli("compare", VIEW, "--from", "1", "--to", "2", "--live", "1h", "--json")
    assert result.exit_code == 0, result.output
    live = json.loads(result.output[result.output.index("{"):])
    (seven_days,) = [f for f in live["features"] if f["feature"] == "txn_count_7d"]
    assert (seven_days["entities_both"], seven_days["changed"]) == (1, 0)
    assert world.sql("select count(*) from featurestore.gate_results where suite = 'shadow' "
                     "and run_id = ?", [live["run_id"]])[0][0] == len(live["checks"])

    # retire v1: refused while served; after the promotion, refused while a recent
    # training set pins it, then done with --force (recorded)
    refused = world.cli("retire", VIEW, "--version", "1", "--reason", "v2 live")
    assert refused.exit_code == 2
    assert "v1 of `user_transactions` is the version served" in refused.output
    assert version_items(world, 1) == v1_before
    result = world.cli("promote", VIEW, "--version", "2", "--reason", "v2 again")
    assert result.exit_code == 0, result.output
    spine = world.base / "spine.csv"
    spine.write_text(f"user_id,event_ts\n{key},2030-01-01T00:00:00\n")
    result = world.cli("training-set", "--spine", str(spine), "--features",
                       f"{VIEW}@v1:txn_count_1h", "--out", str(world.base / "train.parquet"))
    assert result.exit_code == 0, result.output
    manifest = json.loads((world.base / "train.parquet.manifest.json").read_text())
    assert [(v["name"], v["version"], v["pinned"]) for v in manifest["views"]] == \
        [(VIEW, 1, True)]
    # unpinned, a training set reads the version the registry says is served
    result = world.cli("training-set", "--spine", str(spine), "--features",
                       f"{VIEW}:txn_count_24h", "--out", str(world.base / "train2.parquet"))
    assert result.exit_code == 0, result.output
    manifest = json.loads((world.base / "train2.parquet.manifest.json").read_text())
    assert [(v["name"], v["version"], v["pinned"]) for v in manifest["views"]] == \
        [(VIEW, 2, False)]
    refused = world.cli("retire", VIEW, "--version", "1", "--reason", "v2 live")
    assert refused.exit_code == 2
    assert "v1 of `user_transactions` is pinned by 1 training set(s)" in refused.output
    assert version_items(world, 1) == v1_before
    result = world.cli("retire", VIEW, "--version", "1", "--reason", "v2 live", "--force")
    assert result.exit_code == 0, result.output
    assert "user_transactions v1 retired: 170 online item(s) deleted" in result.output
    assert version_items(world, 1) == {}
    assert version_items(world, 2) == v2_items  # v2 untouched by all of it
    assert world.sql("select action, version, forced from featurestore.feature_versions "
                     "where action like 'retire%' order by changed_at") == [
        ("retire_started", 1, True), ("retired", 1, True)]
    # the offline table is kept; a sync leaves the retired version alone
    assert world.sql("select count(*) from main.fs_user__transactions")[0][0] > 0
    result = world.cli("sync", "--no-gate")
    assert result.exit_code == 0, result.output
    assert f"{VIEW} v1" not in result.output
    assert version_items(world, 1) == {}
    # a pinned lookup of the retired version is a 400 naming it
    server.tick()
    with pytest.raises(urllib.error.HTTPError) as refused_lookup:
        server.get(key, f"{VIEW}@v1:txn_count_1h")
    assert refused_lookup.value.code == 400
    assert "retired" in json.loads(refused_lookup.value.read())["message"]
