"""Timezone-aware feature models and spines under real dbt on DuckDB.

The fixture project (tests/offline/fixtures/tz_project/) holds the same feature rows
and spine twice: naive UTC, and TIMESTAMP WITH TIME ZONE with the same instants written
at offsets from -10:00 to +14:00. dbt runs with the session TimeZone set to Asia/Kolkata
(+05:30), as a dbt session on a machine in India would: a comparison that let the
session's zone in would move an instant by five and a half hours. Every as_of_join and
feature_timeline_of over the aware tables must give the naive tables' rows, instant for
instant; a training set from an aware spine keeps the spine's event time column as it
is and gives an aware `<view>__feature_ts`.

A consumer project that never ran `featurestore generate` gets a sentence saying so.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from .conftest import ROOT, _contracts_macro

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "tz_project"
SESSION_ZONE = "Asia/Kolkata"
T = dt.datetime.fromisoformat
UTC = dt.UTC

PROFILES = f"""
featurestore_demo:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: "{{{{ env_var('FEATURESTORE_DUCKDB_PATH') }}}}"
      schema: main
      threads: 1
      settings:
        TimeZone: {SESSION_ZONE}
"""

# spine_id, user_id, event_ts, amount, seen_at, feature_ts (naive UTC), as the DESIGN's
# point-in-time rules give them on tests/offline/fixtures/tz_project/seeds/
EXPECTED = [
    (1, 1, T("2023-12-31 23:59:59"), 0.0, None, None),  # before the first value
    (2, 1, T("2024-01-01 00:00"), 10.0, T("2023-12-31 23:00"), T("2024-01-01")),
    (3, 1, T("2024-01-02 22:00"), 10.0, T("2023-12-31 23:00"), T("2024-01-01")),
    (4, 1, T("2024-01-03 02:00"), 31.0, T("2024-01-02 21:00"), T("2024-01-03")),
    (5, 1, T("2024-01-03 12:00"), 31.0, T("2024-01-02 21:00"), T("2024-01-03")),
    (6, 1, T("2024-01-04 12:00"), 40.0, None, T("2024-01-04")),
    (7, 2, T("2024-01-11 00:00"), 5.0, T("2024-01-01 00:00"), T("2024-01-01")),  # TTL edge
    (8, 2, T("2024-01-11 00:00:01"), 0.0, None, None),  # one second past the TTL
    (9, 3, T("2024-01-05 00:00"), 0.0, None, None),  # unknown entity
]
# known_at_event: the 01-03 correction (loaded 01-04) and the 01-04 backfill (loaded
# 01-20) are not known yet at rows 4-6.
EXPECTED_KNOWN = {
    4: (30.0, T("2024-01-02 20:00"), T("2024-01-03")),
    5: (30.0, T("2024-01-02 20:00"), T("2024-01-03")),
    6: (31.0, T("2024-01-02 21:00"), T("2024-01-03")),
}


@dataclass
class TzBuild:
    root: Path
    duckdb_path: Path
    results: dict  # node name -> dbt status

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.duckdb_path)) as con:
            con.execute(f"set TimeZone = '{SESSION_ZONE}'")
            return con.execute(sql).fetchall()

    def column_types(self, table: str) -> dict[str, str]:
        return dict(self.query(
            "select column_name, data_type from information_schema.columns "
            f"where table_name = '{table}' order by ordinal_position"))


def _invoke(root: Path, duckdb_path: Path, *args: str, messages: list | None = None):
    from dbt.cli.main import dbtRunner

    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    os.environ["FEATURESTORE_DUCKDB_PATH"] = str(duckdb_path)
    os.environ.pop("FEATURESTORE_TARGET", None)
    callbacks = [] if messages is None else [lambda event: messages.append(event.info.msg)]
    return dbtRunner(callbacks=callbacks).invoke(
        [*args, "--project-dir", str(root), "--profiles-dir", str(root), "--quiet"])


@pytest.fixture(scope="module")
def tz_build(tmp_path_factory) -> TzBuild:
    """One `dbt build` of the timezone fixture project, its session in Asia/Kolkata."""
    root = tmp_path_factory.mktemp("tz_project")
    shutil.copy(ROOT / "dbt_project.yml", root / "dbt_project.yml")
    (root / "profiles.yml").write_text(PROFILES)
    shutil.copytree(ROOT / "macros", root / "macros")
    contracts = json.loads((FIXTURE / "contracts.json").read_text())
    (root / "macros" / "generated" / "featurestore_contracts.sql").write_text(
        _contracts_macro(contracts))
    shutil.copytree(FIXTURE / "seeds", root / "seeds")
    shutil.copytree(FIXTURE / "models", root / "models" / "tz_tests")
    (root / "warehouse").mkdir()
    duckdb_path = root / "warehouse" / "tz.duckdb"
    result = _invoke(root, duckdb_path, "build")
    if result.result is None:
        raise AssertionError(f"dbt build did not run: {result.exception}")
    statuses = {r.node.name: str(r.status) for r in result.result.results}
    assert result.success, statuses
    return TzBuild(root, duckdb_path, statuses)


def _rows(build: TzBuild, model: str, view: str) -> list[tuple]:
    return build.query(
        f"select spine_id, user_id, event_ts, {view}__amount, {view}__seen_at, "
        f"{view}__feature_ts from main.{model} order by spine_id")


def _naive_utc(value):
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def test_dbt_session_runs_in_a_non_utc_zone(tz_build):
    assert tz_build.query("select zone from main.tz_session_zone") == [(SESSION_ZONE,)]


def test_naive_tables_give_the_expected_rows(tz_build):
    assert _rows(tz_build, "tz_join_naive", "tz_naive") == EXPECTED


def test_aware_feature_table_gives_the_naive_rows(tz_build):
    assert _rows(tz_build, "tz_join_aware_view", "tz_aware") == EXPECTED
    types = tz_build.column_types("tz_join_aware_view")
    # a naive spine: everything the join adds is naive UTC too
    assert types["event_ts"] == "TIMESTAMP"
    assert types["tz_aware__seen_at"] == "TIMESTAMP"
    assert types["tz_aware__feature_ts"] == "TIMESTAMP"


@pytest.mark.parametrize(("model", "view"), [
    ("tz_join_aware_spine", "tz_aware"),
    ("tz_join_aware_spine_naive_view", "tz_naive"),
])
def test_aware_spine_keeps_its_form_and_joins_by_instant(tz_build, model, view):
    rows = _rows(tz_build, model, view)
    # the spine's own column is unchanged (aware), and so is every instant
    assert all(r[2].tzinfo is not None for r in rows)
    assert all(r[5] is None or r[5].tzinfo is not None for r in rows)
    assert [tuple(_naive_utc(v) for v in r) for r in rows] == EXPECTED
    spine_ts = tz_build.query("select event_ts from main.tz_spine_aware order by spine_id")
    assert [r[2] for r in rows] == [ts for (ts,) in spine_ts]
    types = tz_build.column_types(model)
    assert list(types) == ["spine_id", "user_id", "event_ts", f"{view}__amount",
                           f"{view}__seen_at", f"{view}__feature_ts"]  # no _fs_event_ts
    assert types["event_ts"] == "TIMESTAMP WITH TIME ZONE"
    assert types[f"{view}__feature_ts"] == "TIMESTAMP WITH TIME ZONE"
    assert types[f"{view}__seen_at"] == "TIMESTAMP"  # a timestamp feature: naive UTC


def test_known_at_event_compares_created_ts_by_instant(tz_build):
    expected = [r[:3] + EXPECTED_KNOWN.get(r[0], r[3:]) for r in EXPECTED]
    assert _rows(tz_build, "tz_join_known_naive", "tz_naive") == expected
    aware = _rows(tz_build, "tz_join_known_aware", "tz_aware")
    assert [tuple(_naive_utc(v) for v in r) for r in aware] == expected


def test_feature_timeline_of_an_aware_view_has_the_naive_intervals(tz_build):
    query = ("select user_id, amount, valid_from, valid_to, expires_at "
             "from main.{} order by user_id, valid_from")
    naive = tz_build.query(query.format("tz_timeline_naive"))
    assert naive == [
        (1, 10.0, T("2024-01-01"), T("2024-01-03"), T("2024-01-11")),
        (1, 31.0, T("2024-01-03"), T("2024-01-04"), T("2024-01-13")),
        (1, 40.0, T("2024-01-04"), None, T("2024-01-14")),
        (2, 5.0, T("2024-01-01"), None, T("2024-01-11")),
    ]
    assert tz_build.query(query.format("tz_timeline_aware")) == naive
    types = tz_build.column_types("tz_timeline_aware")
    assert types["feature_ts"] == "TIMESTAMP WITH TIME ZONE"  # the view's own, unchanged
    assert {types[c] for c in ("valid_from", "valid_to", "expires_at")} == {"TIMESTAMP"}


# -- a consumer project without generated contracts -----------------------------------
CONSUMER_PROJECT = """
name: tz_consumer
version: "1.0.0"
config-version: 2
profile: tz_consumer
model-paths: ["models"]
"""
CONSUMER_PROFILES = """
tz_consumer:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: "{{ env_var('FEATURESTORE_DUCKDB_PATH') }}"
      schema: main
      threads: 1
