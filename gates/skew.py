"""Training/serving skew: the training set's distributions against what was served.

Per feature: the population stability index (PSI) of the served values against the
training values (numeric features binned on the training set's deciles, categorical
features by category; nulls left out of PSI) and the absolute difference of null rates.
Both thresholds come from the contract (``skew.max_psi``, ``skew.max_null_rate_diff``).
The training set's manifest says which views, versions and columns it holds; a view
whose version differs from the contract is skipped with a note, never compared.

Two guards keep a small sample from failing a view:

- **A minimum sample.** A feature served fewer than ``skew.min_sample`` times in the
  window (default 1,000 lines), or a training set with fewer rows, is not judged: both
  of its expectations are recorded as *insufficient data* (``passed`` null in
  ``gate_results``: not passed, not failed), which never fails the gate.
- **Smoothed shares.** Each bin's share is Laplace-smoothed, ``(count + 1) / (n + k)``
  over the ``k`` bins either side reached, so a bin that one side never reached gives a
  finite, small term instead of the ``log(share / 0)`` (floored at 1e-4 before) that
  made six lines score PSI 5 to 8. Identical samples still give 0, and samples in the
  same proportions nearly 0 (the smoothing weighs more on the smaller one).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from featurestore.contracts import FeatureView
from featurestore.dtypes import utc_naive
from featurestore.errors import ProjectError
from featurestore.serving_log_reader import SkippedLines, log_files, read_lines
from featurestore.training_manifest import manifest_path

BINS = 10
SMOOTHING = 1.0  # Laplace's add-one: every bin counts one more value on each side
DEFAULT_WINDOW_SECONDS = 7 * 86_400
SUITE = "skew"
NUMERIC = ("int64", "float64", "timestamp")
log = logging.getLogger("featurestore.gates")


@dataclass
class SkewInputs:
    training: dict[str, list] = field(default_factory=dict)  # "view:feature" -> values
    serving: dict[str, list] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # feature services' frozen statistics beside the served values' (feature_services/
    # live.py): reported, never used to judge or to change the frozen parameters
    frozen: list[dict] = field(default_factory=list)


def _epoch_seconds(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.datetime):
        return (utc_naive(value) - dt.datetime(1970, 1, 1)).total_seconds()
    return float(value)


def smoothed_shares(counts):
    """Each bin's share of ``counts`` with Laplace smoothing: never 0, summing to 1."""
    return (counts + SMOOTHING) / (counts.sum() + SMOOTHING * len(counts))


def population_stability_index(expected: list, actual: list, numeric: bool) -> float | None:
    """PSI of ``actual`` against ``expected``: the sum over bins of (a - e) * ln(a / e)
    on smoothed shares (``smoothed_shares``); None when either side has no values."""
    import numpy as np

    if not expected or not actual:
        return None
    if numeric:
        reference = np.asarray(expected, dtype="float64")
        observed = np.asarray(actual, dtype="float64")
        edges = np.unique(np.quantile(reference, np.linspace(0, 1, BINS + 1)[1:-1]))
        ref_counts = np.bincount(np.searchsorted(edges, reference, side="right"),
                                 minlength=len(edges) + 1)
        obs_counts = np.bincount(np.searchsorted(edges, observed, side="right"),
                                 minlength=len(edges) + 1)
    else:
        categories = sorted({str(v) for v in expected} | {str(v) for v in actual})
        index = {c: i for i, c in enumerate(categories)}
        ref_counts = np.bincount([index[str(v)] for v in expected], minlength=len(categories))
        obs_counts = np.bincount([index[str(v)] for v in actual], minlength=len(categories))
    reached = (ref_counts + obs_counts) > 0  # a bin neither side reached tells nothing
    ref_share = smoothed_shares(ref_counts[reached].astype("float64"))
    obs_share = smoothed_shares(obs_counts[reached].astype("float64"))
    return float(np.sum((obs_share - ref_share) * np.log(obs_share / ref_share)))


