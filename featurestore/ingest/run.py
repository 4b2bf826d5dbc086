"""One ingest run: every new landed file of the raw tables, each exactly once, or refused.

For each file in a table's folder, in name order: a link out of the folder is refused
unread; a CSV or JSON lines file still within its settle time waits for a later run; the
bytes are read and hashed, and a file already loaded (same table, name and hash) is
skipped, and so is one ``--unload`` took out (the same name and hash: an unload stands
while the file stays in the folder); a known name with new content is refused (a name is
loaded once: land a correction under a new name, or ``--unload`` the old one first); then
the rows are read (formats.py), checked (checks.py) and inserted with their ledger line
in one transaction, ``loaded_at`` assigned within the run's window (watermark.py). A
refused file moves to the quarantine with its reason, and the others load on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shlex
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from featurestore.dtypes import utc_naive
from featurestore.errors import ProjectError
from featurestore.ingest import ledger
from featurestore.ingest.checks import ROW, fit
from featurestore.ingest.formats import read_rows
from featurestore.ingest.landing import (
    APPENDABLE,
    Landed,
    landed_files,
    outside_link,
    quarantine,
    read_bytes,
    unsettled,
)
from featurestore.ingest.messages import Refused, printable
from featurestore.ingest.sources import RawTable, missing_landings, raw_tables
from featurestore.ingest.watermark import LoadWindow
from featurestore.project import Project


@dataclass
class FileResult:
    table: str
    path: str
    status: str  # loaded | skipped | quarantined | waiting
    rows: int = 0
    message: str = ""


@dataclass
class IngestReport:
    run_id: str
    files: list[FileResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # missing folders, old future loaded_at
    load_time: dt.datetime | None = None

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
                "waiting": self.count("waiting"), "rows": self.rows,
                "load_time": self.load_time, "notes": self.notes,
                "files": [f.__dict__ for f in self.files if f.status != "skipped"]}


@dataclass
class _Run:
    """What every file of one run shares."""

    warehouse: object
    ledger: str
    run_id: str
    window: LoadWindow
    now: dt.datetime
    settle: float
    loaded: dict
    unloaded: dict  # what `--unload` took out: that content is not loaded again


def ingest(project: Project, *, tables: list[str] | None = None,
           progress: Callable[[str], None] = lambda _line: None,
           settle: float | None = None,
           clock: Callable[[], dt.datetime] = utc_naive) -> IngestReport:
    """Load every new landed file of the project's raw tables (or of ``tables``, given as
    ``source.table`` or ``table``), each exactly once.

    ``settle``: seconds a CSV or JSON lines file must be unchanged before it is taken
    (default: the FEATURESTORE_INGEST_SETTLE setting); ``clock``: now, naive UTC.
    """
    from featurestore.warehouse import Warehouse

    every = raw_tables(project)
    chosen = _choose(every, tables)
    report = IngestReport(uuid.uuid4().hex[:12])
    for line in missing_landings(chosen):
        report.notes.append(line)
        progress(line)
    with Warehouse(project) as warehouse:
        book = ledger.ensure_tables(warehouse, chosen)
        now = utc_naive(clock())
        window = LoadWindow.open(warehouse, book, every, now)
        report.load_time = window.load_time
        for line in window.notes:
            report.notes.append(line)
            progress(line)
        run = _Run(warehouse, book, report.run_id, window, now,
                   project.settings.ingest_settle if settle is None else settle,
                   ledger.loaded_files(warehouse, book),
                   ledger.loaded_files(warehouse, book, status="unloaded"))
        for table in chosen:
            for landed in landed_files(table):
                result = _ingest_file(run, table, landed)
                report.files.append(result)
                if result.status != "skipped":
                    progress(f"{table.label}: {printable(landed.name)}: {result.status}"
                             + (f", {result.rows:,} rows" if result.rows else "")
                             + (f" ({result.message})" if result.message else ""))
    return report


def _choose(every: list[RawTable], wanted: list[str] | None) -> list[RawTable]:
    if not wanted:
        return every
    unknown = set(wanted) - {t.label for t in every} - {t.table for t in every}
    if unknown:
        raise ProjectError(f"no raw table {sorted(unknown)[0]!r} with a landing folder; "
                           f"known: {', '.join(t.label for t in every) or 'none'}")
    return [t for t in every if t.label in wanted or t.table in wanted]


def _ingest_file(run: _Run, table: RawTable, landed: Landed) -> FileResult:
    target = outside_link(table, landed)
    if target is not None:
        return _refuse(run, table, landed, hashlib.sha256(landed.path.encode()).hexdigest(),
                       f"is a link to {printable(target)}, outside the landing folder "
                       f"{printable(table.landing)}; a link may point only inside it")
    young = unsettled(table, landed, run.now, run.settle)
    if young and landed.kind in APPENDABLE:
        return FileResult(table.label, landed.path, "waiting", message=young)
    data, changed = read_bytes(table, landed)
    if changed:
        return FileResult(table.label, landed.path, "waiting",
                          message="changed while it was read: a writer is still at work")
    digest = hashlib.sha256(data).hexdigest()
    loads = run.loaded.get((table.label, landed.name), [])
    if any(load.sha256 == digest for load in loads):
        return FileResult(table.label, landed.path, "skipped")
    if any(load.sha256 == digest for load in run.unloaded.get((table.label, landed.name), [])):
        # taken out with --unload and still in the folder: the operator's word stands
        return FileResult(table.label, landed.path, "skipped", message="unloaded")
    if loads:
        return _refuse(run, table, landed, digest, _known_name(table, landed, loads[-1]))
    try:
        rows = read_rows(data, landed.kind)
    except Refused as exc:
        if young:  # a Parquet file without its footer yet: a writer still at work
            return FileResult(table.label, landed.path, "waiting",
                              message=f"does not read yet; {young}")
        return _refuse(run, table, landed, digest, str(exc))
    try:
        count, note = _load(run, table, landed, rows, digest)
    except Refused as exc:
        return _refuse(run, table, landed, digest, str(exc))
    run.loaded.setdefault((table.label, landed.name), []).append(
        ledger.Loaded(table.label, landed.name, digest, count, run.window.load_time, None))
    return FileResult(table.label, landed.path, "loaded", count, note)


def _known_name(table: RawTable, landed: Landed, earlier: ledger.Loaded) -> str:
    name = shlex.quote(landed.name) if landed.name.isprintable() else printable(landed.name)
    return (f"{printable(landed.name)} was loaded before with other content ({earlier.rows:,} "
            f"rows at {earlier.ingested_at.isoformat(sep=' ')}, sha256 "
            f"{earlier.sha256[:12]}...); a file name is loaded once, so a grown or corrected "
            "file is not taken in its place. Land the correction under a new name, or take "
            "the earlier rows out first: featurestore ingest --unload "
            f"{name} --table {table.label}")


def _load(run: _Run, table: RawTable, landed: Landed, rows, digest: str) -> tuple[int, str]:
    """Check, then insert the rows with their ledger line in one transaction; (rows, what
    was done to the producer's loaded_at)."""
    import pyarrow as pa

    quote = run.warehouse.dialect.alias  # Spark reads a double-quoted name as a string

    warehouse, dialect = run.warehouse, run.warehouse.dialect
    rows = rows.append_column(ROW, pa.array(range(1, rows.num_rows + 1), pa.int64()))
    name = f"featurestore_landed_{run.run_id}"
    relation = dialect.load_arrow(warehouse, rows, name)
    try:
        converts = fit(warehouse, table, rows, relation)
        note, newest = "", None
        if table.loaded_at:
            note = run.window.clamped(warehouse, relation, table.loaded_at,
                                      converts[table.loaded_at], rows.num_rows)
            converts[table.loaded_at] = run.window.assign(dialect, converts[table.loaded_at])
            (newest,) = warehouse.fetch_all(
                f"select max({converts[table.loaded_at]}) from {relation}")[0]
        file_id = uuid.uuid4().hex
        columns = ", ".join(quote(column) for column in [*converts, ledger.FILE_COLUMN])
        values = ", ".join([*(str(sql) for sql in converts.values()), f"'{file_id}'"])
        with warehouse.transaction():
            warehouse.execute(f"insert into {table.relation} ({columns}) "
                              f"select {values} from {relation}")
            ledger.record(warehouse, run.ledger, _line(
                run, table, landed, digest, rows.num_rows, "loaded", note,
                file_id=file_id, loaded_at_max=newest))
    finally:
        dialect.drop_arrow(warehouse, name)
    return rows.num_rows, note


def _refuse(run: _Run, table: RawTable, landed: Landed, digest: str,
            reason: str) -> FileResult:
    moved = quarantine(table, landed, reason)
    message = f"{reason}; moved to {printable(moved)}"
    with run.warehouse.transaction():
        ledger.record(run.warehouse, run.ledger,
                      _line(run, table, landed, digest, 0, "quarantined", message))
    return FileResult(table.label, landed.path, "quarantined", 0, message)


def _line(run: _Run, table: RawTable, landed: Landed, digest: str, rows: int, status: str,
          message: str, **extra) -> dict:
    return {"run_id": run.run_id, "source": table.source, "source_table": table.table,
            "path": landed.path, "name": landed.name, "size": landed.size,
            "sha256": digest, "rows": rows, "status": status, "message": message,
            "ingested_at": run.window.load_time, **extra}
