"""What ``GET /v1/feature-views`` answers: the catalog a key may read, never a value."""

from __future__ import annotations

from featurestore.lookup.access import Grant
from featurestore.lookup.plans import json_value


def catalog_document(catalog, built_at: str, grant: Grant | None = None) -> dict:
    """What ``GET /v1/feature-views`` answers: definitions only, never feature values.

    With ``grant``, only what that key may read: its views, and in them the features of
    its sensitivities (a view with none of those is left out), so the catalog tells a key
    nothing a lookup would refuse it. The on-demand views are listed apart
    (``on_demand_views``, each of ``kind`` on_demand), with their request fields.
    """
    from featurestore.durations import format_duration

    views = []
    for name, view in sorted(catalog.views.items()):
        features = view.features
        if grant is not None:
            if grant.views is not None and name not in grant.views:
                continue
            features = [f for f in features if f.sensitivity in grant.sensitivities]
            if not features:
                continue
        views.append({
            "name": name, "version": view.version, "entity": view.entity.name,
            "join_keys": [{"name": k.name, "dtype": k.dtype} for k in view.entity.join_keys],
            "owner": view.owner, "description": view.description,
            "ttl": format_duration(view.ttl_seconds) if view.ttl_seconds else None,
            "freshness_slo": (format_duration(view.freshness_slo_seconds)
                              if view.freshness_slo_seconds else None),
            "tags": list(view.tags),
            "features": [{"name": f.name, "dtype": f.dtype, "sensitivity": f.sensitivity,
                          "default": json_value(f.default),
                          "description": f.description} for f in features],
        })
    return {"registry_built_at": built_at, "feature_views": views,
            "on_demand_views": _on_demand(catalog, grant)}


def _on_demand(catalog, grant: Grant | None) -> list[dict]:
    """The on-demand views, each with its request fields, the stored features it reads
    and per feature its expression. With ``grant``, the features that key may read: its
    view and sensitivity, and those of every stored feature its expression reads (an
    expression may pass an input through); a view with none of those is left out."""
    views = []
    for name, view in sorted(catalog.on_demand.items()):
        if grant is not None and grant.views is not None and name not in grant.views:
            continue
        features = [f for f in view.features if grant is None or _granted(catalog, view, f,
                                                                           grant)]
        if not features:
            continue
        views.append({
            "name": name, "kind": "on_demand", "version": view.version,
            "entity": view.entity.name,
            "join_keys": [{"name": k.name, "dtype": k.dtype} for k in view.entity.join_keys],
            "owner": view.owner, "description": view.description, "tags": list(view.tags),
            "request": [r.to_dict() for r in view.request],
            "inputs": [{"name": i.name, "feature": i.ref, "dtype": i.dtype}
                       for i in view.inputs],
            "features": [f.to_dict() for f in features],
        })
    return views


def _granted(catalog, view, feature, grant: Grant) -> bool:
    if feature.feature.sensitivity not in grant.sensitivities:
        return False
    for item in view.inputs:
        if item.name not in feature.expression.inputs:
            continue
        if grant.views is not None and item.view not in grant.views:
            return False
        try:
            stored = catalog.view_version(item.view, item.version) \
                if item.version is not None else catalog.views[item.view]
            sensitivity = stored.feature(item.feature).sensitivity
        except KeyError:  # not served here: the lookup would refuse the feature
            return False
        if sensitivity not in grant.sensitivities:
            return False
    return True
