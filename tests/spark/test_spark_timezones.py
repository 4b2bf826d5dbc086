"""Training sets on Spark keep their instants and their form, whatever the session's zone.

featurestore's sessions run in UTC, but a session started elsewhere (a cluster, a
profile) may not, and Spark reads a TIMESTAMP_NTZ in the session's zone wherever it
converts one. So, under America/New_York (whose DST gap on 2026-03-08 02:00-03:00
local holds no wall clock) and Asia/Kolkata (+05:30): a training set from a naive
spine writes `timestamp[us]` and from an aware one `timestamp[us, tz=UTC]` (never
Spark's INT96, read back as naive nanoseconds), as DuckDB does, with DuckDB's
instants; and dbt's `as_of_join` on Spark knows Spark's `timestamp` is an instant.

The expected rows are written out by hand (the oracle) and DuckDB's are compared too.
"""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from featurestore.dialects.spark import Spark
from featurestore.project import Project
from tests.conftest import REPO_ROOT, write_dbt_project

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ZONES = ["America/New_York", "Asia/Kolkata"]
# a wall clock New York skips (its DST starts at 02:00 local): Spark reads a naive time
# as a wall clock of the session's zone wherever it converts one
GAP = dt.datetime(2026, 3, 8, 2, 30)
HOUR, US = dt.timedelta(hours=1), dt.timedelta(microseconds=1)
ENTITIES = "entities:\n  - name: user\n    join_keys: [{name: user_id, dtype: int64}]\n"
VIEW = """name: tz_view
version: 1
entity: user
source: tz_features
timestamp: feature_ts
ttl: 1d
owner: tests
description: Values around a DST gap.
features:
  - {name: x, dtype: int64, default: -1, sensitivity: internal, description: a value}
"""
# feature rows (naive UTC): user 1 around that gap, user 2 at a half hour
FEATURES = [(1, GAP - HOUR, 10), (1, GAP, 11), (1, GAP + HOUR, 12),
            (2, dt.datetime(2026, 3, 8, 18, 30), 20)]
# spine rows (naive UTC) and the value each must get: visible at its own time, gone
# one microsecond past the 1-day TTL
SPINE = [(1, GAP - US, 10), (1, GAP, 11), (1, GAP + HOUR / 2, 11), (1, GAP + HOUR, 12),
         (1, GAP + HOUR + dt.timedelta(days=1), 12),
         (1, GAP + HOUR + dt.timedelta(days=1) + US, -1),
         (2, dt.datetime(2026, 3, 8, 18, 29, 59), -1), (2, dt.datetime(2026, 3, 8, 18, 30), 20),
         (3, GAP, -1)]
FEATURE_TS = {10: GAP - HOUR, 11: GAP, 12: GAP + HOUR, 20: dt.datetime(2026, 3, 8, 18, 30),
              -1: None}


def _write_project(root) -> None:
    (root / "feature_defs").mkdir(parents=True)
    (root / "feature_defs" / "entities.yml").write_text(ENTITIES)
    (root / "feature_defs" / "tz_view.yml").write_text(VIEW)
    write_dbt_project(root, "tz_project")


def _spine(aware: bool) -> pa.Table:
    zone = "UTC" if aware else None
    return pa.table({"row_no": list(range(len(SPINE))), "user_id": [u for u, _, _ in SPINE],
                     "event_ts": pa.array([t for _, t, _ in SPINE], pa.timestamp("us", zone))})


def _instants(table: pa.Table) -> list[tuple]:
    """(row_no, event_ts, x, feature_ts) as naive UTC, in spine order."""
    def utc(value):
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    rows = sorted(table.to_pylist(), key=lambda r: r["row_no"])
    return [(r["row_no"], utc(r["event_ts"]), r["tz_view__x"], utc(r["tz_view__feature_ts"]))
            for r in rows]


EXPECTED = [(i, t, x, FEATURE_TS[x]) for i, (_, t, x) in enumerate(SPINE)]


@pytest.fixture(scope="module")
def duckdb_sets(tmp_path_factory):
    """DuckDB's training sets of the same rows: {aware: (Parquet table, manifest)}."""
    import duckdb

    root = tmp_path_factory.mktemp("tz_duckdb")
    _write_project(root)
    with duckdb.connect(str(root / "warehouse.duckdb")) as con:
        con.execute("create table tz_features (user_id bigint, feature_ts timestamp, x bigint)")
        con.executemany("insert into tz_features values (?, ?, ?)", FEATURES)
    with pytest.MonkeyPatch.context() as patch:
        for name in ("FEATURESTORE_TARGET", "DBT_TARGET_PATH"):
            patch.delenv(name, raising=False)
        patch.setenv("FEATURESTORE_DUCKDB_PATH", str(root / "warehouse.duckdb"))
        from featurestore.training import build_training_set

        sets = {}
        for aware in (False, True):
            out = root / f"duck_{aware}.parquet"
            build_training_set(Project(root), _spine(aware), "tz_view", out=out)
            sets[aware] = pq.read_table(out)
    return sets


