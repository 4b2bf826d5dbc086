"""Gate edges: non-finite floats, a row at exactly --as-of, and hostile allowed values."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings

from featurestore.gates.freshness import freshness_metrics
from featurestore.gates.quality import quality_metrics
from tests.gates.test_quality_gates import _row
from tests.hostile_text import CANARY_FILE, kept_text


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nan_and_infinity_fail_quality_before_the_sync_sees_them(gate_project, value):
    gate_project.sql(f"update fs_merchant__risk set chargeback_rate_30d = '{value}'::double "
                     "where merchant_id = 2")
    ((rows,),) = gate_project.sql("select count(*) from fs_merchant__risk where merchant_id = 2")
    result = gate_project.gate("--view", "merchant_risk", "--suite", "quality")
    assert result.exit_code == 2, result.output
    assert _row(result.output, "quality", "merchant_risk", "non_finite(chargeback_rate_30d)") == [
        "quality", "merchant_risk", "non_finite(chargeback_rate_30d)", str(rows),
        "<= 0 (NaN or infinity)", "FAIL"]
    failed = sorted(line.split()[2] for line in result.output.splitlines()
                    if line.endswith("FAIL"))
    # -infinity is also below the contract's min: 0; NaN and +infinity pass every other check
    assert failed == (["min(chargeback_rate_30d)", "non_finite(chargeback_rate_30d)"]
                      if value == "-inf" else ["non_finite(chargeback_rate_30d)"])


def test_finite_floats_pass_with_none_counted(gate_project):
    result = gate_project.gate("--view", "user_transactions", "--suite", "quality")
    assert result.exit_code == 0, result.output
    assert _row(result.output, "quality", "user_transactions", "non_finite(last_txn_amount)") == [
        "quality", "user_transactions", "non_finite(last_txn_amount)", "0",
        "<= 0 (NaN or infinity)", "pass"]


def test_a_row_at_exactly_as_of_is_fresh(gate_project):
    """Rows at --as-of count (`<=`): with the rows of the two hours before the newest one
    gone, the newest is fresh at its own instant and missing a microsecond earlier."""
    ((newest,),) = gate_project.sql("select max(feature_ts) from fs_user__transactions")
    gate_project.sql(f"delete from fs_user__transactions where feature_ts < timestamp "
                     f"'{newest}' and feature_ts > timestamp '{newest}' - interval '2 hours'")
    view = gate_project.project.catalog().view("user_transactions")
    with gate_project.warehouse() as warehouse:
        assert freshness_metrics(warehouse, view, newest) == {"freshness_lag_seconds": 0.0}
    result = gate_project.gate("--view", "user_transactions", "--suite", "freshness",
                               "--as-of", newest.isoformat())
    assert result.exit_code == 0, result.output
    assert _row(result.output, "freshness", "user_transactions", "freshness_lag_seconds") == [
        "freshness", "user_transactions", "freshness_lag_seconds", "0",
        "<= 3600 s (freshness_slo)", "pass"]
    earlier = newest - dt.timedelta(microseconds=1)
    result = gate_project.gate("--view", "user_transactions", "--suite", "freshness",
                               "--as-of", earlier.isoformat())
    assert result.exit_code == 2, result.output


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(allowed=kept_text)
def test_hostile_allowed_values_are_compared_as_text_in_the_quality_sql(gate_project, allowed):
    """An allowed value reaches the gate's SQL as a literal of the warehouse: rows holding
    exactly it are allowed, rows holding it plus one letter are not, nothing else runs."""
    catalog = gate_project.project.catalog()
    view = catalog.view("user_profile")
    channel = view.feature("signup_channel")
    hostile = dataclasses.replace(channel, allowed_values=(*channel.allowed_values, allowed))
    view = dataclasses.replace(view, features=tuple(
        hostile if f.name == "signup_channel" else f for f in view.features))
    with gate_project.warehouse() as warehouse:
        warehouse.execute("update fs_user__profile set signup_channel = ? where user_id = 1",
                          [allowed])
        warehouse.execute("update fs_user__profile set signup_channel = ? where user_id = 2",
                          [allowed + "x"])
        values = quality_metrics(warehouse, view)["values(signup_channel)"]
    assert not CANARY_FILE.exists()
    assert values[0] == allowed + "x"  # the one value outside the list comes first
    assert allowed in values[1:]
