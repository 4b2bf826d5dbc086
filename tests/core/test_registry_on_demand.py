"""plan/apply of on-demand views (featurestore/registry_on_demand.py): their request
fields, inputs and expressions are their meaning; once a training set read the view or a
service froze it, changing that meaning needs a new version."""

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from featurestore import registry, version_log
from featurestore.apps.cli import cli
from featurestore.errors import PlanRefused
from featurestore.warehouse import Warehouse
from tests.core.conftest import edit

PATH = "feature_defs/txn_context.yml"
RATIO = "sql: amount / txn_amount_avg_30d"


def applied(project):
    with Warehouse(project) as warehouse:
        return registry.apply(project.catalog(), warehouse, who="alice")


def plan_of(project):
    with Warehouse(project) as warehouse:
        return registry.plan(project.catalog(), warehouse)


def change_of(project, view="txn_context"):
    return next(c for c in plan_of(project).changes if c.view == view)


def history(project):
    with Warehouse(project) as warehouse:
        return [(r[0], r[1]) for r in registry.history(warehouse, "txn_context")]


def read_by_training_set(project, version=1):
    """What a training set that asked for txn_context records (its manifest's views and
    on-demand views)."""
    with Warehouse(project) as warehouse:
        version_log.record_training_set(warehouse, {
            "created_at": dt.datetime.now(dt.UTC).isoformat(), "join_sql_sha256": "",
            "output": {"path": "train.parquet"},
            "views": [{"name": "user_transactions", "version": 1}],
            "on_demand": [{"name": "txn_context", "version": version}]})


def frozen_by_service(project):
    from featurestore.feature_services.param_registry import freeze

    with Warehouse(project) as warehouse:
        freeze(warehouse, {"service": "fraud", "service_version": 1, "service_hash": "h",
                           "features": [{"view": "txn_context", "version": 1,
                                         "feature": "local_hour", "on_demand": True}],
                           "transformations": []}, None, who="alice")


def test_created_recorded_then_unchanged(project):
    result = applied(project)
    assert result.render().splitlines()[-2:] == [
        "+ txn_context v1 (create)",
        "    on-demand: 4 features, 3 request fields, 3 inputs, entity `user`"]
    assert history(project) == [(1, "create")]
    with Warehouse(project) as warehouse:
        record = registry.applied_contracts(warehouse)["txn_context"]
    view = project.catalog().on_demand["txn_context"]
    assert record["contract_hash"] == view.contract_hash()
    assert record["contract"] == view.to_record()  # with each checked tree
    assert plan_of(project).render().splitlines()[-2:] == [
        "= txn_context v1 (unchanged)", "No changes: the registry matches feature_defs/."]


def test_an_expression_changed_before_anything_read_it_is_changed_in_place(project):
    applied(project)
    edit(project, "txn_context.yml", RATIO, "sql: amount / txn_amount_avg_7d")
    rendered = plan_of(project).render().splitlines()
    assert rendered[-2:] == [
        "~ txn_context v1 (not yet published, changed in place)",
        "    feature `amount_over_avg_30d`: expression changed from `amount / "
        "txn_amount_avg_30d` to `amount / txn_amount_avg_7d`"]
    applied(project)
    assert history(project) == [(1, "create"), (1, "in-place")]


@pytest.mark.parametrize("consumer", [read_by_training_set, frozen_by_service],
                         ids=["training-set", "service"])
def test_an_expression_changed_once_consumed_needs_a_new_version(project, consumer):
    applied(project)
    consumer(project)
    edit(project, "txn_context.yml", RATIO, "sql: amount / txn_amount_avg_7d")
    message = (f"{PATH}, feature `amount_over_avg_30d`: expression changed from `amount / "
               "txn_amount_avg_30d` to `amount / txn_amount_avg_7d` without a new version. "
               "Add `version: 2`.")
    assert plan_of(project).refused == [message]
    with Warehouse(project) as warehouse, pytest.raises(PlanRefused) as error:
        registry.apply(project.catalog(), warehouse)
    assert str(error.value) == message
    assert history(project) == [(1, "create")]
    runner = CliRunner()
    result = runner.invoke(cli, ["--project-dir", str(project.root), "plan"])
    assert result.exit_code == 2
    assert f"    REFUSED: {message}\n" in result.output


