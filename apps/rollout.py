"""Feature versions in production: backfill, compare, promote, roll back, retire.

The commands of docs/versions.md, as functions the CLI and tests call. A view version is
a dbt model version (``versions:`` in the contract); several live side by side in the
warehouse and online (items ``<view>#v<N>``). Which one a reference without ``@vN`` gets
is the *serving pointer*, an item of the feature table (``online/serving.py``) that the
lookup reads at most once per refresh interval; every change of it is also a row of the
registry's version log (``version_log.py``): who, when, why, and whether a check was
overridden (``--force``).

The order of every change makes it safe to kill and rerun:

* promote and rollback write the pointer (conditionally on the pointer they read, so two
  at once cannot both win), then the registry row with the same event id; a rerun after
  a kill between the two finds the pointer ahead of the registry and records it;
* retire records ``retire_started`` and adds the version to the pointer's retired set
  (the sync and pinned lookups stop using it), deletes the items from a cursor a rerun
  resumes from, then records ``retired``;
* backfill is a ``dbt build`` of the version's model (atomic per run: the incremental
  model's own watermark says what a rerun still has to do) and a sync of that version,
  whose watermark moves only once every write is acknowledged.
"""

from __future__ import annotations

import datetime as dt
import getpass
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from featurestore.contracts import FeatureView
from featurestore.dtypes import utc_naive
from featurestore.errors import (
    CheckFailed,
    FeatureStoreError,
    GateFailed,
    OnlineStoreError,
    RequestError,
)
from featurestore.project import Project
from featurestore.version_log import VersionEvent

Say = Callable[[str], None]
DEFAULT_PINNED_WITHIN = dt.timedelta(days=30)
MAX_REASON = 500  # characters of a reason kept in the pointer and the registry


def _quiet(_line: str) -> None:
    pass


def _who(project: Project, who: str | None) -> str:
    return who or project.settings.user or getpass.getuser()


def _reason(reason: str | None, command: str) -> str:
    """The reason as data: one line of printable text, kept whole up to MAX_REASON."""
    if not reason or not reason.strip():
        raise RequestError(f"{command} needs --reason: say why (it is recorded in the "
                           "registry with who and when)")
    from featurestore.contracts import text_problem

    problem = text_problem(reason)
    if problem:
        raise RequestError(f"--reason: {problem}")
    if len(reason) > MAX_REASON:
        raise RequestError(f"--reason is {len(reason):,} characters; keep it under "
                           f"{MAX_REASON}")
    return reason.strip()


def _version(project: Project, view_name: str, version: int) -> FeatureView:
    from featurestore.feature_refs import pick_version

    catalog = project.catalog()
    catalog.view(view_name)  # an unknown view: ContractError naming the closest
    return pick_version(catalog, view_name, version)


@dataclass
class Store:
    """The project's online store, opened once per command."""

    client: object
    table: str
    store_id: str

    @classmethod
    def open(cls, project: Project) -> Store:
        from featurestore.online.client import require_table, store_errors, store_id

        online = project.settings.online
        client = online.client()
        with store_errors(client, online.table):
            description = require_table(client, online.table, online.where())
        return cls(client, online.table, store_id(client, description))

    def pointer(self, view: str):
        from featurestore.online.client import store_errors
        from featurestore.online.serving import read_pointers

        with store_errors(self.client, self.table):
            return read_pointers(self.client, self.table, [view])[view]


def _reconcile(warehouse, store: Store, pointer) -> None:
    """Record in the registry a pointer change a killed command left unrecorded."""
    from featurestore import version_log

    if pointer.event_id is None or not pointer.action:
        return
    if any(e.event_id == pointer.event_id for e in version_log.events(warehouse,
                                                                      pointer.view)):
        return
    version = pointer.subject if pointer.subject is not None else pointer.served
    version_log.record(warehouse, VersionEvent(
        pointer.view, version, pointer.action, pointer.changed_by, pointer.reason,
        pointer.previous, store.store_id, pointer.forced,
        {"recorded_from": "the serving pointer (the command that wrote it was stopped "
                          "before it recorded it)"},
        _from_micros(pointer.changed_at_us), pointer.event_id))


