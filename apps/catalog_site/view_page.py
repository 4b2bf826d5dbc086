"""The page of one feature view, as plain data for its template (templates/view.html).

Everything a person looks for before reusing a feature, in one place: the contract and
each feature's checks, whether the view is production-ready and why, its plots (freshness
lag against the SLO, null rate against ``max_null_rate``, distributions in training and
serving, PSI), its online life (items, last sync, the loop's cycles, the serving log's
status mix and latency), its SQL and lineage, its consumers and its versions. Every
section that has nothing to show says why, and what would fill it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from featurestore.apps.catalog_site import plots
from featurestore.apps.catalog_site.distributions import Distribution, distribution, from_json
from featurestore.apps.catalog_site.text import human_seconds, when
from featurestore.contracts import FeatureView
from featurestore.durations import format_duration

PSI_LINES = 5  # features drawn on the PSI plot: the nearest their threshold


@dataclass
class ViewInputs:
    """What the catalog gathered about one view, before anything is drawn."""

    view: FeatureView
    records: object  # store.ViewRecords
    health: object  # health.Health
    sql: tuple[str | None, str | None] = (None, None)
    lineage: object = None  # dbt_docs.Lineage
    column_types: dict[str, str] = field(default_factory=dict)
    types_from: str = ""
    serving: object = None  # serving.ViewServing
    serving_window: tuple[dt.datetime | None, dt.datetime | None] = (None, None)
    training_sets: list[dict] = field(default_factory=list)  # consumers, newest first
    training_values: dict[str, object] = field(default_factory=dict)  # feature -> Side
    training_from: str | None = None  # the training set the values come from
    serving_values: dict[str, list] = field(default_factory=dict)  # feature -> values
    versions: list[dict] = field(default_factory=list)  # versions the contract declares


class PlotIds:
    """Unique ids for the plots of one page (their <title> and <desc> are referenced)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return f"plot-{self.count}"


def _points(records, expectation: str):
    """The expectation's points over time (store.GatePoint), oldest first."""
    series = records.series.get(expectation)
    return series.points() if series is not None else []


def freshness_plot(view: FeatureView, records, ids: PlotIds) -> tuple[object, str]:
    """(plot or None, text): the newest feature_ts's lag over time against the SLO."""
    points = [p for p in _points(records, "freshness_lag_seconds") if p.worst is not None]
    slo = view.freshness_slo_seconds
    if not slo:
        return None, ("This view declares no freshness SLO, so the freshness gate does not "
                      "check it.")
    if not points:
        return None, (f"No freshness result recorded yet. Run `featurestore gate --suite "
                      f"freshness --view {view.name}` to start the history.")
    worst = max(p.worst for p in points)
    hours = max(worst, slo) >= 2 * 3600
    scale, unit = (3600, "hours") if hours else (60, "minutes")
    failing = sum(1 for p in points if p.failures)
    summary = (f"Freshness lag of {view.name} over {len(points)} period(s) from "
               f"{when(points[0].at)} to {when(points[-1].at)}, each point the largest lag of "
               f"its period: latest {human_seconds(points[-1].worst)}, largest "
               f"{human_seconds(worst)}; SLO {format_duration(slo)}; {failing} period(s) "
               "with a failing run.")
    plot = plots.time_series(
        ids(), f"Freshness lag of {view.name} ({unit})",
        [plots.Series("lag", [p.at for p in points], [p.worst / scale for p in points])],
        unit=unit, threshold=slo / scale, threshold_name=f"SLO {format_duration(slo)}",
        summary=summary)
    return plot, summary