def _read_manifest(path: Path) -> dict:
    manifest_file = manifest_path(path)
    if not path.exists():
        raise ProjectError(f"{path}: no such training set. Write one with "
                           "`featurestore training-set`, or pass its path to --training-set.")
    if not manifest_file.exists():
        raise ProjectError(f"{manifest_file}: the training set's manifest is missing; the skew "
                           "gate needs it to know the views and versions. Rewrite the training "
                           "set with `featurestore training-set`.")
    try:
        return json.loads(manifest_file.read_text())
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{manifest_file}: not valid JSON ({exc})") from None


def load_training(path: Path, views: list[FeatureView], inputs: SkewInputs) -> set[str]:
    """Training values per "view:feature"; returns the views the training set can judge."""
    import pyarrow.parquet as pq

    manifest = _read_manifest(path)
    by_name = {v.name: v for v in views}
    columns: dict[str, tuple[str, str]] = {}
    judged = set()
    for entry in manifest.get("views", []):
        view = by_name.get(entry.get("name"))
        if view is None:
            continue
        if entry.get("version") != view.version:
            inputs.notes.append(f"skew/{view.name}: skipped, the training set has version "
                                f"{entry.get('version')} and the contract version {view.version}")
            continue
        judged.add(view.name)
        for feature in entry.get("features", []):
            if feature.get("name") in view.feature_names:
                columns[feature["column"]] = (view.name, feature["name"])
    if columns:
        table = pq.read_table(path, columns=list(columns))
        for column, (view_name, feature_name) in columns.items():
            dtype = by_name[view_name].feature(feature_name).dtype
            values = table.column(column).to_pylist()
            if dtype == "timestamp":
                values = [_epoch_seconds(v) for v in values]
            inputs.training[f"{view_name}:{feature_name}"] = values
    return judged


def serving_files(path: Path) -> list[Path]:
    """The serving log's files at ``path`` (featurestore/serving_log_reader.py); a path
    that is neither a file nor a folder is a ProjectError saying what to pass."""
    if not path.exists():
        raise ProjectError(f"{path}: no serving log there. Pass the folder or file the lookup "
                           "writes (--serving-log), by default warehouse/serving_log/.")
    return log_files(path)


def serving_records(path: Path, start: dt.datetime, end: dt.datetime, *,
                    containing: str | None = None,
                    skipped: SkippedLines | None = None) -> Iterator[dict]:
    """The serving log's lines served within [start, end], parsed, less the degraded ones
    (their values are defaults: they say nothing of what DynamoDB holds). A line whose
    text lacks ``containing`` is skipped unparsed. A line that is not a serving-log line
    is skipped and counted in ``skipped``; without one, a warning says how many were."""
    bad = skipped if skipped is not None else SkippedLines()
    for served_at, record in read_lines(serving_files(path), bad, containing=containing):
        if start <= served_at <= end and record.get("degraded") is not True:
            yield record
    if skipped is None and bad.count:
        log.warning(bad.note())


def load_serving(path: Path, views: list[FeatureView], inputs: SkewInputs,
                 start: dt.datetime, end: dt.datetime,
                 skipped: SkippedLines | None = None) -> int:
    """Served values per "view:feature" within [start, end]; returns the lines read (the
    bad ones are counted in ``skipped``, as ``serving_records`` says)."""
    dtypes = {f"{v.name}:{f.name}": f.dtype for v in views for f in v.features}
    lines = 0
    for record in serving_records(path, start, end, skipped=skipped):
        lines += 1
        for ref, answer in record["features"].items():
            dtype = dtypes.get(ref)
            if dtype is None:
                continue
            value = answer.get("value") if isinstance(answer, dict) else None
            if dtype == "timestamp":
                value = _epoch_seconds(value)
            inputs.serving.setdefault(ref, []).append(value)
    return lines


