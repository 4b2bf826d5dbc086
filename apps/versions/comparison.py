"""Two versions of one view, side by side in the warehouse, before one is promoted.

Each version's latest row per entity (``feature_ts <= as_of``) is read from its own
relation and the two are joined on the entity keys. Per feature that both versions have:

* ``changed_share``: among the entities both versions hold, the share whose latest value
  differs (``is distinct from``: a null against a value differs, two nulls do not);
* ``psi``: the population stability index of the new version's latest values against the
  old version's (the skew gate's binning: deciles of the old for numbers, categories
  otherwise; nulls left out);
* the null rate on each side and their difference.

Per version: its entities and its newest ``feature_ts``; a new version whose newest value
lags the old one's by more than the view's freshness SLO is not caught up. Features only
one version has are listed (a feature the new version drops answers 400 to callers that
name it without a version once the new version is promoted).

The thresholds are the contract's ``compare:`` (defaults: psi 0.2, null rate difference
0.05, changed share unbounded). Every figure is recorded in ``featurestore.gate_results``
(suite ``compare``), so a promotion, and whoever reads the log later, can see what it was
judged on.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from featurestore.contracts import FeatureView
from featurestore.dtypes import utc_naive
from featurestore.errors import RequestError
from featurestore.gates import results as results_table
from featurestore.gates.results import CheckResult
from featurestore.gates.skew import NUMERIC, _epoch_seconds, population_stability_index

SUITE = "compare"


@dataclass
class FeatureComparison:
    name: str
    in_from: bool
    in_to: bool
    entities_both: int = 0
    changed: int = 0
    psi: float | None = None
    null_rate_from: float | None = None
    null_rate_to: float | None = None

    @property
    def changed_share(self) -> float | None:
        return self.changed / self.entities_both if self.entities_both else None

    @property
    def null_rate_diff(self) -> float | None:
        if self.null_rate_from is None or self.null_rate_to is None:
            return None
        return abs(self.null_rate_to - self.null_rate_from)

    def to_dict(self) -> dict:
        return {"feature": self.name, "in_from": self.in_from, "in_to": self.in_to,
                "entities_both": self.entities_both, "changed": self.changed,
                "changed_share": _round(self.changed_share), "psi": _round(self.psi),
                "null_rate_from": _round(self.null_rate_from),
                "null_rate_to": _round(self.null_rate_to),
                "null_rate_diff": _round(self.null_rate_diff)}


@dataclass
class CompareReport:
    view: str
    from_version: int
    to_version: int
    as_of: dt.datetime
    entities: dict[int, int]  # version -> entities with a row
    newest: dict[int, dt.datetime | None]  # version -> newest feature_ts
    features: list[FeatureComparison]
    checks: list[CheckResult] = field(default_factory=list)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    # live only: version -> "view:feature" -> the values served; and the feature
    # services' frozen statistics beside those values' (reported, never judged)
    served: dict[int, dict[str, list]] = field(default_factory=dict)
    frozen: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def failures(self) -> list[str]:
        return [c.failure_line() for c in self.checks if not c.passed]

    def to_dict(self) -> dict:
        """What ``featurestore compare --json`` prints."""
        return {"view": self.view, "from": self.from_version, "to": self.to_version,
                "as_of": self.as_of, "run_id": self.run_id, "passed": self.passed,
                "entities": {f"v{v}": n for v, n in self.entities.items()},
                "newest_feature_ts": {f"v{v}": ts for v, ts in self.newest.items()},
                "features": [f.to_dict() for f in self.features],
                "checks": [{"expectation": c.expectation, "observed": c.observed,
                            "threshold": c.threshold, "passed": c.passed}
                           for c in self.checks],
                **({"frozen_parameters": self.frozen} if self.frozen else {})}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _latest_sql(warehouse, view: FeatureView, as_of: dt.datetime, features: list[str]) -> str:
    col = warehouse.column
    keys = [col(k) for k in view.keys]
    ts = col(view.timestamp)
    order = f"{ts} desc" + (f", {col(view.created_timestamp)} desc"
                            if view.created_timestamp else "")
    names = [*keys, ts, *(col(f) for f in features)]
    return (f"select {', '.join(names)} from {warehouse.view_relation(view)} "
            f"where {ts} <= {warehouse.dialect.timestamp_literal(as_of)} "
            f"qualify row_number() over (partition by {', '.join(keys)} order by {order}) = 1")


def compare_versions(warehouse, old: FeatureView, new: FeatureView,
                     as_of: dt.datetime | None = None) -> CompareReport:
    """Compare ``new`` against ``old`` (two versions of one view) and judge it."""
    if old.name != new.name:
        raise RequestError(f"compare takes two versions of one view, not `{old.name}` and "
                           f"`{new.name}`")
    if old.version == new.version:
        raise RequestError(f"compare --from and --to are both version {old.version}; name "
                           "two versions of the view")
    as_of = utc_naive(as_of)
    shared = [f.name for f in old.features if f.name in new.feature_names]
    col = warehouse.column
    keys = list(old.keys)
    a_sql = _latest_sql(warehouse, old, as_of, old.feature_names)
    b_sql = _latest_sql(warehouse, new, as_of, new.feature_names)
    match = " and ".join(f"a.{col(k)} = b.{col(k)}" for k in keys)
    selected = [f"a.{col(keys[0])} is not null as in_a", f"b.{col(keys[0])} is not null as in_b",
                f"a.{col(old.timestamp)} as a__ts", f"b.{col(new.timestamp)} as b__ts"]
    selected += [f"a.{col(f)} as a__{f}" for f in old.feature_names]
    selected += [f"b.{col(f)} as b__{f}" for f in new.feature_names]
    table = warehouse.fetch_arrow(
        f"with a as ({a_sql}), b as ({b_sql}) select {', '.join(selected)} "
        f"from a full outer join b on {match}")
    in_a = table.column("in_a").to_pylist()
    in_b = table.column("in_b").to_pylist()
    a_ts = [t for t, present in zip(table.column("a__ts").to_pylist(), in_a, strict=True)
            if present]
    b_ts = [t for t, present in zip(table.column("b__ts").to_pylist(), in_b, strict=True)
            if present]
    report = CompareReport(
        old.name, old.version, new.version, as_of,
        entities={old.version: sum(in_a), new.version: sum(in_b)},
        newest={old.version: max(a_ts, default=None), new.version: max(b_ts, default=None)},
        features=[])
    for name in [*old.feature_names, *(f for f in new.feature_names if f not in shared)]:
        report.features.append(_compare_feature(table, old, new, name, in_a, in_b))
    report.checks = _judge(report, old, new)
    return report


def _values(table, column: str, present: list[bool], dtype: str) -> list:
    values = [v for v, keep in zip(table.column(column).to_pylist(), present, strict=True)
              if keep]
    if dtype == "timestamp":
        return [_epoch_seconds(v) for v in values]
    return values


def _compare_feature(table, old: FeatureView, new: FeatureView, name: str,
                     in_a: list[bool], in_b: list[bool]) -> FeatureComparison:
    have_a, have_b = name in old.feature_names, name in new.feature_names
    found = FeatureComparison(name, have_a, have_b)
    a_values = _values(table, f"a__{name}", in_a, old.feature(name).dtype) if have_a else []
    b_values = _values(table, f"b__{name}", in_b, new.feature(name).dtype) if have_b else []
    if have_a and a_values:
        found.null_rate_from = sum(v is None for v in a_values) / len(a_values)
    if have_b and b_values:
        found.null_rate_to = sum(v is None for v in b_values) / len(b_values)
    if not (have_a and have_b):
        return found
    for a, b, both_a, both_b in zip(table.column(f"a__{name}").to_pylist(),
                                    table.column(f"b__{name}").to_pylist(), in_a, in_b,
                                    strict=True):
        if both_a and both_b:
            found.entities_both += 1
            found.changed += a != b
    numeric = old.feature(name).dtype in NUMERIC and new.feature(name).dtype in NUMERIC
    found.psi = population_stability_index([v for v in a_values if v is not None],
                                           [v for v in b_values if v is not None], numeric)
    return found


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _judge(report: CompareReport, old: FeatureView, new: FeatureView) -> list[CheckResult]:
    limits = new.thresholds
    pair = f"v{old.version}->v{new.version}"
    checks: list[CheckResult] = []

    def check(expectation: str, observed: str, value: float | None, threshold: str,
              passed: bool) -> None:
        checks.append(CheckResult(SUITE, old.name, f"{expectation} {pair}", observed,
                                  threshold, passed, value))

    rows = report.entities[new.version]
    check("entities", f"{rows:,} (v{old.version}: {report.entities[old.version]:,})",
          float(rows), ">= 1", rows >= 1)
    newest_old, newest_new = report.newest[old.version], report.newest[new.version]
    if newest_old is not None and newest_new is not None:
        lag = (newest_old - newest_new).total_seconds()
        slo = new.freshness_slo_seconds
        check("feature_ts_lag", f"{lag:g} s (v{old.version} {newest_old.isoformat(' ')}, "
              f"v{new.version} {newest_new.isoformat(' ')})", lag,
              f"<= {slo} s (freshness_slo)" if slo else "-", slo is None or lag <= slo)
    for feature in report.features:
        if not (feature.in_from and feature.in_to):
            side = f"only in v{new.version}" if feature.in_to else f"only in v{old.version}"
            rate = feature.null_rate_to if feature.in_to else feature.null_rate_from
            check(f"presence({feature.name})", f"{side}, null rate {_share(rate)}", None, "-",
                  True)
            continue
        if feature.psi is not None:
            check(f"psi({feature.name})", f"{feature.psi:.6f}", feature.psi,
                  f"<= {_number(limits.max_psi)} (max_psi)", feature.psi <= limits.max_psi)
        diff = feature.null_rate_diff
        if diff is not None:
            check(f"null_rate_diff({feature.name})",
                  f"{diff:.6f} (v{old.version} {_share(feature.null_rate_from)}, "
                  f"v{new.version} {_share(feature.null_rate_to)})", diff,
                  f"<= {_number(limits.max_null_rate_diff)} (max_null_rate_diff)",
                  diff <= limits.max_null_rate_diff)
        share = feature.changed_share
        if share is not None:
            bound = limits.max_changed_share
            check(f"changed_share({feature.name})",
                  f"{share:.6f} ({feature.changed:,} of {feature.entities_both:,})", share,
                  "-" if bound is None else f"<= {_number(bound)} (max_changed_share)",
                  bound is None or share <= bound)
    return checks


def record(warehouse, report: CompareReport) -> int:
    """Keep the report's figures in ``featurestore.gate_results`` (suite ``compare``)."""
    return results_table.record(warehouse, report.run_id, utc_naive(), report.checks)


