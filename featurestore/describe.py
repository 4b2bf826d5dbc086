"""``featurestore describe VIEW``: everything known about one view, as data and as text.

The data (``describe_view``) is what ``--json`` prints and the SDK returns; the text is
one screen rendered from the same data, so the two never disagree.
"""

from __future__ import annotations

from featurestore.contracts import FeatureView
from featurestore.durations import format_duration
from featurestore.errors import WarehouseError
from featurestore.project import Project


def describe(project: Project, name: str) -> dict:
    """``featurestore describe NAME``: a stored view, or an on-demand view (its contract
    and registry history: it has no rows of its own)."""
    catalog = project.catalog()
    if name in catalog.on_demand:
        return describe_on_demand(project, catalog.on_demand[name])
    return describe_view(project, catalog.view(name))


def describe_on_demand(project: Project, view) -> dict:
    """An on-demand view's contract (``to_dict``) and its registry history."""
    from featurestore import registry
    from featurestore.warehouse import Warehouse

    document = {"kind": "on_demand", "contract": view.to_dict(), "path": view.path,
                "contract_hash": view.contract_hash(), "registry": None}
    if Warehouse.exists(project):
        with Warehouse(project) as warehouse:
            document["registry"] = [
                {"version": version, "change": change, "contract_hash": digest,
                 "applied_by": who, "applied_at": when}
                for version, change, digest, who, when in registry.history(warehouse,
                                                                            view.name)]
    return document


def _render_on_demand(document: dict) -> list[str]:
    contract = document["contract"]
    lines = [f"{contract['name']} v{contract['version']}  ({document['path']}), on-demand",
             f"  {contract['description']}",
             f"  entity      {contract['entity']}",
             f"  owner       {contract['owner']}"
             + (f"   tags: {', '.join(contract['tags'])}" if contract["tags"] else ""),
             f"  hash        {document['contract_hash'][:16]}",
             "  request:" if contract["request"] else "  request:    none"]
    width = max(len(item.get("as") or item["name"]) for key in ("request", "inputs", "features")
                for item in contract[key])
    lines += [f"    {r['name'].ljust(width)}  {r['dtype']}"
              f"{'' if r['nullable'] else ', not null'}" for r in contract["request"]]
    lines.append("  inputs:" if contract["inputs"] else "  inputs:     none")
    lines += [f"    {i['as'].ljust(width)}  {i['ref']} ({i['dtype']})"
              for i in contract["inputs"]]
    lines.append("  features:")
    lines += [f"    {f['name'].ljust(width)}  {f['dtype']:<9} {f['sensitivity']:<8} "
              f"{' '.join(f['sql'].split())}" for f in contract["features"]]
    return lines


def describe_view(project: Project, view: FeatureView) -> dict:
    """The contract, the registry history and what the warehouse holds of ``view``."""
    from featurestore import registry
    from featurestore.warehouse import Warehouse

    document = {"contract": view.to_dict(), "path": view.path,
                "contract_hash": view.contract_hash(), "registry": None, "warehouse": None}
    if not Warehouse.exists(project):
        return document
    with Warehouse(project) as warehouse:
        document["registry"] = [
            {"version": version, "change": change, "contract_hash": digest,
             "applied_by": who, "applied_at": when}
            for version, change, digest, who, when in registry.history(warehouse, view.name)
        ]
        relation = warehouse.view_relation(view)
        keys = ", ".join(warehouse.column(k) for k in view.keys)
        ts = warehouse.column(view.timestamp)
        stats = {"relation": relation, "built": False}
        try:
            rows, entities, first, last = warehouse.fetch_all(
                f"select count(*), count(distinct ({keys})), min({ts}), max({ts}) "
                f"from {relation}")[0]
        except WarehouseError:
            pass
        else:
            stats.update(built=True, rows=rows, entities=entities, first_feature_ts=first,
                         last_feature_ts=last)
        document["warehouse"] = stats
    return document


def render_description(document: dict) -> str:
    """The text of ``featurestore describe``."""
    if document.get("kind") == "on_demand":
        lines = _render_on_demand(document)
        if document["registry"] is None:
            return "\n".join([*lines, "  registry: no warehouse yet"])
        return "\n".join([*lines, *_registry_lines(document)])
    contract = document["contract"]
    entity = contract["entity"]
    lines = [
        f"{contract['name']} v{contract['version']}  ({document['path']})",
        f"  {contract['description']}",
        f"  entity      {entity['name']} (keys: "
        f"{', '.join(k['name'] for k in entity['join_keys'])})",
        f"  source      dbt model `{contract['source']}`, timestamp `{contract['timestamp']}`"
        + (f", created `{contract['created_timestamp']}`"
           if contract["created_timestamp"] else ""),
        f"  ttl         {contract['ttl'] or 'none (values never expire)'}",
        f"  freshness   {contract['freshness_slo'] or 'none'}",
        f"  online      {'yes' if contract['online'] else 'no'}",
        f"  owner       {contract['owner']}"
        + (f"   tags: {', '.join(contract['tags'])}" if contract["tags"] else ""),
        f"  hash        {document['contract_hash'][:16]}",
        "  features:",
    ]
    width = max(len(f["name"]) for f in contract["features"])
    for feature in contract["features"]:
        default = "" if feature["default"] is None else f" default={feature['default']!r}"
        lines.append(f"    {feature['name'].ljust(width)}  {feature['dtype']:<9} "
                     f"{feature['sensitivity']:<8}{default}")
    if document["warehouse"] is None:
        lines.append("  warehouse: not built yet (run `featurestore build`)")
        return "\n".join(lines)
    lines += _registry_lines(document)
    stats = document["warehouse"]
    if stats["built"]:
        lines.append(f"  warehouse: {stats['relation']}: {stats['rows']:,} rows, "
                     f"{stats['entities']:,} entities, feature_ts {stats['first_feature_ts']}"
                     f" .. {stats['last_feature_ts']}")
    else:
        lines.append(f"  warehouse: {stats['relation']} not built yet")
    return "\n".join(lines)


def _registry_lines(document: dict) -> list[str]:
    if not document["registry"]:
        return ["  registry: not applied yet (run `featurestore apply`)"]
    return ["  registry:", *(f"    v{entry['version']} {entry['change']:<9} "
                             f"{entry['contract_hash'][:12]} by {entry['applied_by']} "
                             f"at {entry['applied_at']:%Y-%m-%d %H:%M}"
                             for entry in document["registry"])]


def view_summary(view: FeatureView) -> dict:
    """One row of ``featurestore list``."""
    return {
        "name": view.name, "version": view.version, "entity": view.entity.name,
        "keys": view.keys, "features": len(view.features),
        "ttl": format_duration(view.ttl_seconds) if view.ttl_seconds else None,
        "freshness_slo": (format_duration(view.freshness_slo_seconds)
                          if view.freshness_slo_seconds else None),
        "online": view.online, "owner": view.owner, "path": view.path,
    }
