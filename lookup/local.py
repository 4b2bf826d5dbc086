"""The lookup app for a project on this machine: the very code Lambda runs, configured
from the project's settings instead of a baked snapshot's environment.

``featurestore serve``, ``featurestore lookup``, the demo and the SDK's ``online()`` use
it, so a local answer is the answer the deployed endpoint would give.
"""

from __future__ import annotations

import dataclasses

from featurestore.lookup.handler import LookupApp
from featurestore.project import Project


def local_app(project: Project, *, cache: bool = True, cache_ttl_ms: float = 1000,
              deadline_ms: float = 250, consistent_read: bool = False,
              serving_log_sample: float = 1.0, log_serving: bool = True) -> LookupApp:
    """The lookup app over the project's contracts and online store."""
    from featurestore.lookup.access import AccessPolicy
    from featurestore.lookup.registry_snapshot import build_snapshot, catalog_from_snapshot
    from featurestore.lookup.serving_log import ServingLog

    # Through the snapshot, so that local serving sees exactly what a package would.
    snapshot = build_snapshot(project.catalog())
    catalog = catalog_from_snapshot(snapshot, "feature_defs/")
    settings = project.settings
    lookup = dataclasses.replace(settings.lookup, cache=cache, cache_ttl_ms=cache_ttl_ms,
                                 deadline_ms=deadline_ms, consistent_read=consistent_read,
                                 serving_log_sample=serving_log_sample)
    serving_log = (ServingLog(sample_rate=serving_log_sample, folder=settings.serving_log_dir)
                   if log_serving else None)
    return LookupApp.from_settings(
        settings.replace(lookup=lookup, in_lambda=False), catalog=catalog,
        built_at=snapshot["built_at"], serving_log=serving_log,
        access=AccessPolicy.from_settings(lookup, project.root / "api_keys.json"))


def lookup_keys(project: Project, entity: str, keys: list[dict], features, *,
                now=None, deadline_ms: float = 2000) -> dict:
    """The lookup's answer for ``keys`` of ``entity``, as the endpoint's POST gives it
    (``{"results": [{"entity", "key", "features"}], "degraded", ...}``); ``error`` says
    why when DynamoDB did not answer and defaults were served.

    No API key is checked: the caller holds the AWS credentials that read the table
    directly anyway; keys guard the network endpoint.
    """
    from featurestore.lookup import service

    app = local_app(project, cache=False, deadline_ms=deadline_ms, log_serving=False)
    requests = [service.entity_request(app.catalog, entity, keys, features)]
    outcome = service.lookup(requests, app.reader, now=now)
    body = service.response_body(requests, outcome, single=False)
    if outcome.degraded:
        body["error"] = outcome.error
    return body
