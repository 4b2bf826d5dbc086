"""What may be published: the gates the sync runs, and the verdicts kept per built state.

A view whose freshness or quality suite fails, or whose dbt tests failed in the build
that made its state, is not published: serving a stale or broken value online is worse
than serving the last good one. The verdict belongs to the built state
(gates/verdicts.py), so it holds for every path that publishes (the loop, ``featurestore
sync``, the demo, a backfill) and across cycles and restarts:

- a state with a standing refusal is held back, with its reasons and since when, unless
  the caller forces it (``sync --publish-refused REASON``: recorded, with who and why);
- a state the gates never judged under the current contract is judged before it is
  published (with ``--no-gate``, it is published unjudged, and that is recorded);
- a state judged before is judged again when the caller asks (``rejudge``: the loop's
  rebuilt views; every view for ``featurestore sync``). The gates can refuse a state
  they passed before (it went stale), never pass one that stands refused: only a later
  state, or a new build whose dbt tests pass, clears a refusal.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from featurestore.gates import verdicts
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


@dataclass
class Screening:
    """Which views may be published now, and why the others may not."""

    publish: list = field(default_factory=list)  # FeatureView, in the order given
    refused: dict[str, list[str]] = field(default_factory=dict)  # label -> reasons
    since: dict[str, dt.datetime | None] = field(default_factory=dict)  # label -> held since
    forced: dict[str, list[str]] = field(default_factory=dict)  # label -> overridden reasons
    unjudged: list[str] = field(default_factory=list)  # labels published without gates
    seconds: float = 0.0  # spent screening (fingerprints, verdicts, gates)


@dataclass(frozen=True)
class ScreenOptions:
    as_of: dt.datetime | None = None  # the gates' reference time (None: now)
    gate: bool = True  # run the gates on states they have not judged (else: unjudged)
    rejudge: frozenset[str] | None = None  # labels the gates judge again (None: all)
    force: str | None = None  # publish refused states anyway, for this reason
    record: bool = True  # keep the verdicts (false for a replay --as-of a past time)
    cycle_id: str | None = None
    who: str | None = None


def screen_for_publish(project, warehouse, views: list,
                       options: ScreenOptions = ScreenOptions()) -> Screening:
    """Decide, view by view, whether its built state may be published (module doc)."""
    started = time.perf_counter()
    screening = Screening()
    allowed: set[str] = set()
    to_gate: list[tuple] = []
    for view in views:
        state = verdicts.built_state(warehouse, view)
        if state is None:  # not built: the sync names the missing relation
            allowed.add(view.label)
            continue
        now = verdicts.standing(verdicts.verdicts(warehouse, state), view.contract_hash())
        if now.refused:
            _refused(warehouse, screening, allowed, state, now.reasons(), options)
        elif options.gate and (options.rejudge is None or view.label in options.rejudge
                               or not now.gated):
            to_gate.append(state)
        else:
            if not options.gate and not now.gated:
                screening.unjudged.append(view.label)
                # once per state, and again when it ends a refusal of another state
                if options.record and (not now.published_unjudged or verdicts.held_since(
                        warehouse, view) is not None):
                    verdicts.record(warehouse, state, verdicts.NO_GATE, True,
                                    ["published with --no-gate, never judged by the gates"],
                                    cycle_id=options.cycle_id, judged_by=options.who)
            allowed.add(view.label)
    outcomes = gate_views_for_sync(project, warehouse, [s.view for s in to_gate],
                                   options.as_of)
    for state in to_gate:
        outcome = outcomes[state.label]
        if options.record:
            verdicts.record(warehouse, state, verdicts.GATES, outcome.passed,
                            list(outcome.failures), cycle_id=options.cycle_id,
                            judged_by=options.who)
        if outcome.passed:
            allowed.add(state.label)
        else:
            _refused(warehouse, screening, allowed, state, list(outcome.failures), options)
    screening.publish = [view for view in views if view.label in allowed]
    screening.seconds = time.perf_counter() - started
    return screening


def _refused(warehouse, screening: Screening, allowed: set[str], state, reasons: list[str],
             options: ScreenOptions) -> None:
    """A refused state: held back with its reasons and since when, or, forced, published
    with the override recorded."""
    if options.force:  # recorded even in a replay: an override is always on the record
        who = verdicts.who(options.who)
        verdicts.record(warehouse, state, verdicts.FORCED, True,
                        [f"forced by {who}: {options.force}", *reasons],
                        cycle_id=options.cycle_id, judged_by=who)
        screening.forced[state.label] = reasons
        allowed.add(state.label)
        return
    screening.refused[state.label] = reasons
    screening.since[state.label] = verdicts.held_since(warehouse, state.view)
