"""Compare two versions, promote one, roll back: the commands that move the pointer.

A promotion is refused unless the version was synced and ``compare`` against the version
served passes the contract's thresholds (``force``: anyway, recorded with the failures).
Each change writes the pointer first, then the registry row with the same event id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from featurestore import version_log
from featurestore.apps.versions.inputs import (
    Say,
    checked_reason,
    pick_view_version,
    quiet,
    who_of,
)
from featurestore.apps.versions.store import (
    Store,
    change_pointer,
    is_synced,
    reconcile,
    served_version,
    to_micros,
)
from featurestore.dtypes import utc_naive
from featurestore.errors import GateFailed, RequestError
from featurestore.project import Project
from featurestore.version_log import VersionEvent


def compare(project: Project, view_name: str, from_version: int, to_version: int, *,
            as_of: dt.datetime | None = None, record: bool = True,
            live_window: dt.timedelta | None = None, serving_log=None):
    """The two versions' latest values side by side (``comparison.py``), recorded in
    ``featurestore.gate_results`` unless ``record`` is false. ``live_window``: compare
    them on live traffic instead, from the serving log's shadow reads of that window up
    to ``as_of`` (suite ``shadow``)."""
    from pathlib import Path

    from featurestore.apps.versions.comparison import (
        compare_live,
        compare_versions,
    )
    from featurestore.apps.versions.comparison import record as record_report
    from featurestore.warehouse import Warehouse

    old = pick_view_version(project, view_name, from_version)
    new = pick_view_version(project, view_name, to_version)
    if live_window is not None:
        end = utc_naive(as_of)
        log = Path(serving_log or project.settings.serving_log_dir)
        report = compare_live(log, old, new, end - live_window, end)
        report.frozen = _beside_frozen(project, report)
        if record:
            with Warehouse(project) as warehouse:
                record_report(warehouse, report)
        return report
    with Warehouse(project) as warehouse:
        report = compare_versions(warehouse, old, new, as_of)
        if record:
            record_report(warehouse, report)
    return report


def _beside_frozen(project: Project, report) -> list[dict]:
    """The frozen transformation parameters of the view's features (feature services),
    beside the same statistics of the values served at the version they were frozen on."""
    from featurestore.feature_services.live import beside_frozen, served_sets

    sets = served_sets(project, {report.view})
    return beside_frozen(sets, lambda name, version: report.served.get(version, {}).get(name))


# -- promote and roll back ----------------------------------------------------------------------
@dataclass
class ServingChange:
    view: str
    action: str  # promote | rollback | unchanged
    version: int
    previous: int
    event: VersionEvent | None = None
    report: object = None  # the CompareReport a promotion was judged on
    forced_over: list[str] = field(default_factory=list)
    # what the lookups make of it: a local serve reloads, a stale deployment cannot
    lookups: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"view": self.view, "action": self.action, "version": self.version,
                "previous": self.previous,
                "event": self.event.to_dict() if self.event else None,
                "compare": self.report.to_dict() if self.report else None,
                "forced_over": self.forced_over, "lookups": self.lookups}


def reach(project: Project, view_name: str, version: int) -> list[str]:
    """Which lookups can serve ``version`` once the pointer names it (and which cannot)."""
    from featurestore.lookup.registry_snapshot import reach_lines

    lookup = project.settings.lookup
    return reach_lines(project.root, lookup.registry, view_name, version,
                       lookup.version_refresh_ms / 1000)



def promote(project: Project, view_name: str, version: int, *, reason: str | None,
            force: bool = False, who: str | None = None, say: Say = quiet) -> ServingChange:
    """Make ``version`` the version served by default, if it is synced and ``compare``
    against the served version passes (``force``: anyway, recorded)."""
    from featurestore.online.serving import Pointer
    from featurestore.warehouse import Warehouse

    reason = checked_reason(reason, "promote")
    target = pick_view_version(project, view_name, version)
    store = Store.open(project)
    pointer = store.pointer(view_name)
    with Warehouse(project) as warehouse:
        reconcile(warehouse, store, pointer)
    current = served_version(project, view_name, pointer)
    if version in pointer.retired:
        raise RequestError(f"version {version} of `{view_name}` is retired; it cannot be "
                           "served again. Declare a new version instead.")
    if version == current:
        say(f"{view_name}: v{version} is already the version served; nothing to do")
        return ServingChange(view_name, "unchanged", version, current)
    refusals: list[str] = []
    if not is_synced(store, target):
        refusals.append(f"{view_name} v{version} has never been synced to this store (no "
                        f"sync marker): every lookup would get defaults. Run `featurestore "
                        f"backfill {view_name} --version {version}` first.")
    say(f"comparing {view_name} v{current} -> v{version} ...")
    report = compare(project, view_name, current, version)
    refusals += report.failures()
    if refusals and not force:
        raise GateFailed(
            f"promotion of {view_name} v{version} refused ({len(refusals)} check(s) failed; "
            "the figures are in featurestore.gate_results, suite compare):\n"
            + "\n".join(f"  {line}" for line in refusals)
            + "\nFix them, or pass --force to promote anyway (recorded with the failures).")
    who = who_of(project, who)
    event = VersionEvent(view_name, version, "promote", who, reason, current, store.store_id,
                         bool(refusals), {"compare_run_id": report.run_id,
                                          "forced_over": refusals})
    change_pointer(store, Pointer(view_name, version, current, pointer.retired,
                                  event.event_id, "promote", version, to_micros(event.at), who,
                                  reason, bool(refusals)), pointer)
    with Warehouse(project) as warehouse:
        version_log.record(warehouse, event)
    return ServingChange(view_name, "promote", version, current, event, report, refusals,
                         reach(project, view_name, version))


def rollback(project: Project, view_name: str, *, reason: str | None,
             who: str | None = None) -> ServingChange:
    """Serve again the version served before the last promotion or rollback."""
    from featurestore.online.serving import Pointer
    from featurestore.warehouse import Warehouse

    reason = checked_reason(reason, "rollback")
    project.catalog().view(view_name)
    store = Store.open(project)
    pointer = store.pointer(view_name)
    with Warehouse(project) as warehouse:
        reconcile(warehouse, store, pointer)
    current = served_version(project, view_name, pointer)
    if pointer.previous is None:
        raise RequestError(f"`{view_name}` has not been promoted (it serves v{current}, "
                           "its first version): there is nothing to roll back to")
    if pointer.previous in pointer.retired:
        raise RequestError(f"the version served before, v{pointer.previous} of "
                           f"`{view_name}`, is retired; promote another version instead")
    target = pick_view_version(project, view_name, pointer.previous)
    who = who_of(project, who)
    event = VersionEvent(view_name, target.version, "rollback", who, reason, current,
                         store.store_id)
    change_pointer(store, Pointer(view_name, target.version, current, pointer.retired,
                                  event.event_id, "rollback", target.version,
                                  to_micros(event.at), who, reason), pointer)
    with Warehouse(project) as warehouse:
        version_log.record(warehouse, event)
    return ServingChange(view_name, "rollback", target.version, current, event,
                         lookups=reach(project, view_name, target.version))
