"""The lookup app's operations of the feature-service routes (``routes.ROUTES``'
``get_service_vector`` and ``retrieve_service_vectors``), kept beside the handler as a
mixin of ``LookupApp``: the same access check, store, cache, clock, serving log and
metrics as the feature routes, the vector assembled by ``service_vectors``."""

from __future__ import annotations

import logging
import time

from featurestore.lookup import service, service_vectors
from featurestore.lookup.events import body_of, header
from featurestore.lookup.serving_log import MODEL_HEADER

log = logging.getLogger("featurestore.lookup")


class ServiceOperations:
    """Mixed into ``LookupApp``: ``self.services`` is name -> ``ServedService``."""

    def _get_service_vector(self, call):
        served = service_vectors.service_of(self.services, call.params["service"])
        catalog = self.versions.snapshot().catalog
        query = call.event.get("queryStringParameters") or {}
        fields = {name[8:]: value for name, value in query.items()
                  if isinstance(name, str) and name.startswith("request.")} \
            if isinstance(query, dict) else {}  # the on-demand features' request fields
        request = service_vectors.get_request(catalog, served, call.params["entity"],
                                              call.params["key"], fields or None)
        return self._service_vectors(call, served, request)

    def _retrieve_service_vectors(self, call):
        served = service_vectors.service_of(self.services, call.params["service"])
        catalog = self.versions.snapshot().catalog
        request = service_vectors.post_request(catalog, served, body_of(call.event))
        return self._service_vectors(call, served, request)

    def _service_vectors(self, call, served, request):
        started = time.perf_counter()
        self.access.authorize(call.grant, request.views, call.request_id, call.path)
        outcome = service.lookup([request], self.store, cache=self.cache,
                                 now=self.clock() if self.clock else None)
        if outcome.degraded:
            log.warning("lookup %s degraded to defaults: %s", call.request_id, outcome.error)
        if self.serving_log is not None:
            self.serving_log.record(call.request_id, header(call.headers, MODEL_HEADER),
                                    [request], outcome,
                                    latency_ms=(time.perf_counter() - started) * 1000)
        return 200, service_vectors.response_body(
            served, request, outcome, regions=self.regions is not None), outcome
