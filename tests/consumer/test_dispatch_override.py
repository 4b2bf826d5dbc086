"""A team overrides ONE of featurestore's helpers in its own project, as dbt-utils' users
do (`dispatch` in dbt_project.yml), and its models change with it.

Every warehouse difference of the macros, helpers included, goes through
`adapter.dispatch(..., 'featurestore')`. The shop here counts a TTL as exclusive (a
value exactly `ttl` old is expired) by overriding `default__featurestore_add_seconds`
alone: dbt searches the shop first (`search_order: [shop, featurestore]`), finds it
before featurestore's own `default__`, and the as-of join of the training set, which
reaches the helper three macros down, takes it.
"""

from __future__ import annotations

import datetime as dt

import pytest

from .conftest import clear_foreign_env, copy_consumer_project, featurestore, query

pytestmark = pytest.mark.slow

T = dt.datetime.fromisoformat
DISPATCH = """
dispatch:
  - macro_namespace: featurestore
    search_order: [shop, featurestore]
"""
OVERRIDE = """\
{#- The shop's TTL is exclusive: a value is expired once it is `seconds` old. -#}
{%- macro default__featurestore_add_seconds(ts, seconds) -%}
({{ ts }} + interval '{{ seconds }} seconds' - interval '1 microsecond') /* shop ttl */
{%- endmacro -%}
"""


@pytest.fixture(scope="module")
def overridden_shop(tmp_path_factory):
    root = copy_consumer_project(tmp_path_factory.mktemp("override") / "shop")
    with (root / "dbt_project.yml").open("a") as project:
        project.write(DISPATCH)
    (root / "macros" / "featurestore_overrides.sql").write_text(OVERRIDE)
    with pytest.MonkeyPatch.context() as patch:
        clear_foreign_env(patch)
        build = featurestore(root, "build")
    assert build.exit_code == 0, f"{build.stdout}\n{build.stderr}"
    return root


def test_one_overridden_helper_changes_the_compiled_join(overridden_shop):
    compiled = (overridden_shop / "target" / "compiled" / "shop" / "models" / "training"
                / "churn_training_set.sql").read_text()
    assert compiled.count("/* shop ttl */") == 4  # 3 features and feature_ts, one view
    assert "interval '2592000 seconds' - interval '1 microsecond')" in compiled
    assert "interval '2592000 seconds')\n" not in compiled


def test_one_overridden_helper_changes_the_training_rows(overridden_shop):
    # featurestore's TTL is inclusive: customer 2's value still holds exactly 30 days
    # after its last row (tests/consumer/test_consumer_project.py); the shop's is not.
    rows = query(overridden_shop / "acme.duckdb",
                 "select event_ts, customer_orders__last_order_amount, "
                 "customer_orders__feature_ts from main.churn_training_set "
                 "where customer_id = 2 order by event_ts")
    assert rows == [
        (T("2026-01-31 08:00"), 100.0, T("2026-01-09 08:00")),
        (T("2026-03-03 08:00"), None, None),
        (T("2026-03-03 08:00:01"), None, None),
    ]
