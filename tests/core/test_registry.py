"""plan/apply against the registry in the warehouse: once a view is consumed, breaking
changes need a new version; before that, they are made in place."""

import pytest
from click.testing import CliRunner

from featurestore import registry
from featurestore.apps.cli import cli
from featurestore.errors import PlanRefused
from featurestore.warehouse import Warehouse
from tests.core.conftest import consume, edit


def applied(project):
    with Warehouse(project) as warehouse:
        registry.apply(project.catalog(), warehouse, who="alice")


def plan_of(project):
    with Warehouse(project) as warehouse:
        return registry.plan(project.catalog(), warehouse)


DTYPE_CHANGE = ("name: txn_count_7d\n    dtype: int64\n    default: 0",
                "name: txn_count_7d\n    dtype: float64\n    default: 0.0")
FEATURE_REMOVED = ("  - name: last_txn_amount\n", "  - name: last_txn_amount_v2\n")
ENTITY_CHANGE = ("entity: user\n", "entity: merchant\n")


@pytest.mark.parametrize(("change", "messages"), [
    (DTYPE_CHANGE, ["feature_defs/user_transactions.yml, feature `txn_count_7d`: dtype "
                    "changed from int64 to float64 without a new version. Add `version: 2`."]),
    (FEATURE_REMOVED, ["feature_defs/user_transactions.yml, feature `last_txn_amount`: "
                       "removed without a new version. Add `version: 2`."]),
    (ENTITY_CHANGE, ["feature_defs/user_transactions.yml, field `entity`: entity changed "
                     "from user to merchant without a new version. Add `version: 2`."]),
], ids=["dtype", "removed-feature", "entity"])
def test_breaking_changes_are_refused_without_a_new_version(project, change, messages):
    applied(project)
    consume(project, "user_transactions")
    if change is ENTITY_CHANGE:  # the demo's on-demand view reads user_transactions as a
        # user view: it would be refused first (tests/core/test_on_demand_contract.py)
        (project.feature_defs / "txn_context.yml").unlink()
    edit(project, "user_transactions.yml", *change)
    assert plan_of(project).refused == messages
    with Warehouse(project) as warehouse, pytest.raises(PlanRefused) as error:
        registry.apply(project.catalog(), warehouse)
    assert str(error.value) == "\n".join(messages)
    with Warehouse(project) as warehouse:  # nothing recorded
        assert [row[1] for row in registry.history(warehouse, "user_transactions")] == ["create"]


def test_a_new_version_allows_the_breaking_change_and_is_recorded(project):
    applied(project)
    consume(project, "user_transactions")
    edit(project, "user_transactions.yml", *DTYPE_CHANGE)
    edit(project, "user_transactions.yml", "version: 1", "version: 2")
    result = plan_of(project)
    assert result.refused == []
    bump = next(c for c in result.changes if c.view == "user_transactions")
    assert (bump.action, bump.previous_version, bump.version) == ("bump", 1, 2)
    assert bump.details[0] == ("feature `txn_count_7d`: dtype changed from int64 to float64 "
                               "(breaking; allowed by v2)")
    applied(project)
    with Warehouse(project) as warehouse:
        rows = registry.history(warehouse, "user_transactions")
    assert [(r[0], r[1], r[3]) for r in rows] == [(1, "create", "alice"), (2, "bump", "alice")]


def test_compatible_changes_are_listed_and_applied(project):
    applied(project)
    edit(project, "merchant_risk.yml", "ttl: 30d", "ttl: 14d")
    edit(project, "merchant_risk.yml", "features:\n", "features:\n  - name: refund_count_7d\n"
         "    dtype: int64\n    sensitivity: internal\n    description: Refunds in 7 days.\n")
    change = next(c for c in plan_of(project).changes if c.view == "merchant_risk")
    assert change.action == "update"
    assert change.details == ["feature `refund_count_7d`: added (int64)", "ttl: '30d' -> '14d'"]
    applied(project)
    assert all(c.action == "unchanged" for c in plan_of(project).changes)


def test_version_going_down_is_refused(project):
    edit(project, "merchant_risk.yml", "version: 1", "version: 3")
    applied(project)
    edit(project, "merchant_risk.yml", "version: 3", "version: 2")
    assert plan_of(project).refused == [
        "feature_defs/merchant_risk.yml, field `version`: version went from 3 to 2; versions "
        "only go up. Set `version: 4` for a new version."]


