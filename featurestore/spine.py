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
from featurestore.dialects.base import Dialect
from featurestore.dtypes import accepts
from featurestore.errors import SpineError, WarehouseError

if TYPE_CHECKING:
    import pyarrow as pa

EVENT_TS = "event_ts"
SPINE_RELATION = "featurestore_spine"
RESERVED_PREFIX = "_fs_"  # the as-of join's own columns (macros/point_in_time/)
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


def read_spine_table(path: Path) -> pa.Table:
    """A spine file read into Arrow (for warehouses that cannot read local files)."""
    import pyarrow as pa

    fmt = Dialect.spine_format(path)
    try:
        if fmt == "csv":
            import pyarrow.csv as pv

            return pv.read_csv(path)
        import pyarrow.parquet as pq

        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise SpineError(str(path), f"cannot be read as {path.suffix[1:]}: {exc}") from None


def shown(name: object) -> str:
    """A column name for a message: between backticks, or as a Python string literal when
    it holds what a terminal or a log line would act on (a newline, an escape)."""
    text = str(name)
    return f"`{text}`" if text.isprintable() and "`" not in text else repr(text)


def frame_source(spine: object) -> str:
    """How messages name a spine given as a frame: ``<pandas.DataFrame>``."""
    return f"<{type(spine).__module__.split('.')[0]}.{type(spine).__name__}>"


def as_arrow(spine: object) -> pa.Table | None:
    """A frame as a pyarrow Table (no copy for Arrow-backed frames); None for a path.
    A frame Arrow cannot hold (duplicate column names, a column of mixed Python types)
    is a SpineError naming the column, not the library's exception."""
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
        check_names(frame_source(spine), [str(name) for name in spine.columns])
        return _from_pandas(spine, pa)
    raise SpineError(f"<{type(spine).__name__}>", "a spine is a path (.parquet or .csv), a "
                     "pandas or polars DataFrame, or a pyarrow Table")


def _from_pandas(frame, pa) -> pa.Table:
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, ValueError, TypeError):
        pass
    for name in frame.columns:  # find the column that does not convert, and why
        try:
            pa.array(frame[name], from_pandas=True)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise SpineError(frame_source(frame), f"column {shown(name)} holds values of "
                             f"more than one type, or Python objects Arrow cannot store "
                             f"({exc}). Give the column one type: numbers, text or "
                             "timestamps.") from None
    raise SpineError(frame_source(frame), "cannot be converted to an Arrow table; pass a "
                     "DataFrame of numbers, text and timestamps, or a pyarrow Table")


def check_names(source: str, names: list[str]) -> None:
    """Every column has a name, none of the join's own (``_fs_*``), and no two the same:
    the warehouses do not tell upper from lower case in an unquoted name, so ``user_id``
    and ``USER_ID`` are one name there, and the join or the output would pick one of
    them silently."""
    if not names:
        raise SpineError(source, "has no columns; a spine needs the views' key columns "
                         "and the event time column (event_ts)")
    if any(name.strip() == "" for name in names):
        position = next(i for i, name in enumerate(names, start=1) if name.strip() == "")
        raise SpineError(source, f"column {position} has an empty name; name every column")
    reserved = [name for name in names if name.lower().startswith(RESERVED_PREFIX)]
    if reserved:
        raise SpineError(source, f"column {shown(reserved[0])} starts with "
                         f"`{RESERVED_PREFIX}`, which the training set's SQL keeps for its "
                         "own columns; rename it")
    seen: dict[str, str] = {}
    for name in names:
        first = seen.get(name.lower())
        if first is not None:
            clash = (f"column {shown(name)} appears twice" if first == name else
                     f"columns {shown(first)} and {shown(name)} differ only in case, which "
                     "the warehouse does not tell apart")
            raise SpineError(source, f"{clash}; rename or drop one of them")
        seen[name.lower()] = name


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
    source, path, table, relation = _open(warehouse, spine)
    columns = _columns(warehouse, source, relation, table)
    found = {name.lower(): name for name in columns}
    if event_ts.lower() not in found:
        raise SpineError(source, f"column {shown(event_ts)} is missing: the spine needs the "
                         "time each row is scored at. Name your time column "
                         f"{shown(event_ts)}, or pass its name as the event time column "
                         "(--event-ts, or event_ts= in the SDK). The spine's columns: "
                         f"{', '.join(shown(name) for name in columns)}.")
    ts_type = columns[found[event_ts.lower()]]
    tz_aware = warehouse.dialect.is_tz_type(ts_type)
    if not tz_aware and not accepts("timestamp", ts_type):
        raise SpineError(source, f"column {shown(event_ts)} has type {ts_type}, not a "
                         "timestamp. Store it as a timestamp (Parquet, a DataFrame) or as "
                         "ISO-8601 text like 2026-05-01 12:00:00 in every row (CSV)."
                         + _NULL_TYPE_HINT * (ts_type.strip('"').upper() == "NULL"))
    _check_keys(source, columns, found, views)

    quoted = warehouse.dialect.column(found[event_ts.lower()])
    rows, null_ts = _count(warehouse, relation, table, event_ts, quoted)
    if null_ts:
        first_null = warehouse.fetch_all(
            f"select min(_row) from (select {quoted}, row_number() over () as _row "
            f"from {relation}) as numbered where {quoted} is null")[0][0]
        raise SpineError(source, f"{null_ts} row(s) have a null {shown(event_ts)} (the first "
                         f"is data row {first_null}). Drop or fill them: every training row "
                         "needs the time it is scored at.")
    digest = file_sha256(path) if path is not None else table_sha256(table)
    return Spine(source, relation, columns, rows, digest, event_ts, tz_aware, table)


