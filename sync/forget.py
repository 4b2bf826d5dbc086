"""Forgetting one entity (a deletion request, a retention rule): online items and offline rows.

Online, every item of the entity goes, whatever view or version wrote it: one Query on
the partition key finds them all, including versions the contracts no longer list.
Offline, the feature views are dbt models: deleting their rows here would be undone by
the next ``dbt build``, which recomputes them from the raw data. So forget reports, per
view, how many rows the entity still has and the SQL to run against the model's upstream
sources; it purges nothing it cannot purge durably. Until the raw rows are gone, a
``featurestore sync --full-refresh`` would publish the entity again; an incremental sync
would only if new rows for it land.

The lookup's serving log records the entity too: ``featurestore forget`` removes its lines
from the local log (``featurestore.lookup.serving_log.forget_entity``, by the ``key`` this
report carries) and names what it cannot reach, the log of a deployed endpoint in
CloudWatch Logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from featurestore.contracts import Catalog
from featurestore.errors import ContractError, OnlineStoreError
from featurestore.online.items import coerce_key_value, entity_pk
from featurestore.online.store import MARKER_PK, OnlineStore
from featurestore.warehouse import Warehouse


@dataclass
class OfflineRows:
    view: str
    relation: str
    rows: int
    purge_sql: str


@dataclass
class ForgetReport:
    pk: str
    deleted: list[str] = field(default_factory=list)  # the sort keys deleted online
    offline: list[OfflineRows] = field(default_factory=list)
    key: dict = field(default_factory=dict)  # typed, as the lookup echoes it


def parse_key(catalog: Catalog, entity_name: str, values: tuple[str, ...]) -> dict:
    """``user_device 42 d-1`` -> {"user_id": 42, "device_id": "d-1"}, in join-key order."""
    if entity_name not in catalog.entities:
        known = ", ".join(sorted(catalog.entities))
        raise ContractError("feature_defs/entities.yml",
                            f"no entity named `{entity_name}` (entities: {known})")
    entity = catalog.entities[entity_name]
    if len(values) != len(entity.join_keys):
        raise ContractError(
            "feature_defs/entities.yml",
            f"entity `{entity_name}` has {len(entity.join_keys)} key column(s) "
            f"({', '.join(entity.key_names)}); got {len(values)} value(s): "
            f"{' '.join(values) or 'none'}",
        )
    return {k.name: coerce_key_value(entity, k.name, v)
            for k, v in zip(entity.join_keys, values, strict=True)}


def delete_online(store: OnlineStore, pk: str) -> list[str]:
    """Delete every item under ``pk`` (in batches); returns their sort keys."""
    if pk.startswith(MARKER_PK):
        raise OnlineStoreError(f"{pk!r} is featurestore's own bookkeeping, not an entity")
    deleted = store.entity_items(pk)
    store.delete_items([(pk, sk) for sk in deleted])
    return sorted(deleted)


def _literal(value) -> str:
    return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


def offline_rows(warehouse: Warehouse, catalog: Catalog, entity_name: str,
                 key: dict) -> list[OfflineRows]:
    found = []
    for view in sorted(catalog.views.values(), key=lambda v: v.name):
        if view.entity.name != entity_name:
            continue
        relation = warehouse.view_relation(view)
        where = " and ".join(f"{warehouse.column(k)} = {_literal(v)}"
                            for k, v in key.items())
        try:
            rows = warehouse.fetch_all(f"select count(*) from {relation} where {where}")[0][0]
        except Exception as exc:  # a model not built yet: say so, do not stop the forget
            if type(exc).__name__ != "WarehouseError":
                raise
            rows = -1
        found.append(OfflineRows(view.name, relation, rows,
                                 f"delete from {relation} where {where};"))
    return found


def forget(warehouse: Warehouse | None, store: OnlineStore, catalog: Catalog,
           entity_name: str, values: tuple[str, ...]) -> ForgetReport:
    key = parse_key(catalog, entity_name, values)
    pk = entity_pk(catalog.entities[entity_name], key)
    report = ForgetReport(pk, delete_online(store, pk), key=key)
    if warehouse is not None:
        report.offline = offline_rows(warehouse, catalog, entity_name, key)
    return report
