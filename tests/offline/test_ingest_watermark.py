"""loaded_at is the loader's: a producer's clock hours or years off either way is clamped
into the run's window, so max(loaded_at) only grows and every run's rows land strictly
after every earlier run's. The clock is injected: runs are hours apart, or go back."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from featurestore.ingest import ingest
from tests.offline.ingest_support import orders, raw_rows

C1 = dt.datetime(2026, 6, 1, 12)
HOUR, US = dt.timedelta(hours=1), dt.timedelta(microseconds=1)
SKEWS = {"+2h": 2 * HOUR, "+73y": dt.timedelta(days=73 * 365), "-2h": -2 * HOUR,
         "-30y": -dt.timedelta(days=30 * 365)}


def _land(project, name: str, first: int, stamps: list[dt.datetime | None] | None) -> None:
    rows = orders(first, len(stamps) if stamps is not None else 1)
    if stamps is not None:
        rows = rows.append_column("loaded_at", pa.array(stamps, pa.timestamp("us")))
    pq.write_table(rows, project.root / "landing" / "orders" / f"{name}.parquet")


def _stamps(project) -> dict[int, dt.datetime]:
    return dict(raw_rows(project, "order_id, loaded_at"))


def test_producer_clocks_skewed_either_way_are_clamped_into_the_window(shop):
    # run 1, a history bootstrap: old times kept, a future one clamped to the load time
    _land(shop, "history", 1, [C1 - dt.timedelta(days=400), C1 + 2 * HOUR])
    first = ingest(shop, clock=lambda: C1)
    assert _stamps(shop) == {1: C1 - dt.timedelta(days=400), 2: C1}
    assert first.files[0].message == (
        "loaded_at: 1 of 2 producer values outside this run's window (-infinity, "
        "2026-06-01 12:00:00] clamped into it (earliest 2026-06-01 14:00:00, latest "
        "2026-06-01 14:00:00)")
    # run 2, an hour later: every skew, one value inside the window, one empty
    c2 = C1 + HOUR
    skewed = [c2 + skew for skew in SKEWS.values()]
    _land(shop, "skewed", 10, [*skewed, C1 + 30 * dt.timedelta(minutes=1), None])
    lines: list[str] = []
    second = ingest(shop, clock=lambda: c2, progress=lines.append)
    assert second.load_time == c2
    assert _stamps(shop) == {1: C1 - dt.timedelta(days=400), 2: C1, 10: c2, 11: c2,
                             12: C1 + US, 13: C1 + US, 14: C1 + dt.timedelta(minutes=30),
                             15: c2}
    message = ("loaded_at: 4 of 6 producer values outside this run's window (2026-06-01 "
               "12:00:00, 2026-06-01 13:00:00] clamped into it (earliest 1996-06-08 "
               "13:00:00, latest 2099-05-14 13:00:00); loaded_at: 1 empty, stamped with the "
               "load time 2026-06-01 13:00:00")
    assert [f.message for f in second.files if f.status == "loaded"] == [message]
    assert lines == [f"shop.orders: skewed.parquet: loaded, 6 rows ({message})"]
    # run 3: this host's clock went back two hours; the load time does not
    _land(shop, "plain", 20, None)
    third = ingest(shop, clock=lambda: c2 - 2 * HOUR)
    assert third.load_time == c2 + US
    assert _stamps(shop)[20] == c2 + US


def _reset(project) -> None:
    folder = project.root / "landing" / "orders"
    shutil.rmtree(folder)
    folder.mkdir()
    shutil.rmtree(project.root / "landing" / "_quarantine", ignore_errors=True)
    project.settings.duckdb_path.unlink(missing_ok=True)


skew = st.one_of(st.none(), st.sampled_from(sorted(SKEWS)),
                 st.integers(-10 ** 6, 10 ** 6).map(lambda s: dt.timedelta(seconds=s)))
runs = st.lists(st.tuples(st.integers(-7_200, 86_400),  # the clock's step since the last run
                          st.lists(st.lists(skew, min_size=1, max_size=3), max_size=3)),
                min_size=1, max_size=5)


@settings(max_examples=25, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(runs=runs)
def test_any_runs_with_any_producer_clocks_keep_the_watermark_moving(shop, runs):
    """Checked with its own SQL over the raw rows: a run's rows all land after every
    earlier run's, no later than its load time, which is never behind the clock or an
    earlier run's; a producer's value is kept exactly when it falls in the window, and
    clamped to its nearest end otherwise."""
    _reset(shop)
    clock, first_id, earlier, last_load = C1, 1, None, None
    for step, files in runs:
        clock += dt.timedelta(seconds=step)
        produced: dict[int, dt.datetime | None] = {}
        for number, file in enumerate([*files, None]):  # and one file without loaded_at
            stamps = None if file is None else [
                None if s is None else clock + (SKEWS[s] if isinstance(s, str) else s)
                for s in file]
            _land(shop, f"r{first_id}-{number}", first_id, stamps)
            ids = range(first_id, first_id + (1 if stamps is None else len(stamps)))
            produced.update(zip(ids, stamps or [None], strict=True))
            first_id += len(ids)
        load = ingest(shop, clock=lambda now=clock: now).load_time
        with duckdb.connect(str(shop.settings.duckdb_path), read_only=True) as con:
            got = dict(con.execute(f"select order_id, loaded_at from raw.orders "
                                   f"where order_id >= {min(produced)}").fetchall())
            (top,) = con.execute("select max(loaded_at) from raw.orders").fetchone()
        assert load >= clock and (last_load is None or load > last_load)
        assert earlier is None or min(got.values()) > earlier
        assert max(got.values()) <= load and top >= (earlier or top)
        for order_id, value in produced.items():
            expected = load if value is None or value > load else value
            if earlier is not None and value is not None and value <= earlier:
                expected = earlier + US
            assert got[order_id] == expected, (order_id, value, earlier, load)
        earlier, last_load = top, load
