"""Run the chosen suites over the chosen views, once, and keep the results.

The runner is the one place that ties metrics (warehouse, DynamoDB, files) to suites
(from the contracts) to Great Expectations, so the CLI, the sync and the benchmark all
get exactly the same verdicts.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from featurestore.contracts import FeatureView
from featurestore.dtypes import utc_naive
from featurestore.errors import FeatureStoreError, StoreUnavailable
from featurestore.gates import results as results_table
from featurestore.gates.freshness import freshness_metrics
from featurestore.gates.quality import quality_metrics
from featurestore.gates.results import CheckResult, GateOutcome
from featurestore.gates.suites import (
    SUITES,
    freshness_checks,
    parity_checks,
    quality_checks,
    skew_checks,
)

DEFAULT_PARITY_SAMPLE = 1000


@dataclass
class GateOptions:
    suites: tuple[str, ...] = ("freshness", "quality")
    as_of: dt.datetime | None = None
    training_set: Path | None = None
    serving_log: Path | None = None
    serving_window_seconds: int | None = None
    parity_sample: int = DEFAULT_PARITY_SAMPLE
    docs_dir: Path | None = None
    record: bool = True
    # a suite whose store cannot be reached is skipped (``GateRun.unreachable``) and the
    # others run on, instead of StoreUnavailable stopping the run (what `featurestore
    # gate` wants; a sync or the demo stop)
    skip_unreachable: bool = False


@dataclass
class GateRun:
    run_id: str
    run_at: dt.datetime
    checks: list[CheckResult] = field(default_factory=list)
    outcomes: dict[str, GateOutcome] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    docs_path: Path | None = None
    # suite -> why it could not run (parity: the online store is unreachable)
    unreachable: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(outcome.passed for outcome in self.outcomes.values())

    def to_dict(self) -> dict:
        """What ``featurestore gate --json`` prints."""
        return {
            "run_id": self.run_id, "run_at": self.run_at, "passed": self.passed,
            "checks": [{"suite": c.suite, "view": c.view, "expectation": c.expectation,
                        "observed": c.observed, "observed_value": c.observed_value,
                        "threshold": c.threshold, "passed": c.passed} for c in self.checks],
            "details": self.details,
            "not_run": self.unreachable,
            "data_docs": str(self.docs_path) if self.docs_path else None,
        }

    def failures(self) -> list[str]:
        return [line for outcome in self.outcomes.values() for line in outcome.failures]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def run_gates(project, warehouse, views: list[FeatureView], options: GateOptions,
              progress: Callable[[str], None] = _stderr) -> GateRun:
    """Every (suite, view) pair: metrics, then GX validation; results recorded.

    A suite that cannot reach what it reads (parity without a reachable DynamoDB) raises
    StoreUnavailable, or with ``skip_unreachable`` is named in ``run.unreachable``, runs
    for no further view, and the other suites run on. What ran is recorded in
    ``featurestore.gate_results`` even when a later suite raises.
    """
    unknown = [s for s in options.suites if s not in SUITES]
    if unknown:
        raise FeatureStoreError(f"unknown suite `{unknown[0]}`; suites: {', '.join(SUITES)}")
    from featurestore.gates.validate import Validator

    run = GateRun(run_id=uuid.uuid4().hex[:12], run_at=utc_naive(None))
    validator = Validator(options.docs_dir)
    inputs = _Inputs(project, warehouse, options)
    try:
        if "skew" in options.suites:
            from featurestore.gates.skew import load_skew_inputs

            inputs.skew = load_skew_inputs(project, views, options, warehouse)
            run.details.extend(inputs.skew.notes)
        for suite in (s for s in SUITES if s in options.suites):
            started = time.perf_counter()
            for view in views:
                outcome = run.outcomes.setdefault(view.label, GateOutcome())
                checks, metrics = inputs.metrics(suite, view, run)
                for check in inputs.insufficient(suite, view, checks):
                    run.checks.append(check)  # recorded, shown, never a failure
                    outcome.add(check)
                if not metrics:
                    continue
                for check in validator.validate(suite, view.label, checks, metrics):
                    run.checks.append(check)
                    outcome.add(check)
            run.timings[suite] = time.perf_counter() - started
            progress(f"gate: {suite} done for {len(views)} view(s) in "
                     f"{run.timings[suite]:.2f} s" + (
                         f"; not run: {run.unreachable[suite]}" if suite in run.unreachable
                         else ""))
        run.docs_path = validator.build_docs()
    except BaseException:  # what ran is a result, whatever stopped the rest
        try:
            _record(warehouse, run, options)
        except FeatureStoreError:  # the warehouse may be what failed: raise its error
            pass
        raise
    _record(warehouse, run, options)
    return run


def _record(warehouse, run: GateRun, options: GateOptions) -> None:
    if options.record and not getattr(warehouse, "read_only", False):
        results_table.record(warehouse, run.run_id, run.run_at, run.checks)


@dataclass
class _Inputs:
    """What the suites read besides the warehouse: the skew inputs, the online store."""

    project: object
    warehouse: object
    options: GateOptions
    skew: object = None
    store: object = None  # the online store, opened by the first parity check

    def metrics(self, suite: str, view: FeatureView, run: GateRun) -> tuple[list, dict | None]:
        """(checks, metrics) of one suite on one view; no metrics: nothing to validate."""
        if suite == "freshness":
            checks = freshness_checks(view)
            return checks, (freshness_metrics(self.warehouse, view, self.options.as_of)
                            if checks else None)
        if suite == "quality":
            return quality_checks(view), quality_metrics(self.warehouse, view)
        if suite == "parity":
            if not view.online or "parity" in run.unreachable:
                return [], None
            from featurestore.gates.parity import parity_metrics

            try:
                if self.store is None:
                    self.store = parity_store(self.project.settings.online)
                report = parity_metrics(self.warehouse, self.store, view,
                                        self.options.parity_sample, self.options.as_of)
            except StoreUnavailable as exc:
                if not self.options.skip_unreachable:
                    raise
                run.unreachable["parity"] = f"the online store is unreachable: {exc}"
                return [], None
            run.details.extend(report.detail_lines())
            return parity_checks(view), report.metrics()
        from featurestore.gates.skew import skew_metrics

        return skew_checks(view), skew_metrics(self.skew, view)

    def insufficient(self, suite: str, view: FeatureView, checks: list) -> list[CheckResult]:
        """The skew checks of ``view`` whose samples are too small to judge."""
        if suite != "skew":
            return []
        from featurestore.gates.skew import insufficient_results

        return insufficient_results(self.skew, view, checks)


def parity_store(online):
    """The online store for the parity suite; StoreUnavailable at once when the store is
    AWS and no credentials are found (botocore would look for them again at every
    request, each time through the instance metadata service, for a minute in all)."""
    from featurestore.online.dynamodb import DynamoDBStore

    return DynamoDBStore.open(online, require_credentials=True)