def load_skew_inputs(project, views: list[FeatureView], options,
                     warehouse=None) -> SkewInputs:
    inputs = SkewInputs()
    if options.training_set is None:
        inputs.notes.append("skew: skipped, no --training-set given")
        return inputs
    judged = load_training(Path(options.training_set), views, inputs)
    log_path = Path(options.serving_log or project.settings.serving_log_dir)
    end = utc_naive(options.as_of)
    window = options.serving_window_seconds or DEFAULT_WINDOW_SECONDS
    skipped = SkippedLines()
    lines = load_serving(log_path, [v for v in views if v.name in judged], inputs,
                         end - dt.timedelta(seconds=window), end, skipped)
    inputs.notes.append(f"skew: {lines} serving log lines from {log_path} in the "
                        f"{window // 3600} h up to {end.isoformat(timespec='seconds')}")
    if skipped.count:
        inputs.notes.append(skipped.note())
    _beside_frozen(project, views, judged, inputs, warehouse)
    return inputs


def _beside_frozen(project, views, judged: set[str], inputs: SkewInputs, warehouse) -> None:
    """The frozen transformation parameters of the judged views' features, and the same
    statistics of the values served, as notes: for a person to read, never judged."""
    from featurestore.feature_services.live import beside_frozen, lines, served_sets

    versions = {v.name: v.version for v in views if v.name in judged}
    if not versions:
        return
    sets = served_sets(project, set(versions), warehouse)
    inputs.frozen = beside_frozen(sets, lambda name, version: inputs.serving.get(name)
                                  if versions.get(name.split(":")[0]) == version else None)
    inputs.notes.extend(f"skew: {line}" for line in lines(inputs.frozen))


def _too_few(feature, trained: list, served: list) -> str | None:
    """Why ``feature`` cannot be judged on these samples ("6 serving line(s) of 1,000
    needed"), or None when both reach its ``skew.min_sample``."""
    needed = feature.skew_min_sample
    if len(served) < needed:
        return f"{len(served):,} serving line(s) of {needed:,} needed"
    if len(trained) < needed:
        return f"{len(trained):,} training row(s) of {needed:,} needed"
    return None


def insufficient_results(inputs: SkewInputs | None, view: FeatureView, checks) -> list:
    """The ``CheckResult`` of every skew expectation of a feature seen on both sides but
    too rarely to judge: ``passed`` None ("insufficient data"), never a failure."""
    from featurestore.gates.results import CheckResult

    results = []
    if inputs is None:
        return results
    by_label = {check.label: check for check in checks}
    for feature in view.features:
        ref = f"{view.name}:{feature.name}"
        trained, served = inputs.training.get(ref), inputs.serving.get(ref)
        if not trained or not served:
            continue
        reason = _too_few(feature, trained, served)
        if reason is None:
            continue
        for label in (f"psi({feature.name})", f"null_rate_diff({feature.name})"):
            if label in by_label:
                results.append(CheckResult(SUITE, view.label, label, reason,
                                           by_label[label].threshold, None, None))
    return results


def skew_metrics(inputs: SkewInputs | None, view: FeatureView) -> dict:
    """psi(feature) and null_rate_diff(feature) for features seen on both sides, each
    often enough to judge (``insufficient_results`` has the others)."""
    metrics: dict[str, object] = {}
    if inputs is None:
        return metrics
    for feature in view.features:
        ref = f"{view.name}:{feature.name}"
        trained, served = inputs.training.get(ref), inputs.serving.get(ref)
        if not trained or not served or _too_few(feature, trained, served):
            continue
        trained_values = [v for v in trained if v is not None]
        served_values = [v for v in served if v is not None]
        psi = population_stability_index(trained_values, served_values,
                                          numeric=feature.dtype in NUMERIC)
        if psi is not None:
            metrics[f"psi({feature.name})"] = round(psi, 6)
        null_diff = abs((len(served) - len(served_values)) / len(served)
                        - (len(trained) - len(trained_values)) / len(trained))
        metrics[f"null_rate_diff({feature.name})"] = round(null_diff, 6)
    if metrics and any(math.isnan(v) for v in metrics.values() if isinstance(v, float)):
        raise ProjectError(f"skew/{view.name}: a metric came out as NaN; the training set or "
                           "the serving log holds non-finite values")
    return metrics