def _from_micros(micros: int) -> dt.datetime:
    from featurestore.online.items import from_epoch_micros

    return from_epoch_micros(micros) if micros else utc_naive()


def served_version(project: Project, view_name: str, pointer) -> int:
    """The version a reference without ``@vN`` gets: the pointer's, else the base."""
    catalog = project.catalog()
    versions = catalog.versions_of(view_name)
    if pointer.served in versions and not versions[pointer.served].retired:
        return pointer.served
    base = catalog.views[view_name]
    return base.version if not base.retired else catalog.live_versions(view_name)[0].version


def _write(store: Store, pointer, expected) -> None:
    from featurestore.online.client import store_errors
    from featurestore.online.serving import PointerChanged, write_pointer

    try:
        with store_errors(store.client, store.table):
            write_pointer(store.client, store.table, pointer, expected)
    except PointerChanged:
        raise OnlineStoreError(
            f"view `{pointer.view}`: another promotion, rollback or retirement changed the "
            "serving pointer while this one ran; nothing was changed. Look at `featurestore "
            f"versions {pointer.view}` and run the command again if it still applies."
        ) from None


# -- compare ----------------------------------------------------------------------------------
def compare(project: Project, view_name: str, from_version: int, to_version: int, *,
            as_of: dt.datetime | None = None, record: bool = True,
            live_window: dt.timedelta | None = None, serving_log=None):
    """The two versions' latest values side by side (gates/compare.py), recorded in
    ``featurestore.gate_results`` unless ``record`` is false. ``live_window``: compare
    them on live traffic instead, from the serving log's shadow reads of that window up
    to ``as_of`` (suite ``shadow``)."""
    from pathlib import Path

    from featurestore.gates.compare import compare_live, compare_versions
    from featurestore.gates.compare import record as record_report
    from featurestore.warehouse import Warehouse

    old = _version(project, view_name, from_version)
    new = _version(project, view_name, to_version)
    if live_window is not None:
        end = utc_naive(as_of)
        log = Path(serving_log or project.settings.serving_log_dir)
        report = compare_live(log, old, new, end - live_window, end)
        if record:
            with Warehouse(project) as warehouse:
                record_report(warehouse, report)
        return report
    with Warehouse(project) as warehouse:
        report = compare_versions(warehouse, old, new, as_of)
        if record:
            record_report(warehouse, report)
    return report


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


def _reach(project: Project, view_name: str, version: int) -> list[str]:
    """Which lookups can serve ``version`` once the pointer names it (and which cannot)."""
    from featurestore.lookup.registry_snapshot import reach_lines

    lookup = project.settings.lookup
    return reach_lines(project.root, lookup.registry, view_name, version,
                       lookup.version_refresh_ms / 1000)


def _synced(store: Store, view: FeatureView) -> bool:
    from featurestore.online.client import store_errors
    from featurestore.online.items import view_sk
    from featurestore.sync.state import read_markers

    with store_errors(store.client, store.table):
        _, synced = read_markers(store.client, store.table, view_sk(view))
    return synced is not None


