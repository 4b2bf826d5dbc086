"""Rolling windows on Spark against the brute-force reference, full and incremental.

The histories of tests/offline/test_rolling_incremental.py (a 20-minute grid that meets
the 1h, 3h and 1d windows exactly, events a microsecond off it, several events at one
instant, null inputs, exact repeats landed again) run through the spark__rolling_windows
body on a local Spark session: the full build must equal the brute force (the half-open
windows, the exit rows up to the horizon and none past it, ties, last values,
loaded_at), and an incremental run over the previous table, merged by (k, feature_ts)
as delete+insert does, must give the full build's rows bit for bit. The same in three
buckets of entities (`partitions=3`, a Spark hash of the keys): the full build's rows,
and an incremental run in buckets merged into the previous table gives them too.

As in the PIT test, one Hypothesis example is a batch of drawn histories on keys (and
ids) of their own, so each Spark job checks several.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.offline.rolling_support import Event, brute_force
from tests.offline.test_rolling_incremental import AGGREGATES, LAST, histories

from .conftest import load_rows
from .rendering import render_rolling

pytestmark = [pytest.mark.spark, pytest.mark.slow]

BATCHES = 3
# a failing batch is reported as drawn: shrinking it would take many minutes of Spark jobs
NO_SHRINKING = [Phase.explicit, Phase.reuse, Phase.generate]
BATCH_SIZE = 6
RAW = "k bigint, ts timestamp_ntz, amount double, loaded_at timestamp_ntz, id bigint"
# the demo's staging: a repeated event keeps its first landing
STAGING = """
    select k, ts, amount, loaded_at, id from (
        select raw_events.*,
               row_number() over (partition by id order by loaded_at, ts) as landing
        from raw_events
    ) as landed
    where landing = 1
"""
COLUMNS = ["k", "feature_ts", "loaded_at", *(a["name"] for a in AGGREGATES), "last_amount"]


def _sql(previous: str | None = None, partitions: int = 1) -> str:
    return render_rolling("events", ["k"], "ts", AGGREGATES, loaded_at="loaded_at",
                          last_values=LAST, previous=previous, partitions=partitions)


def _land(spark, events: list[Event]) -> None:
    load_rows(spark, "raw_events", RAW,
              [(e.key, e.ts, e.amount, e.loaded_at, e.id) for e in events])
    spark.sql(STAGING).createOrReplaceTempView("events")


def _rows(spark, sql: str) -> list[tuple]:
    frame = spark.sql(f"select {', '.join(COLUMNS)} from ({sql}) as built")
    return sorted((tuple(r) for r in frame.collect()), key=lambda r: (r[0], r[1]))


def _approx(rows):
    return [tuple(pytest.approx(v, rel=1e-9, abs=1e-9) if isinstance(v, float) else v
                  for v in row) for row in rows]


def _first_landings(events: list[Event]) -> list[Event]:
    first = {}
    for event in events:
        if event.id not in first or event.loaded_at < first[event.id].loaded_at:
            first[event.id] = event
    return list(first.values())


def _moved(i: int, event: Event) -> Event:
    return Event(event.key + 10 * i, event.ts, event.amount, event.loaded_at,
                 event.id + 10_000 * i)


@settings(max_examples=BATCHES, deadline=None, phases=NO_SHRINKING,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(batch=st.lists(histories(), min_size=1, max_size=BATCH_SIZE))
def test_spark_rolling_windows_full_and_incremental(spark, batch):
    everything = [_moved(i, e) for i, runs in enumerate(batch) for run in runs for e in run]
    # the incremental run: what landed before the last arrival of all (arrival is one
    # clock for every history of the batch: the watermark is the table's max(loaded_at))
    last_landing = max(e.loaded_at for e in everything) if everything else None
    cut = last_landing.replace(second=0) if last_landing else None
    earlier = [e for e in everything if e.loaded_at < cut]

    if not everything:
        return
    _land(spark, everything)
    full = _rows(spark, _sql())
    assert full == _approx(brute_force(_first_landings(everything), AGGREGATES))
    assert _rows(spark, _sql(partitions=3)) == full

    if not earlier:
        return
    _land(spark, earlier)
    previous = spark.sql(_sql())
    spark.createDataFrame(previous.collect(), previous.schema) \
        .createOrReplaceTempView("previous_features")
    before = _rows(spark, "select * from previous_features")
    _land(spark, everything)
    for partitions in (1, 3):
        changed = _rows(spark, _sql("previous_features", partitions))
        replaced = {(r[0], r[1]) for r in changed}
        merged = sorted([r for r in before if (r[0], r[1]) not in replaced] + changed,
                        key=lambda r: (r[0], r[1]))
        assert merged == full, partitions
