"""Lookup metrics: latency, status counts per view, cache hits, degraded responses, the
lag of each view (how old the newest value this endpoint has served is), and the
requests refused because a view's serving pointer names a version this endpoint does not
know or a retired one (``version_unavailable``: a stale deployment, never degraded).

Counted in process. In Lambda each invocation prints CloudWatch Embedded Metric Format
documents to stdout (CloudWatch turns them into metrics, no API call on the hot path);
locally the same counters are served as Prometheus text at ``/metrics``.
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

    def observe(self, route: str, code: int, seconds: float, status_counts=None,
                degraded: bool = False, cache_delta: tuple[int, int] = (0, 0),
                newest_us: dict[str, int] | None = None, *,
                unavailable: str | None = None) -> None:
        """Count one request; ``unavailable``: the view whose served version it could not
        serve (``VersionUnavailable``)."""
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
        if self.emf_stream is not None:
            self.emf_stream.write(emf_documents(route, code, seconds, status_counts or {},
                                                degraded, cache_delta, newest_us or {},
                                                unavailable))
            self.emf_stream.flush()

    def prometheus(self, cache=None, now_us: int | None = None) -> str:
        """The counters in Prometheus text exposition format (version 0.0.4).

        The lag of a view is now minus the newest ``feature_ts`` served for it since the
        endpoint started: while the loop publishes, it stays near the cycle time for a hot
        view; when the loop stops, it grows until values turn STALE at ``freshness_slo``.
        """
        now_us = time.time_ns() // 1000 if now_us is None else now_us
        with self._lock:
            out = ["# TYPE featurestore_lookup_requests_total counter"]
            out += [f'featurestore_lookup_requests_total{{route="{r}",code="{c}"}} {n}'
                    for (r, c), n in sorted(self.requests.items())]
            out.append("# TYPE featurestore_lookup_latency_seconds histogram")
            running = 0
            for bound, count in zip((*BUCKETS, "+Inf"), self.buckets, strict=True):
                running += count
                out.append(f'featurestore_lookup_latency_seconds_bucket{{le="{bound}"}} '
                           f"{running}")
            out.append(f"featurestore_lookup_latency_seconds_sum {self.latency_sum:.6f}")
            out.append(f"featurestore_lookup_latency_seconds_count {self.latency_count}")
            out.append("# TYPE featurestore_lookup_values_total counter")
            out += [f'featurestore_lookup_values_total{{view="{v}",status="{s}"}} {n}'
                    for (v, s), n in sorted(self.statuses.items())]
            out.append("# TYPE featurestore_lookup_degraded_total counter")
            out.append(f"featurestore_lookup_degraded_total {self.degraded}")
            out.append("# TYPE featurestore_lookup_version_unavailable_total counter")
            out += [f'featurestore_lookup_version_unavailable_total{{view="{v}"}} {n}'
                    for v, n in sorted(self.version_unavailable.items())]
            newest = sorted(self.newest_us.items())
            out.append("# TYPE featurestore_lookup_newest_feature_ts_seconds gauge")
            out += [f'featurestore_lookup_newest_feature_ts_seconds{{view="{v}"}} '
                    f"{ts / 1e6:.6f}" for v, ts in newest]
            out.append("# TYPE featurestore_lookup_lag_seconds gauge")
            out += [f'featurestore_lookup_lag_seconds{{view="{v}"}} {(now_us - ts) / 1e6:.3f}'
                    for v, ts in newest]
        hits, misses = (cache.hits, cache.misses) if cache is not None else (0, 0)
        out.append("# TYPE featurestore_lookup_cache_hits_total counter")
        out.append(f"featurestore_lookup_cache_hits_total {hits}")
        out.append("# TYPE featurestore_lookup_cache_misses_total counter")
        out.append(f"featurestore_lookup_cache_misses_total {misses}")
        return "\n".join(out) + "\n"


def emf_documents(route: str, code: int, seconds: float, status_counts: dict,
                  degraded: bool, cache_delta: tuple[int, int],
                  newest_us: dict[str, int] | None = None,
                  unavailable: str | None = None) -> str:
    """One EMF line for the request, one per view with its value counts per status and
    ``LagSeconds``, the age of the newest value the request served (its maximum over a
    minute in CloudWatch is the view's lag), and ``VersionUnavailable`` (1) for the view
    a request was refused for because this endpoint cannot serve its version."""
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
