"""A table without a serving pointer gets the one the registry says, before any item.

The version served travels with the data: the lookup reads it from the feature table's
serving pointer (``featurestore/online/serving.py``), never from the warehouse. A table
the sync fills for the first time (a new ``FEATURESTORE_ONLINE_TABLE``, a restored or
rebuilt one) has no pointer, so a lookup there would serve each view's base version,
even one long retired, while the sync writes only the live versions. So before a sync
writes a view's items, a table with no pointer for that view gets one rebuilt from the
registry's version log (``featurestore.feature_versions``): the version the last
promotion or rollback chose, the one before it, the versions retired or being retired,
and the last change's event id, action, who, when and why (so ``featurestore versions``
and the next promotion read it as the registry's own). Written with
``attribute_not_exists``: two syncs, or a sync and a promotion, cannot both write it; the
one that loses reads what the other wrote. A view never promoted nor retired needs no
pointer: its base version is served, as the lookup assumes without one.
"""

from __future__ import annotations

import dataclasses
import logging

from featurestore import version_log
from featurestore.online.items import to_epoch_micros
from featurestore.online.serving import Pointer, PointerChanged
from featurestore.online.store import OnlineStore

log = logging.getLogger("featurestore.sync")
POINTER_ACTIONS = ("promote", "rollback", "retire_started")
RETIRE_ACTIONS = ("retire_started", "retired", "dropped")


def registry_pointer(events: list[version_log.VersionEvent], view: str) -> Pointer | None:
    """The pointer the version log of ``view`` (oldest first) describes; None when
    nothing was promoted, rolled back or retired (no pointer is needed then)."""
    serving = [e for e in events if e.action in version_log.SERVING_ACTIONS]
    changes = [e for e in events if e.action in POINTER_ACTIONS]
    retired = frozenset(e.version for e in events if e.action in RETIRE_ACTIONS)
    if not changes and not retired:
        return None
    last = serving[-1] if serving else None
    change = changes[-1] if changes else None
    return Pointer(
        view, served=last.version if last else None,
        previous=last.previous_version if last else None, retired=retired,
        event_id=change.event_id if change else None, action=change.action if change else "",
        subject=change.version if change else None,
        changed_at_us=to_epoch_micros(change.at) if change else 0,
        changed_by=change.by_user if change else "", reason=change.reason if change else "",
        forced=change.forced if change else False)


def ensure_pointer(warehouse, store: OnlineStore, view: str) -> Pointer | None:
    """Write ``view``'s pointer from the registry when ``store`` has none; the pointer
    written (None: the table had one, or none is needed)."""
    stored = store.read_pointers([view])[view]
    if stored.event_id is not None:
        return None
    wanted = registry_pointer(version_log.events(warehouse, view), view)
    if wanted is None:
        return None
    if wanted.event_id is None:  # retired in an older log that has no retire_started
        wanted = dataclasses.replace(wanted, event_id="registry")
    try:
        store.write_pointer(wanted, stored)
    except PointerChanged:  # another sync or a promotion wrote it first: theirs stands
        return None
    log.warning("table %s had no serving pointer for %s: wrote the registry's (serves %s, "
                "retired %s)", store.table, view,
                f"v{wanted.served}" if wanted.served is not None else "the base version",
                ", ".join(f"v{v}" for v in sorted(wanted.retired)) or "none")
    return wanted
