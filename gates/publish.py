"""The gate the sync worker runs before it publishes views to DynamoDB.

A view whose freshness or quality suite fails is not published: serving a stale or
broken value online is worse than serving the last good one. The sync calls
``gate_views_for_sync`` and skips every view whose outcome did not pass.
"""

from __future__ import annotations

import datetime as dt

from featurestore.gates.results import GateOutcome
from featurestore.gates.runner import GateOptions, run_gates

SYNC_SUITES = ("freshness", "quality")


def gate_views_for_sync(project, warehouse, views: list, as_of: dt.datetime | None = None,
                        ) -> dict[str, GateOutcome]:
    """View name -> GateOutcome of its freshness and quality suites.

    Each failure line names the suite, view, expectation, observed value and threshold.
    Results are recorded in ``featurestore.gate_results`` (unless the warehouse is
    read-only), and Data Docs are written under ``target/gates/data_docs``.
    """
    if not views:
        return {}
    options = GateOptions(suites=SYNC_SUITES, as_of=as_of,
                          docs_dir=project.target_dir / "gates" / "data_docs")
    run = run_gates(project, warehouse, list(views), options)
    return {view.label: run.outcomes.get(view.label, GateOutcome()) for view in views}
