"""The landing folder: which files are there, which are whole, and where refused ones go.

The landing protocol (the README's "Fresh data"): a writer writes a file elsewhere (or
under a hidden name: ``.name.partial``; names starting with ``.`` or ``_`` are never
read) and renames it into place when it is whole. That is the recommended way, and the
only one for S3, where an object is whole once it is listed. For writers that cannot
rename, a local CSV or JSON lines file, which a writer can append to and which reads
fine cut at any line, is taken only once it has been unchanged for the settle time
(``FEATURESTORE_INGEST_SETTLE``, 5 s; 0 for writers that rename): its modification time
is that old by this host's clock, and its size and time did not move while it was read.
A Parquet file cannot be appended to and ends with its footer, so one that reads is
whole; one that does not read while it is younger than the settle time is waited for,
not refused.

A link in a local landing folder is read only when it points inside the folder.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from featurestore.ingest.messages import printable
from featurestore.ingest.sources import RawTable

QUARANTINE = "_quarantine"
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "json",
           ".json": "json", ".ndjson": "json"}
APPENDABLE = ("csv", "json")
EPOCH = dt.datetime(1970, 1, 1)


@dataclass(frozen=True)
class Landed:
    """One file in a table's landing folder, as listed."""

    path: str  # within its filesystem
    size: int
    mtime_ns: int | None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def kind(self) -> str:
        return FORMATS[Path(self.name).suffix.lower()]

    @property
    def modified(self) -> dt.datetime | None:
        """Modification time, naive UTC."""
        if self.mtime_ns is None:
            return None
        return EPOCH + dt.timedelta(microseconds=self.mtime_ns // 1000)


def filesystem(folder: str):
    """(pyarrow filesystem, path within it) of a local folder or an s3:// prefix."""
    from pyarrow import fs

    if "://" in folder:
        return fs.FileSystem.from_uri(folder)
    return fs.LocalFileSystem(), str(Path(folder).resolve())


def is_local(table: RawTable) -> bool:
    return "://" not in table.landing


def landed_files(table: RawTable) -> list[Landed]:
    """The files in the table's folder, by name; no sub-folders, no hidden or partial
    files, only the formats ingest reads."""
    from pyarrow import fs as pafs

    system, root = filesystem(table.landing)
    selector = pafs.FileSelector(root, allow_not_found=True, recursive=False)
    found = []
    for info in system.get_file_info(selector):
        name = info.base_name
        if (info.type != pafs.FileType.File or name.startswith((".", "_"))
                or Path(name).suffix.lower() not in FORMATS):
            continue
        found.append(Landed(info.path, info.size, info.mtime_ns))
    return sorted(found, key=lambda landed: landed.path)


def outside_link(table: RawTable, landed: Landed) -> str | None:
    """Where a link that leaves the table's local folder points (None: not such a link).
    Links inside the folder are fine; one outside would read any file this process can."""
    if not is_local(table):
        return None
    folder = os.path.realpath(table.landing)
    target = os.path.realpath(landed.path)
    if os.path.commonpath([folder, target]) == folder:
        return None
    return target


def unsettled(table: RawTable, landed: Landed, now: dt.datetime, settle: float) -> str | None:
    """Why a local file may still be growing (None: it is settled): modified less than
    ``settle`` seconds before ``now`` (naive UTC, this host's clock)."""
    if not is_local(table) or settle <= 0 or landed.modified is None:
        return None
    age = (now - landed.modified).total_seconds()
    if age >= settle:
        return None
    if age < 0:
        return (f"modified {-age:,.1f} s in the future by this host's clock; taken once "
                f"unchanged for {settle:g} s (FEATURESTORE_INGEST_SETTLE)")
    return (f"modified {age:.1f} s ago; taken once unchanged for {settle:g} s "
            "(FEATURESTORE_INGEST_SETTLE)")


def read_bytes(table: RawTable, landed: Landed) -> tuple[bytes, bool]:
    """The file's bytes, and whether it changed while they were read (its size or its
    modification time moved): a writer still at work."""
    from pyarrow import fs as pafs

    system, _ = filesystem(table.landing)
    with system.open_input_stream(landed.path) as stream:
        data = stream.read()
    if len(data) != landed.size:
        return data, True
    if is_local(table):
        after = system.get_file_info(landed.path)
        if after.type != pafs.FileType.File or after.mtime_ns != landed.mtime_ns:
            return data, True
    return data, False


def quarantine(table: RawTable, landed: Landed, reason: str) -> str:
    """Move the file to ``<landing>/_quarantine/<table>/`` with its reason beside it, under
    a name no earlier refusal holds (``name.csv``, then ``name.2.csv``, ...); the new
    path."""
    from pyarrow import fs as pafs

    system, root = filesystem(table.landing)
    parent = root.rsplit("/", 1)[0]
    folder = f"{parent}/{QUARANTINE}/{table.table}"
    system.create_dir(folder, recursive=True)
    stem, suffix = os.path.splitext(landed.name)
    target, number = f"{folder}/{landed.name}", 1
    while any(system.get_file_info(path).type != pafs.FileType.NotFound
              for path in (target, target + ".error.txt")):
        number += 1
        target = f"{folder}/{stem}.{number}{suffix}"
    system.move(landed.path, target)
    with system.open_output_stream(target + ".error.txt") as out:
        out.write((f"{printable(landed.path)}: {reason}\n").encode())
    return target
