"""The generated on-demand macro (featurestore/generate_on_demand.py), without dbt: its
data comes back through plain Jinja exactly as generated, whatever the literals, and
each expression's parts put back together are the training set's SQL."""

from __future__ import annotations

import json

from hypothesis import given, settings

from featurestore.contracts import load_catalog
from featurestore.dialects import NAMES, for_target
from featurestore.generate_on_demand import on_demand_macro, sql_parts, view_record
from featurestore.ondemand import compile_expression
from tests.conftest import REPO_ROOT
from tests.core.test_contract_text import call_macro
from tests.hostile_text import kept_text

INPUTS = {"merchant_country": "string", "amount": "float64", "home_country": "string"}


def _expression(literal: str):
    quoted = "'" + literal.replace("'", "''") + "'"
    return compile_expression(
        f"case when merchant_country = {quoted} then concat(home_country, {quoted}) "
        f"else coalesce(home_country, {quoted}) end", INPUTS)


def _joined(parts: list[str], column) -> str:
    return "".join(part if index % 2 == 0 else column(part)
                   for index, part in enumerate(parts))


@settings(max_examples=200, deadline=None)
@given(literal=kept_text)
def test_the_parts_put_together_are_the_training_sets_sql(literal):
    expression = _expression(literal)
    for name in NAMES:
        dialect = for_target(name)
        parts = sql_parts(expression, dialect)
        assert len(parts) % 2 == 1
        assert set(parts[1::2]) == {"merchant_country", "home_country"}

        def column(field):
            return f"fs_joined.{field}"

        assert _joined(parts, column) == expression.sql(dialect, column)


@settings(max_examples=100, deadline=None)
@given(literal=kept_text)
def test_the_macro_returns_its_data_exactly_through_jinja(literal):
    catalog = load_catalog(REPO_ROOT / "feature_defs")
    view = catalog.on_demand["txn_context"]
    feature = view.features[-1]
    hostile = type(feature)(feature.feature, _expression(literal))
    changed = type(view)(**{**view.__dict__, "features": (*view.features[:-1], hostile)})
    catalog.on_demand["txn_context"] = changed
    source = on_demand_macro(catalog, "shop")
    returned = call_macro(source, "featurestore_on_demand")
    assert returned == json.loads(json.dumps(
        {"project": "shop", "views": {"txn_context": view_record(changed)}}))


def test_a_project_without_on_demand_views_gets_no_file():
    catalog = load_catalog(REPO_ROOT / "feature_defs")
    catalog.on_demand.clear()
    assert on_demand_macro(catalog, "shop") is None


def test_the_demo_view_records_its_inputs_and_request_fields():
    record = view_record(load_catalog(REPO_ROOT / "feature_defs").on_demand["txn_context"])
    assert record["inputs"] == {
        "txn_amount_avg_30d": {"view": "user_transactions", "version": None,
                               "feature": "txn_amount_avg_30d"},
        "txn_amount_avg_7d": {"view": "user_transactions", "version": None,
                              "feature": "txn_amount_avg_7d"},
        "home_country": {"view": "user_profile", "version": None, "feature": "country"}}
    assert [(f["name"], f["inputs"], f["request"]) for f in record["features"]] == [
        ("amount_over_avg_30d", ["txn_amount_avg_30d"], ["amount"]),
        ("amount_minus_avg_7d", ["txn_amount_avg_7d"], ["amount"]),
        ("local_hour", [], ["merchant_country", "txn_ts"]),
        ("is_foreign", ["home_country"], ["merchant_country"])]
    assert sorted(record["features"][0]["sql"]) == ["duckdb", "snowflake", "spark"]
