"""The files the soak lands: good, late, duplicate, clock-skewed, poison, growing, and a
profile update the contract refuses. Each is written by the soak's own code (CSV or JSON
lines) and recorded with the rows raw must get (or the column that must refuse it).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import threading
import time
from pathlib import Path

from tests.soak.record import COLUMNS, LandedFile, SoakRecord, utc_now

TS = "%Y-%m-%d %H:%M:%S.%f"
# poison: (what is wrong, the column a refusal must name, how to spoil a CSV row dict)
POISON = (
    ("empty user_id", "user_id", lambda row: row.update(user_id="")),
    ("infinite amount", "amount", lambda row: row.update(amount="inf")),
    ("empty amount", "amount", lambda row: row.update(amount="")),
    ("user_id 1.7", "user_id", lambda row: row.update(user_id="1.7")),
    ("user_id true", "user_id", lambda row: row.update(user_id="true")),
    ("empty transacted_at", "transacted_at", lambda row: row.update(transacted_at="")),
    ("transacted_at not a time", "transacted_at",
     lambda row: row.update(transacted_at="yesterday")),
)
SKEWS = (("2 hours ahead", dt.timedelta(hours=2)), ("3 hours behind", -dt.timedelta(hours=3)),
         ("year 2099", None), ("year 1999", None))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime(TS)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Lander:
    """Writes landing files and records them."""

    def __init__(self, record: SoakRecord, landing: Path, rng: random.Random,
                 users: int, merchants: list[int]):
        self.record, self.landing, self.rng = record, landing, rng
        self.users, self.merchants = users, merchants
        self.next_id, self.serial = 50_000_000, 0

    def _name(self, kind: str, suffix: str = "csv") -> str:
        self.serial += 1
        return f"soak-{self.serial:05d}-{kind}.{suffix}"

    def _path(self, table: str, name: str) -> Path:
        folder = self.landing / table
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def transaction(self, at: dt.datetime) -> tuple:
        self.next_id += 1
        user = self.rng.randint(1, self.users + 3)  # a few users the history never saw
        amount = round(self.rng.uniform(1, 400), 2)
        device = None if self.rng.random() < 0.1 else f"soak-{user}-{self.rng.randint(0, 1)}"
        return (self.next_id, user, self.rng.choice(self.merchants), device, amount,
                self.rng.choice(("EUR", "usd")), at)

    def _csv(self, table: str, rows: list[tuple], extra: dict | None = None) -> str:
        header = [name for name, _ in COLUMNS[table]] + list(extra or {})
        lines = [",".join(header)]
        for row in rows:
            lines.append(",".join([_text(v) for v in row] + [_text(v) for v in
                                                             (extra or {}).values()]))
        return "\n".join(lines) + "\n"

    def _write(self, table: str, name: str, text: str, kind: str, rows: list[tuple],
               bad: str | None = None) -> LandedFile:
        self._path(table, name).write_text(text)
        return self.record.land(LandedFile(table, name, kind, rows, bad,
                                           complete_at=time.time()))

    # -- the kinds ----------------------------------------------------------------------
    def good(self, count: int) -> LandedFile:
        now = utc_now()
        rows = [self.transaction(now - dt.timedelta(seconds=self.rng.uniform(1, 90)))
                for _ in range(count)]
        if self.rng.random() < 0.5:  # JSON lines, one object a line
            text = "".join(json.dumps({name: _text(v) if isinstance(v, dt.datetime) else v
                                       for (name, _), v in zip(COLUMNS["transactions"], row,
                                                               strict=True)}) + "\n"
                           for row in rows)
            return self._write("transactions", self._name("good", "jsonl"), text, "good",
                               rows)
        return self._write("transactions", self._name("good"),
                           self._csv("transactions", rows), "good", rows)

    def late(self, count: int) -> LandedFile:
        now = utc_now()
        far = self.rng.random() < 0.2  # past every window but the 30-day one
        rows = [self.transaction(now - dt.timedelta(
            days=self.rng.uniform(31, 35)) if far else now - dt.timedelta(
            hours=self.rng.uniform(1, 60))) for _ in range(count)]
        return self._write("transactions", self._name("late"),
                           self._csv("transactions", rows), "late", rows)

    def skewed(self, count: int) -> tuple[str, LandedFile]:
        """Good events with the producer's own loaded_at, off by hours or years."""
        label, shift = self.rng.choice(SKEWS)
        now = utc_now()
        producer = now + shift if shift is not None else now.replace(
            year=2099 if "2099" in label else 1999)
        rows = [self.transaction(now - dt.timedelta(seconds=self.rng.uniform(1, 60)))
                for _ in range(count)]
        text = self._csv("transactions", rows, {"loaded_at": producer})
        return label, self._write("transactions", self._name("skew"), text, "skew", rows)

    def duplicate(self) -> LandedFile | None:
        """An earlier file's bytes again: under a new name (a retried upload: loaded,
        staging keeps the first landing), or under its own name (known: skipped)."""
        earlier = [f for f in self.record.files if f.kind in ("good", "late", "profile")
                   and f.loaded_in is not None]
        if not earlier:
            return None
        source = self.rng.choice(earlier)
        path = self._path(source.table, source.name)
        if self.rng.random() < 0.5:
            path.write_bytes(path.read_bytes())  # same name, same bytes, a new mtime
            return source
        name = self._name("dup", source.name.rsplit(".", 1)[1])
        shutil.copyfile(path, self._path(source.table, name))
        return self.record.land(LandedFile(source.table, name, "duplicate",
                                           list(source.rows), complete_at=time.time()))

    def poison(self) -> tuple[str, LandedFile]:
        now = utc_now()
        rows = [self.transaction(now - dt.timedelta(seconds=30)) for _ in range(4)]
        header = [name for name, _ in COLUMNS["transactions"]]
        records = [[_text(v) for v in row] for row in rows]
        if self.rng.random() < 0.25:  # a header that names a column twice, in any case
            twice = self.rng.choice(("user_id", "USER_ID"))
            what, column = f"user_id and {twice} in the header", "user_id"
            header.append(twice)
            records = [r + [r[1]] for r in records]
        else:
            what, column, spoil = self.rng.choice(POISON)
            spoiled = dict(zip(header, records[self.rng.randrange(len(records))],
                               strict=True))
            spoil(spoiled)
            records = [list(spoiled.values()) if dict(zip(header, r, strict=True))[
                "transaction_id"] == spoiled["transaction_id"] else r for r in records]
        text = "".join(",".join(line) + "\n" for line in [header, *records])
        landed = self._write("transactions", self._name("poison"), text, "poison", [],
                             bad=column)
        return what, landed

    def growing(self) -> GrowingFile:
        """A CSV a writer is still appending to, as the landing protocol allows: never
        idle for the settle time, finished a few seconds later (in a thread)."""
        now = utc_now()
        rows = [self.transaction(now - dt.timedelta(seconds=self.rng.uniform(1, 30)))
                for _ in range(self.rng.randint(4, 9))]
        text = self._csv("transactions", rows)
        landed = self.record.land(LandedFile("transactions", self._name("growing"),
                                             "growing", rows))
        landed.complete_at = None
        pieces = sorted(self.rng.sample(range(1, len(text)), self.rng.randint(3, 8)))
        writer = GrowingFile(self._path(landed.table, landed.name), landed, text,
                             [0, *pieces, len(text)], self.rng.uniform(0.3, 1.0))
        writer.write_piece()
        return writer


    def profile(self, kind: str, kyc: int | None = None) -> LandedFile:
        """A profile update of a known user, now; ``kyc`` 7 is past the contract's max."""
        user = self.rng.randint(1, self.users)
        row = (user, utc_now() - dt.timedelta(seconds=self.rng.uniform(1, 20)),
               self.rng.choice(("FR", "de", "US")), self.rng.random() < 0.5,
               self.rng.randint(0, 3) if kyc is None else kyc)
        return self._write("profile_updates", self._name(kind),
                           self._csv("profile_updates", [row]), kind, [row])


class GrowingFile(threading.Thread):
    """Appends the rest of a file a piece at a time, ``pause`` seconds apart (less than
    the settle time), then marks it complete."""

    def __init__(self, path: Path, landed: LandedFile, text: str, cuts: list[int],
                 pause: float):
        super().__init__(name=f"soak-writer-{landed.name}", daemon=True)
        self.path, self.landed, self.text, self.cuts, self.pause = (path, landed, text,
                                                                      cuts, pause)
        self.done = 0

    def write_piece(self) -> None:
        start, end = self.cuts[self.done], self.cuts[self.done + 1]
        with open(self.path, "a") as out:
            out.write(self.text[start:end])
        self.done += 1
        if self.done == len(self.cuts) - 1:
            self.landed.complete_at = time.time()

    def run(self) -> None:
        while self.done < len(self.cuts) - 1:
            time.sleep(self.pause)
            self.write_piece()