BREAKING = [
    ("  - {name: merchant_country, dtype: string, description: ISO 3166 alpha-2 country of "
     "the merchant.}\n", "  - {name: merchant_country, dtype: string, nullable: false, "
     "description: ISO 3166 alpha-2 country of the merchant.}\n",
     "request field `merchant_country`: made `nullable: false`: requests and spines with a "
     "null there would be refused"),
    ("request:\n", "request:\n  - {name: channel, dtype: string, nullable: false}\n",
     "request field `channel`: added as `nullable: false` (string): requests and spines "
     "without it would be refused"),
    ("{ref: user_profile:country, as: home_country}",
     "{ref: user_profile@v1:country, as: home_country}",
     "input `home_country`: reads user_profile@v1:country, was user_profile:country"),
    ("  - name: is_foreign\n    sql: merchant_country <> home_country\n    sensitivity: "
     "internal\n    description: Whether the merchant's country differs from the user's "
     "home country.\n", "", "feature `is_foreign`: removed"),
    ("{name: txn_ts, dtype: timestamp,", "{name: txn_ts, dtype: string,",
     "request field `txn_ts`: dtype changed from timestamp to string"),
]


@pytest.mark.parametrize(("old", "new", "what"), BREAKING,
                         ids=["nullable", "required-field", "pin", "removed", "dtype"])
def test_every_breaking_change_is_refused_once_consumed(project, old, new, what):
    applied(project)
    read_by_training_set(project)
    if "dtype: string," in new:  # local_hour reads txn_ts as a timestamp: drop it first
        text = (project.feature_defs / "txn_context.yml").read_text()
        start = text.index("  - name: local_hour")
        end = text.index("  - name: is_foreign")
        (project.feature_defs / "txn_context.yml").write_text(text[:start] + text[end:])
    edit(project, "txn_context.yml", old, new)
    refused = [r for r in plan_of(project).refused if "local_hour" not in r]
    assert refused == [f"{PATH}, {what} without a new version. Add `version: 2`."]


def test_compatible_changes_are_listed_and_allowed_once_consumed(project):
    applied(project)
    read_by_training_set(project)
    edit(project, "txn_context.yml", RATIO, "sql: |\n      amount\n        / txn_amount_avg_30d")
    edit(project, "txn_context.yml", "{ref: user_profile:country, as: home_country}",
         "{ref: user_profile:country, as: country_at_home}")
    edit(project, "txn_context.yml", "merchant_country <> home_country",
         "merchant_country <> country_at_home")
    edit(project, "txn_context.yml", "request:\n",
         "request:\n  - {name: channel, dtype: string}\n")
    edit(project, "txn_context.yml", "features:\n", "features:\n  - name: is_web\n"
         "    sql: channel = 'web'\n    sensitivity: public\n    description: Paid online.\n")
    edit(project, "txn_context.yml", "owner: risk-ml", "owner: fraud-ml")
    change = change_of(project)
    assert (change.action, change.breaking) == ("update", [])
    assert change.details == [
        "request field `channel`: added (string, nullable)",
        "input `country_at_home`: added (user_profile:country, string)",
        "input `home_country`: removed (user_profile:country)",
        "feature `amount_over_avg_30d`: SQL rewritten, same meaning: `amount / "
        "txn_amount_avg_30d` -> `amount / txn_amount_avg_30d`",
        "feature `is_foreign`: SQL rewritten, same meaning: `merchant_country <> "
        "home_country` -> `merchant_country <> country_at_home`",
        "feature `is_web`: added (bool)",
        "owner: 'risk-ml' -> 'fraud-ml'"]
    applied(project)
    assert history(project) == [(1, "create"), (1, "update")]
    assert change_of(project).action == "unchanged"


def test_a_new_version_replaces_the_old_one(project):
    applied(project)
    read_by_training_set(project)
    edit(project, "txn_context.yml", RATIO, "sql: amount / txn_amount_avg_7d")
    edit(project, "txn_context.yml", "version: 1", "version: 2")
    result = plan_of(project)
    assert result.refused == []
    assert result.render().splitlines()[-2:] == [
        "^ txn_context v1 -> v2 (bump)",
        "    feature `amount_over_avg_30d`: expression changed from `amount / "
        "txn_amount_avg_30d` to `amount / txn_amount_avg_7d` (breaking; allowed by v2)"]
    applied(project)
    assert history(project) == [(1, "create"), (2, "bump")]
    assert change_of(project).action == "unchanged"  # v1 is replaced, not left behind
    edit(project, "txn_context.yml", "version: 2", "version: 1")
    assert plan_of(project).refused == [
        f"{PATH}, field `version`: version went from 2 to 1; versions only go up. Set "
        "`version: 3` for a new version."]


def test_a_removed_on_demand_view_leaves_the_registry(project):
    applied(project)
    (project.feature_defs / "txn_context.yml").unlink()
    change = change_of(project)
    assert (change.action, change.version, change.details, change.breaking) == (
        "remove", 1, ["its contract file is gone from feature_defs/"], [])
    applied(project)
    with Warehouse(project) as warehouse:
        assert "txn_context" not in registry.applied_contracts(warehouse)
    assert history(project) == [(1, "create"), (1, "remove")]


