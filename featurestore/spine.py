"""Training spines: the rows a training set is built for, read and checked up front.

A spine is a Parquet or CSV file with the entity key columns of every requested view, an
``event_ts`` column (naive UTC: the moment each row is scored at) and any other columns
(labels, ids), which are carried through. A bad spine would otherwise surface deep in the
join as a cast error, or worse as a silently empty or shifted training set, so every
problem a user can make here gets one error naming the file, the column and the fix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from featurestore.contracts import FeatureView
from featurestore.dtypes import accepts
from featurestore.errors import SpineError

EVENT_TS = "event_ts"
FORMATS = {".parquet": "read_parquet", ".pq": "read_parquet", ".csv": "read_csv"}
_NAIVE_TIMESTAMPS = frozenset({"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"})
_KEY_CASTS = {"int64": "an integer (BIGINT)", "string": "text (VARCHAR)"}


@dataclass(frozen=True)
class Spine:
    path: Path
    relation: str  # SQL that reads the file, for the join
    columns: dict[str, str]  # name -> DuckDB type, in file order
    rows: int
    sha256: str

    def to_manifest(self) -> dict:
        return {"path": str(self.path), "sha256": self.sha256, "rows": self.rows,
                "columns": [{"name": n, "type": t} for n, t in self.columns.items()]}


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def spine_relation(path: Path) -> str:
    """The DuckDB table function call that reads the spine file."""
    reader = FORMATS.get(path.suffix.lower())
    if reader is None:
        raise SpineError(str(path), f"unsupported spine format `{path.suffix or '(none)'}`; "
                         "write it as .parquet or .csv")
    return f"{reader}({sql_string(str(path))})"


def read_spine(path: Path | str, views: list[FeatureView], connection) -> Spine:
    """Check ``path`` against the views' keys; return how to read it and what it holds.

    Args:
        path: the spine file (.parquet or .csv).
        views: the feature views the training set joins; their keys must be columns.
        connection: a DuckDB connection (the spine is read by DuckDB, never by pandas).
    """
    import duckdb

    path = Path(path).resolve()
    display = str(path)
    if not path.is_file():
        raise SpineError(display, "file not found; give the path of a .parquet or .csv spine")
    relation = spine_relation(path)
    try:
        described = connection.execute(f"describe select * from {relation}").fetchall()
    except duckdb.Error as exc:
        raise SpineError(display, f"cannot be read as {path.suffix[1:]}: {exc}") from None
    columns = {row[0]: str(row[1]) for row in described}

    if EVENT_TS not in columns:
        raise SpineError(display, f"column `{EVENT_TS}` is missing: the spine needs the time "
                         "each row is scored at (naive UTC). Rename your time column to "
                         f"`{EVENT_TS}`.")
    ts_type = columns[EVENT_TS].upper()
    if ts_type in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        raise SpineError(display, f"column `{EVENT_TS}` is timezone-aware ({ts_type}) but the "
                         "warehouse stores naive UTC. Convert it to UTC and drop the zone, "
                         "e.g. in pandas: df['event_ts'] = "
                         "df['event_ts'].dt.tz_convert('UTC').dt.tz_localize(None)")
    if ts_type not in _NAIVE_TIMESTAMPS:
        raise SpineError(display, f"column `{EVENT_TS}` has type {ts_type}, not a timestamp. "
                         "Store it as a timestamp (Parquet) or as ISO-8601 text like "
                         "2026-05-01 12:00:00 in every row (CSV), in naive UTC.")

    for view in views:
        for key in view.entity.join_keys:
            if key.name not in columns:
                raise SpineError(display, f"column `{key.name}` is missing; view `{view.name}` "
                                 f"joins on entity `{view.entity.name}` by "
                                 f"{', '.join(view.keys)}. Add `{key.name}` "
                                 f"({key.dtype}) to the spine.")
            if not accepts(key.dtype, columns[key.name]):
                raise SpineError(display, f"column `{key.name}` has type {columns[key.name]} "
                                 f"but entity `{view.entity.name}` has {key.dtype} keys. "
                                 f"Store it as {_KEY_CASTS[key.dtype]} in the spine.")

    rows, null_ts = connection.execute(
        f"select count(*), count(*) - count({EVENT_TS}) from {relation}"
    ).fetchall()[0]
    if null_ts:
        first_null = connection.execute(
            f"select min(_row) from (select {EVENT_TS}, row_number() over () as _row "
            f"from {relation}) where {EVENT_TS} is null"
        ).fetchall()[0][0]
        raise SpineError(display, f"{null_ts} row(s) have a null `{EVENT_TS}` (the first is "
                         f"data row {first_null}). Drop or fill them: every training row "
                         "needs the time it is scored at.")
    return Spine(path, relation, columns, int(rows), file_sha256(path))
