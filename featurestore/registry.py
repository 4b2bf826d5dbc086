"""The registry of applied contracts, kept in the warehouse with its history.

``plan`` compares the contracts on disk with what was last applied and sorts every
difference into allowed (documentation, new features, TTLs) and breaking (a dtype or
entity change, a removed feature) — breaking ones are refused unless the view's
``version`` goes up, because a model trained on version 1 must keep getting version 1's
meaning. ``apply`` records the new state: who applied which version, when, with which
contract hash, so any training set or online item can be traced to its contract.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field

from featurestore.contracts import Catalog, FeatureView
from featurestore.dtypes import utc_naive
from featurestore.errors import PlanRefused
from featurestore.warehouse import Warehouse

TABLE = "feature_registry"


@dataclass
class ViewChange:
    """What happens to one view: create, update, bump, remove or nothing."""

    view: str
    action: str  # create | update | bump | remove | unchanged
    version: int
    previous_version: int | None = None
    details: list[str] = field(default_factory=list)
    breaking: list[str] = field(default_factory=list)
    contract: FeatureView | None = None


@dataclass
class Plan:
    changes: list[ViewChange]

    @property
    def refused(self) -> list[str]:
        return [problem for change in self.changes for problem in change.breaking]

    @property
    def pending(self) -> list[ViewChange]:
        return [c for c in self.changes if c.action != "unchanged"]

    def to_dict(self) -> dict:
        """What ``featurestore plan --json`` prints."""
        return {
            "changes": [{"view": c.view, "action": c.action, "version": c.version,
                         "previous_version": c.previous_version, "details": c.details,
                         "refused": c.breaking} for c in self.changes],
            "pending": len(self.pending),
            "refused": self.refused,
        }

    def render(self) -> str:
        symbols = {"create": "+", "update": "~", "bump": "^", "remove": "-", "unchanged": "="}
        lines = []
        for change in self.changes:
            version = f"v{change.version}"
            if change.action == "bump":
                version = f"v{change.previous_version} -> v{change.version}"
            lines.append(f"{symbols[change.action]} {change.view} {version} ({change.action})")
            lines.extend(f"    {detail}" for detail in change.details)
            lines.extend(f"    REFUSED: {problem}" for problem in change.breaking)
        if not self.pending:
            lines.append("No changes: the registry matches feature_defs/.")
        return "\n".join(lines)


def ensure_registry(warehouse: Warehouse) -> str:
    warehouse.ensure_store_schema()
    table = warehouse.store_table(TABLE)
    warehouse.execute(
        f"create table if not exists {table} ("
        "view_name varchar not null, version integer not null, contract_hash varchar not null, "
        "contract_json varchar not null, change varchar not null, applied_by varchar not null, "
        "applied_at timestamp not null)"
    )
    return table


def applied_contracts(warehouse: Warehouse) -> dict[str, dict]:
    """The latest applied row per view (removed views excluded): name -> row."""
    table = ensure_registry(warehouse)
    rows = warehouse.fetch_all(
        f"select view_name, version, contract_hash, contract_json, change, applied_by, "
        f"applied_at from {table} "
        "qualify row_number() over (partition by view_name order by applied_at desc, "
        "version desc) = 1"
    )
    current = {}
    for name, version, digest, contract_json, change, who, when in rows:
        if change != "remove":
            current[name] = {"version": version, "contract_hash": digest,
                             "contract": json.loads(contract_json), "applied_by": who,
                             "applied_at": when}
    return current


def history(warehouse: Warehouse, view: str) -> list[tuple]:
    table = ensure_registry(warehouse)
    return warehouse.fetch_all(
        f"select version, change, contract_hash, applied_by, applied_at from {table} "
        "where view_name = ? order by applied_at, version", [view]
    )


def _compare(view: FeatureView, old: dict) -> tuple[list[str], list[str]]:
    """(allowed details, breaking changes) between an applied contract and ``view``."""
    new = view.to_dict()
    details: list[str] = []
    breaking: list[str] = []
    bump = f"Add `version: {old['version'] + 1}`."

    def refuse(where: str, what: str) -> None:
        breaking.append(f"{view.path}, {where}: {what} without a new version. {bump}")

    if old["entity"]["name"] != new["entity"]["name"]:
        refuse("field `entity`",
               f"entity changed from {old['entity']['name']} to {new['entity']['name']}")
    elif old["entity"]["join_keys"] != new["entity"]["join_keys"]:
        before = ", ".join(f"{k['name']}:{k['dtype']}" for k in old["entity"]["join_keys"])
        after = ", ".join(f"{k['name']}:{k['dtype']}" for k in new["entity"]["join_keys"])
        refuse("field `entity`", f"join keys of entity `{view.entity.name}` changed from "
               f"[{before}] to [{after}]")
    old_features = {f["name"]: f for f in old["features"]}
    new_features = {f["name"]: f for f in new["features"]}
    for name, before in old_features.items():
        after = new_features.get(name)
        if after is None:
            refuse(f"feature `{name}`", "removed")
            continue
        if before["dtype"] != after["dtype"]:
            refuse(f"feature `{name}`",
                   f"dtype changed from {before['dtype']} to {after['dtype']}")
        for key in sorted(set(before) | set(after)):
            if key not in ("name", "dtype") and before.get(key) != after.get(key):
                details.append(f"feature `{name}`: {key} {before.get(key)!r} -> "
                               f"{after.get(key)!r}")
    for name in new_features.keys() - old_features.keys():
        details.append(f"feature `{name}`: added ({new_features[name]['dtype']})")
    for key in ("source", "timestamp", "created_timestamp", "ttl", "freshness_slo", "online",
                "owner", "description", "tags"):
        if old.get(key) != new.get(key):
            details.append(f"{key}: {old.get(key)!r} -> {new.get(key)!r}")
    return details, breaking


def plan(catalog: Catalog, warehouse: Warehouse) -> Plan:
    applied = applied_contracts(warehouse)
    changes = []
    for name, view in sorted(catalog.views.items()):
        old = applied.get(name)
        if old is None:
            changes.append(ViewChange(name, "create", view.version, contract=view,
                                      details=[f"{len(view.features)} features, entity "
                                               f"`{view.entity.name}`"]))
            continue
        if old["contract_hash"] == view.contract_hash():
            changes.append(ViewChange(name, "unchanged", view.version, contract=view))
            continue
        if view.version < old["version"]:
            changes.append(ViewChange(name, "update", view.version, contract=view, breaking=[
                f"{view.path}, field `version`: version went from {old['version']} to "
                f"{view.version}; versions only go up. Set `version: {old['version'] + 1}` "
                "for a new version."]))
            continue
        details, breaking = _compare(view, old["contract"])
        if view.version > old["version"]:
            changes.append(ViewChange(name, "bump", view.version, old["version"],
                                      details=details + [f"breaking: {b.split(': ', 1)[1]}"
                                                         for b in breaking], contract=view))
        else:
            changes.append(ViewChange(name, "update", view.version, details=details,
                                      breaking=breaking, contract=view))
    for name in sorted(applied.keys() - catalog.views.keys()):
        changes.append(ViewChange(name, "remove", applied[name]["version"],
                                  details=["its contract file is gone from feature_defs/"]))
    return Plan(changes)


def apply(catalog: Catalog, warehouse: Warehouse, *, who: str | None = None) -> Plan:
    """Record the plan's changes in one transaction; refuse it whole if anything breaks."""
    result = plan(catalog, warehouse)
    if result.refused:
        raise PlanRefused(result.refused)
    who = who or getpass.getuser()
    now = utc_naive()
    table = ensure_registry(warehouse)
    with warehouse.transaction():
        for change in result.pending:
            contract = change.contract
            warehouse.execute(
                f"insert into {table} values (?, ?, ?, ?, ?, ?, ?)",
                [change.view, change.version,
                 contract.contract_hash() if contract else "",
                 json.dumps(contract.to_dict(), sort_keys=True) if contract else "{}",
                 change.action, who, now],
            )
    return result
