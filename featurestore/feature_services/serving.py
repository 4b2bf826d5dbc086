"""What the lookup needs of each feature service, as JSON: its definition and the frozen
parameter set it serves, read from the registry when the snapshot is built.

The Lambda never reads the warehouse: ``featurestore package-lambda`` bakes these records
into the registry snapshot, and ``featurestore serve`` builds them when it starts. A
service that cannot be served yet (never frozen, a named parameter set that does not
exist, a definition changed since its parameters were frozen) is still carried, with the
reason and the command that fixes it, so the lookup answers 409 saying so instead of
404 or, worse, a vector with other parameters.
"""

from __future__ import annotations

from featurestore.feature_services.model import FeatureService
from featurestore.feature_services.param_registry import ParameterSet, served_set

REFREEZE = ("featurestore training-set --service {name} --spine SPINE --out OUT "
            "(then rebuild the lookup: featurestore package-lambda)")


def service_records(services: dict[str, FeatureService],
                    sets: list[ParameterSet] | None, *, unreadable: str | None = None) -> dict:
    """name -> the snapshot's record of each service; ``sets``: every frozen set of the
    registry (None with ``unreadable``, the reason the registry could not be read)."""
    records = {}
    for name, service in sorted(services.items()):
        record = {"name": name, "version": service.version, "entity": service.entity,
                  "description": service.description, "owner": service.owner,
                  "service_hash": service.service_hash(),
                  "features": [f.name for f in service.features],
                  "parameters": None, "problem": None}
        command = REFREEZE.format(name=name)
        if sets is None:
            record["problem"] = (f"the registry could not be read ({unreadable}), so the "
                                 f"frozen parameters of `{name}` are unknown here")
            records[name] = record
            continue
        chosen = served_set(sets, service)
        if chosen is None and service.parameters is not None:
            record["problem"] = (f"{service.path} names parameter set {service.parameters} "
                                 f"of `{name}` v{service.version}, which was never frozen; "
                                 "name an existing one, or freeze one: " + command)
        elif chosen is None:
            record["problem"] = (f"the transformation parameters of `{name}` v"
                                 f"{service.version} were never frozen; run " + command)
        elif chosen.service_hash != service.service_hash():
            record["problem"] = (f"{service.path} changed since parameter set {chosen.version} "
                                 f"of `{name}` v{service.version} was frozen; raise its "
                                 "`version` and freeze its parameters: " + command)
        else:
            record["parameters"] = chosen.to_dict()
        records[name] = record
    return records


def project_records(project, catalog=None, warehouse=None) -> dict:
    """The records of the project's services, the registry read once (read-only, or
    through ``warehouse`` when the caller holds one open)."""
    from featurestore.errors import WarehouseError
    from featurestore.feature_services.freeze import load_project_services
    from featurestore.feature_services.param_registry import parameter_sets
    from featurestore.warehouse import Warehouse

    services = load_project_services(project, catalog)
    if not services:
        return {}
    if warehouse is not None:
        return service_records(services, parameter_sets(warehouse))
    if not Warehouse.exists(project):
        return service_records(services, [])
    try:
        with Warehouse(project, read_only=True) as warehouse:
            sets = parameter_sets(warehouse)
    except WarehouseError as exc:
        return service_records(services, None, unreadable=str(exc))
    return service_records(services, sets)
