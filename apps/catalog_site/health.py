"""Is a view production-ready? The checks, each with its reason, from what the store keeps.

A view is production-ready when every check below passes; a check that does not apply
(no freshness SLO, an offline view's parity) passes and says why. The first failing
check's reason is what the index shows; the view's page lists them all:

- **owner**: the contract names an owner;
- **descriptions**: the view and every feature are described;
- **applied**: the registry's active version is the contract's, with the same hash;
- **gates ran**: at least one gate result is recorded for the view;
- **freshness**: the latest freshness gate passed (the lag within ``freshness_slo``);
- **parity**: an online view's latest parity gate passed;
- **last gates passed**: the latest run of every suite that ran passed (quality and skew
  too), last since freshness and parity say their own failure in fewer words. A skew
  check with too small a sample ("insufficient data", ``passed`` null) is not a failure:
  the check says which features were not judged, and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from featurestore.apps.catalog_site.text import day, human_seconds
from featurestore.contracts import FeatureView
from featurestore.durations import format_duration

OWN_CHECKS = ("freshness", "parity")  # suites with a readiness check of their own


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class Health:
    checks: list[Check] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [check.detail for check in self.checks if not check.passed]

    @property
    def label(self) -> str:
        return "production-ready" if self.ready else "not production-ready"


def _failures(checks) -> str:
    failing = [c for c in checks if c.passed is False]
    shown = "; ".join(f"{c.expectation} observed {c.observed}, threshold {c.threshold}"
                      for c in failing[:3])
    more = f"; and {len(failing) - 3} more" if len(failing) > 3 else ""
    return shown + more


def assess(view: FeatureView, records) -> Health:
    """The checks of ``view`` against its ``ViewRecords`` (catalog_site/store.py)."""
    health = Health()
    add = health.checks.append
    owner = view.owner.strip()
    add(Check("owner", bool(owner), f"owned by {owner}" if owner else
              f"{view.path}: `owner` is empty; name the team that answers for this view"))
    undescribed = [f.name for f in view.features if not f.description.strip()]
    if not view.description.strip():
        undescribed.insert(0, "the view itself")
    add(Check("descriptions", not undescribed,
              "the view and every feature are described" if not undescribed else
              f"{view.path}: no description for {', '.join(undescribed)}"))
    active = next((r for r in reversed(records.registry) if r["change"] != "remove"), None)
    if active is None:
        add(Check("applied", False, "not in the registry; run `featurestore apply`"))
    elif active["version"] != view.version or active["contract_hash"] != view.contract_hash():
        add(Check("applied", False,
                  f"the contract (v{view.version}) differs from the registry's active "
                  f"v{active['version']}; run `featurestore plan`, then `featurestore apply`"))
    else:
        add(Check("applied", True, f"v{view.version} applied by {active['applied_by']} on "
                                   f"{day(active['applied_at'])}"))
    if not records.gate_runs:
        add(Check("gates ran", False, f"no gate result recorded yet; run `featurestore gate "
                                      f"--view {view.name}`"))
    else:
        add(Check("gates ran", True, f"{records.gate_runs} gate run(s), the last on "
                                     f"{day(records.last_gate)}"))
    if not view.freshness_slo_seconds:
        add(Check("freshness", True, "no freshness SLO declared (values never go stale)"))
    else:
        slo = format_duration(view.freshness_slo_seconds)
        latest = records.latest.get("freshness")
        if not latest:
            add(Check("freshness", False, f"freshness never checked against its SLO of {slo}; "
                                          "run `featurestore gate --suite freshness`"))
        elif all(c.passed is not False for c in latest):
            add(Check("freshness", True, f"within its SLO of {slo} on "
                                         f"{day(latest[0].run_at)}"))
        else:
            lag = human_seconds(latest[0].observed_value)
            add(Check("freshness", False, f"lag {lag} over its SLO of {slo} on "
                                          f"{day(latest[0].run_at)}"))
    if not view.online:
        add(Check("parity", True, "offline only: no online copy to compare"))
    else:
        latest = records.latest.get("parity")
        if not latest:
            add(Check("parity", False, "online/offline parity never checked; run `featurestore "
                                       "gate --suite parity --local` after a sync"))
        elif all(c.passed is not False for c in latest):
            add(Check("parity", True, f"DynamoDB matched the warehouse on "
                                      f"{day(latest[0].run_at)}"))
        else:
            add(Check("parity", False, f"DynamoDB differed from the warehouse on "
                                       f"{day(latest[0].run_at)}: {_failures(latest)}"))
    failed = {suite: checks for suite, checks in sorted(records.latest.items())
              if any(c.passed is False for c in checks)}
    if failed:  # freshness and parity have their own rows: named here, not repeated
        add(Check("last gates passed", False, " | ".join(
            f"{suite} gate failed on {day(checks[0].run_at)}"
            + (f" (see the {suite} check)" if suite in OWN_CHECKS else
               f": {_failures(checks)}")
            for suite, checks in failed.items())))
    elif records.latest:
        add(Check("last gates passed", True, "the latest run of "
                  + ", ".join(sorted(records.latest)) + " passed" + _unjudged(records)))
    return health


def _unjudged(records) -> str:
    """"; skew: insufficient data for ..." when the latest runs left checks unjudged."""
    parts = []
    for suite, checks in sorted(records.latest.items()):
        features = sorted({c.expectation.partition("(")[2].rstrip(")") or c.expectation
                           for c in checks if c.passed is None})
        if features:
            sample = next(c.observed for c in checks if c.passed is None)
            parts.append(f"{suite}: insufficient data for {', '.join(features)} ({sample}; "
                         "not judged)")
    return "; " + "; ".join(parts) if parts else ""
