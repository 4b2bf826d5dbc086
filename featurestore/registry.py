"""The registry of applied contracts, kept in the warehouse with its history.

``plan`` compares the contracts on disk with what was last applied and sorts every
difference into allowed (documentation, new features, TTLs) and breaking (a dtype or
entity change, a removed feature) — breaking ones are refused unless the view's
``version`` goes up, because a model trained on version 1 must keep getting version 1's
meaning. That holds once something has consumed the view: a sync, a training set, a
promotion or a backfill (``consumed_views``). Before that nobody can depend on version
1's meaning, so a breaking change is made in place (``in-place``), which is what the
first real edit of a scaffolded view is. ``apply`` records the new state: who applied
which version, when, with which contract hash, so any training set or online item can
be traced to its contract. On-demand views are planned and recorded by the same rules,
their request fields, inputs and expressions being what breaks
(registry_on_demand.py); they are listed after the stored views.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field

from featurestore import registry_on_demand
from featurestore.contracts import Catalog, FeatureView, OnDemandView
from featurestore.dtypes import utc_naive
from featurestore.errors import PlanRefused, WarehouseError, WarehouseUnreachable
from featurestore.registry_on_demand import record_json
from featurestore.warehouse import Warehouse

TABLE = "feature_registry"
# The tables whose rows mean that a view was consumed, each with the words plan uses.
# ``sync_state`` is written by the sync (sync/state.py, a service the core does not
# import), the other two by featurestore/version_log.py.
CONSUMERS = (("sync_state", "synced"), ("training_sets", "read by a training set"),
             ("feature_versions", "backfilled or promoted"))


@dataclass
class ViewChange:
    """What happens to one view: create, update, bump, remove or nothing."""

    view: str
    action: str  # create | update | in-place | bump | new-version | remove | unchanged
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
        symbols = {"create": "+", "update": "~", "in-place": "~", "bump": "^", "remove": "-",
                   "unchanged": "=", "new-version": "+"}
        words = {"in-place": "not yet published, changed in place"}
        lines = []
        for change in self.changes:
            version = f"v{change.version}"
            if change.action == "bump":
                version = f"v{change.previous_version} -> v{change.version}"
            elif change.action == "new-version":
                version = f"v{change.version}, beside v{change.previous_version}" \
                    if change.previous_version else version
            lines.append(f"{symbols[change.action]} {change.view} {version} "
                         f"({words.get(change.action, change.action)})")
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


def _compare(view: FeatureView, old: dict) -> tuple[list[str], list[tuple[str, str]]]:
    """(allowed details, breaking changes as (where, what)) between an applied contract
    and ``view``; the caller words a breaking change as a refusal, an in-place change or
    part of a new version."""
    new = view.to_dict()
    details: list[str] = []
    breaking: list[tuple[str, str]] = []
    if old["entity"]["name"] != new["entity"]["name"]:
        breaking.append(("field `entity`", f"entity changed from {old['entity']['name']} to "
                                           f"{new['entity']['name']}"))
    elif old["entity"]["join_keys"] != new["entity"]["join_keys"]:
        before = ", ".join(f"{k['name']}:{k['dtype']}" for k in old["entity"]["join_keys"])
        after = ", ".join(f"{k['name']}:{k['dtype']}" for k in new["entity"]["join_keys"])
        breaking.append(("field `entity`", f"join keys of entity `{view.entity.name}` changed "
                                           f"from [{before}] to [{after}]"))
    old_features = {f["name"]: f for f in old["features"]}
    new_features = {f["name"]: f for f in new["features"]}
    for name, before in old_features.items():
        after = new_features.get(name)
        if after is None:
            breaking.append((f"feature `{name}`", "removed"))
            continue
        if before["dtype"] != after["dtype"]:
            breaking.append((f"feature `{name}`",
                             f"dtype changed from {before['dtype']} to {after['dtype']}"))
        for key in sorted(set(before) | set(after)):
            if key not in ("name", "dtype") and before.get(key) != after.get(key):
                details.append(f"feature `{name}`: {key} {before.get(key)!r} -> "
                               f"{after.get(key)!r}")
    for name in new_features.keys() - old_features.keys():
        details.append(f"feature `{name}`: added ({new_features[name]['dtype']})")
    for key in ("source", "timestamp", "created_timestamp", "ttl", "freshness_slo", "online",
                "owner", "description", "tags", "changes", "compare"):
        if old.get(key) != new.get(key):
            details.append(f"{key}: {old.get(key)!r} -> {new.get(key)!r}")
    return details, breaking


def _refusals(view: FeatureView, old_version: int, breaking: list[tuple[str, str]]) -> list[str]:
    return [f"{view.path}, {where}: {what} without a new version. Add `version: "
            f"{old_version + 1}`." for where, what in breaking]


def _applied_change(view: FeatureView, old: dict, *, consumed: bool) -> ViewChange:
    """A version already in the registry against its own record."""
    name, number = view.name, view.version
    if old["contract_hash"] == view.contract_hash():
        return ViewChange(name, "unchanged", number, contract=view)
    details, breaking = _compare(view, old["contract"])
    if breaking and not consumed:  # nothing depends on its meaning yet
        return ViewChange(name, "in-place", number, contract=view, details=[
            *(f"{where}: {what}" for where, what in breaking), *details])
    return ViewChange(name, "update", number, details=details, contract=view,
                      breaking=_refusals(view, number, breaking))


def consumed_views(warehouse: Warehouse) -> dict[str, str]:
    """View -> how it was first found consumed (``synced``, ``read by a training set``,
    ``backfilled or promoted``), for every view with a row in one of the registry's
    tables of consumers (any version). A table not created yet holds no consumer."""
    found: dict[str, str] = {}
    for table, how in CONSUMERS:
        try:
            rows = warehouse.fetch_all(
                f"select distinct view_name from {warehouse.store_table(table)}")
        except WarehouseUnreachable:
            raise
        except WarehouseError:  # no such table yet: nothing consumed that way
            continue
        for (name,) in rows:
            found.setdefault(name, how)
    return found


def applied_versions(warehouse: Warehouse) -> dict[tuple[str, int], dict]:
    """The latest applied row per (view, version), removed versions excluded."""
    table = ensure_registry(warehouse)
    rows = warehouse.fetch_all(
        f"select view_name, version, contract_hash, contract_json, change from {table} "
        "qualify row_number() over (partition by view_name, version "
        "order by applied_at desc) = 1"
    )
    return {(name, version): {"version": version, "contract_hash": digest,
                              "contract": json.loads(contract_json)}
            for name, version, digest, contract_json, change in rows if change != "remove"}


def _version_diff(view: FeatureView, before: FeatureView) -> list[str]:
    """How a new version differs from the version before it: what ``plan`` shows."""
    old = {f.name: f for f in before.features}
    new = {f.name: f for f in view.features}
    lines = [f"feature `{name}`: dropped" for name in old if name not in new]
    for name, feature in new.items():
        if name not in old:
            lines.append(f"feature `{name}`: added ({feature.dtype})")
        elif old[name] != feature:
            a, b = old[name].to_dict(), feature.to_dict()
            lines.append(f"feature `{name}`: " + "; ".join(
                f"{key} {a[key]!r} -> {b[key]!r}" for key in a if a[key] != b[key]))
    for key in ("ttl", "freshness_slo", "description"):
        a, b = before.to_dict()[key], view.to_dict()[key]
        if a != b:
            lines.append(f"{key}: {a!r} -> {b!r}")
    return ([f"differs from v{before.version}:"]
            + [f"  {line}" for line in lines or ["no difference in features, ttl or freshness"]]
            + ([f"changes: {view.changes}"] if view.changes else []))


def _registry_state(catalog: Catalog, warehouse: Warehouse) -> tuple[dict, dict, dict]:
    """(the stored views' applied versions, the on-demand views', the consumed views:
    a feature service's frozen parameters consume the on-demand views they read)."""
    stored, on_demand = {}, {}
    for key, record in applied_versions(warehouse).items():
        kind = on_demand if registry_on_demand.is_on_demand_record(record["contract"]) \
            else stored
        kind[key] = record
    consumed = consumed_views(warehouse)
    if catalog.on_demand or on_demand:
        consumed.update(dict.fromkeys(registry_on_demand.frozen_by_services(warehouse)
                                      - consumed.keys(), "frozen by a feature service"))
    return stored, on_demand, consumed


def plan(catalog: Catalog, warehouse: Warehouse) -> Plan:
    """Every view version of the contracts against the registry.

    A version already applied is compared with its own record: a breaking change in it
    is refused once anything consumed the view (``consumed_views``), and made in place
    (``in-place``) before that. A version not applied yet is a new version when the
    view keeps its other versions (``versions:``), or replaces the one before it (a
    contract without ``versions:`` that raises its ``version``, as before versions could
    live side by side). A version leaves a contract only once ``featurestore retire``
    has retired it.
    """
    from featurestore import version_log

    applied, on_demand, consumed = _registry_state(catalog, warehouse)
    retired = version_log.retired_versions(warehouse)
    logged = {event.view_name for event in version_log.events(warehouse)}
    changes = []
    for name in sorted(catalog.views):
        declared = catalog.versions_of(name)
        live = {v: view for v, view in declared.items() if not view.retired}
        old_versions = sorted(v for n, v in applied if n == name)
        newest_old = old_versions[-1] if old_versions else None
        replaced: set[int] = set()
        for number, view in sorted(live.items()):
            old = applied.get((name, number))
            if old is not None:
                changes.append(_applied_change(view, old, consumed=name in consumed))
                continue
            if newest_old is None:
                changes.append(ViewChange(name, "create", number, contract=view, details=[
                    f"{len(view.features)} features, entity `{view.entity.name}`"]))
                continue
            if number < newest_old and number not in old_versions:
                changes.append(ViewChange(name, "update", number, contract=view, breaking=[
                    f"{view.path}, field `version`: version went from {newest_old} to "
                    f"{number}; versions only go up. Set `version: {newest_old + 1}` for a "
                    "new version."]))
                replaced.update(old_versions)  # the one problem to fix is the number
                continue
            legacy = (view.model_version is None and len(declared) == 1
                      and name not in logged)
            if legacy:  # the new version replaces the old ones, as before versions
                details, breaking = _compare(view, applied[(name, newest_old)]["contract"])
                changes.append(ViewChange(name, "bump", number, newest_old, contract=view,
                                          details=[f"{where}: {what} (breaking; allowed by "
                                                   f"v{number})" for where, what in breaking]
                                          + details))
                replaced.update(old_versions)
                continue
            before = max((v for v in declared if v < number), default=None)
            details = (_version_diff(view, declared[before]) if before is not None
                       else [f"{len(view.features)} features"])
            changes.append(ViewChange(name, "new-version", number, before, details=details,
                                      contract=view))
        for number in old_versions:
            if number in live or number in replaced:
                continue
            if number in retired.get(name, ()):
                changes.append(ViewChange(name, "remove", number, details=[
                    f"version {number} was retired; it leaves the registry's live versions"]))
                continue
            where = declared[number].path if number in declared else catalog.views[name].path
            why = ("is marked `retired: true`" if number in declared
                   else "is gone from the contract")
            changes.append(ViewChange(name, "remove", number, breaking=[
                f"{where}, version {number}: {why}, but `featurestore retire` has not retired "
                f"it (its online items may still be served or pinned). Run `featurestore "
                f"retire {name} --version {number}` first."]))
    for name, number in sorted(k for k in applied if k[0] not in catalog.views):
        if name in catalog.on_demand:
            changes.append(ViewChange(name, "update", number, breaking=[
                f"{catalog.on_demand[name].path}: `{name}` is a stored view in the registry; "
                "an on-demand view cannot take its name (views and on-demand views share one "
                "namespace). Name the on-demand view otherwise, or apply the stored view's "
                "removal first."]))
            continue
        changes.append(ViewChange(name, "remove", number,
                                  details=["its contract file is gone from feature_defs/"]))
    return Plan(changes + [ViewChange(**fields) for fields in  # the on-demand views last
                           registry_on_demand.planned(catalog, on_demand, consumed)])


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
            if isinstance(contract, OnDemandView):  # with its checked trees
                recorded = record_json(contract)
            else:
                recorded = json.dumps(contract.to_dict(), sort_keys=True) if contract else "{}"
            warehouse.execute(
                f"insert into {table} values (?, ?, ?, ?, ?, ?, ?)",
                [change.view, change.version, contract.contract_hash() if contract else "",
                 recorded, change.action, who, now],
            )
    return result
