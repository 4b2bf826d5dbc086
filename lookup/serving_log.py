"""A sampled record of what was served, so serving/training skew can be measured.

One JSON line per entity key looked up (the skew gate and the dbt source
``serving.serving_log`` read exactly this)::

    {"ts": "2026-05-22T17:45:12.123456Z",        # when it was served, ISO-8601 UTC, Z
     "request_id": "3f0c...",                     # API Gateway's request id
     "model": "fraud-v3" | null,                  # the x-model-name header
     "entity": "user",
     "key": {"user_id": 42},
     "features": {"user_transactions:txn_count_7d":
                  {"value": 14, "feature_ts": "2026-05-22T17:40:00Z" | null,
                   "status": "PRESENT"}}}

Sampling is per request (all its keys or none), at ``sample_rate`` in [0, 1]. In Lambda
the lines go to stdout (CloudWatch Logs, then a subscription to S3); locally to a file
per UTC day under ``warehouse/serving_log/``, which the dbt source reads.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import threading
from pathlib import Path

MODEL_HEADER = "x-model-name"


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def log_lines(request_id: str, model: str | None, requests, outcome, ts: str) -> list[str]:
    lines = []
    for request, rows in zip(requests, outcome.results, strict=True):
        for row in rows:
            features = {ref: {"value": answer["value"], "feature_ts": answer["feature_ts"],
                              "status": answer["status"]}
                        for ref, answer in row["features"].items()}
            lines.append(json.dumps({"ts": ts, "request_id": request_id, "model": model,
                                     "entity": request.entity.name, "key": row["key"],
                                     "features": features}, separators=(",", ":")))
    return lines


class ServingLog:
    """Where sampled lines go: a stream (stdout in Lambda) or a daily file in ``folder``."""

    def __init__(self, *, sample_rate: float = 1.0, folder: Path | None = None, stream=None):
        if not 0 <= sample_rate <= 1:
            raise ValueError(f"the serving log sample rate must be in [0, 1], got {sample_rate}")
        self.sample_rate = sample_rate
        self.folder = folder
        self.stream = stream if stream is not None else (None if folder else sys.stdout)
        self._lock = threading.Lock()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def path_for(self, day: str) -> Path:
        return self.folder / f"serving-{day}.jsonl"

    def record(self, request_id: str, model: str | None, requests, outcome) -> int:
        """Write the lines of one response if sampled; return how many were written."""
        if self.sample_rate <= 0 or (self.sample_rate < 1 and random.random() >= self.sample_rate):
            return 0
        ts = _now_iso()
        lines = log_lines(request_id, model, requests, outcome, ts)
        text = "".join(line + "\n" for line in lines)
        with self._lock:
            if self.folder is not None:
                with open(self.path_for(ts[:10].replace("-", "")), "a") as handle:
                    handle.write(text)
            else:
                self.stream.write(text)
                self.stream.flush()
        return len(lines)
