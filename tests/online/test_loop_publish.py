"""The loop publishes only what passed, and builds everything that landed.

Each test is one of issue 17's repros, run as an operator would, one `featurestore run
--once` process per cycle (so every cycle is also a restart):

- a `profile_updates` row with `kyc_level` 7 (the contract says `max: 3`): the dbt test
  refuses the new state; every later cycle holds the view back, exit 2, and DynamoDB
  keeps the old value until a fixed state passes;
- the freshness gate refuses late data: the idle cycles after it publish nothing, fresh
  data publishes;
- a failed build (a broken model): its files are built once the model is fixed, with no
  new file;
- a cycle killed mid-build: the next one builds its files and lists them, and the
  killed cycle's row shows what it landed and quarantined.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from featurestore.demo_stream import stream
from tests.online.loop_world import copy_project, make_world

pytestmark = pytest.mark.slow
PROFILE_SK, TXNS_SK, MERCHANT_SK = "user_profile#v1", "user_transactions#v1", "merchant_risk#v1"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _micros(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)


def _without(items: dict, attribute: str = "written_at") -> dict:
    return {key: {k: v for k, v in item.items() if k != attribute}
            for key, item in items.items()}


def _land_profile(world, name: str, user_id: int, updated_at: dt.datetime, kyc: int) -> None:
    folder = world.base / "landing" / "profile_updates"
    (folder / name).write_text("user_id,updated_at,country,is_verified,kyc_level\n"
                               f"{user_id},{updated_at:%Y-%m-%d %H:%M:%S},FR,true,{kyc}\n")


def _newest(world, since_file: str = "stream-") -> dict:
    """The newest event of the landed stream files, read with pyarrow."""
    import pyarrow.parquet as pq

    files = sorted((world.base / "landing" / "transactions").glob(f"{since_file}*.parquet"))
    events = pq.read_table(files)
    return events.sort_by([("transacted_at", "descending")]).slice(0, 1).to_pylist()[0]


def test_a_state_a_dbt_test_refused_stays_unpublished_until_a_fixed_state_passes(
        tmp_path, dynamodb_local):
    world = make_world(tmp_path / "world", dynamodb_local)
    first = world.featurestore("run", "--once")
    assert first.returncode == 0, first.stderr[-3000:]
    user_id, kyc = world.sql("select user_id, kyc_level from fs_user__profile "
                             "order by feature_ts desc, user_id limit 1")[0]
    before = world.item(f"user#{user_id}", PROFILE_SK)
    assert before["kyc_level"] == {"N": str(kyc)}

    _land_profile(world, "kyc-typo.csv", user_id, _now() - dt.timedelta(minutes=1), 7)
    refused = world.featurestore("run", "--once")
    assert refused.returncode == 2, refused.stderr[-3000:]
    cycle = world.cycles()[-1]
    assert (cycle["status"], cycle["files"], cycle["events"]) == ("failed", 1, 1)
    (reason,) = cycle["refused"]["user_profile"]
    assert reason.startswith("dbt test featurestore_accepted_range_fs_user__profile_kyc_level")
    assert reason.endswith("failed: Got 1 result, configured to fail if != 0 "
                           "(1 failing row(s))")
    since = cycle["held_since"]["user_profile"]
    assert dt.datetime.fromisoformat(since) >= cycle["started_at"].replace(microsecond=0)
    assert f"held back, not publishing user_profile (refused since {since} UTC): {reason}" \
        in refused.stderr
    assert cycle["message"] == (f"cycle {cycle['cycle_id']}: user_profile held back (refused "
                                f"since {since} UTC): {reason}")
    assert cycle["pending"]["demo.profile_updates"]["files"] == 1  # its build did not pass
    assert world.item(f"user#{user_id}", PROFILE_SK) == before

    # nothing new lands: the next cycles (each a restart) still hold it back, exit 2
    for _ in range(2):
        idle = world.featurestore("run", "--once")
        assert idle.returncode == 2, idle.stderr[-3000:]
        cycle = world.cycles()[-1]
        assert (cycle["files"], cycle["status"]) == (0, "failed")
        assert cycle["refused"] == {"user_profile": [reason]}
        assert cycle["held_since"] == {"user_profile": since}
        assert "user_profile" not in cycle["rows_changed"]
        assert world.item(f"user#{user_id}", PROFILE_SK) == before
    # nor does a sync without gates publish it, and the history says why
    unforced = world.featurestore("sync", "--no-gate")
    assert unforced.returncode == 2
    assert f"refused, not publishing user_profile (held back since {since} UTC):\n  {reason}" \
        in unforced.stderr
    assert world.item(f"user#{user_id}", PROFILE_SK) == before
    history = json.loads(world.featurestore("run", "--history").stdout)
    assert (history[0]["refused"], history[0]["held_since"]) == (
        {"user_profile": [reason]}, {"user_profile": since})

    # the fix: the bad row leaves raw, the model is rebuilt by hand, a correction lands
    world.execute("delete from raw.profile_updates where kyc_level = 7")
    rebuilt = world.featurestore("build", "--quiet", "--full-refresh", "--select",
                                 "fs_user__profile")
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    _land_profile(world, "kyc-fixed.csv", user_id, _now() - dt.timedelta(seconds=30), 2)
    fixed = world.featurestore("run", "--once")
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    cycle = world.cycles()[-1]
    assert (cycle["status"], cycle["refused"], cycle["pending"]) == ("ok", {}, {})
    assert cycle["built"] == {"demo.profile_updates": {"files": 2, "events": 2,
                                                       "from_earlier_runs": 1}}
    assert world.item(f"user#{user_id}", PROFILE_SK)["kyc_level"] == {"N": "2"}


def test_a_state_the_freshness_gate_refused_is_not_published_by_idle_cycles(
        tmp_path, dynamodb_local):
    """History ending three hours ago, and events as late: user_transactions and
    merchant_risk (freshness_slo 1h) are refused; idle cycles publish nothing; fresh
    events pass and are published."""
    end = _now() - dt.timedelta(hours=3)
    world = make_world(tmp_path / "world", dynamodb_local, end=end)
    landing = world.base / "landing"
    stream(landing, rate=300, every=0.1, duration=0.3, seed=5, late_share=0,
           duplicate_share=0, now=lambda: end + dt.timedelta(minutes=1))
    published = _without(world.items())
    late = world.featurestore("run", "--once")
    assert late.returncode == 2, late.stderr[-3000:]
    cycle = world.cycles()[-1]
    assert sorted(cycle["refused"]) == ["merchant_risk", "user_transactions"]
    for view in ("merchant_risk", "user_transactions"):
        (reason,) = cycle["refused"][view]
        assert reason.startswith(f"freshness/{view}: freshness_lag_seconds observed ")
        assert f"gate failed, not publishing {view}" not in late.stderr
        assert f"held back, not publishing {view} (refused since " in late.stderr
    since = cycle["held_since"]
    for key, item in _without(world.items()).items():
        if key[1] in (TXNS_SK, MERCHANT_SK):
            assert item == published[key], key

    for _ in range(2):  # idle cycles, each a restart
        idle = world.featurestore("run", "--once")
        assert idle.returncode == 2, idle.stderr[-3000:]
        cycle = world.cycles()[-1]
        assert (cycle["files"], cycle["items_written"]) == (0, 0)
        assert cycle["held_since"] == since
        assert sorted(cycle["refused"]) == ["merchant_risk", "user_transactions"]
    assert {key: item for key, item in _without(world.items()).items()
            if key[1] in (TXNS_SK, MERCHANT_SK)} == {
        key: item for key, item in published.items() if key[1] in (TXNS_SK, MERCHANT_SK)}

    late_newest = _newest(world)
    stream(landing, rate=300, every=0.1, duration=0.3, seed=6, late_share=0,
           duplicate_share=0)
    newest = _newest(world)
    assert newest["transacted_at"] > late_newest["transacted_at"] + dt.timedelta(hours=2)
    fresh = world.featurestore("run", "--once")
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    cycle = world.cycles()[-1]
    assert (cycle["status"], cycle["refused"], cycle["held_since"]) == ("ok", {}, {})
    item = world.item(f"user#{newest['user_id']}", TXNS_SK)
    assert item["feature_ts"] == {"N": str(_micros(newest["transacted_at"]))}


def test_files_of_a_failed_build_are_built_once_the_model_is_fixed(tmp_path, dynamodb_local):
    root = copy_project(tmp_path / "project")
    world = make_world(tmp_path / "world", dynamodb_local, root=root)
    assert world.featurestore("run", "--once").returncode == 0  # builds the history
    model = root / "models" / "features" / "merchant" / "fs_merchant__risk.sql"
    good = model.read_text()
    model.write_text(good.replace("select * from final", "select *, no_such_column from final"))
    landed = stream(world.base / "landing", rate=300, every=0.1, duration=0.3, seed=5,
                    late_share=0, duplicate_share=0)
    newest = _newest(world)

    for attempt in range(2):  # the landing cycle, then an idle one: both build, both fail
        broken = world.featurestore("run", "--once")
        assert broken.returncode == 1, broken.stderr[-3000:]
        cycle = world.cycles()[-1]
        assert cycle["status"] == "failed"
        assert cycle["files"] == (landed.files if attempt == 0 else 0)
        assert cycle["message"].startswith(f"cycle {cycle['cycle_id']}: build failed: "
                                           "`dbt build --quiet --select ")
        assert "no_such_column" in cycle["message"]
        assert cycle["built_files"] == 0
        assert {table: entry["files"] for table, entry in cycle["pending"].items()} == {
            "demo.transactions": landed.files}
        assert cycle["pending"]["demo.transactions"]["events"] == landed.events

    model.write_text(good)  # fixed; nothing new lands
    fixed = world.featurestore("run", "--once")
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    cycle = world.cycles()[-1]
    assert (cycle["status"], cycle["files"], cycle["pending"]) == ("ok", 0, {})
    assert cycle["built"] == {"demo.transactions": {
        "files": landed.files, "events": landed.events, "from_earlier_runs": landed.files}}
    assert (cycle["built_files"], cycle["built_events"]) == (landed.files, landed.events)
    assert world.sql("select count(*) from fs_merchant__risk where merchant_id = ? and "
                     "feature_ts = ?", [newest["merchant_id"], newest["transacted_at"]]) \
        == [(1,)]
    item = world.item(f"merchant#{newest['merchant_id']}", MERCHANT_SK)
    assert item["feature_ts"] == {"N": str(_micros(newest["transacted_at"]))}


def test_a_killed_cycle_s_files_are_built_and_listed_by_the_next_cycle(tmp_path,
                                                                        dynamodb_local):
    world = make_world(tmp_path / "world", dynamodb_local)
    assert world.featurestore("run", "--once").returncode == 0  # builds the history
    landed = stream(world.base / "landing", rate=300, every=0.1, duration=0.3, seed=5,
                    late_share=0, duplicate_share=0)
    newest = _newest(world)
    (world.base / "landing" / "transactions" / "odd.csv").write_text(
        "transaction_id,bogus\n1,2\n")
    process = world.popen("run", "--once")
    for line in process.stderr:
        if line.startswith("run: build: starting"):  # ingested; the build begins
            break
    process.kill()
    process.wait()
    first, killed = world.cycles()
    assert killed["status"] == "running"
    assert (killed["files"], killed["events"]) == (landed.files, landed.events)
    (odd,) = killed["quarantined"]
    assert (odd["table"], odd["file"]) == ("demo.transactions", "odd.csv")
    assert "bogus" in odd["reason"]
    assert world.sql("select count(*) from fs_user__transactions where user_id = ? and "
                     "feature_ts = ?", [newest["user_id"], newest["transacted_at"]]) == [(0,)]

    resumed = world.featurestore("run", "--once")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert [c["status"] for c in world.cycles()] == ["ok", "interrupted", "ok"]
    cycle = world.cycles()[-1]
    assert (cycle["files"], cycle["events"], cycle["quarantined"]) == (0, 0, [])
    assert cycle["built"] == {"demo.transactions": {
        "files": landed.files, "events": landed.events, "from_earlier_runs": landed.files}}
    assert world.sql("select count(*) from fs_user__transactions where user_id = ? and "
                     "feature_ts = ?", [newest["user_id"], newest["transacted_at"]]) == [(1,)]
    item = world.item(f"user#{newest['user_id']}", TXNS_SK)
    assert item["feature_ts"] == {"N": str(_micros(newest["transacted_at"]))}


def test_a_profile_update_landed_twice_is_built_once_and_later_updates_publish(
        tmp_path, dynamodb_local):
    """The soak's finding: a retried upload of a profile update (the same rows under a
    second name) failed the staging model's one-row-per-update test in every later
    cycle, so no profile update reached the view or the online store again."""
    world = make_world(tmp_path / "world", dynamodb_local)
    assert world.featurestore("run", "--once").returncode == 0
    user_id = world.sql("select min(user_id) from fs_user__profile")[0][0]
    updated_at = _now() - dt.timedelta(minutes=1)
    _land_profile(world, "upload.csv", user_id, updated_at, 2)
    folder = world.base / "landing" / "profile_updates"
    (folder / "upload-retry.csv").write_bytes((folder / "upload.csv").read_bytes())
    twice = world.featurestore("run", "--once")
    assert twice.returncode == 0, twice.stderr[-3000:]
    assert world.cycles()[-1]["files"] == 2
    assert world.sql("select count(*) from raw.profile_updates where user_id = ? and "
                     "updated_at = ?", [user_id, updated_at]) == [(2,)]
    assert world.sql("select kyc_level from fs_user__profile where user_id = ? and "
                     "feature_ts = ?", [user_id, updated_at]) == [(2,)]
    _land_profile(world, "later.csv", user_id, _now() - dt.timedelta(seconds=20), 3)
    (folder / "later-retry.csv").write_bytes((folder / "later.csv").read_bytes())
    later = world.featurestore("run", "--once")
    assert later.returncode == 0, later.stderr[-3000:]
    assert world.item(f"user#{user_id}", PROFILE_SK)["kyc_level"] == {"N": "3"}
