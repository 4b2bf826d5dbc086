"""Quality metrics of one feature view, computed by the warehouse in a few queries.

One aggregate scan gives every null count, min/max and count of non-finite floats (NaN
and infinity, which DynamoDB cannot hold, so the sync would refuse them later), one
``group by`` the duplicate keys, and one small ``group by`` per categorical feature its
distinct values (those outside the allowed set first). The result is a dict of a few
dozen numbers, whatever the size of the table: that is what Great Expectations then
validates.
"""

from __future__ import annotations

from featurestore.contracts import FeatureView
from featurestore.dtypes import base_type
from featurestore.gates.suites import column_dtypes, key_columns

DISTINCT_LIMIT = 50
# NaN, +infinity and -infinity as doubles, spelled as both DuckDB and Snowflake read them
# ('NaN', 'inf', '-inf'); both compare NaN equal to NaN, so `x in (...)` finds all three.
NON_FINITE = "(cast('NaN' as double), cast('inf' as double), cast('-inf' as double))"


def resolve_columns(warehouse, relation: str, wanted: list[str]) -> dict[str, str]:
    """Contract column -> warehouse column quoted the warehouse's way (Spark reads a
    double-quoted name as a string), matched case-insensitively (Snowflake)."""
    actual = {name.lower(): name for name in warehouse.columns(relation)}
    return {c: warehouse.dialect.alias(actual[c.lower()]) for c in wanted
            if c.lower() in actual}


def quality_metrics(warehouse, view: FeatureView) -> dict:
    relation = warehouse.view_relation(view)
    types = {name.lower(): kind for name, kind in warehouse.columns(relation).items()}
    dtypes = column_dtypes(view)
    metrics: dict[str, object] = {}
    for column in dtypes:
        kind = types.get(column.lower())
        metrics[f"dtype({column})"] = base_type(kind) if kind else "MISSING"
    present = resolve_columns(warehouse, relation, list(dtypes))

    null_columns = [c for c in key_columns(view) if c in present]
    null_columns += [f.name for f in view.features
                     if f.max_null_rate is not None and f.name in present]
    ranged = [f for f in view.features
              if (f.min is not None or f.max is not None) and f.name in present]
    floats = [f.name for f in view.features if f.dtype == "float64" and f.name in present]
    select = ["count(*)"]
    select += [f"count(*) - count({present[c]})" for c in null_columns]
    for feature in ranged:
        select += [f"min({present[feature.name]})", f"max({present[feature.name]})"]
    select += [f"count(case when {present[c]} in {NON_FINITE} then 1 end)" for c in floats]
    row = warehouse.fetch_all(f"select {', '.join(select)} from {relation}")[0]
    total = int(row[0])
    metrics["row_count"] = total
    for index, column in enumerate(null_columns, start=1):
        metrics[f"null_rate({column})"] = row[index] / total if total else None
    offset = 1 + len(null_columns)
    for index, feature in enumerate(ranged):
        low, high = row[offset + 2 * index], row[offset + 2 * index + 1]
        if feature.min is not None:
            metrics[f"min({feature.name})"] = None if low is None else float(low)
        if feature.max is not None:
            metrics[f"max({feature.name})"] = None if high is None else float(high)
    offset += 2 * len(ranged)
    for index, column in enumerate(floats):
        metrics[f"non_finite({column})"] = int(row[offset + index])

    keys = [present[c] for c in key_columns(view) if c in present]
    if len(keys) == len(key_columns(view)):
        listed = ", ".join(keys)
        (duplicates,) = warehouse.fetch_all(
            f"select count(*) from (select {listed} from {relation} group by {listed} "
            f"having count(*) > 1) as duplicated"
        )[0]
        metrics[f"duplicates({', '.join(key_columns(view))})"] = int(duplicates)

    for feature in view.features:
        if feature.allowed_values and feature.name in present:
            column = present[feature.name]
            allowed = ", ".join(warehouse.dialect.literal(feature.dtype, v)
                                for v in feature.allowed_values)
            rows = warehouse.fetch_all(
                f"select {column} from {relation} where {column} is not null "
                f"group by {column} order by ({column} in ({allowed})), count(*) desc "
                f"limit {DISTINCT_LIMIT}"
            )
            metrics[f"values({feature.name})"] = [r[0] for r in rows]
    return metrics
