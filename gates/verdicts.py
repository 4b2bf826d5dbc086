"""Whether a built state of a feature view may be published: verdicts kept per state.

Publishing is a property of what was built, not of the run that happens to publish it.
A state is one content of a view version's relation, identified by a fingerprint the
warehouse computes (row count and an order-independent hash of the rows, per dialect:
``Dialect.fingerprint_sql``), so a state built outside featurestore (a manual ``dbt
build``) reads as new. Each judgment of a state is a row of
``featurestore.publish_verdicts``:

- ``dbt``: the tests of the view's model in the build that made the state;
- ``gates``: the freshness and quality suites, under the contract they were judged by;
- ``forced``: a person published a refused state anyway, and said why;
- ``no-gate``: a state published unjudged (``--no-gate``), for the record.

A state stands refused while its latest ``dbt`` row, or its latest ``gates`` row under
the current contract, refused it and no later ``forced`` row overrides that. A refused
state is never published by any path (the loop, ``featurestore sync``, the demo); it
stays refused across cycles and restarts until a later state passes. The rules that
decide are in gates/publish.py; this module keeps the rows.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import weakref
from dataclasses import dataclass, field

from featurestore.contracts import FeatureView
from featurestore.dtypes import utc_naive
from featurestore.errors import WarehouseError, WarehouseUnreachable

TABLE = "publish_verdicts"
COLUMNS = (
    ("view_name", "varchar"), ("view_version", "integer"), ("state", "varchar"),
    ("state_rows", "bigint"), ("contract_hash", "varchar"), ("judge", "varchar"),
    ("passed", "boolean"), ("reasons", "varchar"), ("judged_at", "timestamp"),
    ("judged_by", "varchar"), ("cycle_id", "varchar"),
)
DBT, GATES, FORCED, NO_GATE = "dbt", "gates", "forced", "no-gate"
# rows after which a view version is publishable again: "held since" counts from the
# first refusal after the latest of these
CLEARING = (GATES, FORCED, NO_GATE)
REASON_LIMIT, REASONS_KEPT = 1000, 50
_READY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # warehouse -> table


@dataclass(frozen=True)
class BuiltState:
    """One content of a view version's relation."""

    view: FeatureView
    state: str  # the fingerprint: a digest of the columns, the row count and the rows
    rows: int

    @property
    def label(self) -> str:
        return self.view.label


@dataclass(frozen=True)
class Verdict:
    judge: str
    passed: bool
    reasons: tuple[str, ...]
    judged_at: dt.datetime
    contract_hash: str
    judged_by: str = ""


@dataclass
class Standing:
    """What the recorded verdicts say of one state now."""

    refusals: list[Verdict] = field(default_factory=list)  # dbt / gates, not overridden
    gated: bool = False  # the gates judged it under the current contract
    published_unjudged: bool = False  # a no-gate row is on record for it already

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    def reasons(self) -> list[str]:
        return [reason for verdict in self.refusals for reason in verdict.reasons]


def ensure_table(warehouse) -> str:
    """The table, created if missing; once per ``Warehouse`` object."""
    if warehouse in _READY:
        return _READY[warehouse]
    warehouse.ensure_store_schema()
    table = warehouse.store_table(TABLE)
    warehouse.execute(f"create table if not exists {table} "
                      f"({', '.join(f'{n} {t}' for n, t in COLUMNS)})")
    _READY[warehouse] = table
    return table


def built_state(warehouse, view: FeatureView) -> BuiltState | None:
    """The state the view version's relation holds now; None when it is not built (the
    sync then names the missing relation)."""
    relation = warehouse.view_relation(view)
    try:
        columns = warehouse.columns(relation)
    except WarehouseUnreachable:
        raise
    except WarehouseError:
        return None
    sql = warehouse.dialect.fingerprint_sql(
        relation, [warehouse.dialect.alias(name) for name in columns])
    (rows, digest), = warehouse.fetch_all(sql)
    schema = ",".join(f"{name} {kind}" for name, kind in columns.items())
    state = hashlib.sha256(f"{schema}|{int(rows)}|{digest}".encode()).hexdigest()[:32]
    return BuiltState(view, state, int(rows))


