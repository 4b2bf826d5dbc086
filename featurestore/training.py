"""Point-in-time training sets: spine x feature views -> Parquet plus a manifest.

The join runs inside the warehouse and DuckDB writes the Parquet file straight from it
(``COPY (...) TO``), so a training set never passes through Python memory. The manifest
beside it records what is needed to reproduce and trace the file: the spine's hash, each
view's contract version and hash, the hash of the SQL that computed each view and of the
join itself, and per feature how many values are null and how many are defaults. Files
are written under a temporary name and renamed at the end: a failure leaves no half file
that a training job could mistake for a whole one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from featurestore.contracts import Feature, FeatureView, parse_feature_refs
from featurestore.errors import WarehouseError
from featurestore.project import Project
from featurestore.spine import read_spine, sql_string

MANIFEST_SUFFIX = ".manifest.json"


def manifest_path(out_path: Path | str) -> Path:
    out = Path(out_path)
    return out.with_name(out.name + MANIFEST_SUFFIX)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _view_sql(project: Project, view: FeatureView) -> dict:
    """Hash of the SQL that computed the view: compiled if dbt compiled it, else raw."""
    node = project.model_node(view.source)
    if node is None:
        return {"sql_sha256": None, "sql_source": "none: no dbt manifest lists the model; "
                "run `featurestore build`"}
    for field in ("compiled_code", "raw_code"):
        if node.get(field):
            return {"sql_sha256": _sha256(node[field]), "sql_source": field}
    return {"sql_sha256": None, "sql_source": "none: the dbt manifest holds no SQL for it"}


def _specs(warehouse, chosen: list[tuple[FeatureView, list[Feature]]]) -> list[dict]:
    from featurestore.generate import view_spec

    specs = []
    for view, features in chosen:
        spec = view_spec(view)
        spec["relation"] = warehouse.model_relation(view.source)
        wanted = {f.name for f in features}
        spec["features"] = [f for f in spec["features"] if f["name"] in wanted]
        have = warehouse.columns(spec["relation"])
        needed = [*view.keys, view.timestamp, *(f["name"] for f in spec["features"])]
        if view.created_timestamp:
            needed.append(view.created_timestamp)
        missing = [name for name in needed if name not in have]
        if missing:
            raise WarehouseError(
                f"{spec['relation']} (view `{view.name}`) has no column(s) "
                f"{', '.join(missing)}; the model and {view.path} disagree. Fix the model or "
                "the contract, then rebuild: `featurestore build`."
            )
        specs.append(spec)
    return specs


@contextlib.contextmanager
def _memory_limit(warehouse) -> Iterator[None]:
    """Cap DuckDB's memory when FEATURESTORE_DUCKDB_MEMORY_LIMIT says so (e.g. ``1GB``).

    DuckDB's default is 80% of RAM, which is right for a dedicated box and wrong on a
    laptop next to a notebook; with a cap, the join spills to a temporary folder instead.
    """
    limit = os.environ.get("FEATURESTORE_DUCKDB_MEMORY_LIMIT")
    if not limit or warehouse.dialect != "duckdb":
        yield
        return
    with tempfile.TemporaryDirectory(prefix="featurestore-spill-") as spill:
        warehouse.execute(f"set memory_limit = {sql_string(limit)}").fetchall()
        warehouse.execute(f"set temp_directory = {sql_string(spill)}").fetchall()
        yield


def _counts(path: Path, columns: list[str]) -> tuple[int, dict[str, int]]:
    """Row count and null count per column, from the Parquet footer: no data is read."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    index = {meta.schema.column(i).name: i for i in range(meta.num_columns)}
    nulls = dict.fromkeys(columns, 0)
    for group in range(meta.num_row_groups):
        row_group = meta.row_group(group)
        for name in columns:
            stats = row_group.column(index[name]).statistics
            if stats is None or not stats.has_null_count:
                return meta.num_rows, _scan_nulls(path, columns)
            nulls[name] += stats.null_count
    return meta.num_rows, nulls


def _scan_nulls(path: Path, columns: list[str]) -> dict[str, int]:
    """The fallback when a writer left out statistics: one aggregate pass."""
    import duckdb

    select = ", ".join(f'count(*) - count("{c}")' for c in columns)
    with duckdb.connect() as connection:
        values = connection.execute(
            f"select {select} from read_parquet({sql_string(str(path))})").fetchall()[0]
    return dict(zip(columns, (int(v) for v in values), strict=True))


