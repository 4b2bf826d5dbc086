"""On-demand views (``kind: on_demand``) in contracts: loaded, checked against the stored
views, named with file:line:field when wrong, and resolved like stored references."""

from __future__ import annotations

import pytest

from featurestore.contracts import load_catalog
from featurestore.errors import ContractError, RequestError
from featurestore.feature_refs import resolve_all, resolve_refs
from tests.core.conftest import edit

FILE = "txn_context.yml"


def test_the_demo_on_demand_view_loads_with_inferred_dtypes(project):
    catalog = load_catalog(project.feature_defs)
    assert sorted(catalog.on_demand) == ["txn_context"]
    assert "txn_context" not in catalog.views
    view = catalog.on_demand["txn_context"]
    assert (view.version, view.entity.name, view.owner) == (1, "user", "risk-ml")
    assert [(r.name, r.dtype, r.nullable) for r in view.request] == [
        ("amount", "float64", False), ("txn_ts", "timestamp", True),
        ("merchant_country", "string", True)]
    assert [(i.ref, i.name, i.dtype) for i in view.inputs] == [
        ("user_transactions:txn_amount_avg_30d", "txn_amount_avg_30d", "float64"),
        ("user_transactions:txn_amount_avg_7d", "txn_amount_avg_7d", "float64"),
        ("user_profile:country", "home_country", "string")]
    assert [(f.name, f.feature.dtype, f.feature.sensitivity) for f in view.features] == [
        ("amount_over_avg_30d", "float64", "internal"),
        ("amount_minus_avg_7d", "float64", "internal"),
        ("local_hour", "int64", "internal"),
        ("is_foreign", "bool", "internal")]
    row = {"amount": 30.0, "txn_amount_avg_30d": 12.0, "txn_amount_avg_7d": None,
           "merchant_country": "FR", "home_country": "FR"}
    assert [f.expression.evaluate(row) for f in view.features] == [2.5, 30.0, None, False]


def test_the_contract_hash_follows_the_expressions_not_the_comments(project):
    before = load_catalog(project.feature_defs).on_demand["txn_context"].contract_hash()
    edit(project, FILE, "# An on-demand view", "# The on-demand view")
    assert load_catalog(project.feature_defs).on_demand["txn_context"].contract_hash() == before
    edit(project, FILE, "sql: amount / txn_amount_avg_30d", "sql: amount / txn_amount_avg_30d + 0")
    assert load_catalog(project.feature_defs).on_demand["txn_context"].contract_hash() != before


CASES = [
    ("  - user_transactions:txn_amount_avg_30d\n", "  - user_transaction:txn_amount_avg_30d\n",
     "feature_defs/txn_context.yml:15, field `inputs[0]`: unknown feature view "
     "`user_transaction` (did you mean `user_transactions`?); known views: "
     "device_seen_before, merchant_risk, user_profile, user_transactions"),
    ("  - user_transactions:txn_amount_avg_7d\n", "  - user_transactions:last_amount\n",
     "feature_defs/txn_context.yml:15, field `inputs[1]`: feature view `user_transactions` "
     "(version 1) has no feature `last_amount` (did you mean `last_txn_amount`?); its "
     "features: txn_count_1h, txn_count_7d, txn_count_30d, txn_amount_sum_1h, "
     "txn_amount_sum_7d, txn_amount_sum_30d, txn_amount_avg_7d, txn_amount_avg_30d, "
     "last_txn_amount; pin a version that has it (`view@vN:feature`)"),
    ("{ref: user_profile:country,", "{ref: user_profile@v2:country,",
     "feature_defs/txn_context.yml:18, field `inputs[2]`: feature view `user_profile` has "
     "no version 2; its versions: v1"),
    ("  - user_transactions:txn_amount_avg_7d\n", "  - merchant_risk:txn_count_7d\n",
     "feature_defs/txn_context.yml:15, field `inputs[1]`: feature view `merchant_risk` is "
     "keyed by entity `merchant`, not `user`: an on-demand view reads the views of its own "
     "entity"),
    ("as: home_country}", "as: merchant_country}",
     "feature_defs/txn_context.yml:18, field `inputs[2]`: input `user_profile:country` is "
     "named `merchant_country`, the name of a request field; rename one (`as: other_name` "
     "renames the input)"),
    ("    dtype: int64\n", "    dtype: string\n",
     "feature_defs/txn_context.yml:39, field `features.local_hour.dtype`: dtype is written "
     "'string' but the expression gives int64; write `dtype: int64` or change the "
     "expression"),
    ("sql: amount / txn_amount_avg_30d", "sql: amount / avg(txn_amount_avg_30d)",
     "feature_defs/txn_context.yml:21, field `features.amount_over_avg_30d.sql`: expression "
     "`amount / avg(txn_amount_avg_30d)`: `avg()` is an aggregate; aggregates are not in "
     "the subset (compute them in a feature view and read the feature)"),
    ("sql: merchant_country <> home_country", "sql: merchant_country <> home_countr",
     "feature_defs/txn_context.yml:43, field `features.is_foreign.sql`: expression "
     "`merchant_country <> home_countr`: unknown name `home_countr` (the inputs are: "
     "amount, home_country, merchant_country, txn_amount_avg_30d, txn_amount_avg_7d, "
     "txn_ts)"),
    ("kind: on_demand", "kind: on_demand\nsource: fs_user__transactions",
     "feature_defs/txn_context.yml:6, field `source`: unknown field in an on-demand view; "
     "allowed: name, kind, version, entity, owner, description, request, inputs, features, "
     "tags"),
    ("{name: txn_ts, dtype: timestamp,", "{name: user_id, dtype: timestamp,",
     "feature_defs/txn_context.yml:13, field `request.user_id.name`: request field `user_id` "
     "is taken by a key of `user`, featurestore's own bookkeeping or another request field; "
     "rename it"),
]