@pytest.fixture
def spark_in_zone(request, spark, spark_dir, tmp_path, monkeypatch):
    """A project on Spark whose session runs in the zone ``request.param``."""
    zone = request.param
    root = tmp_path / "tz_spark"
    _write_project(root)
    spark.sql("create database if not exists main")
    spark.createDataFrame(FEATURES, "user_id bigint, feature_ts timestamp_ntz, x bigint") \
        .write.mode("overwrite").saveAsTable("main.tz_features")
    for name in ("DBT_TARGET_PATH", "FEATURESTORE_DUCKDB_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEATURESTORE_TARGET", "spark")
    monkeypatch.setenv("FEATURESTORE_SPARK_DIR", str(spark_dir))
    # the session as another starter configured it: featurestore's settings, another zone
    profile_config = Spark.config
    monkeypatch.setattr(Spark, "config", lambda self, target: {
        **profile_config(self, target), "spark.sql.session.timeZone": zone})
    yield Project(root)
    spark.conf.set("spark.sql.session.timeZone", "UTC")


@pytest.mark.parametrize("spark_in_zone", ZONES, indirect=True)
@pytest.mark.parametrize("aware", [False, True], ids=["naive", "aware"])
def test_a_training_set_keeps_its_instants_and_form_in_any_session_zone(
        spark_in_zone, spark, duckdb_sets, aware, tmp_path):
    from featurestore.training import build_training_set

    out = tmp_path / "spark.parquet"
    build_training_set(spark_in_zone, _spine(aware), "tz_view", out=out)  # Spark writes it
    in_memory = build_training_set(spark_in_zone, _spine(aware), "tz_view").table  # Arrow
    assert spark.conf.get("spark.sql.session.timeZone") in ZONES  # the zone was in force
    written = pq.read_table(out)
    form = "timestamp[us, tz=UTC]" if aware else "timestamp[us]"
    for table in (written, in_memory, duckdb_sets[aware]):
        assert [str(table.schema.field(c).type) for c in ("event_ts", "tz_view__feature_ts")
                ] == [form, form]
        assert _instants(table) == EXPECTED
    assert json.loads((tmp_path / "spark.parquet.manifest.json").read_text())["spine"][
        "event_ts_timezone"] == ("UTC" if aware else None)


TZ_DBT_PROJECT = """name: tz_dbt
version: "1.0.0"
config-version: 2
profile: tz_dbt
models:
  tz_dbt:
    +materialized: table
"""
# dbt-spark's session method applies these to the running session: New York's zone
TZ_DBT_PROFILES = """tz_dbt:
  target: spark
  outputs:
    spark:
      type: spark
      method: session
      host: NA
      schema: tz_dbt
      threads: 1
      server_side_parameters:
        spark.sql.session.timeZone: America/New_York
        spark.sql.variable.substitute: "false"
"""


def _values(rows: list[tuple], types: tuple[str, ...]) -> str:
    def literal(value, kind):
        if not isinstance(value, dt.datetime):
            return str(value)
        zone = "+00:00" if kind == "timestamp_ltz" else ""
        return f"{kind}'{value.isoformat(sep=' ')}{zone}'"

    return ", ".join("(" + ", ".join(literal(v, k) for v, k in zip(row, types, strict=True))
                     + ")" for row in rows)


def test_dbt_as_of_join_on_spark_reads_spark_timestamps_as_instants(
        spark, spark_dir, tmp_path, monkeypatch):
    """A spine model whose event time is Spark's TIMESTAMP (an instant): as_of_join asks
    the warehouse (featurestore_is_tz_type), compares it by its instant in a New York
    session, and keeps it aware, <view>__feature_ts too."""
    from featurestore.contracts import load_catalog
    from featurestore.generate import contracts_macro

    root = tmp_path / "tz_dbt"
    _write_project(root)
    (root / "dbt_project.yml").write_text(TZ_DBT_PROJECT)
    (root / "profiles.yml").write_text(TZ_DBT_PROFILES)
    (root / "packages.yml").write_text(f"packages:\n  - local: {REPO_ROOT}\n")
    (root / "macros" / "generated").mkdir(parents=True)
    (root / "macros" / "generated" / "featurestore_contracts.sql").write_text(
        contracts_macro(load_catalog(root / "feature_defs")))
    models = root / "models"
    models.mkdir()
    (models / "tz_features.sql").write_text(
        f"select * from values {_values(FEATURES, ('int', 'timestamp_ntz', 'int'))} "
        "as t(user_id, feature_ts, x)")
    spine = [(i, user, t) for i, (user, t, _) in enumerate(SPINE)]
    (models / "tz_spine.sql").write_text(
        f"select * from values {_values(spine, ('int', 'int', 'timestamp_ltz'))} "
        "as t(row_no, user_id, event_ts)")
    (models / "tz_training.sql").write_text(
        "{{ featurestore.as_of_join(ref('tz_spine'), ['tz_view']) }}")
    for name in ("DBT_TARGET_PATH", "FEATURESTORE_DUCKDB_PATH", "DBT_PROFILES_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEATURESTORE_TARGET", "spark")
    monkeypatch.setenv("FEATURESTORE_SPARK_DIR", str(spark_dir))
    # the team's own `dbt build`, with its own profile: featurestore's run_dbt would set
    # the UTC session featurestore requires, and this test is about another zone
    from dbt.cli.main import dbtRunner

    where = ["--project-dir", str(root), "--profiles-dir", str(root)]
    try:
        for command in (["deps"], ["build", "--log-path", str(tmp_path / "logs")]):
            result = dbtRunner().invoke([*command, *where])
            assert result.success, result.exception
        assert spark.conf.get("spark.sql.session.timeZone") == "America/New_York"
        table = spark.table("tz_dbt.tz_training").toArrow()
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert [str(table.schema.field(c).type) for c in ("event_ts", "tz_view__feature_ts")] == [
        "timestamp[us, tz=UTC]", "timestamp[us, tz=UTC]"]
    assert _instants(table) == EXPECTED
