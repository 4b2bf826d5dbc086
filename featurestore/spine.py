"""Training spines: the rows a training set is built for, read and checked up front.

A spine is a file (Parquet or CSV) or a frame in memory (a pandas or polars DataFrame, a
pyarrow Table) with the entity key columns of every requested view, an event time
column (``event_ts`` unless named otherwise: the moment each row is scored at) and any
other columns (labels, ids), which are carried through. The event time may be naive UTC
or timezone-aware: an aware one is compared by its instant and comes back aware, in UTC.
A bad spine would otherwise surface deep in the join as a cast error, or worse as a
silently empty or shifted training set, so every problem a user can make here gets one
error naming the spine, the column and the fix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from featurestore.contracts import FeatureView
from featurestore.dtypes import accepts
from featurestore.errors import SpineError, WarehouseError

if TYPE_CHECKING:
    import pyarrow as pa

EVENT_TS = "event_ts"
FILE_READERS = {".parquet": "read_parquet", ".pq": "read_parquet", ".csv": "read_csv"}
# characters DuckDB's file readers take as a glob pattern, not as part of the name
GLOB_CHARACTERS = frozenset("*?[]{}")
SPINE_RELATION = "featurestore_spine"
_KEY_CASTS = {"int64": "an integer (BIGINT)", "string": "text (VARCHAR)"}


@dataclass
class Spine:
    """A checked spine: where it came from, how SQL reads it, and what it holds."""

    source: str  # the file's path, or a description of the frame
    relation: str  # SQL that reads it
    columns: dict[str, str]  # name -> warehouse type, in order
    rows: int
    sha256: str
    event_ts: str
    tz_aware: bool  # the event time was timezone-aware (the output keeps that form)
    table: pa.Table | None = field(default=None, repr=False)

    def to_manifest(self) -> dict:
        return {"path": self.source, "sha256": self.sha256, "rows": self.rows,
                "event_ts": self.event_ts, "event_ts_timezone": "UTC" if self.tz_aware
                else None,
                "columns": [{"name": n, "type": t} for n, t in self.columns.items()]}


def file_reader(path: Path) -> str:
    """The DuckDB table function that reads a spine file."""
    reader = FILE_READERS.get(path.suffix.lower())
    if reader is None:
        raise SpineError(str(path), f"unsupported spine format `{path.suffix or '(none)'}`; "
                         "write it as .parquet or .csv")
    return reader


def read_spine_table(path: Path) -> pa.Table:
    """A spine file read into Arrow (for warehouses that cannot read local files)."""
    import pyarrow as pa

    file_reader(path)
    try:
        if path.suffix.lower() == ".csv":
            import pyarrow.csv as pv

            return pv.read_csv(path)
        import pyarrow.parquet as pq

        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise SpineError(str(path), f"cannot be read as {path.suffix[1:]}: {exc}") from None


def as_arrow(spine: object) -> pa.Table | None:
    """A frame as a pyarrow Table (no copy for Arrow-backed frames); None for a path."""
    if isinstance(spine, str | Path):
        return None
    import pyarrow as pa

    if isinstance(spine, pa.Table):
        return spine
    if isinstance(spine, pa.RecordBatch):
        return pa.Table.from_batches([spine])
    module = type(spine).__module__.split(".")[0]
    if module == "polars":
        return spine.to_arrow()
    if module == "pandas":
        return pa.Table.from_pandas(spine, preserve_index=False)
    raise SpineError(f"<{type(spine).__name__}>", "a spine is a path (.parquet or .csv), a "
                     "pandas or polars DataFrame, or a pyarrow Table")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_sha256(table: pa.Table) -> str:
    """A hash of the frame's schema and values (Arrow IPC, batch by batch)."""
    digest = hashlib.sha256(table.schema.serialize().to_pybytes())
    for batch in table.to_batches():
        digest.update(batch.serialize())
    return digest.hexdigest()


