"""What the soak did, as the soak itself recorded it: the files it landed (their rows, or
why they are bad), the faults it injected and when, each cycle's exit code, the lookups
it made. The invariant checker judges featurestore against this record, never against
featurestore's own account (so: no featurestore import here).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field

# the declared columns of the two raw tables the soak lands into (loaded_at aside: it is
# the loader's), as models/staging/_demo__sources.yml declares them
COLUMNS = {
    "transactions": (("transaction_id", "bigint"), ("user_id", "bigint"),
                     ("merchant_id", "bigint"), ("device_id", "varchar"),
                     ("amount", "double"), ("currency", "varchar"),
                     ("transacted_at", "timestamp")),
    "profile_updates": (("user_id", "bigint"), ("updated_at", "timestamp"),
                        ("country", "varchar"), ("is_verified", "boolean"),
                        ("kyc_level", "integer")),
}
# every fault kind the soak draws; each occurs at least once in a run of 20 cycles
KINDS = ("good", "late", "duplicate", "poison", "clock_skew", "growing", "bad_model",
         "gate_failure", "store_killed", "loop_killed", "version_change")


@dataclass
class LandedFile:
    """One file the soak wrote into ``<landing>/<table>/``."""

    table: str
    name: str
    kind: str  # history, good, late, duplicate, skew, poison, growing, gate
    rows: list[tuple] = field(default_factory=list)  # the declared columns, in order
    bad_column: str | None = None  # a poison file: the column that does not fit
    complete_at: float | None = None  # time.time() of its last write; None: still growing
    unloaded: bool = False  # taken out again with `featurestore ingest --unload`
    loaded_in: int | None = None  # the cycle the checker first saw its rows in raw
    quarantined_in: int | None = None

    @property
    def well_formed(self) -> bool:
        return self.bad_column is None


@dataclass
class CycleRecord:
    """One `featurestore run --once`: what the soak did around it and how it ended."""

    number: int
    started: float  # time.time()
    finished: float | None = None
    returncode: int | None = None
    stderr: str = ""
    faults: list[str] = field(default_factory=list)
    killed: bool = False  # SIGKILLed by the soak mid-cycle
    store_down: bool = False  # DynamoDB Local was killed for this cycle
    model_broken: str | None = None  # the feature model the soak broke, while broken
    seconds: float = 0.0


@dataclass
class Lookup:
    started: float
    finished: float
    status: int  # HTTP status, 0: no answer at all
    body: dict | None
    user_id: int


@dataclass
class SoakRecord:
    """The soak's own account of everything it did."""

    seed: int
    settle_seconds: float
    files: list[LandedFile] = field(default_factory=list)
    cycles: list[CycleRecord] = field(default_factory=list)
    faults: Counter = field(default_factory=Counter)
    # (time.time() the change began, time.time() it returned, version served after it)
    served: dict[str, list[tuple[float, float, int]]] = field(default_factory=dict)
    store_down: list[list[float]] = field(default_factory=list)  # [killed, back up]
    lookups: list[Lookup] = field(default_factory=list)
    versions: dict[str, set[int]] = field(default_factory=dict)  # declared, per view
    retired: dict[str, set[int]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def land(self, landed: LandedFile) -> LandedFile:
        self.files.append(landed)
        return landed

    def fault(self, kind: str, cycle: CycleRecord | None = None) -> None:
        assert kind in KINDS, kind
        self.faults[kind] += 1
        if cycle is not None:
            cycle.faults.append(kind)

    def file(self, table: str, name: str) -> LandedFile | None:
        found = [f for f in self.files if f.table == table and f.name == name]
        return found[-1] if found else None

    def store_was_down(self, start: float, end: float, margin: float = 3.0) -> bool:
        """Whether [start, end] overlaps a time DynamoDB Local was down (with a margin
        after it came back: a client's connection pool, the lookup's deadline)."""
        for down, up in self.store_down:
            if start <= (up if up else time.time()) + margin and end >= down:
                return True
        return False

    def figures(self) -> dict:
        return {"seed": self.seed, "cycles": len(self.cycles),
                "faults": {kind: self.faults.get(kind, 0) for kind in KINDS},
                "files_landed": sum(1 for f in self.files if f.kind != "history"),
                "lookups": len(self.lookups),
                "exit_codes": dict(sorted(Counter(
                    c.returncode for c in self.cycles).items(), key=lambda kv: str(kv[0]))),
                "violations": len(self.violations)}


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
