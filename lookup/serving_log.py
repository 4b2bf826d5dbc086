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
                   "status": "PRESENT"}},
     "pii": {"user_profile:email_domain":          # only when pii features were served
             {"value_hmac": "9f2c..." | absent,
              "feature_ts": "2026-05-18T18:00:00Z", "status": "PRESENT"}},
     "versions": {"user_transactions": 2},       # views with several versions: which
     "shadow": {"user_transactions@v2:txn_count_7d":   # shadow versions read beside them
                {"value": 15, "feature_ts": "...", "status": "PRESENT"}},
     "degraded": true,                            # only when DynamoDB did not answer
     "latency_ms": 1.84}                          # the lookup's time in the handler

What never goes in the clear, since in Lambda these lines land in CloudWatch Logs:

- a ``pii`` feature's value. It is under ``pii``, not ``features`` (so the skew gate and
  the dbt source, which read ``features``, never take it for a served null), as
  ``value_hmac``: the HMAC-SHA256 of the value's JSON with the secret
  FEATURESTORE_SERVING_LOG_HMAC_KEY (equal values give equal digests, so counts and joins
  still work; the value cannot be read back without the secret). Without that secret the
  value is left out; its status and ``feature_ts`` stay.
- a key value over ``MAX_KEY_CHARS`` characters: its first ``MAX_KEY_CHARS`` characters and
  ``…`` (``capped_key``; ``forget_entity`` matches lines by that same form).

``degraded`` marks lines whose values are defaults because DynamoDB did not answer: they
say nothing of what the store holds, and the skew gate skips them. ``latency_ms`` is the
time the handler spent on the request's lookup (access check, DynamoDB or cache read,
statuses), the same on every line of one request; the catalog's p99 comes from it.

Sampling is per request (all its keys or none), at ``sample_rate`` in [0, 1]. In Lambda
the lines go to stdout (CloudWatch Logs, then a subscription to S3); locally to a file
per UTC day under ``warehouse/serving_log/``, which the dbt source reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import random
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from featurestore.serving_log_reader import file_name, log_files

try:  # a lock between the lookup appending and `featurestore forget` rewriting a file
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: no lock
    fcntl = None

MODEL_HEADER = "x-model-name"
MAX_KEY_CHARS = 128  # of one key value in a line
MAX_MODEL_CHARS = 200  # of the x-model-name header in a line
PII = "pii"


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def capped_key(key: dict) -> dict:
    """The key as a line holds it: each text value at most MAX_KEY_CHARS characters."""
    if all(type(v) is not str or len(v) <= MAX_KEY_CHARS for v in key.values()):
        return key
    return {name: f"{value[:MAX_KEY_CHARS]}…" if isinstance(value, str)
            and len(value) > MAX_KEY_CHARS else value for name, value in key.items()}


