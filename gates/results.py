"""Gate results: one row per expectation per run, kept in the warehouse.

The warehouse is the store's memory (docs/architecture.md): freshness lag, null rates, parity and
skew over time are a query on ``featurestore.gate_results`` away, instead of living in
CI logs that expire.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from featurestore.dtypes import sql_literal

TABLE = "gate_results"
COLUMNS = (
    ("run_id", "varchar"),
    ("run_at", "timestamp"),
    ("suite", "varchar"),
    ("view", "varchar"),
    ("expectation", "varchar"),
    ("observed", "varchar"),
    ("observed_value", "double"),
    ("threshold", "varchar"),
    ("passed", "boolean"),
)


@dataclass(frozen=True)
class CheckResult:
    """One expectation's verdict, in the words the gate table prints.

    ``passed`` is True, False, or None: *insufficient data* (the skew gate below its
    minimum sample), neither passed nor failed. It is stored as a null ``passed`` in
    ``gate_results``, so a reader that counts failures counts ``passed = false``.
    """

    suite: str
    view: str
    expectation: str
    observed: str
    threshold: str
    passed: bool | None
    observed_value: float | None = None

    @property
    def result(self) -> str:
        """What the gate table prints: pass, FAIL or insufficient data."""
        return verdict(self.passed)

    def failure_line(self) -> str:
        return (f"{self.suite}/{self.view}: {self.expectation} observed {self.observed}, "
                f"threshold {self.threshold}")


@dataclass
class GateOutcome:
    """The verdict on one view; what the sync reads before it publishes."""

    passed: bool = True
    failures: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)

    def add(self, check: CheckResult) -> None:
        self.checks.append(check)
        if check.passed is False:  # None, insufficient data, fails nothing
            self.passed = False
            self.failures.append(check.failure_line())


INSUFFICIENT = "insufficient data"


def verdict(passed: bool | None) -> str:
    """``pass``, ``FAIL`` or ``insufficient data``: a check's result in words."""
    return INSUFFICIENT if passed is None else ("pass" if passed else "FAIL")


def _sql_text(value: str | None) -> str:
    return "null" if value is None else sql_literal("string", value)


def _sql_number(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "null"
    return repr(float(value))


def ensure_table(warehouse) -> str:
    warehouse.ensure_store_schema()
    table = warehouse.store_table(TABLE)
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    warehouse.execute(f"create table if not exists {table} ({columns})")
    return table


def record(warehouse, run_id: str, run_at: dt.datetime, checks: list[CheckResult]) -> int:
    """Append a run's results in one transaction; return the number of rows written."""
    if not checks:
        return 0
    table = ensure_table(warehouse)
    run_at_sql = sql_literal("timestamp", run_at.replace(tzinfo=None))
    rows = [
        f"({_sql_text(run_id)}, {run_at_sql}, {_sql_text(c.suite)}, {_sql_text(c.view)}, "
        f"{_sql_text(c.expectation)}, {_sql_text(c.observed)}, "
        f"{_sql_number(c.observed_value)}, {_sql_text(c.threshold)}, "
        f"{'null' if c.passed is None else 'true' if c.passed else 'false'})"
        for c in checks
    ]
    with warehouse.transaction():
        for start in range(0, len(rows), 500):
            warehouse.execute(f"insert into {table} values {', '.join(rows[start:start + 500])}")
    return len(rows)


def history(warehouse, view: str, runs: int = 10) -> list[tuple]:
    """The last ``runs`` runs' results for ``view``, oldest first, as printed rows."""
    table = ensure_table(warehouse)
    return warehouse.fetch_all(
        f"select run_at, run_id, suite, expectation, observed, threshold, passed "
        f"from {table} where view = {_sql_text(view)} and run_id in ("
        f"  select run_id from {table} where view = {_sql_text(view)} "
        f"  group by run_id order by max(run_at) desc limit {int(runs)}) "
        f"order by run_at, run_id, suite, expectation"
    )


def history_trend(warehouse, view: str, runs: int = 10) -> dict:
    """The last ``runs`` runs of ``view`` as series per (suite, expectation), oldest first:
    what ``featurestore gate --history`` prints (and, with --json, emits)."""
    rows = history(warehouse, view, runs)
    order = list(dict.fromkeys(r[1] for r in rows))
    run_at = {r[1]: r[0] for r in rows}
    series: dict[tuple[str, str], dict] = {}
    for _, run_id, suite, expectation, observed, threshold, passed in rows:
        entry = series.setdefault((suite, expectation), {
            "suite": suite, "expectation": expectation, "threshold": threshold,
            "observed": {}})
        entry["threshold"] = threshold
        entry["observed"][run_id] = {"observed": observed,
                                     "passed": None if passed is None else bool(passed)}
    return {"view": view, "runs": [{"run_id": r, "run_at": run_at[r]} for r in order],
            "series": list(series.values())}