def test_removed_view_is_planned_as_removal(project):
    applied(project)
    (project.feature_defs / "device_seen_before.yml").unlink()
    change = next(c for c in plan_of(project).changes if c.view == "device_seen_before")
    assert (change.action, change.breaking) == ("remove", [])
    applied(project)
    with Warehouse(project) as warehouse:
        assert "device_seen_before" not in registry.applied_contracts(warehouse)


def test_plan_command_exits_non_zero_on_refusal(project):
    runner = CliRunner()
    first = runner.invoke(cli, ["--project-dir", str(project.root), "apply"])
    assert first.exit_code == 0, first.output
    assert "+ user_transactions v1 (create)" in first.output
    consume(project, "user_transactions", "sync_state")
    edit(project, "user_transactions.yml", *FEATURE_REMOVED)
    result = runner.invoke(cli, ["--project-dir", str(project.root), "plan"])
    assert result.exit_code == 2
    assert ("    REFUSED: feature_defs/user_transactions.yml, feature `last_txn_amount`: "
            "removed without a new version. Add `version: 2`.") in result.output
    assert "Error: plan refused: 1 breaking change(s) without a new version." in result.output


def test_a_breaking_change_to_a_view_nothing_consumed_is_made_in_place(project):
    applied(project)
    edit(project, "user_transactions.yml", *FEATURE_REMOVED)
    edit(project, "user_transactions.yml", *DTYPE_CHANGE)
    result = plan_of(project)
    assert result.refused == []
    change = next(c for c in result.changes if c.view == "user_transactions")
    assert (change.action, change.version) == ("in-place", 1)
    assert change.details == [
        "feature `txn_count_7d`: dtype changed from int64 to float64",
        "feature `last_txn_amount`: removed",
        "feature `last_txn_amount_v2`: added (float64)"]
    rendered = result.render()
    assert "~ user_transactions v1 (not yet published, changed in place)\n" in rendered
    assert "REFUSED" not in rendered
    applied(project)
    with Warehouse(project) as warehouse:
        rows = registry.history(warehouse, "user_transactions")
    assert [(r[0], r[1]) for r in rows] == [(1, "create"), (1, "in-place")]
    assert all(c.action == "unchanged" for c in plan_of(project).changes)


@pytest.mark.parametrize("how", ["sync_state", "training_sets", "feature_versions"])
def test_any_consumer_of_any_version_makes_the_view_published(project, how):
    applied(project)
    consume(project, "merchant_risk", how)
    with Warehouse(project) as warehouse:
        assert registry.consumed_views(warehouse) == {"merchant_risk": {
            "sync_state": "synced", "training_sets": "read by a training set",
            "feature_versions": "backfilled or promoted"}[how]}
    edit(project, "merchant_risk.yml", "dtype: float64", "dtype: int64")
    edit(project, "user_transactions.yml", *FEATURE_REMOVED)
    changes = {c.view: c for c in plan_of(project).changes}
    assert changes["merchant_risk"].action == "update"
    assert len(changes["merchant_risk"].breaking) == 1
    assert changes["user_transactions"].action == "in-place"  # still nobody's input


def test_after_the_version_goes_up_the_refusal_is_gone(project):
    runner = CliRunner()
    assert runner.invoke(cli, ["--project-dir", str(project.root), "apply"]).exit_code == 0
    consume(project, "user_transactions")
    edit(project, "user_transactions.yml", *FEATURE_REMOVED)
    refused = runner.invoke(cli, ["--project-dir", str(project.root), "plan"])
    assert refused.exit_code == 2
    assert "removed without a new version. Add `version: 2`." in refused.output
    edit(project, "user_transactions.yml", "version: 1", "version: 2")
    bumped = runner.invoke(cli, ["--project-dir", str(project.root), "plan"])
    assert bumped.exit_code == 0, bumped.output
    assert ("^ user_transactions v1 -> v2 (bump)\n"
            "    feature `last_txn_amount`: removed (breaking; allowed by v2)\n"
            "    feature `last_txn_amount_v2`: added (float64)\n") in bumped.output
    assert "without a new version" not in bumped.output
    assert "REFUSED" not in bumped.output and "Add `version" not in bumped.output