def promote(project: Project, view_name: str, version: int, *, reason: str | None,
            force: bool = False, who: str | None = None, say: Say = _quiet) -> ServingChange:
    """Make ``version`` the version served by default, if it is synced and ``compare``
    against the served version passes (``force``: anyway, recorded)."""
    from featurestore import version_log
    from featurestore.online.serving import Pointer
    from featurestore.warehouse import Warehouse

    reason = _reason(reason, "promote")
    target = _version(project, view_name, version)
    store = Store.open(project)
    pointer = store.pointer(view_name)
    with Warehouse(project) as warehouse:
        _reconcile(warehouse, store, pointer)
    current = served_version(project, view_name, pointer)
    if version in pointer.retired:
        raise RequestError(f"version {version} of `{view_name}` is retired; it cannot be "
                           "served again. Declare a new version instead.")
    if version == current:
        say(f"{view_name}: v{version} is already the version served; nothing to do")
        return ServingChange(view_name, "unchanged", version, current)
    refusals: list[str] = []
    if not _synced(store, target):
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
    who = _who(project, who)
    event = VersionEvent(view_name, version, "promote", who, reason, current, store.store_id,
                         bool(refusals), {"compare_run_id": report.run_id,
                                          "forced_over": refusals})
    _write(store, Pointer(view_name, version, current, pointer.retired, event.event_id,
                          "promote", version, _micros(event.at), who, reason, bool(refusals)),
           pointer)
    with Warehouse(project) as warehouse:
        version_log.record(warehouse, event)
    return ServingChange(view_name, "promote", version, current, event, report, refusals,
                         _reach(project, view_name, version))


def rollback(project: Project, view_name: str, *, reason: str | None,
             who: str | None = None) -> ServingChange:
    """Serve again the version served before the last promotion or rollback."""
    from featurestore import version_log
    from featurestore.online.serving import Pointer
    from featurestore.warehouse import Warehouse

    reason = _reason(reason, "rollback")
    project.catalog().view(view_name)
    store = Store.open(project)
    pointer = store.pointer(view_name)
    with Warehouse(project) as warehouse:
        _reconcile(warehouse, store, pointer)
    current = served_version(project, view_name, pointer)
    if pointer.previous is None:
        raise RequestError(f"`{view_name}` has not been promoted (it serves v{current}, "
                           "its first version): there is nothing to roll back to")
    if pointer.previous in pointer.retired:
        raise RequestError(f"the version served before, v{pointer.previous} of "
                           f"`{view_name}`, is retired; promote another version instead")
    target = _version(project, view_name, pointer.previous)
    who = _who(project, who)
    event = VersionEvent(view_name, target.version, "rollback", who, reason, current,
                         store.store_id)
    _write(store, Pointer(view_name, target.version, current, pointer.retired,
                          event.event_id, "rollback", target.version, _micros(event.at), who,
                          reason), pointer)
    with Warehouse(project) as warehouse:
        version_log.record(warehouse, event)
    return ServingChange(view_name, "rollback", target.version, current, event,
                         lookups=_reach(project, view_name, target.version))


def _micros(moment: dt.datetime) -> int:
    from featurestore.online.items import to_epoch_micros

    return to_epoch_micros(moment)


# -- backfill ---------------------------------------------------------------------------------
@dataclass
class BackfillResult:
    view: str
    version: int
    model: str
    history_from: dt.datetime | None
    sync: object = None  # the SyncRun
    event: VersionEvent | None = None

    def to_dict(self) -> dict:
        return {"view": self.view, "version": self.version, "model": self.model,
                "history_from": self.history_from,
                "sync": [r.to_dict() for r in self.sync.results] if self.sync else [],
                "event": self.event.to_dict() if self.event else None}


HISTORY_MACRO = "macro.featurestore.history_from"