"""


@pytest.fixture(scope="module")
def consumer(tmp_path_factory) -> Path:
    """A dbt project that installs featurestore (`packages.yml`, local) and never ran
    `featurestore generate`: the package's own generated contracts must not leak in."""
    base = tmp_path_factory.mktemp("tz_consumer")
    package = base / "featurestore_package"
    package.mkdir()
    shutil.copy(ROOT / "dbt_project.yml", package / "dbt_project.yml")
    shutil.copytree(ROOT / "macros", package / "macros")
    assert (package / "macros" / "generated" / "featurestore_contracts.sql").exists()
    root = base / "consumer"
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(CONSUMER_PROJECT)
    (root / "profiles.yml").write_text(CONSUMER_PROFILES)
    (root / "packages.yml").write_text(f"packages:\n  - local: {package}\n")
    (root / "models" / "spine.sql").write_text(
        "select 1 as user_id, cast('2024-01-01' as timestamp) as event_ts\n")
    result = _invoke(root, base / "consumer.duckdb", "deps")
    assert result.success, result.exception
    return root


@pytest.mark.parametrize(("snippet", "macro"), [
    ("{{ featurestore.as_of_join(ref('spine'), ['user_transactions']) }}", "as_of_join"),
    ("{{ featurestore.feature_timeline_of('user_transactions') }}", "feature_timeline_of"),
])
def test_consumer_without_generated_contracts_is_told_to_generate(consumer, snippet, macro):
    messages: list[str] = []
    result = _invoke(consumer, consumer.parent / "consumer.duckdb", "compile", "--inline",
                     snippet, messages=messages)
    assert not result.success
    error = "\n".join([str(result.exception), *map(str, messages)])
    assert (f"{macro}: this dbt project has no `featurestore_contracts` macro, so it knows "
            "no feature views. Run `featurestore generate` in the project (it writes "
            "macros/generated/featurestore_contracts.sql from feature_defs/), then run dbt "
            "again.") in error


