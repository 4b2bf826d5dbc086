"""The point-in-time macros under real dbt on DuckDB (one session-scoped `dbt build`).

Seeds and expected outputs live in tests/offline/fixtures/pit_project/; the build also
runs `featurestore.equality` against the *_expected seeds, and the checks here repeat the
key values in Python so a wrong expected file cannot hide a wrong macro.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from featurestore import sql_render
from featurestore.errors import ProjectError
from featurestore.sql_render import render_as_of_join, render_feature_timeline

from .conftest import fixture_contracts, jinja_call, jinja_data

pytestmark = pytest.mark.slow

T = datetime.fromisoformat


def _status(build, name_prefix: str) -> list[tuple[str, int | None]]:
    return sorted((str(r.status), r.failures) for r in build.by_name(name_prefix))


def test_as_of_join_by_view_names_gives_exact_rows(pit_build):
    rows = pit_build.query(
        "select * from main.pit_as_of_join order by spine_id, event_ts"
    )
    assert rows == [
        (1, 1, "23", T("2023-12-31"), 0.0, None, None, 0, None),
        (2, 1, "23", T("2024-01-01"), 10.0, "a", T("2024-01-01"), 0, None),
        (3, 1, "23", T("2024-01-03 12:00"), 31.0, "c2", T("2024-01-03"), 7, T("2024-01-02")),
        (4, 1, "3", T("2024-01-05"), None, "b", T("2024-01-05"), 0, None),
        (4, 1, "3", T("2024-01-05"), None, "b", T("2024-01-05"), 0, None),
        (6, 2, None, T("2024-01-11"), 5.0, None, T("2024-01-01"), 0, None),
        (7, 2, None, T("2024-01-11 00:00:01"), 0.0, None, None, 0, None),
        (8, None, "23", T("2024-01-03"), 0.0, None, None, 0, None),
        (9, 99, "23", T("2024-01-03"), 0.0, None, None, 0, None),
        (10, 12, "3", T("2024-01-02"), 0.0, None, None, 99, T("2024-01-02")),
        (11, 1, "23", T("2024-01-04 12:00"), 40.0, "late", T("2024-01-04"), 7, T("2024-01-02")),
    ]


def test_as_of_join_output_columns_in_contract_order(pit_build):
    columns = [r[0] for r in pit_build.query(
        "select column_name from information_schema.columns "
        "where table_name = 'pit_as_of_join' order by ordinal_position")]
    assert columns == [
        "spine_id", "user_id", "device_id", "event_ts",
        "pit_user_txn__amount", "pit_user_txn__note", "pit_user_txn__feature_ts",
        "pit_device__device_count", "pit_device__feature_ts",
    ]


def test_as_of_join_known_at_event_ignores_late_corrections(pit_build):
    rows = pit_build.query(
        "select spine_id, pit_user_txn__amount, pit_user_txn__feature_ts "
        "from main.pit_as_of_join_known where spine_id in (3, 11) order by spine_id")
    # At 01-03 12:00 the correction (loaded 01-04) is not known yet: the original 30.0.
    # At 01-04 12:00 the backfilled 01-04 row (loaded 01-20) is not known: 31.0.
    assert rows == [(3, 30.0, T("2024-01-03")), (11, 31.0, T("2024-01-03"))]


def test_feature_timeline_intervals(pit_build):
    rows = pit_build.query(
        "select user_id, amount, valid_from, valid_to, expires_at "
        "from main.pit_timeline order by user_id, valid_from")
    assert rows == [
        (1, 10.0, T("2024-01-01"), T("2024-01-03"), T("2024-01-11")),
        (1, 31.0, T("2024-01-03"), T("2024-01-04"), T("2024-01-13")),
        (1, 40.0, T("2024-01-04"), T("2024-01-05"), T("2024-01-14")),
        (1, None, T("2024-01-05"), None, T("2024-01-15")),
        (2, 5.0, T("2024-01-01"), None, T("2024-01-11")),
    ]


def test_equality_against_expected_seeds_passes(pit_build):
    assert _status(pit_build, "featurestore_equality*") == [("pass", 0)] * 3


def test_equality_fails_on_missing_rows_counting_duplicates(pit_build):
    # The model without spine_id 4, whose two identical rows the expected seed has.
    assert _status(pit_build, "equality_fails_on_missing_rows") == [("warn", 2)]


def test_unique_combination_fails_on_duplicates_and_passes_otherwise(pit_build):
    name = "featurestore_unique_combination_of_columns_pit_user_txn_rows_user_id__feature_ts"
    assert _status(pit_build, name) == [("warn", 1)]
    assert _status(pit_build, name + "__loaded_at") == [("pass", 0)]
    assert _status(pit_build, name + "__True") == [("warn", 1)]  # quote_columns: true


def test_accepted_range_fails_out_of_range_and_accepts_a_null_bound(pit_build):
    name = "featurestore_accepted_range_pit_user_txn_rows_amount_"
    assert _status(pit_build, name + "_35__0") == [("warn", 1)]
    assert _status(pit_build, name + "_None__0") == [("pass", 0)]


def test_accepted_range_bounds_are_inclusive_unless_told_otherwise(pit_build):
    name = "featurestore_accepted_range_pit_user_txn_rows_amount_"
    assert _status(pit_build, name + "_40__5") == [("pass", 0)]
    assert _status(pit_build, name + "_False__40__5") == [("warn", 2)]  # 5.0 and 40.0


@pytest.mark.parametrize("known_at_event", [False, True])
def test_sql_render_equals_dbt_compile(pit_project, known_at_event):
    """Each body as dbt compiles it on its adapter (the portable one called by name on
    DuckDB's, its corrections step apart) is the text sql_render gives."""
    contracts = fixture_contracts()
    specs = [
        dict(contracts["pit_user_txn"], relation="main.fs_rows_a"),
        dict(contracts["pit_device"], relation='"pit"."main"."fs_rows_b"'),
    ]
    flag = "true" if known_at_event else "false"
    join_args = ("'main.spine'", jinja_data(specs), "'event_ts'", flag)
    on_duckdb = pit_project.compile_inline([
        jinja_call("as_of_join_specs", *join_args),  # dispatches to duckdb__ here
        jinja_call("default__as_of_join_specs", *join_args),
        jinja_call("feature_timeline", "'main.fs_rows_a'", jinja_data(specs[0])),
        jinja_call("default__featurestore_timeline_latest_version", jinja_data(specs[0])),
    ])
    on_snowflake = pit_project.compile_inline([
        jinja_call("as_of_join_specs", *join_args),  # dispatches to snowflake__ there
        jinja_call("feature_timeline", "'main.fs_rows_b'", jinja_data(specs[1])),
    ], target="snowflake")
    compiled = [on_duckdb[0], on_snowflake[0], on_duckdb[1], on_duckdb[2], on_snowflake[1],
                on_duckdb[3]]
    rendered = [
        render_as_of_join("duckdb", "main.spine", specs, "event_ts", known_at_event),
        render_as_of_join("snowflake", "main.spine", specs, "event_ts", known_at_event),
        render_as_of_join("default", "main.spine", specs, "event_ts", known_at_event),
        render_feature_timeline("duckdb", "main.fs_rows_a", specs[0]),
        render_feature_timeline("snowflake", "main.fs_rows_b", specs[1]),
        sql_render.dispatch("default", "featurestore_timeline_latest_version")(specs[0]),
    ]

    def norm(sql: str) -> str:
        return re.sub(r"\s+", " ", sql).strip()

    assert [norm(c) for c in compiled] == [norm(r) for r in rendered]
    assert "asof left join" in norm(compiled[0]) and "match_condition" in norm(compiled[1])
    assert "not exists" in norm(compiled[5]) and "qualify" in norm(compiled[3])


@pytest.mark.parametrize(("snippet", "message"), [
    ("{{ as_of_join(ref('pit_spine'), ['pit_user_txn', 'nope']) }}",
     "as_of_join: unknown feature view `nope`; known views: pit_device, pit_user_txn."),
    ("{{ as_of_join(ref('pit_spine'), ['pit_device:colour']) }}",
     "as_of_join: feature view `pit_device` has no feature `colour`; its features: "
     "device_label, device_count."),
    ("{{ as_of_join(ref('pit_spine'), 'pit_device') }}",
     "as_of_join: `views` must be a non-empty list of view names or 'view:feature' strings, "
     "e.g. ['user_transactions', 'user_profile:country'], not pit_device."),
])
def test_as_of_join_compiler_errors(pit_project, snippet, message):
    assert message in pit_project.compile_error(snippet)


def test_as_of_join_specs_compiler_error_on_bad_ttl(pit_project):
    spec = dict(fixture_contracts()["pit_device"], relation="main.x", ttl_seconds=-5)
    error = pit_project.compile_error(
        jinja_call("as_of_join_specs", "'main.spine'", jinja_data([spec])))
    assert ("as_of_join_specs: spec #1 (`pit_device`): `ttl_seconds` must be a positive "
            "number of seconds or none; got -5.") in error


def test_sql_render_refuses_bad_input_with_the_fix():
    spec = dict(fixture_contracts()["pit_device"])
    with pytest.raises(ProjectError) as error:
        render_as_of_join("duckdb", "main.spine", [spec])
    assert str(error.value) == (
        "spec #1 (`pit_device`) has no `relation`; build specs with "
        "featurestore.generate.view_spec and add `relation`."
    )
    with pytest.raises(ProjectError) as error:
        render_as_of_join("postgres", "main.spine", [dict(spec, relation="x")])
    assert str(error.value) == (
        "unknown SQL dialect 'postgres'; use one of duckdb, snowflake, spark, default."
    )
