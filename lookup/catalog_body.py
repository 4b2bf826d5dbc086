"""What ``GET /v1/feature-views`` answers: the catalog a key may read, never a value."""

from __future__ import annotations

from featurestore.lookup.access import Grant
from featurestore.lookup.plans import json_value


def catalog_document(catalog, built_at: str, grant: Grant | None = None) -> dict:
    """What ``GET /v1/feature-views`` answers: definitions only, never feature values.

    With ``grant``, only what that key may read: its views, and in them the features of
    its sensitivities (a view with none of those is left out), so the catalog tells a key
    nothing a lookup would refuse it.
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
    return {"registry_built_at": built_at, "feature_views": views}