# -- what the public macros ask the warehouse, and refuse ------------------------------
def _compile(build: TzBuild, snippet: str) -> str:
    result = _invoke(build.root, build.duckdb_path, "compile", "--inline", snippet)
    assert result.success, result.exception
    return result.result.results[0].node.compiled_code


def _compile_error(build: TzBuild, snippet: str) -> str:
    messages: list[str] = []
    result = _invoke(build.root, build.duckdb_path, "compile", "--inline", snippet,
                     messages=messages)
    assert not result.success, f"dbt compiled {snippet!r} without error"
    return "\n".join([str(result.exception), *map(str, messages)])


def test_as_of_join_asks_the_warehouse_which_columns_are_aware(tz_build):
    aware = _compile(tz_build, "{{ as_of_join(ref('tz_spine_aware'), ['tz_aware']) }}")
    assert """timezone('UTC', "event_ts") as _fs_event_ts""" in aware
    assert "timezone('UTC', loaded_at) as _fs_created_ts" not in aware  # not known_at_event
    assert "timezone('UTC', feature_ts) as _fs_feature_ts" in aware
    assert "timezone('UTC', seen_at) as seen_at" in aware
    assert "select * exclude (_fs_event_ts) from final" in aware
    naive = _compile(tz_build, "{{ as_of_join(ref('tz_spine_naive'), ['tz_naive']) }}")
    assert "timezone(" not in naive and "_fs_event_ts" not in naive
    # a spine named as text cannot be asked about: naive unless the caller says otherwise
    spec = json.loads((FIXTURE / "contracts.json").read_text())["tz_naive"]
    spec["relation"] = "main.tz_rows_naive"
    by_name = "{{ as_of_join_specs('spine_cte', fromjson('" + json.dumps([spec]) + "')"
    assert "_fs_event_ts" not in _compile(tz_build, by_name + ") }}")
    assert "_fs_event_ts" in _compile(tz_build, by_name + ", spine_utc=true) }}")
    forced = _compile(tz_build, "{{ as_of_join(ref('tz_spine_aware'), ['tz_naive'], "
                                "spine_utc=false) }}")
    assert "_fs_event_ts" not in forced


@pytest.mark.parametrize(("snippet", "message"), [
    ("{{ as_of_join(ref('tz_spine_aware'), ['tz_aware'], spine_utc='yes') }}",
     "as_of_join_specs: `spine_utc` must be true (the spine's event time is "
     "timezone-aware), false, or none to ask the warehouse; got yes."),
    ("{{ as_of_join_specs('s', [{'name': 'v', 'keys': ['k'], 'timestamp': 't', "
     "'relation': 'r', 'features': [{'name': 'f'}], 'utc_columns': 't'}]) }}",
     "as_of_join_specs: spec #1 (`v`): `utc_columns` must be a list of the view's "
     "timezone-aware column names, e.g. ['feature_ts']; got t."),
])
def test_bad_time_zone_arguments_stop_compilation(tz_build, snippet, message):
    assert message in _compile_error(tz_build, snippet)