def null_rate_plots(view: FeatureView, records, ids: PlotIds) -> list[dict]:
    """One plot per feature the quality gate measured: its null rate against the limit."""
    out = []
    for feature in view.features:
        points = [p for p in _points(records, f"null_rate({feature.name})")
                  if p.worst is not None]
        if not points:
            continue
        limit = feature.max_null_rate
        failing = sum(1 for p in points if p.failures)
        summary = (f"Null rate of {feature.name} over {len(points)} period(s) from "
                   f"{when(points[0].at)} to {when(points[-1].at)}: latest "
                   f"{points[-1].worst:.1%}, highest {max(p.worst for p in points):.1%}"
                   + (f"; max_null_rate {limit:.1%}" if limit is not None else "")
                   + f"; {failing} period(s) with a failing run.")
        plot = plots.time_series(
            ids(), f"Null rate of {feature.name} (%)",
            [plots.Series("null rate", [p.at for p in points],
                          [p.worst * 100 for p in points])],
            unit="% null", threshold=None if limit is None else limit * 100,
            threshold_name=f"max_null_rate {limit:.0%}" if limit is not None else "",
            summary=summary)
        out.append({"feature": feature.name, "plot": plot})
    return out


def psi_section(view: FeatureView, records, ids: PlotIds) -> dict:
    """PSI over time of the features nearest their threshold, and every feature's latest;
    a feature the latest skew run could not judge (too small a sample) is a row that says
    so, never a failure."""
    unjudged = {c.expectation: c.observed for c in records.latest.get("skew", [])
                if c.passed is None}
    latest, waiting = [], []
    for feature in view.features:
        label = f"psi({feature.name})"
        if label in unjudged:
            waiting.append({"feature": feature.name, "latest": None, "observed":
                            unjudged[label], "max_psi": feature.max_psi, "ratio": 0.0,
                            "passed": None})
            continue
        points = [p for p in _points(records, label) if p.worst is not None]
        if points:
            latest.append({"feature": feature.name, "points": points, "latest": points[-1].worst,
                           "max_psi": feature.max_psi,
                           "ratio": points[-1].worst / feature.max_psi if feature.max_psi
                           else points[-1].worst,
                           "passed": not points[-1].failures})
    insufficient = (f"Insufficient data for {len(waiting)} feature(s) in the latest skew run "
                    f"({waiting[0]['observed']}): not judged, never a failure; PSI is "
                    "computed once the serving log holds skew.min_sample lines of a "
                    "feature." if waiting else "")
    if not latest:
        return {"plot": None, "rows": waiting, "text": insufficient or (
            "No skew result recorded yet. The skew gate compares a training set with the "
            "serving log: `featurestore gate --suite skew --training-set PATH`.")}
    shown = sorted(latest, key=lambda r: -r["ratio"])[:PSI_LINES]
    thresholds = sorted({r["max_psi"] for r in shown})
    threshold = thresholds[0]
    name = f"max_psi {threshold:g}" + (" (the lowest shown)" if len(thresholds) > 1 else "")
    summary = (f"Population stability index of {len(shown)} of {len(latest)} feature(s) "
               "with skew results (those nearest their threshold), each point the highest "
               "PSI of its period; latest: " + ", ".join(
                   f"{r['feature']} {r['latest']:.3f}" for r in shown) + f"; {name}.")
    plot = plots.time_series(
        ids(), f"PSI over time, {view.name}",
        [plots.Series(r["feature"], [p.at for p in r["points"]],
                      [p.worst for p in r["points"]]) for r in shown],
        unit="PSI", threshold=threshold, threshold_name=name, summary=summary)
    rows = sorted(latest, key=lambda r: (r["passed"], -r["ratio"])) + waiting
    return {"plot": plot, "rows": rows, "text": " ".join(t for t in (summary, insufficient)
                                                         if t)}


