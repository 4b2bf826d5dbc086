"""The online side of every versions command: the store, its serving pointer, its markers.

The pointer (``online/serving.py``) says which version a reference without ``@vN``
gets. Every write of it is conditional on the pointer read before it, so two commands at
once cannot both win; a pointer change a killed command left out of the registry is
recorded by the next command that reads it (``reconcile``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from featurestore import version_log
from featurestore.contracts import FeatureView
from featurestore.dtypes import utc_naive
from featurestore.errors import OnlineStoreError
from featurestore.project import Project
from featurestore.version_log import VersionEvent


@dataclass
class Store:
    """The project's online store, opened once per command."""

    online: object  # the OnlineStore (online/store.py)
    store_id: str

    @classmethod
    def open(cls, project: Project) -> Store:
        from featurestore.online.dynamodb import DynamoDBStore

        online = DynamoDBStore.open(project.settings.online)
        return cls(online, online.store_id())

    def pointer(self, view: str):
        return self.online.read_pointers([view])[view]


def reconcile(warehouse, store: Store, pointer) -> None:
    """Record in the registry a pointer change a killed command left unrecorded."""
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
        from_micros(pointer.changed_at_us), pointer.event_id))


def from_micros(micros: int) -> dt.datetime:
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


def change_pointer(store: Store, pointer, expected) -> None:
    """Write ``pointer`` if the stored one is still ``expected``; else an error that says
    another command won and nothing changed."""
    from featurestore.online.serving import PointerChanged

    try:
        store.online.write_pointer(pointer, expected)
    except PointerChanged:
        raise OnlineStoreError(
            f"view `{pointer.view}`: another promotion, rollback or retirement changed the "
            "serving pointer while this one ran; nothing was changed. Look at `featurestore "
            f"versions {pointer.view}` and run the command again if it still applies."
        ) from None


def is_synced(store: Store, view: FeatureView) -> bool:
    """Whether a sync of ``view``'s version to this store ever finished (its marker)."""
    from featurestore.online.items import view_sk
    from featurestore.sync.state import read_markers

    _, synced = read_markers(store.online, view_sk(view))
    return synced is not None


def to_micros(moment: dt.datetime) -> int:
    from featurestore.online.items import to_epoch_micros

    return to_epoch_micros(moment)

