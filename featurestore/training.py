"""Point-in-time training sets: spine x feature views -> an Arrow table or Parquet, plus
a manifest.

The join runs inside the warehouse of the target, from the same macro bodies dbt
compiles (featurestore/sql_render.py renders them without dbt's start-up). DuckDB writes
the Parquet file itself (``COPY (...) TO``), so a training set never passes through
Python memory; Snowflake streams it back as Arrow batches into the file. The SDK asks
for the rows in memory instead, as one Arrow table.

The manifest beside the file records what is needed to reproduce and trace it
(featurestore/training_manifest.py). Files are written under a temporary name and
renamed at the end: a failure leaves no half file that a training job could mistake for
a whole one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from featurestore.contracts import Feature, FeatureView
from featurestore.errors import RequestError
from featurestore.ondemand_sql import Output, output_names, request_columns, select_sql
from featurestore.project import Project
from featurestore.spine import EVENT_TS, Spine, load_spine
from featurestore.training_manifest import (
    build_manifest,
    counts,
    manifest_path,
    record,
)

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class TrainingSet:
    """A built training set: its manifest, and its rows when asked for in memory."""

    manifest: dict
    table: pa.Table | None = None
    path: Path | None = None


def view_specs(warehouse, chosen: list[tuple[FeatureView, list[Feature]]]) -> list[dict]:
    """The macro specs of the chosen views, checked against the built relations: each
    names its relation, the features asked for, and its timezone-aware columns."""
    from featurestore.generate import view_spec
    from featurestore.model_check import require_columns

    specs = []
    for view, features in chosen:
        spec = view_spec(view)
        spec["relation"] = warehouse.view_relation(view)
        wanted = {f.name for f in features}
        spec["features"] = [f for f in spec["features"] if f["name"] in wanted]
        actual = require_columns(warehouse, view, spec["relation"], list(wanted))
        have = {name.lower(): kind for name, kind in actual.items()}
        needed = [*view.keys, view.timestamp, *(f["name"] for f in spec["features"])]
        if view.created_timestamp:
            needed.append(view.created_timestamp)
        spec["utc_columns"] = [name for name in needed
                               if warehouse.dialect.is_tz_type(have[name.lower()])]
        specs.append(spec)
    return specs


def _check_out(project: Project, spine: object, out: Path) -> None:
    """``--out`` must not be a file the run reads (the spine, or the warehouse), and must
    be a file this process can write, known before the join rather than after it."""
    reads = {"the spine": spine, "the DuckDB warehouse": project.dbt_target.duckdb_path}
    for what, path in reads.items():
        if isinstance(path, str | Path) and Path(path).resolve() == out:
            raise RequestError(f"--out {out} is {what}; writing the training set there would "
                               "overwrite it. Choose another path.")
    if out.is_dir():
        raise RequestError(f"--out {out} is a folder; name the Parquet file to write, e.g. "
                           f"{out / 'training.parquet'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RequestError(f"--out {out}: cannot make its folder ({exc.strerror}); choose a "
                           "path this process can write") from None
    if not os.access(out.parent, os.W_OK):
        raise RequestError(f"--out {out}: its folder {out.parent} is not writable; choose a "
                           "path this process can write")


def build_training_set(
    project: Project,
    spine: object,
    features: str | list[str],
    *,
    out: Path | str | None = None,
    event_ts: str = EVENT_TS,
    known_at_event: bool = False,
    in_memory: bool = False,
    progress: Callable[[str], None] | None = None,
    allow_retired: bool = False,
    step=None,
) -> TrainingSet:
    """Join ``spine`` with the feature views as of each row's event time.

    Args:
        project: the featurestore project whose warehouse holds the feature views.
        spine: a .parquet or .csv path, or a pandas/polars DataFrame or pyarrow Table,
            with the views' key columns and the event time column.
        features: ``"view[:feature],..."`` or a list of such items; an on-demand view's
            features are computed from the spine's request columns (ondemand_sql.py).
        out: the Parquet file to write, with its manifest at ``<out>.manifest.json``;
            None keeps the rows in memory only (``in_memory`` is then implied).
        event_ts: the spine's event time column (naive UTC, or timezone-aware).
        known_at_event: only use rows already loaded at the event time (views with a
            ``created_timestamp``), so late corrections never leak into training.
        in_memory: also return the rows as a pyarrow Table.
        progress: called with a short line per step.
        allow_retired: build a ``view@vN`` pin of a version the registry retired (its
            online items are gone, so a model trained on it cannot be served): warned
            and recorded in the manifest. Without it such a pin is refused.

    Returns:
        The manifest, and the table when ``in_memory`` (or no ``out``).
    """
    from featurestore.feature_refs import split_refs
    from featurestore.warehouse import Warehouse

    say = progress or (lambda _line: None)
    _check_arguments(event_ts, out)
    catalog = project.catalog()
    hint = "--features VIEW[@vN][:FEATURE],..."
    split_refs(features, hint=hint)  # a malformed reference fails before any connection
    served, retired = _registry_versions(project, catalog)
    found, output = _resolve(catalog, features, hint, served)
    _one_version_per_view(found)
    retired_pins = _retired_pins(found, retired, allow_retired, progress)
    chosen = [(r.view, r.features) for r in found]
    pinned = {r.view.name: r.pinned for r in found}
    in_memory = in_memory or out is None
    out_path = Path(out).resolve() if out is not None else None
    partial, partial_manifest = _partial_paths(project, spine, out_path)
    try:
        with Warehouse(project, read_only=True) as warehouse:
            checked = load_spine(warehouse, spine, [view for view, _ in chosen], event_ts)
            say(f"spine: {checked.rows:,} rows, {len(checked.columns)} columns")
            specs, sql, names, table = _join(project, warehouse, checked, chosen, output,
                                             known_at_event, None if in_memory else partial,
                                             say, step)
        rows, nulls = counts(table, partial, names[len(checked.columns):])
        say(f"{'joined' if partial is None else 'wrote'} {rows:,} rows")
        manifest = build_manifest(project, chosen, specs, checked, sql, known_at_event, rows,
                                  nulls, out_path, pinned, retired_pins, output)
        record(project, manifest, say)
        if step is not None:
            step.record(project, manifest, say)
        if partial is not None:
            partial_manifest.write_text(json.dumps(manifest, indent=2) + "\n")
            partial.replace(out_path)
            partial_manifest.replace(manifest_path(out_path))
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
            partial_manifest.unlink(missing_ok=True)
    return TrainingSet(manifest, table, out_path)


def _resolve(catalog, features, hint: str, served: dict) -> tuple[list, Output]:
    """The view versions the join reads (those asked for, then those read only for
    on-demand inputs, with the inputs' features added) and what the output holds."""
    from featurestore.feature_refs import ResolvedView, resolve_all

    resolution = resolve_all(catalog, features, hint=hint, served=served)
    found = list(resolution.stored)
    asked = {r.view.name: [f.name for f in r.features] for r in found}
    for view, needed in resolution.input_reads():
        same = [r for r in found if r.view.name == view.name and r.view.version == view.version]
        if same:
            same[0].features.extend(f for f in needed if f not in same[0].features)
        else:  # a pin of the input's own counts as a pin of the training set's
            pins = {i.version for r in resolution.on_demand for i in r.view.inputs
                    if i.view == view.name}
            found.append(ResolvedView(view, list(needed), pins != {None}))
    return found, Output(asked, resolution.on_demand)


def _join(project: Project, warehouse, checked: Spine, chosen, output: Output,
          known_at_event: bool, partial: Path | None, say: Callable[[str], None], step=None):
    """(specs, the join's SQL, the output's column names, the rows as Arrow unless they
    were written to ``partial`` by the warehouse)."""
    from featurestore.sql_render import render_as_of_join

    specs = view_specs(warehouse, chosen)
    requests = request_columns(warehouse, checked, output.on_demand)
    # an aware spine is compared by its instant and keeps its form: aware event time,
    # aware <view>__feature_ts (the macros' spine_utc)
    sql = render_as_of_join(warehouse.dialect.macro_dialect, checked.relation, specs,
                            event_ts=checked.event_ts, known_at_event=known_at_event,
                            spine_utc=checked.tz_aware) if specs else None
    names = output_names(checked, specs, output)
    plain = not output.on_demand and all(
        output.asked.get(s["name"]) is not None
        and len(output.asked[s["name"]]) == len(s["features"]) for s in specs)
    if not plain:
        sql = select_sql(warehouse, checked, sql, specs, output, requests)
    say(f"joining {len(specs)} view(s): "
        + ", ".join(f"{s['name']} ({len(s['features'])})" for s in specs)
        + "".join(f"; on-demand {r.view.name} ({len(r.features)})" for r in output.on_demand))
    if step is not None:  # a feature service: parameters over the join, then its columns
        sql, names = step.select(warehouse, sql, checked, chosen, names)
    table = None
    with warehouse.dialect.join_memory(warehouse, project.settings.duckdb_memory_limit):
        if partial is None:
            table = warehouse.fetch_arrow(sql).rename_columns(names)
        else:
            warehouse.dialect.export_parquet(warehouse, sql, partial, names)
    return specs, sql, names, table


def _check_arguments(event_ts: object, out: object) -> None:
    """The SDK's arguments, refused with the fix before anything runs."""
    if not isinstance(event_ts, str) or not event_ts.strip():
        raise RequestError(f"event_ts must name the spine's event time column, got "
                           f"{event_ts!r}")
    if out is not None and not isinstance(out, str | Path):
        raise RequestError(f"out must be the path of the Parquet file to write (a str or "
                           f"pathlib.Path), got {type(out).__name__} {out!r}")


def _partial_paths(project: Project, spine: object,
                   out_path: Path | None) -> tuple[Path | None, Path | None]:
    """Where the file and its manifest are written before they are renamed into place."""
    if out_path is None:
        return None, None
    _check_out(project, spine, out_path)
    manifest = manifest_path(out_path)
    return (out_path.with_name(f".{out_path.name}.partial-{os.getpid()}"),
            manifest.with_name(f".{manifest.name}.partial-{os.getpid()}"))


def _registry_versions(project: Project, catalog) -> tuple[dict[str, int], dict]:
    """From the registry's version log: the version each multi-version view serves (a
    view never promoted serves its base version), and ``(view, version) -> the event``
    that retired each retired version; nothing to read for views with one version."""
    from featurestore.version_log import SERVING_ACTIONS, events
    from featurestore.warehouse import Warehouse

    if not catalog.versions or not Warehouse.exists(project):
        return {}, {}
    with Warehouse(project, read_only=True) as warehouse:
        log = events(warehouse)
    served = {e.view_name: e.version for e in log if e.action in SERVING_ACTIONS}
    retired: dict = {}
    for event in log:  # oldest first: the event that began the retirement says when, why
        if event.action in ("retire_started", "retired", "dropped"):
            retired.setdefault((event.view_name, event.version), event)
    return served, retired


def _retired_pins(found, retired: dict, allow: bool,
                  progress: Callable[[str], None] | None) -> dict[str, dict]:
    """View -> what the manifest records of a pinned version the registry retired.

    Refused unless ``allow``: a model trained on a retired version cannot be served (its
    online items are deleted, and a lookup refuses the pin). Allowed, it is said loudly
    (the progress lines go to stderr; the SDK, which has none, warns) and recorded."""
    import warnings

    noted: dict[str, dict] = {}
    for resolved in found:
        view = resolved.view
        event = retired.get((view.name, view.version))
        if event is None:
            continue
        when = (f"retired {event.at:%Y-%m-%d %H:%M} UTC by {event.by_user}"
                + (f": {event.reason}" if event.reason else ""))
        if not allow:
            raise RequestError(
                f"`{view.name}@v{view.version}` is {when}. Its online items are deleted and "
                "lookups refuse it, so a model trained on it cannot be served. Pin a live "
                "version, or pass --allow-retired (allow_retired=True in the SDK) to build "
                "it anyway; the manifest records it.")
        message = (f"WARNING: `{view.name}@v{view.version}` is {when}; building it because "
                   "of --allow-retired (recorded in the manifest): a model trained on it "
                   "cannot be served")
        if progress is not None:
            progress(message)
        else:
            warnings.warn(message, UserWarning, stacklevel=3)
        noted[view.name] = {"at": event.at.isoformat(), "by": event.by_user,
                            "reason": event.reason, "allowed": True}
    return noted


def _one_version_per_view(found) -> None:
    """A training set's columns are named ``<view>__<feature>``, whatever the version (a
    model moves to another version without renaming its inputs): one version per view."""
    seen: dict[str, int] = {}
    for resolved in found:
        view = resolved.view
        if seen.setdefault(view.name, view.version) != view.version:
            raise RequestError(
                f"--features names two versions of `{view.name}` (v{seen[view.name]} and "
                f"v{view.version}); a training set holds one version of a view (its columns "
                f"are `{view.name}__<feature>`). Build one training set per version.")