def verdicts(warehouse, state: BuiltState) -> list[Verdict]:
    """Every verdict recorded on ``state``, oldest first."""
    table = ensure_table(warehouse)
    rows = warehouse.fetch_all(
        f"select judge, passed, reasons, judged_at, contract_hash, judged_by from {table} "
        "where view_name = ? and view_version = ? and state = ? order by judged_at",
        [state.view.name, state.view.version, state.state])
    return [Verdict(judge, bool(passed), tuple(_reasons(reasons)), judged_at, contract or "",
                    judged_by or "")
            for judge, passed, reasons, judged_at, contract, judged_by in rows]


def standing(found: list[Verdict], contract_hash: str) -> Standing:
    """The refusals that stand on a state (its latest dbt verdict, its latest gates
    verdict under the current contract, unless a later forced one overrides them)."""
    latest: dict[str, Verdict] = {}
    for verdict in found:
        if verdict.judge == GATES and verdict.contract_hash != contract_hash:
            continue  # judged by another contract: the gates judge it again
        latest[verdict.judge] = verdict
    forced = latest.get(FORCED)
    refusals = [verdict for judge, verdict in latest.items()
                if judge in (DBT, GATES) and not verdict.passed
                and (forced is None or verdict.judged_at > forced.judged_at)]
    return Standing(sorted(refusals, key=lambda v: v.judged_at), GATES in latest,
                    NO_GATE in latest)


def record(warehouse, state: BuiltState, judge: str, passed: bool, reasons: list[str],
           *, cycle_id: str | None = None, judged_by: str | None = None,
           at: dt.datetime | None = None) -> Verdict:
    """Append one verdict on ``state``."""
    table = ensure_table(warehouse)
    reasons = [" ".join(str(line).split())[:REASON_LIMIT] for line in reasons[:REASONS_KEPT]]
    verdict = Verdict(judge, passed, tuple(reasons), utc_naive(at),
                      state.view.contract_hash(), who(judged_by))
    warehouse.execute(
        f"insert into {table} values ({', '.join('?' for _ in COLUMNS)})",
        [state.view.name, state.view.version, state.state, state.rows, verdict.contract_hash,
         judge, passed, json.dumps(reasons), verdict.judged_at,
         verdict.judged_by, cycle_id])
    return verdict


def who(name: str | None = None) -> str:
    """Who a verdict is recorded for: the name given (FEATURESTORE_USER), else the login."""
    return name or getpass.getuser()


def held_since(warehouse, view: FeatureView) -> dt.datetime | None:
    """When the view version was first refused after it was last publishable: how long
    the online store has had nothing new of it."""
    table = ensure_table(warehouse)
    (since,), = warehouse.fetch_all(
        f"select min(judged_at) from {table} where view_name = ? and view_version = ? "
        "and not passed and judge in (?, ?) and judged_at > coalesce(("
        f"  select max(judged_at) from {table} where view_name = ? and view_version = ? "
        f"  and passed and judge in ({', '.join('?' for _ in CLEARING)})), "
        "  cast('1970-01-01' as timestamp))",
        [view.name, view.version, DBT, GATES, view.name, view.version, *CLEARING])
    return None if since is None else utc_naive(since)


def history(warehouse, view: FeatureView, limit: int = 20) -> list[dict]:
    """The view version's latest verdicts, newest first (what an operator reads)."""
    table = ensure_table(warehouse)
    rows = warehouse.fetch_all(
        f"select state, state_rows, judge, passed, reasons, judged_at, judged_by, cycle_id "
        f"from {table} where view_name = ? and view_version = ? "
        f"order by judged_at desc limit {int(limit)}", [view.name, view.version])
    return [{"state": state, "rows": rows_, "judge": judge, "passed": bool(passed),
             "reasons": _reasons(reasons), "judged_at": judged_at, "judged_by": judged_by,
             "cycle_id": cycle_id}
            for state, rows_, judge, passed, reasons, judged_at, judged_by, cycle_id in rows]


def _reasons(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return [str(text)]
    return [str(line) for line in value] if isinstance(value, list) else [str(value)]