def value_digest(secret: bytes, value: object) -> str:
    """The HMAC-SHA256 (hex) that stands for a pii value: of its JSON, so 1 and "1" differ."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def _entries(answers: dict, pii_refs: set, pii_key: bytes | None) -> tuple[dict, dict]:
    """``(features, pii)`` of a line: values in the clear, pii ones as an HMAC or not."""
    features, private = {}, {}
    for ref, answer in answers.items():
        if ref in pii_refs:
            entry = {"feature_ts": answer["feature_ts"], "status": answer["status"]}
            if pii_key is not None:
                entry = {"value_hmac": value_digest(pii_key, answer["value"]), **entry}
            private[ref] = entry
        else:
            features[ref] = {"value": answer["value"], "feature_ts": answer["feature_ts"],
                             "status": answer["status"]}
    return features, private


def log_lines(request_id: str, model: str | None, requests, outcome, ts: str,
              pii_key: bytes | None = None, latency_ms: float | None = None) -> list[str]:
    """One line per key. A view with several versions adds ``versions`` (the version
    served of each); a shadow read adds ``shadow`` (``{"view@vN:feature": answer}``, its
    pii values under ``shadow_pii`` as under ``pii``)."""
    lines = []
    if model is not None and len(model) > MAX_MODEL_CHARS:
        model = model[:MAX_MODEL_CHARS] + "…"
    shadows = getattr(outcome, "shadow_results", None) or [None] * len(requests)
    versions = getattr(outcome, "versions", None)
    for request, rows, shadow_rows in zip(requests, outcome.results, shadows, strict=True):
        pii_refs = {ref for plan in (*request.views, *getattr(request, "shadows", ()),
                                     *getattr(request, "on_demand", ()))
                    for ref, feature in zip(plan.refs, plan.features, strict=True)
                    if feature.sensitivity == PII}
        for index, row in enumerate(rows):
            features, private = _entries(row["features"], pii_refs, pii_key)
            line = {"ts": ts, "request_id": request_id, "model": model,
                    "entity": request.entity.name, "key": capped_key(row["key"]),
                    "features": features}
            if private:
                line["pii"] = private
            if versions:
                line["versions"] = {plan.view.name: versions[plan.view.name]
                                    for plan in request.views if plan.view.name in versions}
            if shadow_rows:
                shadowed, shadow_private = _entries(shadow_rows[index], pii_refs, pii_key)
                line["shadow"] = shadowed
                if shadow_private:
                    line["shadow_pii"] = shadow_private
            if outcome.degraded:
                line["degraded"] = True
            if latency_ms is not None:
                line["latency_ms"] = round(latency_ms, 3)
            lines.append(json.dumps(line, separators=(",", ":")))
    return lines


class ServingLog:
    """Where sampled lines go: a stream (stdout in Lambda) or a daily file in ``folder``."""

    def __init__(self, *, sample_rate: float = 1.0, folder: Path | None = None, stream=None,
                 pii_key: str | bytes | None = None):
        if not 0 <= sample_rate <= 1:
            raise ValueError(f"the serving log sample rate must be in [0, 1], got {sample_rate}")
        self.sample_rate = sample_rate
        self.folder = folder
        self.stream = stream if stream is not None else (None if folder else sys.stdout)
        self.pii_key = pii_key.encode() if isinstance(pii_key, str) else pii_key
        self._lock = threading.Lock()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def path_for(self, day: str) -> Path:
        return self.folder / file_name(day)

    def record(self, request_id: str, model: str | None, requests, outcome,
               latency_ms: float | None = None) -> int:
        """Write the lines of one response if sampled; return how many were written."""
        if self.sample_rate <= 0 or (self.sample_rate < 1 and random.random() >= self.sample_rate):
            return 0
        ts = _now_iso()
        lines = log_lines(request_id, model, requests, outcome, ts, self.pii_key, latency_ms)
        text = "".join(line + "\n" for line in lines)
        with self._lock:
            if self.folder is not None:
                _append(self.path_for(ts[:10].replace("-", "")), text)
            else:
                self.stream.write(text)
                self.stream.flush()
        return len(lines)


def _append(path: Path, text: str) -> None:
    """Append under the file's lock; if ``forget_entity`` replaced the file while this
    waited for the lock, append to the new one."""
    while True:
        with open(path, "a") as handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
                if os.fstat(handle.fileno()).st_ino != os.stat(path).st_ino:
                    continue
            handle.write(text)
            return


@dataclass
class ForgottenLines:
    """What ``forget_entity`` removed from a local serving log."""

    folder: Path
    lines: int = 0
    files: list[Path] = field(default_factory=list)  # the files it rewrote


def forget_entity(folder: Path, entity: str, key: dict) -> ForgottenLines:
    """Remove every line of ``entity`` ``key`` (typed, as the lookup echoes it) from the
    serving log files in ``folder`` (the files its readers read: nested ones too,
    featurestore/serving_log_reader.py); the other lines stay, in order.

    Each file is rewritten beside itself and moved over the old one while holding the
    file's lock, so a running ``featurestore serve`` that appends meanwhile waits, then
    appends to the new file: no line is lost.
    """
    report = ForgottenLines(folder)
    if not folder.is_dir():
        return report
    wanted = capped_key(key)
    marker = f'"entity":{json.dumps(entity)}'  # lines are compact JSON
    for path in log_files(folder):
        with open(path, "r+", encoding="utf-8", errors="surrogateescape") as original:
            if fcntl is not None:
                fcntl.flock(original, fcntl.LOCK_EX)
            kept, dropped = [], 0
            for line in original:
                if marker in line and _is_of(line, entity, wanted):
                    dropped += 1
                else:
                    kept.append(line)
            if dropped:
                scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                with open(scratch, "w", encoding="utf-8", errors="surrogateescape") as handle:
                    handle.writelines(kept)
                os.replace(scratch, path)
                report.lines += dropped
                report.files.append(path)
    return report


def _is_of(line: str, entity: str, key: dict) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return (isinstance(record, dict) and record.get("entity") == entity
            and record.get("key") == key)
