"""Lookup metrics: latency, status counts per view, cache hits, degraded responses, the
lag of each view (how old the newest value this endpoint has served is), and the
requests refused because a view's serving pointer names a version this endpoint does not
know or a retired one (``version_unavailable``: a stale deployment, never degraded), and,
for a table in two regions, the lookups each region answered (``region_answers``: the
replica's count grows while the primary is down).

Counted in process. In Lambda each invocation prints CloudWatch Embedded Metric Format
documents to stdout (CloudWatch turns them into metrics, no API call on the hot path);
locally the same counters are served as Prometheus text at ``/metrics``, written by
``prometheus_client`` (imported only there: the Lambda zip does not carry it, and its
own registry and metric objects would add a lock and an object per observation to a
hot path that already counts under one lock; the counters here are read at scrape time
instead, through a collector).
"""

from __future__ import annotations

import json
import sys
import threading
import time

# Latency histogram bucket bounds, in seconds (Prometheus `le` labels).
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
NAMESPACE = "featurestore/lookup"


class Metrics:
    def __init__(self, emf_stream=None):
        self.emf_stream = emf_stream  # a stream to print EMF documents to (Lambda), or None
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = {}
        self.buckets = [0] * (len(BUCKETS) + 1)
        self.latency_sum = 0.0
        self.latency_count = 0
        self.statuses: dict[tuple[str, str], int] = {}
        self.degraded = 0
        self.newest_us: dict[str, int] = {}  # view -> newest feature_ts served, epoch µs
        self.version_unavailable: dict[str, int] = {}  # view -> requests refused (503)
        self.region_answers: dict[str, int] = {}  # region -> lookups it answered

    def observe(self, route: str, code: int, seconds: float, status_counts=None,
                degraded: bool = False, cache_delta: tuple[int, int] = (0, 0),
                newest_us: dict[str, int] | None = None, *,
                unavailable: str | None = None, region: str | None = None) -> None:
        """Count one request; ``unavailable``: the view whose served version it could not
        serve (``VersionUnavailable``); ``region``: the region whose items it read, for
        a table in two regions."""
        with self._lock:
            self.requests[(route, code)] = self.requests.get((route, code), 0) + 1
            index = next((i for i, bound in enumerate(BUCKETS) if seconds <= bound),
                         len(BUCKETS))
            self.buckets[index] += 1
            self.latency_sum += seconds
            self.latency_count += 1
            for key, count in (status_counts or {}).items():
                self.statuses[key] = self.statuses.get(key, 0) + count
            self.degraded += bool(degraded)
            for view, ts_us in (newest_us or {}).items():
                if ts_us > self.newest_us.get(view, -1 << 63):
                    self.newest_us[view] = ts_us
            if unavailable is not None:
                self.version_unavailable[unavailable] = \
                    self.version_unavailable.get(unavailable, 0) + 1
            if region is not None:
                self.region_answers[region] = self.region_answers.get(region, 0) + 1
        if self.emf_stream is not None:
            self.emf_stream.write(emf_documents(route, code, seconds, status_counts or {},
                                                degraded, cache_delta, newest_us or {},
                                                unavailable, region))
            self.emf_stream.flush()

    def prometheus(self, cache=None, now_us: int | None = None) -> tuple[str, str]:
        """``(content type, body)`` of ``/metrics``: the counters in Prometheus text
        exposition format, written by ``prometheus_client`` (``# HELP`` and ``# TYPE``
        of every family, label values escaped: a view or route name cannot break a line).

        The lag of a view is now minus the newest ``feature_ts`` served for it since the
        endpoint started: while the loop publishes, it stays near the cycle time for a hot
        view; when the loop stops, it grows until values turn STALE at ``freshness_slo``.
        """
        try:
            from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
            from prometheus_client.registry import CollectorRegistry
        except ImportError:  # pragma: no cover - depends on the installed extras
            from featurestore.errors import MissingExtraError

            raise MissingExtraError("prometheus_client", "aws", "/metrics") from None
        now_us = time.time_ns() // 1000 if now_us is None else now_us
        with self._lock:
            families = self._families(now_us)
        hits, misses = (cache.hits, cache.misses) if cache is not None else (0, 0)
        families += _families_of_cache(hits, misses)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Snapshot(families))
        return CONTENT_TYPE_LATEST, generate_latest(registry).decode()

    def _families(self, now_us: int) -> list:
        """The metric families of the counters as they are now (the lock held)."""
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        requests = CounterMetricFamily(
            "featurestore_lookup_requests", "Requests answered, by route template and "
            "HTTP status.", labels=["route", "code"])
        for (route, code), count in sorted(self.requests.items()):
            requests.add_metric([route, str(code)], count)
        running, buckets = 0, []
        for bound, count in zip((*BUCKETS, "+Inf"), self.buckets, strict=True):
            running += count
            buckets.append((str(bound), running))
        latency = HistogramMetricFamily(
            "featurestore_lookup_latency_seconds", "Time to answer a request, in the handler.",
            buckets=buckets, sum_value=self.latency_sum)
        values = CounterMetricFamily(
            "featurestore_lookup_values", "Feature values served, by view and status "
            "(PRESENT, STALE, EXPIRED, DEFAULT, MISSING).", labels=["view", "status"])
        for (view, status), count in sorted(self.statuses.items()):
            values.add_metric([view, status], count)
        degraded = CounterMetricFamily(
            "featurestore_lookup_degraded", "Answers served with contract defaults because "
            "DynamoDB did not answer within the deadline.", value=self.degraded)
        unavailable = CounterMetricFamily(
            "featurestore_lookup_version_unavailable", "Requests refused (503) because a "
            "view's serving pointer names a version this lookup does not serve.",
            labels=["view"])
        for view, count in sorted(self.version_unavailable.items()):
            unavailable.add_metric([view], count)
        regions = CounterMetricFamily(
            "featurestore_lookup_region_answers", "Lookups whose stored values one region "
            "of a table in two regions answered (the replica's: the primary did not).",
            labels=["region"])
        for region, count in sorted(self.region_answers.items()):
            regions.add_metric([region], count)
        newest = GaugeMetricFamily(
            "featurestore_lookup_newest_feature_ts_seconds", "The newest feature_ts served "
            "per view since the endpoint started, in epoch seconds.", labels=["view"])
        lag = GaugeMetricFamily(
            "featurestore_lookup_lag_seconds", "Now minus the newest feature_ts served per "
            "view: near the loop's cycle time while it publishes.", labels=["view"])
        for view, ts_us in sorted(self.newest_us.items()):
            newest.add_metric([view], ts_us / 1e6)
            lag.add_metric([view], round((now_us - ts_us) / 1e6, 3))
        return [requests, latency, values, degraded, unavailable, regions, newest, lag]