def render(report: CompareReport) -> str:
    """The text ``featurestore compare`` prints: one row per feature, then the verdict."""
    v_old, v_new = report.from_version, report.to_version
    lines = [f"{report.view}: v{v_old} -> v{v_new} as of {report.as_of.isoformat(' ')}",
             f"  entities      v{v_old} {report.entities[v_old]:,}   v{v_new} "
             f"{report.entities[v_new]:,}",
             f"  feature_ts    v{v_old} newest {report.newest[v_old]}   v{v_new} newest "
             f"{report.newest[v_new]}"]
    header = ["feature", "changed", "psi", f"nulls v{v_old}", f"nulls v{v_new}"]
    rows = []
    for f in report.features:
        if f.in_from and f.in_to:
            rows.append([f.name, _share(f.changed_share), _share(f.psi),
                         _share(f.null_rate_from), _share(f.null_rate_to)])
        else:
            only = f"only in v{v_new}" if f.in_to else f"only in v{v_old}"
            rows.append([f.name, only, "-", _share(f.null_rate_from), _share(f.null_rate_to)])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        lines.append("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths,
                                                                       strict=True)).rstrip())
    if report.frozen:
        from featurestore.feature_services.live import lines as frozen_lines

        lines.append("frozen transformation parameters beside the live values:")
        lines.extend(f"  {line}" for line in frozen_lines(report.frozen))
    failures = report.failures()
    lines.append(f"verdict: {'PASS' if not failures else 'FAIL'}"
                 + "".join(f"\n  {line}" for line in failures))
    return "\n".join(lines)


