"""``featurestore describe VIEW``: everything known about one view, in one screen."""

from __future__ import annotations

from featurestore.contracts import FeatureView
from featurestore.durations import format_duration
from featurestore.errors import WarehouseError
from featurestore.project import Project


def _contract_lines(view: FeatureView) -> list[str]:
    ttl = format_duration(view.ttl_seconds) if view.ttl_seconds else "none (values never expire)"
    slo = (format_duration(view.freshness_slo_seconds) if view.freshness_slo_seconds
           else "none")
    lines = [
        f"{view.name} v{view.version}  ({view.path})",
        f"  {view.description}",
        f"  entity      {view.entity.name} (keys: {', '.join(view.keys)})",
        f"  source      dbt model `{view.source}`, timestamp `{view.timestamp}`"
        + (f", created `{view.created_timestamp}`" if view.created_timestamp else ""),
        f"  ttl         {ttl}",
        f"  freshness   {slo}",
        f"  online      {'yes' if view.online else 'no'}",
        f"  owner       {view.owner}" + (f"   tags: {', '.join(view.tags)}" if view.tags else ""),
        f"  hash        {view.contract_hash()[:16]}",
        "  features:",
    ]
    width = max(len(f.name) for f in view.features)
    for feature in view.features:
        default = "" if feature.default is None else f" default={feature.default!r}"
        lines.append(f"    {feature.name.ljust(width)}  {feature.dtype:<9} "
                     f"{feature.sensitivity:<8}{default}")
    return lines


def describe_view(project: Project, view: FeatureView) -> str:
    from featurestore import registry
    from featurestore.warehouse import Warehouse

    lines = _contract_lines(view)
    if project.target == "duckdb" and not project.duckdb_path.exists():
        lines.append("  warehouse: not built yet (run `featurestore build`)")
        return "\n".join(lines)
    with Warehouse(project) as warehouse:
        entries = registry.history(warehouse, view.name)
        if entries:
            lines.append("  registry:")
            for version, change, digest, who, when in entries:
                lines.append(f"    v{version} {change:<9} {digest[:12]} by {who} "
                             f"at {when:%Y-%m-%d %H:%M}")
        else:
            lines.append("  registry: not applied yet (run `featurestore apply`)")
        relation = warehouse.model_relation(view.source)
        keys = ", ".join(view.keys)
        try:
            rows, entities, first, last = warehouse.fetch_all(
                f"select count(*), count(distinct ({keys})), min({view.timestamp}), "
                f"max({view.timestamp}) from {relation}"
            )[0]
            lines.append(f"  warehouse: {relation}: {rows:,} rows, {entities:,} entities, "
                         f"feature_ts {first} .. {last}")
        except WarehouseError:
            lines.append(f"  warehouse: {relation} not built yet")
    return "\n".join(lines)
