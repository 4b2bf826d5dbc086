"""rolling_windows against a brute-force Python reference, through dbt on DuckDB.

The input is small and hand-written so that each rule has a row that proves it: the
half-open boundary (an event exactly 7 days old is out, 7 days minus 1 microsecond is
in), decay rows at event + window, nothing past the data horizon, ties at one instant,
and loaded_at marking every row a late event changed.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from featurestore.errors import ProjectError
from tests.offline.rolling_support import dbt_project, run_dbt_in

T = dt.datetime.fromisoformat

# k, ts, amount, loaded_at, id
EVENTS = [
    (1, "2026-01-01 00:00:00", 10.0, "2026-01-01 00:05:00", 1),
    (1, "2026-01-02 12:00:00", 5.5, "2026-01-10 00:00:00", 2),  # lands 8 days late
    (1, "2026-01-08 00:00:00", 20.0, "2026-01-08 00:01:00", 3),  # exactly 7d after id 1
    (2, "2026-01-01 00:00:00.000001", 7.0, "2026-01-01 00:01:00", 4),
    (2, "2026-01-08 00:00:00", 3.0, "2026-01-08 00:01:00", 5),  # 7d - 1us after id 4
    (3, "2026-01-05 10:00:00", 4.0, "2026-01-05 10:01:00", 6),
    (3, "2026-01-05 10:00:00", 6.0, "2026-01-05 10:02:00", 7),  # tie with id 6
    (3, "2026-01-05 10:30:00", 1.0, "2026-01-05 10:31:00", 8),
    (4, "2026-01-20 00:00:00", 2.0, "2026-01-20 00:00:30", 9),  # the data horizon
]
WINDOWS = {"1h": dt.timedelta(hours=1), "7d": dt.timedelta(days=7),
           "30d": dt.timedelta(days=30)}
COLUMNS = ["k", "feature_ts", "loaded_at", "count_1h", "count_7d", "sum_7d", "avg_7d",
           "min_7d", "max_30d", "last_amount"]

MODEL = """
with

events as (
    select
        k,
        cast(ts as timestamp) as ts,
        cast(amount as double) as amount,
        cast(loaded_at as timestamp) as loaded_at,
        id
    from {{ ref('rw_events') }}
),

windows as (
    {{ rolling_windows(
        relation='events',
        partition_by=['k'],
        event_ts='ts',
        loaded_at='loaded_at',
        aggregates=[
            {'name': 'count_1h', 'agg': 'count', 'expr': 'id', 'window': '1h'},
            {'name': 'count_7d', 'agg': 'count', 'expr': 'id', 'window': '7d'},
            {'name': 'sum_7d', 'agg': 'sum', 'expr': 'amount', 'window': '7d'},
            {'name': 'avg_7d', 'agg': 'avg', 'expr': 'amount', 'window': '7d'},
            {'name': 'min_7d', 'agg': 'min', 'expr': 'amount', 'window': '7d'},
            {'name': 'max_30d', 'agg': 'max', 'expr': 'amount', 'window': '30d'},
        ],
        last_values=[{'name': 'last_amount', 'expr': 'amount', 'order_by': 'id'}],
    ) }}
)

