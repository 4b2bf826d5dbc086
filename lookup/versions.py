"""Which version of each view the lookup serves, read from the serving pointers in
DynamoDB (``featurestore/online/serving.py``) at most once per refresh interval, and the
contracts it serves them with.

Every online view's pointer is read (a view deployed with one version may have been given
a second one since), with one consistent BatchGetItem when the last read is older than
``refresh_s`` (default 1 s, FEATURESTORE_LOOKUP_VERSION_REFRESH_MS), before the request
that finds them stale reads its features. Each request takes one ``Snapshot`` at its
start (the pointers and the catalog they were judged against) and answers every key and
every view from it, so no answer mixes two versions of one view, and a promotion is
served by every lookup that starts more than ``refresh_s`` after it was written. When
DynamoDB does not answer, the last snapshot stays (the features will degrade anyway) and
the next read is tried one interval later.

The served version travels with the data, so a pointer may name a version this lookup's
contracts lack (declared and promoted after it started), or a retired one. It is never
answered with another version's values or defaults:

- a lookup that can reload its contracts (``featurestore serve``: the project is on this
  machine) reloads them once, under the same lock, and answers from them;
- one that cannot (a Lambda: its registry snapshot is bundled), or whose reload still
  lacks the version, answers ``VersionUnavailable`` (503) for unpinned reads of that view,
  naming the version served, the versions it knows and the fix; ``view@vN`` of a version
  it knows is still served.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from featurestore.contracts import Catalog
from featurestore.errors import FeatureStoreError, StoreUnavailable, VersionUnavailable
from featurestore.online.serving import ATTRIBUTES, POINTER_PK, Pointer, decode_pointer
from featurestore.online.store import OnlineStore

log = logging.getLogger("featurestore.lookup")
DEFAULT_REFRESH_S = 1.0
RELOAD_RETRY_S = 30.0  # a reload that did not find the version is tried again this late
REDEPLOY = ("Redeploy the lookup with a registry snapshot that has it (`featurestore "
            "package-lambda`, then deploy the zip: deploy/README.md); meanwhile `{view}@vN` "
            "reads a version it knows")
DECLARE = ("Declare it in the view's contract (`versions:`, {path}); this lookup reloads "
           "its contracts again {retry:.0f} s after it last tried, or restart it")


class Snapshot(NamedTuple):
    """The pointers as of one read (view -> served version, view -> retired versions),
    the catalog they were judged against, and the views that cannot be served."""

    served: dict[str, int]
    retired: dict[str, frozenset[int]]
    read_at: float  # monotonic seconds; 0: never read
    catalog: Catalog | None = None
    problems: dict[str, VersionUnavailable] = {}  # noqa: RUF012 (never mutated)


EMPTY = Snapshot({}, {}, 0.0)
Reload = Callable[[], tuple[Catalog, str]]  # -> (the contracts again, when they were built)


class ServedVersions:
    """The serving pointers of a catalog's views, refreshed on demand, and the catalog
    itself (replaced when ``reload`` brings a version a pointer names).

    The pointers are read through the lookup's own store (``OnlineStore.get``, within its
    deadline, consistent), the store the app was built with."""

    def __init__(self, catalog: Catalog, store: OnlineStore,
                 refresh_s: float = DEFAULT_REFRESH_S,
                 clock=time.monotonic, *, reload: Reload | None = None, built_at: str = ""):
        self.catalog = catalog
        self.built_at = built_at
        self.store = store
        self.refresh_s = refresh_s
        self.clock = clock
        self.reload = reload  # None: this lookup cannot reload its contracts (Lambda)
        self.reads = 0  # pointer reads made (tests and the benchmark count them)
        self.reloads = 0  # contract reloads made (those that found nothing new included)
        self._tried: tuple[frozenset, float] | None = None  # (unknown pointers, when)
        self._snapshot = EMPTY._replace(catalog=catalog)
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        """The pointers to answer one request with; read again when older than the
        refresh interval. One read at a time: a request that finds one under way waits
        for it and reads again only if it began too early (the bound holds per request,
        also on the threaded local server)."""
        current = self._snapshot
        if not self.catalog.views or self.clock() - current.read_at < self.refresh_s:
            return current
        with self._lock:
            if self.clock() - self._snapshot.read_at >= self.refresh_s:
                self._snapshot = self._refresh()
            return self._snapshot

    def _refresh(self) -> Snapshot:
        started = self.clock()
        pointers = self._read(self.catalog)
        if pointers is None:
            return self._snapshot._replace(read_at=started)
        snapshot = judge(self.catalog, pointers, started, self._fix)
        unknown = frozenset((view, pointers[view].served, pointers[view].event_id)
                            for view, problem in snapshot.problems.items()
                            if problem.served not in self.catalog.versions_of(view))
        if unknown and self._may_reload(unknown, started):
            self._tried = (unknown, started)
            try:
                catalog, built_at = self.reload()
            except (FeatureStoreError, OSError) as exc:  # a contract mid-edit, a lost file
                log.error("contracts not reloaded for %s: %s",
                          ", ".join(sorted(v for v, _, _ in unknown)), exc)
                return snapshot
            self.catalog, self.built_at, self.reloads = catalog, built_at, self.reloads + 1
            if set(catalog.views) - set(pointers):
                pointers = self._read(catalog) or pointers
            snapshot = judge(catalog, pointers, started, self._fix)
            log.warning("serving pointers named versions this lookup did not know (%s): "
                        "contracts reloaded", ", ".join(f"{v} v{n}" for v, n, _ in
                                                        sorted(unknown)))
        if snapshot.problems and snapshot.problems.keys() != self._snapshot.problems.keys():
            for problem in snapshot.problems.values():
                log.error("lookup cannot serve: %s", problem)
        return snapshot

    def _may_reload(self, unknown: frozenset, now: float) -> bool:
        """Once per set of unknown pointers; again after RELOAD_RETRY_S if that failed."""
        if self.reload is None:
            return False
        return (self._tried is None or self._tried[0] != unknown
                or now - self._tried[1] >= RELOAD_RETRY_S)

    def _fix(self, view: str) -> str:
        if self.reload is None:
            return REDEPLOY.format(view=view)
        return DECLARE.format(path=_contracts(self.catalog, view), retry=RELOAD_RETRY_S)

    def _read(self, catalog: Catalog) -> dict[str, Pointer] | None:
        """Every view's pointer (an empty one where there is no item); None when the
        store does not answer."""
        views = sorted(catalog.views)
        try:
            items = self.store.get([(POINTER_PK, view) for view in views], list(ATTRIBUTES),
                                   consistent=True)
        except StoreUnavailable as exc:
            log.warning("serving pointers not read (%s); keeping the last ones for %.1f s",
                        exc, self.refresh_s)
            return None
        self.reads += 1
        return {view: decode_pointer(view, items.get((POINTER_PK, view))) for view in views}


def judge(catalog: Catalog, pointers: dict[str, Pointer], read_at: float,
          fix: Callable[[str], str]) -> Snapshot:
    """The snapshot of ``pointers`` against ``catalog``: a view whose pointer serves a
    version the catalog lacks, or a retired one, is a problem, never another version."""
    served: dict[str, int] = {}
    retired: dict[str, frozenset[int]] = {}
    problems: dict[str, VersionUnavailable] = {}
    for view, pointer in pointers.items():
        if view not in catalog.views:
            continue
        if pointer.retired:
            retired[view] = pointer.retired
        if pointer.served is not None:
            served[view] = pointer.served
        versions = catalog.versions_of(view)
        target = pointer.served if pointer.served is not None else catalog.views[view].version
        known = sorted(versions)
        if target not in versions:
            problems[view] = VersionUnavailable(
                view, target, known,
                f"its serving pointer (DynamoDB) serves v{target}, which this lookup does not "
                f"know: its contracts ({_contracts(catalog, view)}) have "
                f"{_listed(known)}", fix(view))
        elif target in pointer.retired or (pointer.served is not None
                                           and versions[target].retired):
            live = [v for v in known if v not in pointer.retired and not versions[v].retired]
            problems[view] = VersionUnavailable(
                view, target, known,
                f"its serving pointer (DynamoDB) serves v{target}, which is retired; a "
                "retired version is never served",
                f"Promote a live version ({_listed(live) or 'none is left'}): `featurestore "
                f"promote {view} --version N --reason ...`")
    return Snapshot(served, retired, read_at, catalog, problems)


def _listed(versions: list[int]) -> str:
    return ", ".join(f"v{v}" for v in versions)


def _contracts(catalog: Catalog, view: str) -> str:
    """Where the catalog's contract of ``view`` came from (a snapshot or feature_defs/)."""
    return catalog.views[view].path.rpartition("#")[0] or catalog.views[view].path
