"""The `no_future_leakage` generic test: it fails on a leaky training model, passes on
the as_of_join models, and refuses a model with no `<view>__feature_ts` column."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def _results(build, name):
    """Status and failing rows of the test ``featurestore_no_future_leakage_<name>``."""
    name = f"featurestore_no_future_leakage_{name}"
    return [(str(r.status), r.failures) for r in build.by_name(name)]


def test_no_future_leakage_fails_on_a_join_that_takes_the_latest_value(pit_build):
    # Spine rows 1, 2, 3 and 11 of user 1 precede the 2024-01-05 value the join takes.
    assert _results(pit_build, "pit_leaky_training_") == [("fail", 4)]


def test_no_future_leakage_passes_on_as_of_join_models(pit_build):
    assert _results(pit_build, "pit_as_of_join_") == [("pass", 0)]
    assert _results(pit_build, "pit_as_of_join_known_event_ts") == [("pass", 0)]


def test_no_future_leakage_refuses_a_model_without_feature_ts_columns(pit_build):
    [result] = pit_build.by_name("featurestore_no_future_leakage_pit_no_feature_ts_")
    assert str(result.status) == "error"
    assert (
        'no_future_leakage on "pit"."main"."pit_no_feature_ts": no `<view>__feature_ts` '
        "column found; apply this test to a training model built with as_of_join."
    ) in result.message


def test_leaky_rows_are_the_ones_with_future_values(pit_build):
    rows = pit_build.query(
        "select spine_id from main.pit_leaky_training "
        "where pit_user_txn__feature_ts > event_ts order by spine_id")
    assert rows == [(1,), (2,), (3,), (11,)]