def load_spine(warehouse, spine: object, views: list[FeatureView],
               event_ts: str = EVENT_TS) -> Spine:
    """Make ``spine`` readable by the warehouse and check it against the views' keys.

    Args:
        warehouse: the open warehouse the join runs in.
        spine: a path (.parquet or .csv), or a pandas/polars DataFrame or pyarrow Table.
        views: the feature views the training set joins; their keys must be columns.
        event_ts: the spine's event time column.
    """
    table = as_arrow(spine)
    path = None
    relation = None
    if table is None:
        path = Path(spine).resolve()
        source = str(path)
        if not path.is_file():
            raise SpineError(source, "file not found; give the path of a .parquet or .csv "
                             "spine")
        # a name with glob characters is read literally, through Arrow: DuckDB would
        # read the files the pattern matches, while the manifest hashes this one
        if not GLOB_CHARACTERS & set(str(path)):
            relation = warehouse.dialect.file_relation(path)
        if relation is None:
            table = read_spine_table(path)
    else:
        source = f"<{type(spine).__module__.split('.')[0]}.{type(spine).__name__}>"
    if relation is None:
        relation = warehouse.dialect.load_arrow(warehouse, table, SPINE_RELATION)
    try:
        columns = warehouse.columns(relation)
    except WarehouseError as exc:
        kind = Path(source).suffix[1:] or "a table"
        raise SpineError(source, f"cannot be read as {kind}: {exc}") from None
    if table is not None:  # the frame's own spelling (a warehouse may fold the case)
        types = {name.lower(): kind for name, kind in columns.items()}
        columns = {name: types[name.lower()] for name in table.column_names}

    found = {name.lower(): name for name in columns}
    if event_ts.lower() not in found:
        raise SpineError(source, f"column `{event_ts}` is missing: the spine needs the time "
                         "each row is scored at. Name your time column "
                         f"`{event_ts}`, or pass its name as the event time column "
                         "(--event-ts, or event_ts= in the SDK).")
    ts_type = columns[found[event_ts.lower()]]
    tz_aware = warehouse.dialect.is_tz_type(ts_type)
    if not tz_aware and not accepts("timestamp", ts_type):
        raise SpineError(source, f"column `{event_ts}` has type {ts_type}, not a timestamp. "
                         "Store it as a timestamp (Parquet, a DataFrame) or as ISO-8601 "
                         "text like 2026-05-01 12:00:00 in every row (CSV).")
    for view in views:
        for key in view.entity.join_keys:
            actual = found.get(key.name.lower())
            if actual is None:
                raise SpineError(source, f"column `{key.name}` is missing; view `{view.name}` "
                                 f"joins on entity `{view.entity.name}` by "
                                 f"{', '.join(view.keys)}. Add `{key.name}` "
                                 f"({key.dtype}) to the spine.")
            if not accepts(key.dtype, columns[actual]):
                raise SpineError(source, f"column `{key.name}` has type {columns[actual]} "
                                 f"but entity `{view.entity.name}` has {key.dtype} keys. "
                                 f"Store it as {_KEY_CASTS[key.dtype]} in the spine.")

    rows, null_ts = _count(warehouse, relation, table, event_ts)
    if null_ts:
        first_null = warehouse.fetch_all(
            f"select min(_row) from (select {event_ts}, row_number() over () as _row "
            f"from {relation}) as numbered where {event_ts} is null")[0][0]
        raise SpineError(source, f"{null_ts} row(s) have a null `{event_ts}` (the first is "
                         f"data row {first_null}). Drop or fill them: every training row "
                         "needs the time it is scored at.")
    digest = file_sha256(path) if path is not None else table_sha256(table)
    return Spine(source, relation, columns, rows, digest, event_ts, tz_aware, table)


def _count(warehouse, relation: str, table, event_ts: str) -> tuple[int, int]:
    """(rows, rows with a null event time): from Arrow's own counts when in memory."""
    if table is not None:
        names = {name.lower(): name for name in table.column_names}
        return table.num_rows, table.column(names[event_ts.lower()]).null_count
    rows, null_ts = warehouse.fetch_all(
        f"select count(*), count(*) - count({event_ts}) from {relation}")[0]
    return int(rows), int(null_ts)
