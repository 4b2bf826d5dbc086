"""A training set's manifest: what reproduces and traces it, written beside the file.

``<out>.manifest.json`` records the spine's hash, each view's contract version and hash,
the hash of the SQL that computed each view and of the join itself, and per feature how
many values are null and how many are defaults (counted from the Parquet footer when the
warehouse wrote the file, so no row is read back). The registry keeps which view versions
each training set read (``featurestore.training_sets``), for ``featurestore retire``.
The skew gate and the catalog read manifests by ``manifest_path``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from featurestore.contracts import FeatureView
from featurestore.errors import WarehouseError
from featurestore.project import Project

if TYPE_CHECKING:
    import pyarrow as pa

    from featurestore.spine import Spine

MANIFEST_SUFFIX = ".manifest.json"


def manifest_path(out_path: Path | str) -> Path:
    out = Path(out_path)
    return out.with_name(out.name + MANIFEST_SUFFIX)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def view_sql(project: Project, view: FeatureView) -> dict:
    """Hash of the SQL that computed the view: compiled if dbt compiled it, else raw."""
    node = project.model_node(view.source, view.model_version)
    if node is None:
        return {"sql_sha256": None, "sql_source": "none: no dbt manifest lists the model; "
                "run `featurestore build`"}
    for field in ("compiled_code", "raw_code"):
        if node.get(field):
            return {"sql_sha256": sha256(node[field]), "sql_source": field}
    return {"sql_sha256": None, "sql_source": "none: the dbt manifest holds no SQL for it"}


def _parquet_counts(path: Path, columns: list[str]) -> tuple[int, dict[str, int]]:
    """Row count and null count per column, from the Parquet footer: no data is read.

    Read with DuckDB (always installed, already loaded), not pyarrow, whose import alone
    costs a tenth of a second of every CLI run; a file without statistics is counted.
    """
    import duckdb

    with duckdb.connect() as connection:
        (rows,) = connection.execute("select num_rows from parquet_file_metadata(?)",
                                     [str(path)]).fetchone()
        stats = dict(connection.execute(
            "select path_in_schema, case when count(*) = count(stats_null_count) "
            "then sum(stats_null_count) end from parquet_metadata(?) group by all",
            [str(path)]).fetchall())
        if all(stats.get(name) is not None for name in columns):
            return int(rows), {name: int(stats[name]) for name in columns}
        select = ", ".join(f'count(*) - count("{c.replace(chr(34), chr(34) * 2)}")'
                           for c in columns)
        counted = connection.execute(f"select {select} from read_parquet(?)",
                                     [str(path)]).fetchone()
    return int(rows), dict(zip(columns, (int(n) for n in counted), strict=True))


def _table_counts(table: pa.Table, columns: list[str]) -> tuple[int, dict[str, int]]:
    return table.num_rows, {name: table.column(name).null_count for name in columns}


def counts(table, partial: Path | None, counted: list[str]) -> tuple[int, dict[str, int]]:
    """Rows and null counts of the result (in memory, or in the file Spark or DuckDB
    wrote); a result kept in memory is also written to ``partial`` when asked."""
    if table is None:
        return _parquet_counts(partial, counted)
    if partial is not None:
        import pyarrow.parquet as pq

        pq.write_table(table, partial)
    return _table_counts(table, counted)


def record(project: Project, manifest: dict, say: Callable[[str], None]) -> None:
    """Keep which view versions the training set read in the registry
    (``featurestore.training_sets``), for ``featurestore retire``; a warehouse that
    cannot be written now is said, and noted in the manifest, not a failure."""
    from featurestore.version_log import record_training_set
    from featurestore.warehouse import Warehouse

    try:
        with Warehouse(project) as warehouse:
            record_training_set(warehouse, manifest)
        manifest["registry"] = "recorded in featurestore.training_sets"
    except WarehouseError as exc:
        manifest["registry"] = f"not recorded: {exc}"
        say(f"warning: the training set's views were not recorded in the registry ({exc}); "
            "`featurestore retire` will not see its pins")


def build_manifest(project: Project, chosen, specs: list[dict], spine: Spine, join_sql: str,
                   known_at_event: bool, rows: int, nulls: dict[str, int],
                   out_path: Path | None, pinned: dict[str, bool] | None = None,
                   retired_pins: dict[str, dict] | None = None, output=None) -> dict:
    """The manifest of a training set; ``retired_pins``: view -> what is recorded of a
    retired version built anyway (only then is the entry there: other manifests are
    unchanged). ``output`` (``ondemand_sql.Output``): what the output holds when
    on-demand features are asked for; a view read only for their inputs is listed with
    the inputs it gave (``on_demand_inputs``) and no columns."""
    from importlib.metadata import version

    manifest = {
        "featurestore_version": version("featurestore"),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "output": {"path": str(out_path) if out_path else None, "rows": rows},
        "spine": spine.to_manifest(),
        "known_at_event": known_at_event,
        "join_sql_sha256": sha256(join_sql),
        "views": [],
    }
    asked = output.asked if output is not None else None
    for (view, _), spec in zip(chosen, specs, strict=True):
        wanted = None if asked is None else asked.get(view.name)
        shown = [f for f in spec["features"] if asked is None or f["name"] in (wanted or ())]
        defaulted = nulls[f"{view.name}__feature_ts"] if asked is None or wanted is not None \
            else None
        manifest["views"].append({
            "name": view.name,
            "version": view.version,
            # asked as view@vN: the model trained on it needs that version online too
            "pinned": bool((pinned or {}).get(view.name)),
            "contract_hash": view.contract_hash(),
            "relation": spec["relation"],
            **view_sql(project, view),
            "defaulted_rows": defaulted,
            "features": [
                {"name": f["name"], "column": f"{view.name}__{f['name']}",
                 "dtype": f["dtype"], "null_count": nulls[f"{view.name}__{f['name']}"],
                 "default_count": defaulted}
                for f in shown
            ],
        })
        hidden = [f["name"] for f in spec["features"] if f not in shown]
        if hidden:
            manifest["views"][-1]["on_demand_inputs"] = hidden
        if view.name in (retired_pins or {}):
            manifest["views"][-1]["retired"] = retired_pins[view.name]
    if output is not None and output.on_demand:
        manifest["on_demand"] = [_on_demand_entry(resolved, nulls)
                                 for resolved in output.on_demand]
    return manifest


def _on_demand_entry(resolved, nulls: dict[str, int]) -> dict:
    """What the manifest records of an on-demand view: its contract's version and hash,
    the request fields and inputs read (each input at the version read), and per feature
    its expression, dtype and nulls."""
    view = resolved.view
    return {
        "name": view.name, "version": view.version, "contract_hash": view.contract_hash(),
        "request": [f.to_dict() for f in resolved.request_fields],
        "inputs": [{"name": name, "ref": view.input(name).ref, "view": stored.name,
                    "version": stored.version, "feature": feature.name}
                   for name, (stored, feature) in resolved.inputs.items()],
        "features": [{"name": f.name, "column": f"{view.name}__{f.name}",
                      "dtype": f.feature.dtype, "sql": f.expression.text,
                      "null_count": nulls[f"{view.name}__{f.name}"]}
                     for f in resolved.features],
    }
