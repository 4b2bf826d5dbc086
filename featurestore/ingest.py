"""Landing files into raw tables, each exactly once.

Raw events arrive as files (Parquet, CSV or JSON lines) in a landing folder per source
table: a local folder, or an S3 prefix. The tables are dbt sources, declared where dbt
declares them, with two additions featurestore reads from the dbt manifest:

    sources:
      - name: demo
        schema: raw
        meta:
          featurestore:
            landing: "{{ env_var('FEATURESTORE_LANDING_DIR', 'warehouse/landing') }}"
        tables:
          - name: transactions          # files in <landing>/transactions/
            config: {loaded_at_field: loaded_at}
            columns:
              - {name: transaction_id, data_type: bigint}

- ``meta.featurestore.landing`` (on the source) is the landing folder, local or
  ``s3://bucket/prefix`` (pyarrow's S3 options may follow, e.g.
  ``?region=eu-west-1``); each table reads the sub-folder of its name.
- every column declares its ``data_type``: the raw table is created from them, and a file
  whose columns do not fit is refused.
- the source's ``loaded_at_field`` is stamped with the load time when a file does not
  carry it (a file that carries it keeps its own: a history bootstrap can say when its
  rows landed).

Exactly once: a file (known by its table, name and content hash, wherever the landing
folder is mounted) has its rows and its line in ``featurestore.ingested_files`` (path,
size, hash, rows, when) written in one warehouse transaction, so a kill between load and
record loses both, and the next run loads the file again, once. A file that does not fit
is moved to ``<landing>/_quarantine/<table>/`` beside a ``.error.txt`` saying why, recorded,
and the other files load on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from featurestore.dtypes import utc_naive
from featurestore.errors import ProjectError
from featurestore.project import Project

if TYPE_CHECKING:
    import pyarrow as pa

LEDGER = "ingested_files"
QUARANTINE = "_quarantine"
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "json",
           ".json": "json", ".ndjson": "json"}
LEDGER_COLUMNS = (
    ("run_id", "varchar"), ("source", "varchar"), ("source_table", "varchar"),
    ("path", "varchar"), ("name", "varchar"), ("size", "bigint"), ("sha256", "varchar"),
    ("rows", "bigint"),
    ("status", "varchar"), ("message", "varchar"), ("ingested_at", "timestamp"),
)


@dataclass(frozen=True)
class RawTable:
    """A dbt source table that featurestore loads from a landing folder."""

    source: str
    table: str
    relation: str
    landing: str  # folder (local path or s3://bucket/prefix) of this table's files
    columns: dict[str, str]  # name -> declared data_type, in order
    loaded_at: str | None  # the column stamped with the load time, if declared

    @property
    def label(self) -> str:
        return f"{self.source}.{self.table}"


@dataclass
class FileResult:
    table: str
    path: str
    status: str  # loaded | skipped | quarantined
    rows: int = 0
    message: str = ""


@dataclass
class IngestReport:
    run_id: str
    files: list[FileResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files if f.status == "loaded")

    def tables_loaded(self) -> list[str]:
        """The source tables that got rows this run (what a build must refresh)."""
        return sorted({f.table for f in self.files if f.status == "loaded" and f.rows})

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "loaded": self.count("loaded"),
                "skipped": self.count("skipped"), "quarantined": self.count("quarantined"),
                "rows": self.rows,
                "files": [f.__dict__ for f in self.files if f.status != "skipped"]}


# -- which tables -------------------------------------------------------------------------
def raw_tables(project: Project, manifest: dict | None = None) -> list[RawTable]:
    """Every dbt source table with a landing folder, from the project's dbt manifest
    (parsed first when the project has none yet: a fresh clone ingests before any build)."""
    manifest = manifest or project.dbt_manifest()
    if manifest is None:
        from featurestore.dbt_runner import run_dbt

        run_dbt(project, ["parse", "--quiet"])
        manifest = project.dbt_manifest()
    if manifest is None:
        raise ProjectError(f"{project.target_dir / 'manifest.json'}: no dbt manifest to read "
                           "the sources from. Run `dbt parse` or `featurestore build` first.")
    tables = []
    for node in manifest.get("sources", {}).values():
        meta = (node.get("meta") or {}).get("featurestore") or {}
        landing = meta.get("landing")
        if not landing:
            continue
        where = f"{node.get('original_file_path', 'models/')}, source `{node['source_name']}`"
        columns = {}
        for name, column in (node.get("columns") or {}).items():
            if not column.get("data_type"):
                raise ProjectError(f"{where}, table `{node['name']}`, column `{name}`: declare "
                                   "its `data_type`; featurestore creates the raw table from "
                                   "the declared columns.")
            columns[name] = column["data_type"]
        if not columns:
            raise ProjectError(f"{where}, table `{node['name']}`: declare its columns with "
                               "`data_type`; featurestore creates the raw table from them.")
        folder = _join(_resolve(project, landing), node["name"])
        loaded_at = (node.get("loaded_at_field")
                     or (node.get("config") or {}).get("loaded_at_field"))
        tables.append(RawTable(node["source_name"], node["name"], node["relation_name"],
                               folder, columns, loaded_at if loaded_at in columns else None))
    return sorted(tables, key=lambda t: t.label)


def _resolve(project: Project, landing: str) -> str:
    if "://" in landing or Path(landing).is_absolute():
        return landing
    return str(project.root / landing)


def _join(folder: str, name: str) -> str:
    """``folder/name``; an s3:// folder keeps its options (``?endpoint_override=...``)."""
    base, question, options = folder.partition("?")
    return base.rstrip("/") + "/" + name + question + options