def distribution_plots(inputs: ViewInputs, ids: PlotIds) -> list[dict]:
    """Per feature: its histogram or top values, training against serving where both
    exist; pii features are never drawn."""
    out = []
    for feature in inputs.view.features:
        entry = {"feature": feature.name, "plot": None, "text": ""}
        out.append(entry)
        if feature.sensitivity == "pii":
            entry["text"] = ("pii: its values are not shown in the catalog (the serving log "
                             "never holds them either).")
            continue
        training = inputs.training_values.get(feature.name)
        served = inputs.serving_values.get(feature.name)
        serving = from_json(served, feature.dtype) if served else None
        found: Distribution | None = distribution(feature.dtype, training, serving)
        if found is None:
            entry["text"] = ("No values to show: no training set holds this feature and the "
                             "serving log has not served it in the window.")
            continue
        sides = []
        if found.training is not None:
            sides.append(f"training: {found.training_count:,} values"
                         f" ({found.training_nulls or 0:.1%} null) from "
                         f"{inputs.training_from}")
        if found.serving is not None:
            sides.append(f"serving: {found.serving_count:,} values"
                         f" ({found.serving_nulls or 0:.1%} null) in the serving log's window")
        kind = "histogram" if found.kind == "histogram" else "most frequent values"
        summary = f"Distribution ({kind}) of {feature.name}; " + "; ".join(sides) + "."
        title = f"{feature.name}: {kind}"
        if found.kind == "histogram":
            plot = plots.histogram(ids(), title, found.labels, found.training, found.serving,
                                   summary=summary, ranges=found.ranges)
        else:
            plot = plots.top_values(ids(), title, found.labels, found.training,
                                    found.serving, summary=summary)
        entry.update(plot=plot, text=summary)
    return out


def online_section(inputs: ViewInputs) -> dict:
    view, records, serving = inputs.view, inputs.records, inputs.serving
    section = {"online": view.online, "item_count": records.entities, "sync": None, "cycles": [],
               "serving": None, "text": ""}
    if not view.online:
        section["text"] = "Offline only (`online: false`): never synced to DynamoDB."
        return section
    syncs = sorted(records.sync, key=lambda s: s.get("finished_at") or dt.datetime.min)
    section["sync"] = syncs[-1] if syncs else None
    section["cycles"] = records.cycles[:10]
    if serving is None or not serving.requests:
        section["text"] = "The serving log holds no request for this view in its window."
    else:
        total = sum(serving.statuses.values()) or 1
        section["serving"] = {
            "requests": serving.requests, "degraded": serving.degraded,
            "statuses": [(status, count, count / total)
                         for status, count in serving.statuses.most_common()],
            "p50": serving.percentile(50), "p99": serving.percentile(99),
            "latency_lines": len(serving.latencies_ms),
            "models": serving.models.most_common(5),
            "first": serving.first, "last": serving.last}
    return section


def feature_rows(inputs: ViewInputs) -> list[dict]:
    rows = []
    for feature in inputs.view.features:
        checks = []
        if feature.min is not None:
            checks.append(f"min {feature.min:g}")
        if feature.max is not None:
            checks.append(f"max {feature.max:g}")
        if feature.allowed_values:
            checks.append("allowed: " + ", ".join(str(v) for v in feature.allowed_values))
        if feature.max_null_rate is not None:
            checks.append(f"max_null_rate {feature.max_null_rate:g}")
        checks.append(f"max_psi {feature.max_psi:g}")
        checks.append(f"max_null_rate_diff {feature.max_null_rate_diff:g}")
        rows.append({"name": feature.name, "dtype": feature.dtype,
                     "default": "-" if feature.default is None else repr(feature.default)
                     if isinstance(feature.default, str) else str(feature.default),
                     "sensitivity": feature.sensitivity, "checks": checks,
                     "description": feature.description,
                     "column_type": inputs.column_types.get(feature.name.lower(), "")})
    return rows


def view_context(inputs: ViewInputs) -> dict:
    """The view page's template context; its plots drawn."""
    ids = PlotIds()
    view = inputs.view
    freshness, freshness_text = freshness_plot(view, inputs.records, ids)
    context = {
        "view": view, "contract": view.to_dict(), "health": inputs.health,
        "records": inputs.records, "features": feature_rows(inputs),
        "freshness": {"plot": freshness, "text": freshness_text},
        "null_rates": null_rate_plots(view, inputs.records, ids),
        "distributions": distribution_plots(inputs, ids),
        "psi": psi_section(view, inputs.records, ids),
        "online": online_section(inputs),
        "sql": inputs.sql[0], "compiled_sql": inputs.sql[1], "lineage": inputs.lineage,
        "training_sets": inputs.training_sets, "training_from": inputs.training_from,
        "serving_window": inputs.serving_window, "types_from": inputs.types_from,
        "versions": inputs.versions,
        "latest": sorted(inputs.records.latest.items()),
    }
    context["plot_count"] = ids.count
    return context
