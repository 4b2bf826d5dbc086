"""Frozen parameter sets, kept in the registry: ``featurestore.service_parameters``.

One row per training set built with ``--service``: the service's name and version, the
parameter set's own version (1, 2, ... per service version), the parameters as canonical
JSON with their sha256 (the hash the training set's manifest records), and which
training set they were computed on. Rows are only ever added: a parameter set a model
was trained with stays readable for as long as that model may be served.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from dataclasses import dataclass

from featurestore.dtypes import utc_naive
from featurestore.errors import WarehouseError, WarehouseUnreachable

TABLE = "service_parameters"


def canonical(document: dict) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def parameters_sha256(document: dict) -> str:
    return hashlib.sha256(canonical(document).encode()).hexdigest()


@dataclass(frozen=True)
class ParameterSet:
    """One frozen parameter set, as the registry holds it."""

    service: str
    service_version: int
    version: int
    service_hash: str
    sha256: str
    document: dict
    training_set: str | None
    frozen_by: str
    frozen_at: object

    def to_dict(self) -> dict:
        """What a registry snapshot carries to the lookup, and the catalog shows."""
        return {"service": self.service, "service_version": self.service_version,
                "version": self.version, "service_hash": self.service_hash,
                "sha256": self.sha256, "training_set": self.training_set,
                "frozen_by": self.frozen_by, "frozen_at": str(self.frozen_at),
                "document": self.document}


def ensure_table(warehouse) -> str:
    warehouse.ensure_store_schema()
    table = warehouse.store_table(TABLE)
    warehouse.execute(
        f"create table if not exists {table} (service_name varchar not null, "
        "service_version integer not null, parameters_version integer not null, "
        "service_hash varchar not null, parameters_sha256 varchar not null, "
        "parameters_json varchar not null, training_set varchar, frozen_by varchar not null, "
        "frozen_at timestamp not null)")
    return table


def freeze(warehouse, document: dict, training_set: str | None, *,
           who: str | None = None) -> ParameterSet:
    """Record ``document`` as the next parameter set of its service version."""
    table = ensure_table(warehouse)
    name, version = document["service"], document["service_version"]
    digest = parameters_sha256(document)
    who = who or getpass.getuser()
    now = utc_naive()
    with warehouse.transaction():
        ((latest,),) = warehouse.fetch_all(
            f"select coalesce(max(parameters_version), 0) from {table} where service_name = ? "
            "and service_version = ?", [name, version])
        number = int(latest) + 1
        warehouse.execute(f"insert into {table} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          [name, version, number, document["service_hash"], digest,
                           canonical(document), training_set, who, now])
    return ParameterSet(name, version, number, document["service_hash"], digest, document,
                        training_set, who, now)


def parameter_sets(warehouse, service: str | None = None) -> list[ParameterSet]:
    """Every parameter set (of ``service``), oldest first; none before the first freeze."""
    where, params = ("where service_name = ? ", [service]) if service else ("", [])
    try:
        rows = warehouse.fetch_all(
            f"select service_name, service_version, parameters_version, service_hash, "
            f"parameters_sha256, parameters_json, training_set, frozen_by, frozen_at from "
            f"{warehouse.store_table(TABLE)} {where}order by service_name, service_version, "
            "parameters_version", params)
    except WarehouseUnreachable:
        raise
    except WarehouseError:  # no table yet: nothing frozen
        return []
    return [ParameterSet(name, int(sv), int(pv), sh, digest, json.loads(doc), ts, who, when)
            for name, sv, pv, sh, digest, doc, ts, who, when in rows]


def served_set(sets: list[ParameterSet], service) -> ParameterSet | None:
    """The set a service serves: the one its ``parameters`` names, else the newest of its
    version; None when none was frozen (or the named one does not exist)."""
    mine = [s for s in sets if s.service == service.name and s.service_version == service.version]
    if service.parameters is not None:
        return next((s for s in mine if s.version == service.parameters), None)
    return mine[-1] if mine else None
