"""featurestore_star_except: the training set's columns but the on-demand inputs nobody
asked for, per warehouse (rendered outside dbt by featurestore/sql_render.py, as dbt's
dispatch picks them). Spark SQL has no `* except`: the columns are listed."""

import pytest

from featurestore.errors import ProjectError
from featurestore.sql_render import dispatch

SPECS = [{"name": "user_transactions",
          "features": [{"name": "txn_count_7d"}, {"name": "txn_amount_avg_30d"}]},
         {"name": "user_profile", "features": [{"name": "country"}]}]
HIDDEN = ["user_transactions__txn_amount_avg_30d", "user_profile__country",
          "user_profile__feature_ts"]


def star_except(warehouse, hidden, spine_columns):
    return str(dispatch(warehouse, "featurestore_star_except")(
        "fs_joined", hidden, spine_columns, SPECS))


@pytest.mark.parametrize("warehouse", ["duckdb", "snowflake"])
def test_duckdb_and_snowflake_exclude(warehouse):
    assert star_except(warehouse, HIDDEN, None) == (
        "fs_joined.* exclude (user_transactions__txn_amount_avg_30d, user_profile__country, "
        "user_profile__feature_ts)")
    assert star_except(warehouse, [], None) == "fs_joined.*"


def test_spark_lists_the_spines_columns_then_the_views():
    assert star_except("spark", HIDDEN, ["row_id", "Event `Ts", "amount"]) == (
        "fs_joined.`row_id`, fs_joined.`Event ``Ts`, fs_joined.`amount`, "
        "fs_joined.user_transactions__txn_count_7d, fs_joined.user_transactions__feature_ts")
    assert star_except("spark", [], None) == "fs_joined.*"
    with pytest.raises(ProjectError) as error:
        star_except("spark", HIDDEN, None)
    assert str(error.value) == (
        "as_of_join: on-demand inputs nobody asked for are left out of the training set by "
        "listing its columns on this warehouse, which needs a built spine (a ref or source, "
        "not a CTE name); pass one, or ask for the inputs too.")