def test_a_stored_view_cannot_take_an_applied_on_demand_views_name(project):
    applied(project)
    (project.feature_defs / "txn_context.yml").unlink()
    text = (project.feature_defs / "merchant_risk.yml").read_text()
    (project.feature_defs / "merchant_risk.yml").unlink()  # its model feeds one view
    (project.feature_defs / "txn_context.yml").write_text(
        text.replace("name: merchant_risk", "name: txn_context", 1))
    assert plan_of(project).refused == [
        "feature_defs/txn_context.yml: `txn_context` is an on-demand view in the registry; a "
        "stored view cannot take its name (views and on-demand views share one namespace). "
        "Name the stored view otherwise, or apply the on-demand view's removal first."]


def test_a_training_set_that_read_it_counts_as_a_consumer(project):
    applied(project)
    read_by_training_set(project)
    with Warehouse(project) as warehouse:
        assert registry.consumed_views(warehouse) == {
            "user_transactions": "read by a training set",
            "txn_context": "read by a training set"}


# a literal of an expression: anything the contract's YAML and the subset take
LITERALS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=LITERALS, after=LITERALS)
def test_drawn_literals_are_recorded_and_compared_exactly(project, before, after):
    """A literal of any text goes into the registry as data (bound parameters, JSON)
    and comes back equal: the same literal is unchanged, another is a changed
    expression with both shown."""
    path = project.feature_defs / "txn_context.yml"
    text = path.read_text()
    written = "    sql: merchant_country <> home_country"

    def with_literal(value: str) -> None:
        sql = "merchant_country <> '" + value.replace("'", "''") + "'"
        path.write_text(text.replace(written, f"    sql: {json.dumps(sql)}"))

    def is_foreign(warehouse):
        result = registry.plan(project.catalog(), warehouse)
        return next(c for c in result.changes if c.view == "txn_context")

    try:
        with Warehouse(project) as warehouse:  # one connection: opening one takes seconds
            warehouse.execute(f"drop table if exists "
                              f"{warehouse.store_table('feature_registry')}")
            with_literal(before)
            registry.apply(project.catalog(), warehouse, who="alice")
            assert is_foreign(warehouse).action == "unchanged"
            with_literal(after)
            change = is_foreign(warehouse)
    finally:
        path.write_text(text)
    if before == after:
        assert change.action == "unchanged"
    else:
        assert change.action == "in-place"
        assert change.details[0].startswith(
            "feature `is_foreign`: expression changed from `merchant_country <> '")


def test_describe_shows_the_contract_and_the_registry_history(project):
    applied(project)
    runner = CliRunner()
    result = runner.invoke(cli, ["--project-dir", str(project.root), "describe",
                                 "txn_context"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:10] == [
        "txn_context v1  (feature_defs/txn_context.yml), on-demand",
        "  The transaction being scored, against the user's history and profile.",
        "  entity      user",
        "  owner       risk-ml   tags: fraud",
        f"  hash        {project.catalog().on_demand['txn_context'].contract_hash()[:16]}",
        "  request:",
        "    amount               float64, not null",
        "    txn_ts               timestamp",
        "    merchant_country     string",
        "  inputs:"]
    assert lines[14] == ("    amount_over_avg_30d  float64   internal amount / "
                         "txn_amount_avg_30d")
    assert lines[-2] == "  registry:"
    assert lines[-1].startswith("    v1 create    ") and " by alice at " in lines[-1]
    document = json.loads(runner.invoke(cli, ["--project-dir", str(project.root),
                                              "describe", "txn_context", "--json"]).output)
    assert (document["kind"], document["contract"]["kind"]) == ("on_demand", "on_demand")
    assert [(r["version"], r["change"]) for r in document["registry"]] == [(1, "create")]


def test_an_on_demand_view_cannot_take_an_applied_stored_views_name(project):
    applied(project)
    (project.feature_defs / "device_seen_before.yml").unlink()
    text = (project.feature_defs / "txn_context.yml").read_text()
    (project.feature_defs / "txn_context.yml").unlink()
    (project.feature_defs / "device_seen_before.yml").write_text(
        text.replace("name: txn_context", "name: device_seen_before", 1))
    assert plan_of(project).refused == [
        "feature_defs/device_seen_before.yml: `device_seen_before` is a stored view in the "
        "registry; an on-demand view cannot take its name (views and on-demand views share "
        "one namespace). Name the on-demand view otherwise, or apply the stored view's "
        "removal first."]
