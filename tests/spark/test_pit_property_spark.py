"""Property test on Spark: the spark__ as-of join equals the brute-force reference.

The same histories, spines and scenarios as tests/offline/test_pit_property.py (ties of
event and feature times, nulls, the exact TTL bound, unknown entities, null keys and
times, colliding two-column keys, duplicated spine rows, corrections and backfills, with
known_at_event both ways), run on a local Spark session.

Each Spark job costs a second or two even on a handful of rows, so one Hypothesis
example is a batch of up to ten drawn examples, each moved to keys of its own (view_a's
k + 10 * i; view_b's k1 prefixed with "i:", which keeps ('1', '23') and ('12', '3')
colliding when concatenated). Keys of different examples never meet, so the batch is
one bigger example of the same rules, and the reference runs on it whole. The batch is
loaded once and every scenario's query runs on it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from featurestore.sql_render import render_as_of_join
from tests.offline.pit_reference import as_of_join as reference_join
from tests.offline.pit_reference import assert_same_rows
from tests.offline.test_pit_property import (
    BASE,
    DEFAULTS,
    SCENARIOS,
    SPINE_COLUMNS,
    spines,
    view_a_rows,
    view_b_rows,
)

from .conftest import load_rows

pytestmark = [pytest.mark.spark, pytest.mark.slow]

BATCHES = 3  # Hypothesis examples; each a batch of up to BATCH_SIZE drawn examples
BATCH_SIZE = 10
SPINE = "k bigint, k1 string, k2 string, event_ts timestamp_ntz, label bigint"
ROWS_A = "k bigint, feature_ts timestamp_ntz, created_ts timestamp_ntz, x bigint, y string"
ROWS_B = "k1 string, k2 string, ts timestamp_ntz, z bigint"

# a tie on feature_ts between a known and an unknown (null) created_ts: the known one wins
KNOWN_BEATS_UNKNOWN = (
    [{"k": 1, "k1": None, "k2": None, "event_ts": BASE + timedelta(minutes=2), "label": 0}],
    [{"k": 1, "feature_ts": BASE, "created_ts": BASE - timedelta(minutes=1), "x": 1, "y": "p"},
     {"k": 1, "feature_ts": BASE, "created_ts": None, "x": 2, "y": "q"}],
    [],
)


def _moved(i: int, row: dict) -> dict:
    """``row`` on example ``i``'s own keys."""
    moved = dict(row)
    if "k" in moved and moved["k"] is not None:
        moved["k"] += 10 * i
    if "k1" in moved and moved["k1"] is not None:
        moved["k1"] = f"{i}:{moved['k1']}"
    return moved


def _combined(batch):
    spine, rows_a, rows_b = [], [], []
    for i, (one_spine, one_a, one_b) in enumerate(batch):
        spine += [_moved(i, r) for r in one_spine]
        rows_a += [_moved(i, r) for r in one_a]
        rows_b += [_moved(i, r) for r in one_b]
    return spine, rows_a, rows_b


def _load(spark, spine, rows_a, rows_b) -> None:
    load_rows(spark, "pit_spine", SPINE, [tuple(r[c] for c in SPINE_COLUMNS) for r in spine])
    load_rows(spark, "pit_rows_a", ROWS_A,
              [(r["k"], r["feature_ts"], r["created_ts"], r["x"], r["y"]) for r in rows_a])
    load_rows(spark, "pit_rows_b", ROWS_B,
              [(r["k1"], r["k2"], r["ts"], r["z"]) for r in rows_b])


def test_spark_as_of_join_matches_brute_force(spark):
    queries = {name: render_as_of_join("spark", "pit_spine", specs, "event_ts", known)
               for name, (specs, known) in SCENARIOS.items()}

    @settings(max_examples=BATCHES, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.data_too_large])
    @given(batch=st.lists(st.tuples(spines(), view_a_rows(), view_b_rows()),
                          min_size=1, max_size=BATCH_SIZE))
    @example(batch=[KNOWN_BEATS_UNKNOWN])
    def check(batch):
        spine, rows_a, rows_b = _combined(batch)
        _load(spark, spine, rows_a, rows_b)
        by_view = {"view_a": rows_a, "view_b": rows_b}
        for name, (specs, known) in SCENARIOS.items():
            expected = reference_join(spine, SPINE_COLUMNS,
                                      [(spec, by_view[spec["name"]]) for spec in specs],
                                      DEFAULTS, known_at_event=known)
            got = [tuple(row) for row in spark.sql(queries[name]).collect()]
            assert len(got) == len(spine), f"{name}: row count changed"
            assert_same_rows(got, expected, f"{name}: the spark body disagrees with the "
                             "reference")

    check()
