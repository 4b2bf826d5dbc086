"""A training set's on-demand columns: each expression in the warehouse's SQL, over the
spine's request columns and the as-of joined inputs.

The as-of join (macros/point_in_time/) gives every stored feature the training set reads,
the on-demand inputs included, with the value and the default exactly as a stored
feature asked for would get them. One outer query then selects the spine's columns, the
stored features asked for (an input nobody asked for stays out of the output) and one
column per on-demand feature, ``<view>__<feature>``, rendered by
``Expression.sql`` (featurestore/ondemand/render.py, spelled by the dialect): the SQL
whose meaning the parity tests hold equal to the lookup's Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from featurestore.dtypes import accepts
from featurestore.errors import SpineError
from featurestore.spine import Spine, shown

JOINED = "fs_joined"  # the as-of join's rows, in the outer query
# the spine column types a request field of each dtype reads (float64 also from integers)
_READS = {"float64": ("float64", "int64")}


@dataclass(frozen=True)
class Output:
    """What the training set's query selects: per stored view the features asked for
    (None: the view was read only for on-demand inputs), and the on-demand views."""

    asked: dict[str, list[str]]
    on_demand: list  # feature_refs.ResolvedOnDemand


def request_columns(warehouse, spine: Spine, on_demand: list) -> dict[str, str]:
    """Request field -> the spine column that carries it (matched as key columns are,
    case aside); SpineError naming the field when it is missing, of another type, or
    null where the contract says ``nullable: false``."""
    found = {name.lower(): name for name in spine.columns}
    columns: dict[str, str] = {}
    for resolved in on_demand:
        for field in resolved.request_fields:
            column = found.get(field.name.lower())
            where = f"on-demand view `{resolved.view.name}`"
            if column is None:
                raise SpineError(spine.source, f"column `{field.name}` is missing: {where} "
                                 f"reads request field `{field.name}` ({field.dtype}). Add it "
                                 "to the spine, with the value each row was scored with.")
            kind = spine.columns[column]
            readable = _READS.get(field.dtype, (field.dtype,))
            if not _all_null(kind) and not any(accepts(dtype, kind) for dtype in readable):
                raise SpineError(spine.source, f"column {shown(column)} has type {kind} but "
                                 f"request field `{field.name}` of {where} is "
                                 f"{field.dtype}. Store it as {field.dtype} in the spine.")
            columns[field.name] = column
    _check_not_null(warehouse, spine, on_demand, columns)
    return columns


def _check_not_null(warehouse, spine: Spine, on_demand: list, columns: dict[str, str]) -> None:
    required = sorted({f.name for r in on_demand for f in r.request_fields if not f.nullable})
    if not required:
        return
    counted = ", ".join(f"count(*) - count({_ident(warehouse, columns[name])})"
                        for name in required)
    nulls = warehouse.fetch_all(f"select {counted} from {spine.relation}")[0]
    for name, count in zip(required, nulls, strict=True):
        if count:
            raise SpineError(spine.source, f"{count} row(s) have a null {shown(columns[name])}, "
                             f"but request field `{name}` is declared `nullable: false`. Fill "
                             "them, or drop those rows.")


def _all_null(kind: str) -> bool:
    """An all-null column (an empty one, or a frame's column of Nones) has no type but
    NULL: it reads as a NULL of the field's dtype."""
    return kind.strip('"').upper() == "NULL"


def _ident(warehouse, name: str) -> str:
    """A spine column as the warehouse's quoted identifier (the macros' own spelling)."""
    from featurestore.sql_render import dispatch

    return str(dispatch(warehouse.dialect.macro_dialect, "featurestore_ident")(name)).strip()


def _stored_names(specs: list[dict], output: Output) -> list[str]:
    """Per stored view asked for, in order: its features asked, then its feature_ts."""
    names = []
    for spec in specs:
        wanted = output.asked.get(spec["name"])
        if wanted is None:
            continue
        names += [f"{spec['name']}__{f['name']}" for f in spec["features"]
                  if f["name"] in wanted]
        names.append(f"{spec['name']}__feature_ts")
    return names


def output_names(spine: Spine, specs: list[dict], output: Output) -> list[str]:
    """The training set's columns, in order: the spine's, then per view asked for its
    features asked and ``<view>__feature_ts``, then the on-demand features. A spine
    column with the name of an output column is refused: one of the two would silently
    stand for the other, in the file and the manifest."""
    added = _stored_names(specs, output)
    for resolved in output.on_demand:
        added += [f"{resolved.view.name}__{f.name}" for f in resolved.features]
    taken = {name.lower(): name for name in spine.columns}
    clash = [taken[name.lower()] for name in added if name.lower() in taken]
    if clash:
        raise SpineError(spine.source, f"column `{clash[0]}` has the name of an output column "
                         "of the training set (VIEW__FEATURE, VIEW__feature_ts); rename or "
                         "drop it in the spine.")
    return [*spine.columns, *added]


def select_sql(warehouse, spine: Spine, join_sql: str | None, specs: list[dict],
               output: Output, requests: dict[str, str]) -> str:
    """The outer query over the as-of join (``join_sql``; None when no stored feature is
    read: the spine itself), selecting ``output_names``' columns in order."""
    dialect = warehouse.dialect
    select = [f"{JOINED}.{_ident(warehouse, name)}" for name in spine.columns]
    select += [f"{JOINED}.{name}" for name in _stored_names(specs, output)]
    aware = {name for name, column in requests.items()
             if dialect.is_tz_type(spine.columns[column])}
    nulls = {name for name, column in requests.items() if _all_null(spine.columns[column])}
    for resolved in output.on_demand:
        inputs = {name: f"{JOINED}.{view.name}__{feature.name}"
                  for name, (view, feature) in resolved.inputs.items()}

        def column(name: str, inputs=inputs, view=resolved.view) -> str:
            if name in inputs:
                return inputs[name]
            if name in nulls:
                return dialect.expressions.null(view.request_field(name).dtype)
            spelled = f"{JOINED}.{_ident(warehouse, requests[name])}"
            return dialect.utc_naive(spelled) if name in aware else spelled

        for feature in resolved.features:
            sql = feature.expression.sql(dialect, column)
            select.append(f"{sql} as {resolved.view.name}__{feature.name}")
    source = join_sql if join_sql is not None else f"select * from {spine.relation}"
    columns = ",\n    ".join(select)
    return (f"-- the as-of join, then the columns asked for and the on-demand features\n"
            f"select\n    {columns}\nfrom (\n{source}\n) {JOINED}")