# -- live traffic: a shadow version against the version served -------------------------------
LIVE_SUITE = "shadow"


def compare_live(log_path, old: FeatureView, new: FeatureView, start: dt.datetime,
                 end: dt.datetime) -> CompareReport:
    """The same figures from the serving log: each line that served one of the two
    versions and read the other as a shadow (``?shadow=view@vN``, or the API key's) is
    one pair of answers for one entity, compared value by value. ``entities`` counts the
    lines (requests x keys) that hold the pair, so a busy key weighs as it was served."""
    from featurestore.gates.skew import serving_records

    if old.name != new.name or old.version == new.version:
        raise RequestError("compare --live takes two versions of one view")
    start, end = utc_naive(start), utc_naive(end)
    names = [f.name for f in old.features if f.name in new.feature_names]
    pairs: dict[str, list[tuple]] = {name: [] for name in names}
    newest: dict[int, dt.datetime | None] = {old.version: None, new.version: None}
    lines = 0
    for record in serving_records(log_path, start, end, containing='"shadow"'):
        served = (record.get("versions") or {}).get(old.name)
        if served not in (old.version, new.version):
            continue
        other = new if served == old.version else old
        features = record.get("features") or {}
        shadow = record.get("shadow") or {}
        found = False
        for name in names:
            answer = features.get(f"{old.name}:{name}")
            shadowed = shadow.get(f"{old.name}@v{other.version}:{name}")
            if not isinstance(answer, dict) or not isinstance(shadowed, dict):
                continue
            found = True
            by_version = {served: answer, other.version: shadowed}
            pairs[name].append((by_version[old.version], by_version[new.version]))
            for version, got in by_version.items():
                ts = got.get("feature_ts")
                if ts:
                    moment = utc_naive(dt.datetime.fromisoformat(
                        ts.replace("Z", "+00:00")))
                    if newest[version] is None or moment > newest[version]:
                        newest[version] = moment
        lines += found
    report = CompareReport(old.name, old.version, new.version, end,
                           entities={old.version: lines, new.version: lines}, newest=newest,
                           features=[])
    for name in names:
        report.features.append(_live_feature(name, pairs[name], old.feature(name).dtype))
    report.served = {version: {f"{old.name}:{name}": [answers[side].get("value")
                                                       for answers in pairs[name]]
                               for name in names}
                     for side, version in enumerate((old.version, new.version))}
    report.checks = [CheckResult(LIVE_SUITE, c.view, c.expectation, c.observed, c.threshold,
                                 c.passed, c.observed_value)
                     for c in _judge(report, old, new) if not c.expectation.startswith(
                         "presence(")]
    return report


def _live_feature(name: str, pairs: list[tuple], dtype: str) -> FeatureComparison:
    found = FeatureComparison(name, True, True)
    if not pairs:
        return found

    def value(answer: dict):
        got = answer.get("value")
        return _epoch_seconds(got) if dtype == "timestamp" else got

    a_values = [value(a) for a, _ in pairs]
    b_values = [value(b) for _, b in pairs]
    found.entities_both = len(pairs)
    found.changed = sum(a != b for a, b in zip(a_values, b_values, strict=True))
    found.null_rate_from = sum(v is None for v in a_values) / len(a_values)
    found.null_rate_to = sum(v is None for v in b_values) / len(b_values)
    found.psi = population_stability_index([v for v in a_values if v is not None],
                                           [v for v in b_values if v is not None],
                                           dtype in NUMERIC)
    return found
