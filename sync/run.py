"""One ``featurestore sync``: choose the views, gate them, publish each one that passed.

The CLI, the demo, the loop and the SDK call ``sync_views``; it holds the order that
makes a sync safe to publish (the verdicts on each view's built state, and the gates,
before any write: gates/publish.py; a view whose state a gate or a dbt test refused
leaves DynamoDB untouched, even with ``gate=False``, unless ``publish_refused`` gives a
reason to force it) and reports progress through a ``SyncReporter`` so that each caller
shows it in its own way.

A view that fails on its own (a bad value, a missing column, another sync's live first
load) does not stop the others: it is recorded in ``SyncRun.failed`` and the run goes on;
at the end ``SyncRun.problem()`` is raised, one error whose exit code is the highest of
its causes (a bad value 1, a gate 2). A warehouse or a store that does not answer
(``Unreachable``) stops the run at once: every later view would fail the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from featurestore.contracts import Catalog, FeatureView
from featurestore.dtypes import utc_naive
from featurestore.errors import (
    CHECK_FAILED,
    FeatureStoreError,
    GateFailed,
    SyncIncomplete,
    Unreachable,
)
from featurestore.online.dynamodb import DynamoDBStore
from featurestore.project import Project
from featurestore.sync.worker import SyncOptions, SyncResult, sync_view
from featurestore.warehouse import Warehouse


class SyncReporter:
    """Callbacks of one run; the default says nothing."""

    def gate_skipped(self, views: list[FeatureView]) -> None:
        """--no-gate: the views are published without their gates."""

    def view_started(self, view: FeatureView, rows_to_read: int) -> None:
        """A view's read plan is known: ``rows_to_read`` rows will be read."""

    def view_progress(self, view: FeatureView, rows: int, counters) -> None:
        """``rows`` more rows were read and handed to the writers."""

    def view_finished(self, view: FeatureView, result: SyncResult | None) -> None:
        """The view is done (None: it failed; the error follows)."""


@dataclass
class SyncRun:
    results: list[SyncResult] = field(default_factory=list)
    # view -> why its built state was refused (a gate's failures, a dbt test's), this run
    # or earlier: it was held back
    refused: dict[str, list[str]] = field(default_factory=dict)
    held_since: dict[str, dt.datetime | None] = field(default_factory=dict)  # view -> since
    forced: dict[str, list[str]] = field(default_factory=dict)  # view -> overridden reasons
    screen_seconds: float = 0.0  # judging what may be published, gates included
    failed: dict[str, FeatureStoreError] = field(default_factory=dict)  # view -> its error

    def problem(self, details: bool = True) -> FeatureStoreError | None:
        """The error that ends a run some views of which were not published, or None.

        Refusals only: ``GateFailed`` (exit 2). Otherwise ``SyncIncomplete``, whose
        exit code is the highest among the failed views' errors and the refusals' 2, and
        whose ``run`` is this run. ``details``: each failed view's own message inline
        (false when the caller printed them already, as the CLI does).
        """
        if not self.failed:
            if not self.refused:
                return None
            return GateFailed(
                f"{len(self.refused)} view(s) not published because a gate or a dbt test "
                f"refused their built state: {', '.join(sorted(self.refused))} (DynamoDB "
                "untouched for them)")
        causes = sorted(
            [(name, "refused") for name in self.refused]
            + [(name, f"{type(error).__name__}: {error}" if details else type(error).__name__)
               for name, error in self.failed.items()])
        code = max([error.exit_code for error in self.failed.values()]
                   + [CHECK_FAILED] * bool(self.refused))
        fix = "Fix the above" if details else "Fix what the lines above say"
        error = SyncIncomplete(
            f"{len(causes)} view(s) not synced: "
            f"{', '.join(f'{name} ({cause})' for name, cause in causes)}; "
            f"{len(self.results)} other view(s) published. {fix}, then run `featurestore "
            "sync` again.", code)
        error.run = self
        return error


def online_views(catalog: Catalog, names: tuple[str, ...] | list[str] = (), *,
                 retired=None) -> list[FeatureView]:
    """The view versions a sync publishes: those named (``view``: its live versions,
    ``view@v2``: that one; each must be online), else every live version of every online
    view. ``retired``: view -> versions retired in the registry, left out."""
    from featurestore.feature_refs import select_versions

    if names:
        views = select_versions(catalog, names, retired=retired)
        offline = list(dict.fromkeys(v.name for v in views if not v.online))
        if offline:
            raise FeatureStoreError(f"view(s) {', '.join(offline)} have `online: false` in "
                                    "their contract; set `online: true` to sync them.")
    else:
        views = [v for v in select_versions(catalog, retired=retired) if v.online]
    if not views:
        raise FeatureStoreError("no online feature views to sync (feature_defs/ has none "
                                "with `online: true`).")
    return views


def sync_views(project: Project, views: list[FeatureView], options: SyncOptions, *,
               gate: bool = True, reporter: SyncReporter | None = None,
               raise_failed: bool = True, rejudge: set[str] | None = None,
               publish_refused: str | None = None, cycle_id: str | None = None) -> SyncRun:
    """Screen each view's built state (its verdicts; the gates, unless ``gate`` is
    false) and publish the views allowed into the project's online store; a view whose
    state a gate or a dbt test refused is reported in ``refused`` and not written.

    ``rejudge``: the views the gates judge again even if they judged this state before
    (None: every view). ``publish_refused``: publish refused states too, for this reason
    (recorded with who forced it). ``cycle_id``: the loop's cycle, kept with verdicts.

    A view that fails on its own does not stop the others; once they are published, the
    run raises ``SyncIncomplete`` naming it (its ``run`` holds the results), so a caller
    cannot take a partial run for a whole one. ``raise_failed=False`` returns the run
    with the failures in ``failed`` instead, for a caller that reports them itself.
    """
    from featurestore.gates.publish import ScreenOptions, screen_for_publish

    reporter = reporter or SyncReporter()
    store = DynamoDBStore.for_sync(project.settings.online, threads=options.threads)
    store_id = store.store_id()
    replay = options.as_of is not None  # a past time's verdicts are not the state's
    if options.as_of is None:
        options.as_of = utc_naive()
    run = SyncRun()
    with Warehouse(project) as warehouse:
        screening = screen_for_publish(project, warehouse, views, ScreenOptions(
            as_of=options.as_of, gate=gate, force=publish_refused, record=not replay,
            rejudge=None if rejudge is None else frozenset(rejudge), cycle_id=cycle_id,
            who=project.settings.user))
        run.refused, run.held_since = screening.refused, screening.since
        run.forced, run.screen_seconds = screening.forced, screening.seconds
        if not gate:
            reporter.gate_skipped(views)
        for view in views:
            if view.label in run.refused:
                continue
            result = None
            try:
                result = sync_view(
                    warehouse, store, view, options,
                    progress=lambda rows, counters, view=view: reporter.view_progress(
                        view, rows, counters),
                    on_plan=lambda count, view=view: reporter.view_started(view, count),
                    store_id=store_id)
            except Unreachable:
                raise  # every later view would fail the same way
            except FeatureStoreError as exc:
                run.failed[view.label] = exc
            finally:
                reporter.view_finished(view, result)
            if result is not None:
                run.results.append(result)
    if run.failed and raise_failed:
        raise run.problem()
    return run

