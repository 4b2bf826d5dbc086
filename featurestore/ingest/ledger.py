"""``featurestore.ingested_files``, the ledger: one line per file loaded, refused or unloaded.

A file's rows and its ledger line are written in one transaction (run.py), so the ledger
is the truth of what is in the raw tables. Each raw table carries an ingest-owned column,
``_featurestore_file``, with the ledger's ``file_id`` of the file each row came from:
that is what lets ``featurestore ingest --unload FILE`` take a file's rows out again
(with its line, set to ``unloaded``, in the same transaction). Tables and ledgers made
before these columns existed get them by ``alter table ... add column``; their older
rows have none, and cannot be unloaded one file at a time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from featurestore.errors import RequestError, WarehouseError
from featurestore.ingest.messages import printable
from featurestore.ingest.sources import RawTable

LEDGER = "ingested_files"
FILE_COLUMN = "_featurestore_file"  # in every raw table: the ledger's file_id of the row
LEDGER_COLUMNS = (
    ("run_id", "varchar"), ("source", "varchar"), ("source_table", "varchar"),
    ("path", "varchar"), ("name", "varchar"), ("size", "bigint"), ("sha256", "varchar"),
    ("rows", "bigint"),
    ("status", "varchar"), ("message", "varchar"), ("ingested_at", "timestamp"),
    # what each loaded file's rows are tagged with, and the newest loaded_at they got
    ("file_id", "varchar"), ("loaded_at_max", "timestamp"),
)


def ensure_tables(warehouse, tables: list[RawTable]) -> str:
    """The raw tables (from the declared columns, plus the file column) and the ledger,
    made or brought up to date; the ledger's relation."""
    quote = warehouse.dialect.alias  # Spark reads a double-quoted name as a string

    for table in tables:
        schema = table.relation.rsplit(".", 1)[0]
        warehouse.execute(f"create schema if not exists {schema}")
        wanted = [*table.columns.items(), (FILE_COLUMN, "varchar")]
        _ensure(warehouse, table.relation, [(quote(n), n, t) for n, t in wanted])
    warehouse.ensure_store_schema()
    ledger = warehouse.store_table(LEDGER)
    _ensure(warehouse, ledger, [(n, n, t) for n, t in LEDGER_COLUMNS])
    return ledger


def _ensure(warehouse, relation: str, columns: list[tuple[str, str, str]]) -> None:
    """Create ``relation`` with ``columns`` (sql name, name, type), or add those it lacks."""
    try:
        have = {name.lower() for name in warehouse.columns(relation)}
    except WarehouseError:
        warehouse.execute(f"create table if not exists {relation} "
                          f"({', '.join(f'{sql} {kind}' for sql, _, kind in columns)})")
        return
    for sql, name, kind in columns:
        if name.lower() not in have:
            warehouse.execute(f"alter table {relation} add column {sql} {kind}")


def record(warehouse, ledger: str, values: dict) -> None:
    """One ledger line; ``values`` by column name (message cut to 2,000 characters)."""
    values = {**values, "message": str(values.get("message", ""))[:2000]}
    names = [name for name, _ in LEDGER_COLUMNS if name in values]
    warehouse.execute(f"insert into {ledger} ({', '.join(names)}) values "
                      f"({', '.join('?' for _ in names)})", [values[n] for n in names])


@dataclass(frozen=True)
class Loaded:
    """A loaded file, as the ledger knows it."""

    table: str  # source.table
    name: str
    sha256: str
    rows: int
    ingested_at: dt.datetime
    file_id: str | None


def loaded_files(warehouse, ledger: str, status: str = "loaded",
                 ) -> dict[tuple[str, str], list[Loaded]]:
    """(table, file name) -> its loads (``status`` 'unloaded': those taken out again): a
    file is known by its name and content, not by where the landing folder is mounted
    today."""
    found: dict[tuple[str, str], list[Loaded]] = {}
    for row in warehouse.fetch_all(
            f"select source || '.' || source_table, name, sha256, rows, ingested_at, file_id "
            f"from {ledger} where status = ? order by ingested_at", [status]):
        loaded = Loaded(*row)
        found.setdefault((loaded.table, loaded.name), []).append(loaded)
    return found


@dataclass
class Unloaded:
    table: str
    name: str
    rows: int
    models: list[str]  # the incremental models downstream of the table


def unload(warehouse, ledger: str, tables: list[RawTable], name: str,
           table: str | None, now: dt.datetime) -> Unloaded:
    """Take a loaded file's rows out of its raw table, and set its ledger line to
    ``unloaded``, in one transaction."""
    quote = warehouse.dialect.alias  # Spark reads a double-quoted name as a string

    wanted = name.rsplit("/", 1)[-1]
    by_label = {t.label: t for t in tables} | {t.table: t for t in tables}
    if table and table not in by_label:
        raise RequestError(f"no raw table {table!r} with a landing folder; known: "
                           f"{', '.join(sorted(t.label for t in tables)) or 'none'}")
    matches = [load for (label, file), loads in loaded_files(warehouse, ledger).items()
               for load in loads if file == wanted
               and (table is None or by_label[table].label == label)]
    if not matches:
        raise RequestError(f"{printable(wanted)}: no loaded file of that name"
                           + (f" in {by_label[table].label}" if table else "")
                           + f" (see {ledger}, status 'loaded').")
    labels = sorted({m.table for m in matches})
    if len(labels) > 1:
        raise RequestError(f"{printable(wanted)} is loaded in {', '.join(labels)}: say which "
                           "with --table SOURCE.TABLE.")
    (load,) = matches
    if load.file_id is None:
        raise RequestError(
            f"{load.table}: {printable(wanted)} was loaded before ingest tagged each row "
            f"with its file ({FILE_COLUMN}), so its rows cannot be told from other files'. "
            "Delete them by their own columns in SQL, then rebuild with "
            "`featurestore build --full-refresh`.")
    raw = by_label[load.table]
    with warehouse.transaction():
        (rows,) = warehouse.fetch_all(f"select count(*) from {raw.relation} "
                                      f"where {quote(FILE_COLUMN)} = ?", [load.file_id])[0]
        warehouse.execute(f"delete from {raw.relation} where {quote(FILE_COLUMN)} = ?",
                          [load.file_id])
        warehouse.execute(
            f"update {ledger} set status = 'unloaded', message = ? where file_id = ?",
            [f"unloaded at {now.isoformat(sep=' ')}: {rows:,} row{'' if rows == 1 else 's'} "
             "removed", load.file_id])
    return Unloaded(load.table, wanted, int(rows), [])