select * from windows
"""


def reference() -> list[tuple]:
    """Every change point and its values, computed the slow, obvious way."""
    events = [(k, T(ts), amount, T(loaded), i) for k, ts, amount, loaded, i in EVENTS]
    horizon = max(e[1] for e in events)
    rows = []
    for key in sorted({e[0] for e in events}):
        mine = [e for e in events if e[0] == key]
        points = {e[1] for e in mine} | {e[1] + w for e in mine for w in WINDOWS.values()}
        for t in sorted(p for p in points if p <= horizon):
            def within(window, t=t, mine=mine):
                return [e for e in mine if t - WINDOWS[window] < e[1] <= t]
            week = [e[2] for e in within("7d")]
            month = [e[2] for e in within("30d")]
            seen = [e for e in mine if e[1] <= t]
            latest = max(seen, key=lambda e: (e[1], e[4]))
            rows.append((
                key, t, max(e[3] for e in seen), len(within("1h")), len(week),
                float(sum(week)), sum(week) / len(week) if week else None,
                min(week) if week else None, max(month) if month else None, latest[2],
            ))
    return rows


@pytest.fixture(scope="module")
def windows_table(tmp_path_factory) -> list[tuple]:
    root = dbt_project(tmp_path_factory.mktemp("rolling"), {"rw_windows": MODEL})
    (root / "seeds").mkdir()
    lines = ["k,ts,amount,loaded_at,id"] + [",".join(map(str, e)) for e in EVENTS]
    (root / "seeds" / "rw_events.csv").write_text("\n".join(lines) + "\n")
    run_dbt_in(root, "build")
    with duckdb.connect(str(root / "rw.duckdb"), read_only=True) as con:
        return con.execute(
            f"select {', '.join(COLUMNS)} from rw_windows order by k, feature_ts").fetchall()


def _row(table, key, ts) -> dict:
    matches = [r for r in table if r[0] == key and r[1] == T(ts)]
    assert len(matches) == 1, f"expected one row for k={key} at {ts}, got {matches}"
    return dict(zip(COLUMNS, matches[0], strict=True))


def test_matches_brute_force_reference(windows_table):
    expected = reference()
    assert [r[:5] for r in windows_table] == [r[:5] for r in expected]
    assert windows_table == [
        tuple(pytest.approx(v) if isinstance(v, float) else v for v in row) for row in expected
    ]


def test_event_exactly_a_window_old_is_out(windows_table):
    row = _row(windows_table, 1, "2026-01-08 00:00:00")
    assert (row["count_7d"], row["sum_7d"]) == (2, 25.5)  # ids 2 and 3; id 1 is out


def test_event_a_window_minus_one_microsecond_old_is_in(windows_table):
    row = _row(windows_table, 2, "2026-01-08 00:00:00")
    assert (row["count_7d"], row["sum_7d"]) == (2, 10.0)
    expired = _row(windows_table, 2, "2026-01-08 00:00:00.000001")
    assert (expired["count_7d"], expired["sum_7d"]) == (1, 3.0)


def test_windows_decay_to_zero_without_new_events(windows_table):
    row = _row(windows_table, 1, "2026-01-15 00:00:00")  # id 3 + 7d
    assert {k: row[k] for k in ("count_1h", "count_7d", "sum_7d", "avg_7d", "min_7d")} == {
        "count_1h": 0, "count_7d": 0, "sum_7d": 0.0, "avg_7d": None, "min_7d": None}
    assert (row["max_30d"], row["last_amount"]) == (20.0, 20.0)
    hour_later = _row(windows_table, 3, "2026-01-05 11:30:00")  # id 8 + 1h
    assert hour_later["count_1h"] == 0


def test_nothing_past_the_data_horizon(windows_table):
    assert max(r[1] for r in windows_table) == T("2026-01-20 00:00:00")
    assert [r[1] for r in windows_table if r[0] == 4] == [T("2026-01-20 00:00:00")]


def test_ties_make_one_row_with_every_event(windows_table):
    row = _row(windows_table, 3, "2026-01-05 10:00:00")
    assert (row["count_1h"], row["sum_7d"], row["last_amount"]) == (2, 10.0, 6.0)
    assert row["loaded_at"] == T("2026-01-05 10:02:00")


def test_late_event_marks_every_later_row_as_new(windows_table):
    later = [r for r in windows_table if r[0] == 1 and r[1] >= T("2026-01-02 12:00:00")]
    assert later and all(r[2] == T("2026-01-10 00:00:00") for r in later)
    first = _row(windows_table, 1, "2026-01-01 00:00:00")
    assert first["loaded_at"] == T("2026-01-01 00:05:00")


def test_bad_window_stops_compilation(tmp_path):
    dbt_project(tmp_path, {"bad": (
        "{{ rolling_windows('x', ['k'], 'ts', [{'name': 'n', 'agg': 'count', 'expr': 'id', "
        "'window': '7 days'}]) }}")})
    with pytest.raises(ProjectError) as caught:
        run_dbt_in(tmp_path, "compile", database="bad.duckdb")
    assert ("rolling_windows: window `7 days` is not a duration; write it like 90s, 15m, "
            "1h, 7d or 2w.") in str(caught.value)
