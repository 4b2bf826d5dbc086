"""The lookup app for a project on this machine: the very code Lambda runs, configured
from the project's settings instead of a baked snapshot's environment.

``featurestore serve``, ``featurestore lookup``, the demo and the SDK's ``online()`` use
it, so a local answer is the answer the deployed endpoint would give.

Three things differ from Lambda, all decided here:

- **Anonymous access.** With no API key configured (no ``api_keys.json``, no
  FEATURESTORE_API_KEYS), ``featurestore serve`` on a loopback address lets requests
  without a key read public and internal features (never pii): only this machine can
  call it. On any other address it needs keys, or anonymous access asked for by name
  (``--allow-anonymous`` or FEATURESTORE_ALLOW_ANONYMOUS=true).
- **Following DynamoDB Local** (``--local``). ``featurestore online stop`` and ``start``
  may bring the project's DynamoDB Local back on another port; the app's store
  (``FollowingStore``, given to the app once, when it is built) then reads the state
  file that ``start`` writes and moves to the new endpoint, features and serving
  pointers alike, instead of serving defaults until it is restarted itself.
- **Reloading the contracts.** When a serving pointer names a version the app's contracts
  lack (v2 declared and promoted while ``serve`` ran), the app reads ``feature_defs/``
  again, once, and serves it (``lookup/versions.py``); a Lambda cannot, and answers 503.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

from featurestore.errors import StoreUnavailable
from featurestore.lookup.handler import LookupApp
from featurestore.project import Project


def local_app(project: Project, *, cache: bool = True, cache_ttl_ms: float = 1000,
              deadline_ms: float = 250, consistent_read: bool = False,
              serving_log_sample: float = 1.0, log_serving: bool = True,
              anonymous_without_keys: bool = True, follow_local: bool = False) -> LookupApp:
    """The lookup app over the project's contracts and online store.

    ``anonymous_without_keys``: serve requests without a key when no key is configured
    (``featurestore serve`` passes whether it listens on loopback only). ``follow_local``:
    the store is the project's DynamoDB Local (``--local``); follow it when it moves.
    """
    from featurestore.lookup.access import AccessPolicy
    from featurestore.lookup.registry_snapshot import build_snapshot, catalog_from_snapshot
    from featurestore.lookup.serving_log import ServingLog
    from featurestore.online.failover import lookup_store
    from featurestore.online.local import state_file

    def contracts():
        # Through the snapshot, so that local serving sees exactly what a package would.
        snapshot = build_snapshot(project.catalog())
        return catalog_from_snapshot(snapshot, "feature_defs/"), snapshot["built_at"]

    catalog, built_at = contracts()

    def services():
        # the frozen parameters from the registry, as `package-lambda` would bake them
        from featurestore.feature_services.serving import project_records
        from featurestore.lookup.service_vectors import services_from_snapshot

        return services_from_snapshot({"services": project_records(project)})

    settings = project.settings
    lookup = dataclasses.replace(settings.lookup, cache=cache, cache_ttl_ms=cache_ttl_ms,
                                 deadline_ms=deadline_ms, consistent_read=consistent_read,
                                 serving_log_sample=serving_log_sample)
    serving_log = (ServingLog(sample_rate=serving_log_sample, folder=settings.serving_log_dir,
                              pii_key=lookup.serving_log_hmac_key)
                   if log_serving else None)

    def store_at(online):
        return lookup_store(online, deadline_s=deadline_ms / 1000,
                            consistent_read=consistent_read)

    store = store_at(settings.online)
    if follow_local:
        store = FollowingStore(store, settings.online.endpoint,
                               state_file(project.warehouse_dir),
                               lambda endpoint: store_at(settings.online.replace(
                                   endpoint=endpoint)))
    return LookupApp.from_settings(
        settings.replace(lookup=lookup, in_lambda=False), catalog=catalog,
        built_at=built_at, serving_log=serving_log, reload=contracts, store=store,
        services=services,
        access=AccessPolicy.from_settings(lookup, project.root / "api_keys.json",
                                          anonymous_without_keys=anonymous_without_keys))


class FollowingStore:
    """The project's DynamoDB Local, followed to a new endpoint: an ``OnlineStore`` that
    reads through the store at the endpoint the state file names.

    When a read fails as unreachable, the state file of ``featurestore online start`` is
    read again (only when it changed since last read: one ``stat`` per failing request);
    if it names another endpoint, the store there takes over and the read is tried once
    more. Everything else an online store does goes to the current store as it is.
    """

    def __init__(self, store, endpoint: str | None, state_path: Path, store_at):
        self.store = store
        self.endpoint = endpoint
        self.state_path = state_path
        self.store_at = store_at  # endpoint -> the store there
        self._seen: int | None = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def get(self, keys, attributes, **options):
        try:
            return self.store.get(keys, attributes, **options)
        except StoreUnavailable:
            if not self.moved():
                raise
        return self.store.get(keys, attributes, **options)

    def ping(self) -> None:
        try:
            return self.store.ping()
        except StoreUnavailable:
            if not self.moved():
                raise
        return self.store.ping()

    def moved(self) -> bool:
        """Whether the state file now names another endpoint (and the store moved)."""
        try:
            stamp = self.state_path.stat().st_mtime_ns
        except OSError:  # stopped, not started again yet
            return False
        with self._lock:
            if stamp == self._seen:
                return False
            self._seen = stamp
            try:
                endpoint = json.loads(self.state_path.read_text())["endpoint"]
            except (OSError, ValueError, KeyError, TypeError):
                return False
            if not isinstance(endpoint, str) or endpoint == self.endpoint:
                return False
            self.store, self.endpoint = self.store_at(endpoint), endpoint
            return True


def lookup_keys(project: Project, entity: str, keys: list[dict], features, *,
                now=None, deadline_ms: float = 2000, request=None,
                request_text: bool = False) -> dict:
    """The lookup's answer for ``keys`` of ``entity``, as the endpoint's POST gives it
    (``{"results": [{"entity", "key", "features"}], "degraded", ...}``); ``error`` says
    why when DynamoDB did not answer and defaults were served. ``request``: the request
    fields of on-demand features (one mapping for all keys, or a list of one per key;
    ``request_text``: values as the GET route's query text, from the CLI).

    No API key is checked: the caller holds the AWS credentials that read the table
    directly anyway; keys guard the network endpoint.
    """
    from featurestore.lookup import service

    app = local_app(project, cache=False, deadline_ms=deadline_ms, log_serving=False)
    # the version each view serves, read from its serving pointer as the endpoint does
    snapshot = app.versions.snapshot()
    requests = [service.entity_request(snapshot.catalog, entity, keys, features,
                                       snapshot=snapshot, request=request,
                                       request_text=request_text)]
    outcome = service.lookup(requests, app.store, now=now)
    body = service.response_body(requests, outcome, single=False,
                                 regions=app.regions is not None)
    if outcome.degraded:
        body["error"] = outcome.error
    return body


def service_keys(project: Project, service: str, entity: str, keys: list[dict], *, now=None,
                 deadline_ms: float = 2000, request=None, request_text: bool = False) -> dict:
    """A feature service's vectors for ``keys``, as ``POST /v1/services/{service}/retrieve``
    answers them (``error`` says why when DynamoDB did not answer and defaults were
    served); a request error (unknown service, parameters never frozen, another entity)
    raises as the endpoint refuses it."""
    from featurestore.errors import RequestError
    from featurestore.lookup import service as lookup_service
    from featurestore.lookup import service_vectors

    app = local_app(project, cache=False, deadline_ms=deadline_ms, log_serving=False)
    served = service_vectors.service_of(app.services, service)
    if entity != served.entity:
        raise RequestError(f"service `{served.name}` reads entity `{served.entity}`, not "
                           f"`{entity}`")
    asked = service_vectors.entity_request(app.versions.snapshot().catalog, served, keys,
                                           request=request, text=request_text)
    outcome = lookup_service.lookup([asked], app.store, now=now)
    body = service_vectors.response_body(served, asked, outcome,
                                         regions=app.regions is not None)
    if outcome.degraded:
        body["error"] = outcome.error
    return body