@pytest.mark.parametrize(("old", "new", "message"), CASES,
                         ids=[c[2].split(": ", 1)[0] for c in CASES])
def test_a_wrong_on_demand_contract_is_named_with_file_line_and_field(project, old, new,
                                                                      message):
    edit(project, FILE, old, new)
    with pytest.raises(ContractError) as caught:
        load_catalog(project.feature_defs)
    assert str(caught.value) == message


def test_a_stored_view_of_an_unknown_kind_is_refused(project):
    edit(project, "merchant_risk.yml", "version: 1", "version: 1\nkind: ondemand")
    with pytest.raises(ContractError) as caught:
        load_catalog(project.feature_defs)
    assert str(caught.value) == (
        "feature_defs/merchant_risk.yml:3, field `kind`: kind 'ondemand' is not one of "
        "stored, on_demand (did you mean `on_demand`?)")


def test_an_on_demand_reference_resolves_with_its_inputs(project):
    catalog = load_catalog(project.feature_defs)
    found = resolve_all(catalog, "txn_context:is_foreign,user_transactions:txn_count_7d,"
                        "txn_context:amount_over_avg_30d")
    assert [(r.view.name, [f.name for f in r.features]) for r in found.stored] == [
        ("user_transactions", ["txn_count_7d"])]
    (od,) = found.on_demand
    assert [f.name for f in od.features] == ["is_foreign", "amount_over_avg_30d"]
    assert {name: (view.name, view.version, feature.name)
            for name, (view, feature) in od.inputs.items()} == {
        "txn_amount_avg_30d": ("user_transactions", 1, "txn_amount_avg_30d"),
        "home_country": ("user_profile", 1, "country")}
    assert [r.name for r in od.request_fields] == ["amount", "merchant_country"]
    assert [(v.name, [f.name for f in fs]) for v, fs in found.input_reads()] == [
        ("user_transactions", ["txn_amount_avg_30d"]), ("user_profile", ["country"])]


@pytest.mark.parametrize(("refs", "message"), [
    ("txn_context:is_foriegn", "on-demand view `txn_context` has no feature `is_foriegn` (did "
     "you mean `is_foreign`?); its features: amount_over_avg_30d, amount_minus_avg_7d, local_hour, "
     "is_foreign"),
    ("txn_context@v2", "on-demand view `txn_context` has no version 2; its version: v1"),
    ("txn_contxt", "unknown feature view `txn_contxt` (did you mean `txn_context`?); known "
     "views: device_seen_before, merchant_risk, txn_context, user_profile, user_transactions"),
])
def test_a_bad_on_demand_reference_is_refused_by_name(project, refs, message):
    catalog = load_catalog(project.feature_defs)
    with pytest.raises(RequestError) as caught:
        resolve_all(catalog, refs)
    assert str(caught.value) == message


def test_an_on_demand_view_of_another_entity_is_refused_for_that_entity(project):
    catalog = load_catalog(project.feature_defs)
    with pytest.raises(RequestError) as caught:
        resolve_all(catalog, "txn_context", entity=catalog.entities["merchant"])
    assert str(caught.value) == ("on-demand view `txn_context` is keyed by entity `user`, not "
                                 "`merchant`; ask for it with user keys")


def test_a_reader_of_stored_features_only_refuses_on_demand_ones_by_name(project):
    catalog = load_catalog(project.feature_defs)
    with pytest.raises(RequestError) as caught:
        resolve_refs(catalog, "txn_context:local_hour")
    assert str(caught.value) == (
        "`txn_context:local_hour` is an on-demand feature, computed from request fields; it "
        "cannot be read here, only where request fields are given (a training set's spine, "
        "a lookup's `request`)")