def backfill(project: Project, view_name: str, version: int, *,
             history_from: dt.datetime | None = None, full_refresh: bool = False,
             gate: bool = True, batch_size: int = 5_000, threads: int = 8,
             who: str | None = None, say: Say = _quiet, reporter=None) -> BackfillResult:
    """Build ``version``'s history with dbt (incremental where the model is), then sync
    its latest rows to its own items (``<view>#v<N>``); never the version served."""
    from featurestore import version_log
    from featurestore.dbt_runner import run_dbt
    from featurestore.errors import ValidationFailed
    from featurestore.generate import write_generated
    from featurestore.model_check import column_problems
    from featurestore.sync.run import sync_views
    from featurestore.sync.worker import SyncOptions
    from featurestore.warehouse import Warehouse

    view = _version(project, view_name, version)
    store = Store.open(project)
    pointer = store.pointer(view_name)
    served = served_version(project, view_name, pointer)
    if version == served:
        raise RequestError(
            f"v{version} of `{view_name}` is the version served: a backfill would change "
            "what models get without a promotion. Replay into a new version instead: add it "
            f"to `versions:` in {view.path}, then `featurestore backfill {view_name} "
            f"--version <N>`.")
    if version in pointer.retired:
        raise RequestError(f"version {version} of `{view_name}` is retired")
    for path in write_generated(project, project.catalog()):
        say(f"regenerated {path}")
    args = ["build", "--select", view.model_ref]
    if full_refresh:
        args.append("--full-refresh")
    if history_from is not None:
        node = project.model_node(view.source, view.model_version)
        if node is None:
            run_dbt(project, ["parse"])
            node = project.model_node(view.source, view.model_version)
        macros = ((node or {}).get("depends_on") or {}).get("macros") or []
        if HISTORY_MACRO not in macros:
            raise RequestError(
                f"--from: model {view.model_ref} does not call featurestore.history_from, "
                "so its history cannot start at a date (the option would be ignored). Add "
                "`where {{ featurestore.history_from('<event time>', lookback='<longest "
                "window>') }}` to its events and `where {{ featurestore.history_from("
                "'feature_ts') }}` to its rows (docs/versions.md), or leave --from out.")
        args += ["--vars", '{"featurestore_history_from": "'
                 + utc_naive(history_from).isoformat(sep=" ") + '"}']
    say(f"dbt build --select {view.model_ref}"
        + (f" (history from {utc_naive(history_from).isoformat(sep=' ')})"
           if history_from else ""))
    run_dbt(project, args)
    with Warehouse(project, read_only=True) as warehouse:
        relation = warehouse.view_relation(view)
        problems = column_problems(view, warehouse.columns(relation), relation)
    if problems:
        raise ValidationFailed("the built version disagrees with its contract:\n"
                               + "\n".join(problems))
    say(f"built {relation}; syncing {view_name} v{version} to its own items "
        f"({view_name}#v{version})")
    run = sync_views(project, [view], SyncOptions(batch_size=batch_size, threads=threads),
                     gate=gate, reporter=reporter)
    problem = run.problem()
    if problem is not None:
        raise problem
    result = BackfillResult(view_name, version, view.model_ref, history_from, run)
    event = VersionEvent(view_name, version, "backfill", _who(project, who), "",
                         served, store.store_id, details={
                             "history_from": history_from, "full_refresh": full_refresh,
                             "rows_read": sum(r.rows_read for r in run.results),
                             "items_written": sum(r.written for r in run.results)})
    with Warehouse(project) as warehouse:
        result.event = version_log.record(warehouse, event)
    return result