# an empty frame's (or an all-null column's) type: nothing to tell it from
_NULL_TYPE_HINT = (" The column holds no values to tell its type from (an empty or "
                   "all-null column): give it one, e.g. pandas `astype('datetime64[us]')`.")


def _open(warehouse, spine: object) -> tuple[str, Path | None, pa.Table | None, str]:
    """(source, path, Arrow table, relation): the spine made readable by the warehouse,
    in place where it can read the file, else through Arrow."""
    table = as_arrow(spine)
    path = relation = None
    if table is None:
        path = Path(spine).resolve()
        source = str(path)
        if not path.is_file():
            raise SpineError(source, "file not found; give the path of a .parquet or .csv "
                             "spine")
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            raise SpineError(source, f"cannot be read ({exc.strerror}); check the file's "
                             "permissions, or copy it somewhere this process can read") from None
        relation = warehouse.dialect.file_relation(path)
        if relation is None:
            table = read_spine_table(path)
    else:
        source = frame_source(spine)
    if table is not None:
        check_names(source, table.column_names)
    if relation is None:
        relation = warehouse.dialect.load_arrow(warehouse, table, SPINE_RELATION)
    return source, path, table, relation


def _columns(warehouse, source: str, relation: str, table) -> dict[str, str]:
    """Column name -> warehouse type, in the frame's own spelling (a warehouse may fold
    the case); a file the warehouse cannot read is named with the reader's reason."""
    try:
        cursor = warehouse.execute(f"select * from {relation} limit 0")
        columns = warehouse.dialect.result_types(cursor)
    except WarehouseError as exc:
        kind = Path(source).suffix[1:] or "a table"
        reason = str(exc.__cause__ or exc).strip().splitlines()[0]
        raise SpineError(source, f"cannot be read as {kind} ({reason}); write the spine "
                         "again, or give another file") from None
    if table is None:
        check_names(source, list(columns))
        return columns
    types = {name.lower(): kind for name, kind in columns.items()}
    return {name: types[name.lower()] for name in table.column_names}


def _check_keys(source: str, columns: dict[str, str], found: dict[str, str],
                views: list[FeatureView]) -> None:
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
                                 f"Store it as {_KEY_CASTS[key.dtype]} in the spine."
                                 + _NULL_TYPE_HINT * (columns[actual].strip('"').upper()
                                                      == "NULL"))


def _count(warehouse, relation: str, table, event_ts: str, quoted: str) -> tuple[int, int]:
    """(rows, rows with a null event time): from Arrow's own counts when in memory."""
    if table is not None:
        names = {name.lower(): name for name in table.column_names}
        return table.num_rows, table.column(names[event_ts.lower()]).null_count
    rows, null_ts = warehouse.fetch_all(
        f"select count(*), count(*) - count({quoted}) from {relation}")[0]
    return int(rows), int(null_ts)
