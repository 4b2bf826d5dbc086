"""Retire a version: take it out of service, delete its online items, drop its table.

Retirement records ``retire_started`` and adds the version to the pointer's retired set
(the sync and pinned lookups stop using it), deletes the items from a cursor a rerun
resumes from (``sync/retire.py``), then records ``retired``. Dropping the warehouse
table is a separate, later step, once the contract marks the version ``retired: true``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from featurestore import version_log
from featurestore.apps.versions.inputs import Say, checked_reason, quiet, who_of
from featurestore.apps.versions.store import (
    Store,
    change_pointer,
    reconcile,
    served_version,
    to_micros,
)
from featurestore.dtypes import utc_naive
from featurestore.errors import CheckFailed, RequestError
from featurestore.project import Project
from featurestore.version_log import VersionEvent

DEFAULT_PINNED_WITHIN = dt.timedelta(days=30)


@dataclass
class RetireResult:
    view: str
    version: int
    deleted: int = 0
    resumed_from: str | None = None
    already: bool = False
    forced_over: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"view": self.view, "version": self.version, "deleted": self.deleted,
                "resumed_from": self.resumed_from, "already_retired": self.already,
                "forced_over": self.forced_over}


def retire(project: Project, view_name: str, version: int, *, reason: str | None,
           force: bool = False, pinned_within: dt.timedelta = DEFAULT_PINNED_WITHIN,
           scan: bool = False, batch_keys: int = 500, who: str | None = None,
           say: Say = quiet) -> RetireResult:
    """Delete ``version``'s online items and mark it retired; refused while it is served,
    was served within the lookup's refresh bound, or was pinned by a training set
    recorded within ``pinned_within`` (``force``: that last check only)."""
    from featurestore.sync.retire import delete_version_items
    from featurestore.warehouse import Warehouse

    reason = checked_reason(reason, "retire")
    catalog = project.catalog()
    catalog.view(view_name)
    versions = catalog.versions_of(view_name)
    if version not in versions:
        raise RequestError(f"view `{view_name}` has no version {version}; its versions: "
                           + ", ".join(f"v{v}" for v in sorted(versions)))
    view = versions[version]
    store = Store.open(project)
    pointer = store.pointer(view_name)
    who = who_of(project, who)
    with Warehouse(project) as warehouse:
        reconcile(warehouse, store, pointer)
        events = version_log.events(warehouse, view_name)
        done = {e.version for e in events if e.action == "retired"}
        if version in done and not scan:
            say(f"{view_name} v{version} is already retired; its offline table is kept "
                "(docs/versions.md says how to drop it)")
            return RetireResult(view_name, version, already=True)
        if version not in pointer.retired:
            forced_over = _begin(project, warehouse, store, pointer, version, who=who,
                                 reason=reason, force=force, pinned_within=pinned_within,
                                 say=say)
        else:
            forced_over = []
            say(f"{view_name} v{version}: resuming the retirement a stopped run began")

        def progress(state) -> None:
            say(f"retire {view_name} v{version}: {state.deleted:,} item(s) deleted")

        with store.online.errors():
            state = delete_version_items(warehouse, store.online, view, scan=scan,
                                         batch_keys=batch_keys, progress=progress)
        version_log.record(warehouse, VersionEvent(
            view_name, version, "retired", who, reason, None, store.store_id,
            bool(forced_over), {"deleted": state.deleted, "resumed_from": state.resumed_from,
                                "scanned": state.scanned}))
    return RetireResult(view_name, version, state.deleted, state.resumed_from,
                        forced_over=forced_over)


def _begin(project: Project, warehouse, store: Store, pointer, version: int, *, who: str,
           reason: str, force: bool, pinned_within: dt.timedelta,
           say: Say = quiet) -> list[str]:
    """Check that ``version`` may be retired, then record ``retire_started`` and add it to
    the pointer's retired set; the pins ``force`` overrode. A version served until just
    now is retired once every lookup has had two refresh intervals to move off it: the
    command waits out what is left of them (a promote then a retire, as a script runs
    them, works as written), and the pointer's conditional write still refuses if
    another change came in between."""
    from featurestore.online.serving import Pointer

    view_name = pointer.view
    served = served_version(project, view_name, pointer)
    if version == served:
        raise CheckFailed(
            f"v{version} of `{view_name}` is the version served: retiring it would "
            "leave lookups without values. Promote another version first "
            f"(`featurestore promote {view_name} --version <N>`).")
    grace_s = 2 * project.settings.lookup.version_refresh_ms / 1000
    since_us = time.time_ns() // 1000 - pointer.changed_at_us
    if pointer.previous == version and since_us < grace_s * 1_000_000:
        wait_s = grace_s - since_us / 1e6
        say(f"v{version} of `{view_name}` was served until {since_us / 1e6:.1f} s ago; "
            f"lookups may read it for up to two refresh intervals: waiting {wait_s:.1f} s")
        time.sleep(wait_s)
    since = utc_naive() - pinned_within
    pins = version_log.pinned_by(warehouse, view_name, version, since)
    forced_over = [f"pinned by the training set {path} ({created:%Y-%m-%d %H:%M})"
                   for created, path in pins]
    if forced_over and not force:
        raise CheckFailed(
            f"v{version} of `{view_name}` is pinned by {len(pins)} training set(s) "
            f"recorded in the last {pinned_within.days} day(s); the models trained on "
            "them may ask for it:\n" + "\n".join(f"  {line}" for line in forced_over)
            + "\nMove those models to another version, or pass --force (recorded).")
    event = VersionEvent(view_name, version, "retire_started", who, reason,
                         served, store.store_id, bool(forced_over),
                         {"forced_over": forced_over})
    version_log.record(warehouse, event)
    change_pointer(store, Pointer(view_name, pointer.served, pointer.previous,
                                  pointer.retired | {version}, event.event_id,
                                  "retire_started", version, to_micros(event.at), who, reason,
                                  bool(forced_over)), pointer)
    return forced_over


def drop_offline(project: Project, view_name: str, version: int, *,
                 who: str | None = None) -> str:
    """Drop a retired version's warehouse table, once the contract marks it
    ``retired: true`` (dbt no longer builds it); returns the relation dropped."""
    from featurestore.warehouse import Warehouse

    catalog = project.catalog()
    catalog.view(view_name)
    versions = catalog.versions_of(view_name)
    view = versions.get(version)
    if view is None or not view.retired:
        raise RequestError(
            f"version {version} of `{view_name}` is not marked `retired: true` in "
            f"{catalog.views[view_name].path}: dbt would build its table again. Mark it "
            "(and delete its model file), run `featurestore build`, then drop it.")
    with Warehouse(project) as warehouse:
        if version not in {e.version for e in version_log.events(warehouse, view_name)
                           if e.action == "retired"}:
            raise RequestError(f"version {version} of `{view_name}` has not been retired "
                               f"online yet: `featurestore retire {view_name} --version "
                               f"{version}` first")
        relation = warehouse.view_relation(view)
        warehouse.execute(f"drop table if exists {relation}")
        version_log.record(warehouse, VersionEvent(view_name, version, "dropped",
                                                   who_of(project, who), "",
                                                   details={"relation": relation}))
    return relation

