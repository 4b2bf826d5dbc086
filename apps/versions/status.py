"""``featurestore versions VIEW``: every version of a view and its history.

Read only: the contract's versions, the serving pointer (when the store answers; a store
that does not is reported, not raised) and the registry's version log.
"""

from __future__ import annotations

from featurestore import version_log
from featurestore.apps.versions.store import Store, is_synced, served_version
from featurestore.errors import FeatureStoreError
from featurestore.project import Project


def status(project: Project, view_name: str, *, online: bool = True) -> dict:
    """Every version of a view: live or retired, served, synced, its relation; the
    serving pointer and the version log (``featurestore versions VIEW``)."""
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
                     "synced": (None if store is None or retired else is_synced(store, view))})
    return {"view": view_name, "served": served, "online_problem": problem,
            "pointer": pointer.to_dict() if pointer else None, "versions": rows,
            "events": [e.to_dict() for e in events]}
