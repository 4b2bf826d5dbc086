"""The one reader of the serving log, for the skew gate, the live compare and the catalog.

The lookup writes the log (lookup/serving_log.py: one JSON line per entity key looked up,
a file ``serving-YYYYMMDD.jsonl`` per UTC day). It is read here only, so every reader
takes the same files and treats a bad line the same way:

- **The files.** A log is a file, or a folder: every ``*.jsonl`` and ``*.json`` file under
  it, nested folders included (a copy of the Lambda's lines exported to S3 keeps its
  prefixes), in path order.
- **A bad line** (not JSON, no ISO-8601 ``ts``, no ``features`` object) is skipped and
  counted in ``SkippedLines``, whose ``note`` says how many and where the first ones
  are; the rest of the log still counts. One torn line (a lookup killed mid-write, a
  stray edit) must not blind a gate to a week of traffic, nor pass unsaid.

This module sits in the core so that the gates and the applications both read through
it (the lookup, which writes the log, and the gates never import each other).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

FILE_PREFIX = "serving-"
SUFFIXES = (".jsonl", ".json")
SHOWN_BAD_LINES = 5


def file_name(day: dt.date | str) -> str:
    """The file of one UTC day's lines: ``serving-20260501.jsonl``."""
    text = day.strftime("%Y%m%d") if isinstance(day, dt.date) else day
    return f"{FILE_PREFIX}{text}.jsonl"


def day_of(path: Path) -> dt.date | None:
    """The UTC day a file named by ``file_name`` holds (None: not named by day)."""
    try:
        return dt.datetime.strptime(path.stem.removeprefix(FILE_PREFIX), "%Y%m%d").date()
    except ValueError:
        return None


def log_files(path: Path) -> list[Path]:
    """The files of the log at ``path``: the file itself, or every ``*.jsonl`` and
    ``*.json`` under the folder, nested ones included; none when nothing is there."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def served_at(text: object) -> dt.datetime | None:
    """A line's ``ts`` as a naive UTC datetime; None when it is not ISO-8601 text."""
    if not isinstance(text, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


@dataclass
class SkippedLines:
    """The lines that were not serving-log lines: how many, and the first few places."""

    count: int = 0
    places: list[str] = field(default_factory=list)  # "file:line", the first ones

    def add(self, file: Path, number: int) -> None:
        self.count += 1
        if len(self.places) < SHOWN_BAD_LINES:
            self.places.append(f"{file}:{number}")

    def note(self) -> str | None:
        """The sentence that says so, or None when every line was read."""
        if not self.count:
            return None
        more = self.count - len(self.places)
        return (f"serving log: {self.count} line(s) are not serving-log lines (JSON with an "
                f"ISO-8601 `ts` and `features`) and were skipped: {', '.join(self.places)}"
                + (f" and {more} more" if more else "") + ".")


def read_lines(files: Iterable[Path], skipped: SkippedLines, *,
               containing: str | None = None) -> Iterator[tuple[dt.datetime, dict]]:
    """``(served at, line)`` for every serving-log line of ``files``, in order; a bad line
    is counted in ``skipped``. A line whose text lacks ``containing`` is passed over
    unparsed (a cheap filter: ``'"shadow"'``), and so is a blank one."""
    for file in files:
        with file.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip() or (containing is not None and containing not in line):
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                moment = served_at(record.get("ts")) if isinstance(record, dict) else None
                if moment is None or not isinstance(record.get("features"), dict):
                    skipped.add(file, number)
                    continue
                yield moment, record