def build_training_set(
    project: Project,
    spine_path: Path | str,
    features: str | list[str],
    out_path: Path | str,
    known_at_event: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Write the point-in-time training set to ``out_path`` and its manifest beside it.

    Args:
        project: the featurestore project whose warehouse holds the feature views.
        spine_path: Parquet or CSV with the views' key columns and ``event_ts``.
        features: ``"view[:feature],..."`` or a list of such items.
        out_path: the Parquet file to write; the manifest goes to
            ``<out_path>.manifest.json``.
        known_at_event: only use rows already loaded at event_ts (views with a
            ``created_timestamp``), so late corrections never leak into training.
        progress: called with a short line per step.

    Returns:
        The manifest, as written.
    """
    from importlib.metadata import version

    from featurestore.sql_render import render_as_of_join
    from featurestore.warehouse import Warehouse

    say = progress or (lambda _line: None)
    out = Path(out_path).resolve()
    manifest_file = manifest_path(out)
    chosen = parse_feature_refs(project.catalog(), features)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    partial_manifest = manifest_file.with_name(f".{manifest_file.name}.partial-{os.getpid()}")
    try:
        with Warehouse(project, read_only=True) as warehouse:
            spine = read_spine(spine_path, [view for view, _ in chosen], warehouse.connection)
            say(f"spine: {spine.rows:,} rows, {len(spine.columns)} columns")
            specs = _specs(warehouse, chosen)
            sql = render_as_of_join("duckdb", spine.relation, specs,
                                    known_at_event=known_at_event)
            say(f"joining {len(specs)} view(s): "
                + ", ".join(f"{s['name']} ({len(s['features'])})" for s in specs))
            with _memory_limit(warehouse):
                warehouse.execute(
                    f"copy ({sql}) to {sql_string(str(partial))} (format parquet)").fetchall()
        output_columns = [f"{s['name']}__{f['name']}" for s in specs for f in s["features"]]
        output_columns += [f"{s['name']}__feature_ts" for s in specs]
        rows, nulls = _counts(partial, output_columns)
        say(f"wrote {rows:,} rows")
        manifest = {
            "featurestore_version": version("featurestore"),
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "output": {"path": str(out), "rows": rows},
            "spine": spine.to_manifest(),
            "known_at_event": known_at_event,
            "join_sql_sha256": _sha256(sql),
            "views": [],
        }
        for (view, _), spec in zip(chosen, specs, strict=True):
            defaulted = nulls[f"{view.name}__feature_ts"]
            manifest["views"].append({
                "name": view.name,
                "version": view.version,
                "contract_hash": view.contract_hash(),
                "relation": spec["relation"],
                **_view_sql(project, view),
                "defaulted_rows": defaulted,
                "features": [
                    {"name": f["name"], "column": f"{view.name}__{f['name']}",
                     "dtype": f["dtype"], "null_count": nulls[f"{view.name}__{f['name']}"],
                     "default_count": defaulted}
                    for f in spec["features"]
                ],
            })
        partial_manifest.write_text(json.dumps(manifest, indent=2) + "\n")
        partial.replace(out)
        partial_manifest.replace(manifest_file)
    finally:
        partial.unlink(missing_ok=True)
        partial_manifest.unlink(missing_ok=True)
    return manifest


@click.command("training-set")
@click.option("--spine", "spine_path", required=True,
              type=click.Path(dir_okay=False),
              help="Parquet or CSV: the views' key columns, event_ts (naive UTC), anything "
              "else is carried through.")
@click.option("--features", required=True,
              help="Comma-separated VIEW or VIEW:FEATURE items.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="The Parquet file to write; the manifest goes to OUT.manifest.json.")
@click.option("--known-at-event", is_flag=True,
              help="Only use feature rows already loaded into the warehouse at event_ts.")
@click.pass_context
def training_set_command(ctx, spine_path: str, features: str, out_path: str,
                         known_at_event: bool) -> None:
    """Build a point-in-time-correct training set from a spine.

    Each spine row gets, per view, the last value with feature_ts <= event_ts within
    the view's TTL, else the contract's default. Output columns are VIEW__FEATURE and
    VIEW__feature_ts.

    \b
    Example:
      featurestore training-set --spine labels.parquet \\
        --features user_transactions,merchant_risk:chargeback_rate_30d --out train.parquet
    """
    from featurestore.cli import get_project

    def say(line: str) -> None:
        click.echo(f"training-set: {line}", err=True)

    manifest = build_training_set(get_project(ctx), spine_path, features, out_path,
                                  known_at_event=known_at_event, progress=say)
    click.echo(f"{manifest['output']['rows']:,} rows written to {manifest['output']['path']} "
               f"(manifest: {manifest_path(manifest['output']['path'])})")