# -- files ----------------------------------------------------------------------------------
def _filesystem(folder: str):
    """(pyarrow filesystem, path within it) of a local folder or an s3:// prefix."""
    from pyarrow import fs

    if "://" in folder:
        return fs.FileSystem.from_uri(folder)
    return fs.LocalFileSystem(), str(Path(folder).resolve())


def landed_files(table: RawTable) -> list[tuple[str, int]]:
    """(path, size) of the files in the table's folder, by name; no sub-folders, no
    hidden or partial files (a writer renames a file into place when it is whole)."""
    from pyarrow import fs as pafs

    filesystem, root = _filesystem(table.landing)
    selector = pafs.FileSelector(root, allow_not_found=True, recursive=False)
    found = []
    for info in filesystem.get_file_info(selector):
        name = info.base_name
        if (info.type != pafs.FileType.File or name.startswith((".", "_"))
                or Path(name).suffix.lower() not in FORMATS):
            continue
        found.append((info.path, info.size))
    return sorted(found)


def _read(table: RawTable, path: str) -> tuple[pa.Table, str]:
    """The file's rows as Arrow, and the SHA-256 of its bytes."""
    import io

    import pyarrow as pa

    filesystem, _ = _filesystem(table.landing)
    with filesystem.open_input_stream(path) as stream:
        data = stream.read()
    digest = hashlib.sha256(data).hexdigest()
    kind = FORMATS[Path(path).suffix.lower()]
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            rows = pq.read_table(io.BytesIO(data))
        elif kind == "csv":
            import pyarrow.csv as pv

            rows = pv.read_csv(io.BytesIO(data))
        else:
            import pyarrow.json as pj

            rows = pj.read_json(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        raise _Refused(f"cannot be read as {kind}: {exc}") from None
    return rows, digest


class _Refused(Exception):
    """A file that does not fit its table; the message says why."""


def _fit(warehouse, table: RawTable, rows: pa.Table, relation: str, stamp: dt.datetime):
    """The SELECT that casts the file's columns to the declared types; _Refused names the
    first column that does not fit."""
    from featurestore.dialects import quote

    present = {name.lower(): name for name in rows.column_names}
    unknown = [name for name in rows.column_names
               if name.lower() not in {c.lower() for c in table.columns}]
    if unknown:
        raise _Refused(f"column `{unknown[0]}` is not a column of source table "
                       f"{table.label} (its columns: {', '.join(table.columns)})")
    select = []
    for name, data_type in table.columns.items():
        column = present.get(name.lower())
        if column is None:
            if name == table.loaded_at:
                select.append(f"{warehouse.dialect.timestamp_literal(stamp)} as {quote(name)}")
                continue
            raise _Refused(f"column `{name}` ({data_type}) of source table {table.label} is "
                           "missing")
        bad = warehouse.fetch_all(
            f"select {quote(column)} from {relation} where {quote(column)} is not null and "
            f"{warehouse.dialect.try_cast(quote(column), data_type)} is null limit 1")
        if bad:
            raise _Refused(f"column `{name}`: {bad[0][0]!r} is not a {data_type}")
        select.append(f"cast({quote(column)} as {data_type}) as {quote(name)}")
    return f"select {', '.join(select)} from {relation}"


def _quarantine(table: RawTable, path: str, reason: str) -> str:
    """Move the file aside, with its reason beside it; the new path."""
    filesystem, root = _filesystem(table.landing)
    parent = root.rsplit("/", 1)[0]
    target_dir = f"{parent}/{QUARANTINE}/{table.table}"
    filesystem.create_dir(target_dir, recursive=True)
    target = f"{target_dir}/{path.rsplit('/', 1)[-1]}"
    filesystem.move(path, target)
    with filesystem.open_output_stream(target + ".error.txt") as out:
        out.write((reason + "\n").encode())
    return target


# -- the run ---------------------------------------------------------------------------------
def ensure_tables(warehouse, tables: list[RawTable]) -> None:
    """The raw tables (from the declared columns) and the ledger, if missing."""
    from featurestore.dialects import quote

    for table in tables:
        schema = table.relation.rsplit(".", 1)[0]
        warehouse.execute(f"create schema if not exists {schema}")
        columns = ", ".join(f"{quote(name)} {data_type}"
                            for name, data_type in table.columns.items())
        warehouse.execute(f"create table if not exists {table.relation} ({columns})")
    warehouse.ensure_store_schema()
    ledger = warehouse.store_table(LEDGER)
    warehouse.execute(f"create table if not exists {ledger} "
                      f"({', '.join(f'{n} {t}' for n, t in LEDGER_COLUMNS)})")


def _seen(warehouse, ledger: str) -> set[tuple[str, str, str]]:
    """(table, file name, sha256) of every file loaded or quarantined before: a file is
    known by its name and content, not by where the landing folder is mounted today."""
    rows = warehouse.fetch_all(f"select source || '.' || source_table, name, sha256 "
                               f"from {ledger} where status in ('loaded', 'quarantined')")
    return {tuple(row) for row in rows}


def ingest(project: Project, *, tables: list[str] | None = None,
           progress: Callable[[str], None] = lambda _line: None) -> IngestReport:
    """Load every new landed file of the project's raw tables (or of ``tables``, given as
    ``source.table`` or ``table``), each exactly once."""
    from featurestore.warehouse import Warehouse

    chosen = raw_tables(project)
    if tables:
        wanted = set(tables)
        unknown = wanted - {t.label for t in chosen} - {t.table for t in chosen}
        if unknown:
            raise ProjectError(f"no raw table {sorted(unknown)[0]!r} with a landing folder; "
                               f"known: {', '.join(t.label for t in chosen) or 'none'}")
        chosen = [t for t in chosen if t.label in wanted or t.table in wanted]
    report = IngestReport(uuid.uuid4().hex[:12])
    with Warehouse(project) as warehouse:
        ensure_tables(warehouse, chosen)
        ledger = warehouse.store_table(LEDGER)
        seen = _seen(warehouse, ledger)
        for table in chosen:
            for path, size in landed_files(table):
                result = _ingest_file(warehouse, ledger, table, path, size, seen,
                                      report.run_id)
                report.files.append(result)
                if result.status != "skipped":
                    progress(f"{table.label}: {path.rsplit('/', 1)[-1]}: {result.status}"
                             + (f", {result.rows:,} rows" if result.rows else "")
                             + (f" ({result.message})" if result.message else ""))
    return report


def _ingest_file(warehouse, ledger: str, table: RawTable, path: str, size: int,
                 seen: set, run_id: str) -> FileResult:
    stamp = utc_naive()
    try:
        rows, digest = _read(table, path)
    except _Refused as exc:
        rows, digest = None, hashlib.sha256(path.encode()).hexdigest()
        refusal = str(exc)
    else:
        refusal = None
    key = (table.label, path.rsplit("/", 1)[-1], digest)
    if key in seen:
        return FileResult(table.label, path, "skipped")
    name = f"featurestore_landed_{run_id}"
    try:
        if refusal:
            raise _Refused(refusal)
        relation = warehouse.dialect.load_arrow(warehouse, rows, name)
        select = _fit(warehouse, table, rows, relation, stamp)
        with warehouse.transaction():
            warehouse.execute(f"insert into {table.relation} {select}")
            _record(warehouse, ledger, run_id, table, path, size, digest, rows.num_rows,
                    "loaded", "", stamp)
    except _Refused as exc:
        moved = _quarantine(table, path, f"{path}: {exc}")
        message = f"{exc}; moved to {moved}"
        with warehouse.transaction():
            _record(warehouse, ledger, run_id, table, path, size, digest, 0, "quarantined",
                    message, stamp)
        seen.add(key)
        return FileResult(table.label, path, "quarantined", 0, message)
    finally:
        warehouse.dialect.drop_arrow(warehouse, name)
    seen.add(key)
    return FileResult(table.label, path, "loaded", rows.num_rows)


def _record(warehouse, ledger: str, run_id: str, table: RawTable, path: str, size: int,
            digest: str, rows: int, status: str, message: str, stamp: dt.datetime) -> None:
    warehouse.execute(f"insert into {ledger} values ({', '.join('?' * len(LEDGER_COLUMNS))})",
                      [run_id, table.source, table.table, path, path.rsplit("/", 1)[-1],
                       size, digest, rows, status, message[:2000], stamp])
