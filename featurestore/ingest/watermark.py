"""The loader's column: ``loaded_at`` is ingest's to assign, not a producer's.

Incremental models (and the sync, on ``created_timestamp``, the same column) read the
rows whose ``loaded_at`` is past the newest they hold. A producer's clock two hours
ahead, or a year typed as 2099, would put that watermark where no later row reaches,
and a clock behind would hide its rows beneath it, silently. So:

- The load time of a run is monotonic: this host's clock, but never earlier than (one
  microsecond after) the previous run's load time or any ``loaded_at`` already assigned.
- A file without the column, and a row with it empty, get the load time.
- A producer's value is kept only inside the window ``(newest loaded_at assigned by any
  earlier run, over all raw tables, this run's load time]``; outside it, it is clamped
  to the nearest end (one microsecond after the lower bound, or the load time). The
  count and the extreme original values go into the file's ledger message and its
  progress line.
- The first load (no ``loaded_at`` assigned yet: a history bootstrap) keeps the
  producer's times up to its load time.

So ``max(loaded_at)`` over everything ingested only grows, and every row of a run lands
strictly after every row of the runs before it. The bound is per run, not per file:
files of one run may interleave, so a build must not run between them (the loop
ingests, then builds; on DuckDB an ingest holds the warehouse for the whole run).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from featurestore.dtypes import utc_naive
from featurestore.errors import WarehouseError

TICK = dt.timedelta(microseconds=1)


@dataclass
class LoadWindow:
    """The ``loaded_at`` values a run may assign: ``(after, load_time]``."""

    after: dt.datetime | None  # the newest loaded_at any earlier run assigned (None: none)
    load_time: dt.datetime
    notes: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, warehouse, ledger: str, tables, now: dt.datetime) -> LoadWindow:
        """This run's window, from the ledger (and, for files loaded before the ledger
        kept what it assigned, from the raw tables themselves)."""
        newest, last_run, legacy, legacy_run = warehouse.fetch_all(
            f"select max(loaded_at_max), max(ingested_at), "
            f"sum(case when status = 'loaded' and file_id is null then 1 else 0 end), "
            f"max(case when file_id is null then ingested_at end) from {ledger}")[0]
        notes: list[str] = []
        if legacy:
            older = _legacy_newest(warehouse, tables, utc_naive(legacy_run), notes)
            newest = max(filter(None, (newest, older)), default=None)
        bounds = [utc_naive(now)]
        bounds += [utc_naive(v) + TICK for v in (newest, last_run) if v is not None]
        return cls(utc_naive(newest) if newest else None, max(bounds), notes)

    def label(self) -> str:
        return (f"({self.after.isoformat(sep=' ') if self.after else '-infinity'}, "
                f"{self.load_time.isoformat(sep=' ')}]")

    def assign(self, dialect, convert: str | None) -> str:
        """SQL of the column's stored value from the file's converted value ``convert``
        (None: the file has no such column)."""
        stamp = dialect.timestamp_literal(self.load_time)
        if convert is None:
            return stamp
        low = ""
        if self.after is not None:
            low = (f"when {convert} <= {dialect.timestamp_literal(self.after)} "
                   f"then {dialect.timestamp_literal(self.after + TICK)} ")
        return (f"case when {convert} is null then {stamp} when {convert} > {stamp} "
                f"then {stamp} {low}else {convert} end")

    def clamped(self, warehouse, relation: str, name: str, convert: str | None,
                total: int) -> str:
        """What the run did to a file's producer values, for its ledger message and
        progress line ("" when it kept them all)."""
        if convert is None:
            return ""
        dialect = warehouse.dialect
        outside = f"{convert} > {dialect.timestamp_literal(self.load_time)}"
        if self.after is not None:
            outside += f" or {convert} <= {dialect.timestamp_literal(self.after)}"
        count, earliest, latest, empty = warehouse.fetch_all(
            f"select sum(case when {outside} then 1 else 0 end), "
            f"min(case when {outside} then {convert} end), "
            f"max(case when {outside} then {convert} end), "
            f"sum(case when {convert} is null then 1 else 0 end) from {relation}")[0]
        said = []
        if count:
            said.append(f"{name}: {count:,} of {total:,} producer values outside this "
                        f"run's window {self.label()} clamped into it (earliest "
                        f"{utc_naive(earliest).isoformat(sep=' ')}, latest "
                        f"{utc_naive(latest).isoformat(sep=' ')})")
        if empty:
            said.append(f"{name}: {empty:,} empty, stamped with the load time "
                        f"{self.load_time.isoformat(sep=' ')}")
        return "; ".join(said)


def _legacy_newest(warehouse, tables, legacy_run: dt.datetime,
                   notes: list[str]) -> dt.datetime | None:
    """The newest loaded_at in raw tables loaded before the ledger recorded it, but no
    later than the last of those loads ran: a producer's future time already there
    cannot drag every later load into the future."""
    quote = warehouse.dialect.alias  # Spark reads a double-quoted name as a string

    newest = None
    for table in tables:
        if table.loaded_at is None:
            continue
        try:
            (value,) = warehouse.fetch_all(
                f"select max({quote(table.loaded_at)}) from {table.relation}")[0]
        except WarehouseError:
            continue
        if value is None:
            continue
        value = utc_naive(value)
        if value > legacy_run:
            notes.append(
                f"{table.label}: holds {table.loaded_at} up to {value.isoformat(sep=' ')}, "
                f"later than its last load ({legacy_run.isoformat(sep=' ')}): a producer's "
                "clock, loaded before ingest clamped it. Incremental models reading it stop "
                "at that watermark: correct or delete those rows, then rebuild them with "
                "`featurestore build --full-refresh`.")
            value = legacy_run
        newest = value if newest is None else max(newest, value)
    return newest