def _families_of_cache(hits: int, misses: int) -> list:
    from prometheus_client.core import CounterMetricFamily

    return [CounterMetricFamily("featurestore_lookup_cache_hits", "Keys answered from the "
                                "in-memory cache.", value=hits),
            CounterMetricFamily("featurestore_lookup_cache_misses", "Keys read from DynamoDB "
                                "(not in the cache, or expired there).", value=misses)]


class _Snapshot:
    """A collector of families already built: one scrape's registry reads these."""

    def __init__(self, families: list):
        self.families = families

    def collect(self):
        return iter(self.families)


def emf_documents(route: str, code: int, seconds: float, status_counts: dict,
                  degraded: bool, cache_delta: tuple[int, int],
                  newest_us: dict[str, int] | None = None,
                  unavailable: str | None = None, region: str | None = None) -> str:
    """One EMF line for the request, one per view with its value counts per status and
    ``LagSeconds``, the age of the newest value the request served (its maximum over a
    minute in CloudWatch is the view's lag), and ``VersionUnavailable`` (1) for the view
    a request was refused for because this endpoint cannot serve its version; with two
    regions, ``RegionAnswers`` (1) under the ``Region`` that answered."""
    now_us = time.time_ns() // 1000
    stamp = now_us // 1000
    request = {
        "_aws": {"Timestamp": stamp, "CloudWatchMetrics": [{
            "Namespace": NAMESPACE, "Dimensions": [["Route"]],
            "Metrics": [{"Name": "LatencyMs", "Unit": "Milliseconds"},
                        {"Name": "Degraded", "Unit": "Count"},
                        {"Name": "Errors", "Unit": "Count"},
                        {"Name": "CacheHits", "Unit": "Count"},
                        {"Name": "CacheMisses", "Unit": "Count"}]}]},
        "Route": route, "LatencyMs": round(seconds * 1000, 3), "Degraded": int(degraded),
        "Errors": int(code >= 500), "StatusCode": code,
        "CacheHits": cache_delta[0], "CacheMisses": cache_delta[1],
    }
    lines = [json.dumps(request, separators=(",", ":"))]
    if region is not None:
        lines.append(json.dumps({
            "_aws": {"Timestamp": stamp, "CloudWatchMetrics": [{
                "Namespace": NAMESPACE, "Dimensions": [["Region"]],
                "Metrics": [{"Name": "RegionAnswers", "Unit": "Count"}]}]},
            "Region": region, "RegionAnswers": 1}, separators=(",", ":")))
    per_view: dict[str, dict[str, float]] = {}
    for (view, status), count in status_counts.items():
        per_view.setdefault(view, {})[status] = count
    if unavailable is not None:
        per_view.setdefault(unavailable, {})["VersionUnavailable"] = 1
    for view, counts in sorted(per_view.items()):
        metrics = [{"Name": status, "Unit": "Count"} for status in sorted(counts)]
        if view in (newest_us or {}):
            counts["LagSeconds"] = round((now_us - newest_us[view]) / 1e6, 3)
            metrics.append({"Name": "LagSeconds", "Unit": "Seconds"})
        lines.append(json.dumps({
            "_aws": {"Timestamp": stamp, "CloudWatchMetrics": [{
                "Namespace": NAMESPACE, "Dimensions": [["View"]], "Metrics": metrics}]},
            "View": view, **counts}, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def stdout_metrics() -> Metrics:
    return Metrics(emf_stream=sys.stdout)