# -- retire -------------------------------------------------------------------------------------
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
           say: Say = _quiet) -> RetireResult:
    """Delete ``version``'s online items and mark it retired; refused while it is served,
    was served within the lookup's refresh bound, or was pinned by a training set
    recorded within ``pinned_within`` (``force``: that last check only)."""
    from featurestore import version_log
    from featurestore.online.client import store_errors
    from featurestore.online.serving import Pointer
    from featurestore.sync.retire import delete_version_items
    from featurestore.warehouse import Warehouse

    reason = _reason(reason, "retire")
    catalog = project.catalog()
    catalog.view(view_name)
    versions = catalog.versions_of(view_name)
    if version not in versions:
        raise RequestError(f"view `{view_name}` has no version {version}; its versions: "
                           + ", ".join(f"v{v}" for v in sorted(versions)))
    view = versions[version]
    store = Store.open(project)
    pointer = store.pointer(view_name)
    who = _who(project, who)
    with Warehouse(project) as warehouse:
        _reconcile(warehouse, store, pointer)
        events = version_log.events(warehouse, view_name)
        done = {e.version for e in events if e.action == "retired"}
        if version in done and not scan:
            say(f"{view_name} v{version} is already retired; its offline table is kept "
                "(docs/versions.md says how to drop it)")
            return RetireResult(view_name, version, already=True)
        started = version in pointer.retired
        if not started:
            served = served_version(project, view_name, pointer)
            if version == served:
                raise CheckFailed(
                    f"v{version} of `{view_name}` is the version served: retiring it would "
                    "leave lookups without values. Promote another version first "
                    f"(`featurestore promote {view_name} --version <N>`).")
            grace_s = 2 * project.settings.lookup.version_refresh_ms / 1000
            since_us = time.time_ns() // 1000 - pointer.changed_at_us
            if pointer.previous == version and since_us < grace_s * 1_000_000:
                raise CheckFailed(
                    f"v{version} of `{view_name}` was served until {since_us / 1e6:.1f} s "
                    f"ago; lookups may read it for up to their refresh interval. Retry in "
                    f"{grace_s - since_us / 1e6:.1f} s.")
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
            _write(store, Pointer(view_name, pointer.served, pointer.previous,
                                  pointer.retired | {version}, event.event_id,
                                  "retire_started", version, _micros(event.at), who, reason,
                                  bool(forced_over)), pointer)
        else:
            forced_over = []
            say(f"{view_name} v{version}: resuming the retirement a stopped run began")

        def progress(state) -> None:
            say(f"retire {view_name} v{version}: {state.deleted:,} item(s) deleted")

        with store_errors(store.client, store.table):
            state = delete_version_items(warehouse, store.client, store.table, view,
                                         scan=scan, batch_keys=batch_keys, progress=progress)
        version_log.record(warehouse, VersionEvent(
            view_name, version, "retired", who, reason, None, store.store_id,
            bool(forced_over), {"deleted": state.deleted, "resumed_from": state.resumed_from,
                                "scanned": state.scanned}))
    return RetireResult(view_name, version, state.deleted, state.resumed_from,
                        forced_over=forced_over)


def drop_offline(project: Project, view_name: str, version: int, *,
                 who: str | None = None) -> str:
    """Drop a retired version's warehouse table, once the contract marks it
    ``retired: true`` (dbt no longer builds it); returns the relation dropped."""
    from featurestore import version_log
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
                                                   _who(project, who), "",
                                                   details={"relation": relation}))
    return relation


# -- status -------------------------------------------------------------------------------------
def status(project: Project, view_name: str, *, online: bool = True) -> dict:
    """Every version of a view: live or retired, served, synced, its relation; the
    serving pointer and the version log (``featurestore versions VIEW``)."""
    from featurestore import version_log
    from featurestore.warehouse import Warehouse

    catalog = project.catalog()
    catalog.view(view_name)
    pointer, store, problem = None, None, None
    if online:
        try:
            store = Store.open(project)
            pointer = store.pointer(view_name)
        except FeatureStoreError as exc:
            problem = str(exc)
    events: list = []
    if Warehouse.exists(project):
        with Warehouse(project, read_only=True) as warehouse:
            events = version_log.events(warehouse, view_name)
    served = None
    if pointer is not None:
        served = served_version(project, view_name, pointer)
    rows = []
    for number, view in sorted(catalog.versions_of(view_name).items()):
        retired = bool(pointer and number in pointer.retired) or view.retired
        rows.append({"version": number, "served": number == served,
                     "retired": retired, "model": view.model_ref,
                     "relation": view.model_file, "features": len(view.features),
                     "changes": view.changes,
                     "synced": (None if store is None or retired else _synced(store, view))})
    return {"view": view_name, "served": served, "online_problem": problem,
            "pointer": pointer.to_dict() if pointer else None, "versions": rows,
            "events": [e.to_dict() for e in events]}
