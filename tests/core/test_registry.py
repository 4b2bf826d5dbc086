"""plan/apply against the registry in the warehouse: breaking changes need a new version."""

import pytest
from click.testing import CliRunner

from featurestore import registry
from featurestore.cli import cli
from featurestore.errors import PlanRefused
from featurestore.warehouse import Warehouse
from tests.core.conftest import edit


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
    edit(project, "user_transactions.yml", *change)
    assert plan_of(project).refused == messages
    with Warehouse(project) as warehouse, pytest.raises(PlanRefused) as error:
        registry.apply(project.catalog(), warehouse)
    assert str(error.value) == "\n".join(messages)
    with Warehouse(project) as warehouse:  # nothing recorded
        assert [row[1] for row in registry.history(warehouse, "user_transactions")] == ["create"]


def test_a_new_version_allows_the_breaking_change_and_is_recorded(project):
    applied(project)
    edit(project, "user_transactions.yml", *DTYPE_CHANGE)
    edit(project, "user_transactions.yml", "version: 1", "version: 2")
    result = plan_of(project)
    assert result.refused == []
    bump = next(c for c in result.changes if c.view == "user_transactions")
    assert (bump.action, bump.previous_version, bump.version) == ("bump", 1, 2)
    assert "breaking: dtype changed from int64 to float64 without a new version. Add " \
           "`version: 2`." in bump.details
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
    edit(project, "user_transactions.yml", *FEATURE_REMOVED)
    result = runner.invoke(cli, ["--project-dir", str(project.root), "plan"])
    assert result.exit_code == 2
    assert ("    REFUSED: feature_defs/user_transactions.yml, feature `last_txn_amount`: "
            "removed without a new version. Add `version: 2`.") in result.output
    assert "Error: plan refused: 1 breaking change(s) without a new version." in result.output
