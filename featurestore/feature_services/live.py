"""Live statistics beside the frozen ones: what ``compare --live`` and the skew gate say
about the transformations of the features they judge.

For each feature service that serves a frozen parameter set transforming a feature of
the views judged, the same statistic is computed on the values served (the serving
log's), with the same definitions as the warehouse's (params_sql.py: NULL, NaN and
infinities left out, population std, nearest-rank quantiles, vocabulary shares), and
reported beside the frozen one. Only reported: the frozen parameters are what the model
was trained with, and nothing here changes them (a drift is fixed by training again,
which freezes a new set).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from fractions import Fraction

from featurestore.feature_services.params_sql import rank

# kind -> the statistics compared
STATISTICS = {"zscore": ("mean", "std"), "min_max": ("min", "max"), "log1p": ("count",),
              "clip": ("lower_value", "upper_value"), "quantile_bins": ("edges",),
              "one_hot": ("in_vocabulary",), "index": ("in_vocabulary",)}


def _kept(dtype: str, values: list) -> list:
    out = []
    for value in values:
        if value is None or isinstance(value, bool) != (dtype == "bool"):
            continue
        if dtype == "float64":
            if not isinstance(value, int | float) or not math.isfinite(value):
                continue
            value = float(value) + 0.0
        out.append(value)
    return out


def live_statistics(entry: dict, values: list) -> dict:
    """The statistics of one transformation (a parameter document's entry) over the
    ``values`` served; None where there is no value to compute them from."""
    kind, dtype = entry["kind"], entry["dtype"]
    kept = _kept(dtype, values)
    found: dict = {"count": len(kept)}
    if kind == "zscore":
        numbers = [float(v) for v in kept]
        found["mean"] = statistics.fmean(numbers) if numbers else None
        found["std"] = statistics.pstdev(numbers) if numbers else None
    elif kind == "min_max":
        found.update(min=min(kept, default=None), max=max(kept, default=None))
    elif kind in ("clip", "quantile_bins"):
        ordered = sorted(kept)
        fractions = ([Fraction(str(entry["options"]["lower"])),
                      Fraction(str(entry["options"]["upper"]))] if kind == "clip" else
                     [Fraction(k, entry["options"]["bins"])
                      for k in range(1, entry["options"]["bins"])])
        picked = [ordered[rank(f, len(ordered)) - 1] if ordered else None for f in fractions]
        if kind == "clip":
            found.update(lower_value=picked[0], upper_value=picked[1])
        else:
            found["edges"] = picked if ordered else []
    elif kind in ("one_hot", "index"):
        vocabulary = set(entry["params"]["vocabulary"])
        found["in_vocabulary"] = (sum(v in vocabulary for v in kept) / len(kept)
                                  if kept else None)
    return found


def frozen_statistics(entry: dict) -> dict:
    params = dict(entry["params"])
    if entry["kind"] in ("one_hot", "index"):
        count = params.get("count") or 0
        params["in_vocabulary"] = sum(params["frequencies"]) / count if count else None
    return params


def beside_frozen(sets: list, values: Callable[[str, int], list | None]) -> list[dict]:
    """One row per statistic of each transformation of the parameter ``sets`` (as
    ``ParameterSet.to_dict()`` gives them) whose feature ``values(name, version)`` has
    served values for, at the version the set was frozen on."""
    rows = []
    for frozen in sets:
        document = frozen["document"]
        versions = {f["name"]: f["version"] for f in document["features"]}
        for entry in document["transformations"]:
            served = values(entry["feature"], versions[entry["feature"]])
            if served is None:
                continue
            then, now = frozen_statistics(entry), live_statistics(entry, served)
            for name in STATISTICS[entry["kind"]]:
                rows.append({"service": frozen["service"],
                             "parameters_version": frozen["version"],
                             "feature": entry["feature"], "kind": entry["kind"],
                             "statistic": name, "frozen": then.get(name),
                             "live": now.get(name), "served": now["count"]})
    return rows


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return "-" if value is None else str(value)


def lines(rows: list[dict]) -> list[str]:
    """The rows as text: ``fraud_model (parameters 2) user_transactions:txn_count_7d
    zscore mean: frozen 3.2, live 3.9 (1,204 served)``."""
    return [f"{r['service']} (parameters {r['parameters_version']}) {r['feature']} "
            f"{r['kind']} {r['statistic']}: frozen {_shown(r['frozen'])}, live "
            f"{_shown(r['live'])} ({r['served']:,} served; the frozen value is served)"
            for r in rows]


def served_sets(project, views: set[str], warehouse=None) -> list[dict]:
    """The parameter sets the project's services serve that transform a feature of
    ``views`` (none when the project has no services or the registry none); the registry
    is read through ``warehouse`` when the caller holds one open."""
    from featurestore.feature_services.serving import project_records

    found = []
    for record in project_records(project, warehouse=warehouse).values():
        frozen = record.get("parameters")
        if frozen and any(t["feature"].split(":")[0] in views
                          for t in frozen["document"]["transformations"]):
            found.append(frozen)
    return found

