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
from featurestore.errors import FeatureStoreError
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


@dataclass
class GateRun:
    run_id: str
    run_at: dt.datetime
    checks: list[CheckResult] = field(default_factory=list)
    outcomes: dict[str, GateOutcome] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    docs_path: Path | None = None

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
            "data_docs": str(self.docs_path) if self.docs_path else None,
        }

    def failures(self) -> list[str]:
        return [line for outcome in self.outcomes.values() for line in outcome.failures]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def run_gates(project, warehouse, views: list[FeatureView], options: GateOptions,
              progress: Callable[[str], None] = _stderr) -> GateRun:
    """Every (suite, view) pair: metrics, then GX validation; results recorded."""
    unknown = [s for s in options.suites if s not in SUITES]
    if unknown:
        raise FeatureStoreError(f"unknown suite `{unknown[0]}`; suites: {', '.join(SUITES)}")
    from featurestore.gates.validate import Validator

    run = GateRun(run_id=uuid.uuid4().hex[:12], run_at=utc_naive(None))
    validator = Validator(options.docs_dir)
    skew_inputs = None
    if "skew" in options.suites:
        from featurestore.gates.skew import load_skew_inputs

        skew_inputs = load_skew_inputs(project, views, options)
        run.details.extend(skew_inputs.notes)
    parity_client = None
    for suite in (s for s in SUITES if s in options.suites):
        started = time.perf_counter()
        for view in views:
            outcome = run.outcomes.setdefault(view.label, GateOutcome())
            if suite == "freshness":
                checks, metrics = freshness_checks(view), None
                if checks:
                    metrics = freshness_metrics(warehouse, view, options.as_of)
            elif suite == "quality":
                checks, metrics = quality_checks(view), quality_metrics(warehouse, view)
            elif suite == "parity":
                if not view.online:
                    continue
                from featurestore.gates.parity import parity_metrics

                if parity_client is None:
                    parity_client = project.settings.online.client()
                report = parity_metrics(warehouse, parity_client,
                                        project.settings.online.table, view,
                                        options.parity_sample, options.as_of)
                checks, metrics = parity_checks(view), report.metrics()
                run.details.extend(report.detail_lines())
            else:
                from featurestore.gates.skew import insufficient_results, skew_metrics

                checks = skew_checks(view)
                metrics = skew_metrics(skew_inputs, view)
                for check in insufficient_results(skew_inputs, view, checks):
                    run.checks.append(check)  # recorded, shown, never a failure
                    outcome.add(check)
            if not metrics:
                continue
            for check in validator.validate(suite, view.label, checks, metrics):
                run.checks.append(check)
                outcome.add(check)
        run.timings[suite] = time.perf_counter() - started
        progress(f"gate: {suite} done for {len(views)} view(s) in "
                 f"{run.timings[suite]:.2f} s")
    run.docs_path = validator.build_docs()
    if options.record and not getattr(warehouse, "read_only", False):
        results_table.record(warehouse, run.run_id, run.run_at, run.checks)
    return run
