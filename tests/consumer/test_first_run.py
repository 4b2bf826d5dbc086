"""A team's project from its first minutes, through the CLI: every command that parses the
dbt project runs `dbt deps` when the packages are missing or older than packages.yml;
a build before the first ingest names the raw table, its landing folder and the
command; a feature model whose columns change is rebuilt while nothing consumed its
view, and named with the exact command once something has."""

from __future__ import annotations

import os
import time

import pytest

from featurestore.dbt_runner import packages_to_install
from featurestore.project import Project
from tests.consumer.conftest import DUCKDB_FILE, FOREIGN_ENV, copy_consumer_project, featurestore
from tests.core.conftest import consume

pytestmark = pytest.mark.slow

SOURCES = """\
version: 2
sources:
  - name: shop
    schema: raw
    meta: {featurestore: {landing: landing}}
    tables:
      - name: returns                      # files in landing/returns/
        config: {loaded_at_field: loaded_at}
        columns:
          - {name: order_id, data_type: bigint}
          - {name: returned_at, data_type: timestamp}
          - {name: loaded_at, data_type: timestamp}
"""
RETURNS = "order_id,returned_at,loaded_at\n1,2026-01-05 09:00:00,2026-01-05 09:10:00\n"


@pytest.fixture
def clean_env(monkeypatch):
    for name in FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)


def _shop_with_landed_returns(root):
    """The consumer project with a raw table that `featurestore ingest` fills."""
    copy_consumer_project(root)
    (root / "models/staging/_shop__sources.yml").write_text(SOURCES)
    (root / "models/staging/stg_shop__returns.sql").write_text(
        "select order_id, returned_at, loaded_at from {{ source('shop', 'returns') }}\n")
    (root / "landing/returns").mkdir(parents=True)
    (root / "landing/returns/2026-01-05.csv").write_text(RETURNS)
    return root


def test_a_build_before_the_first_ingest_names_the_table_its_folder_and_the_command(
        tmp_path, clean_env):
    root = _shop_with_landed_returns(tmp_path / "shop")
    first = featurestore(root, "build")
    assert first.exit_code == 1, first.stdout + first.stderr
    assert "running `dbt deps`" in first.stderr  # no dbt_packages/ yet: installed first
    assert first.stderr.endswith(
        "Error: 1 raw table(s) that `featurestore ingest` loads do not exist yet:\n"
        f'  source `shop.returns` ("acme"."raw"."returns"): its files land in '
        f"{root}/landing/returns/\n"
        "Run `featurestore ingest`, then `featurestore build` again.\n")
    ingest = featurestore(root, "ingest")
    assert ingest.exit_code == 0, ingest.stdout + ingest.stderr
    build = featurestore(root, "build")
    assert build.exit_code == 0, build.stdout + build.stderr


def test_ingest_in_a_fresh_clone_installs_the_packages_itself(tmp_path, clean_env):
    root = _shop_with_landed_returns(tmp_path / "shop")
    ingest = featurestore(root, "ingest")
    assert ingest.exit_code == 0, ingest.stdout + ingest.stderr
    assert ("packages.yml lists 1 dbt package(s) and dbt_packages/ holds 0: running "
            "`dbt deps`") in ingest.stderr
    assert (root / "dbt_packages/featurestore").exists()
    assert packages_to_install(Project(root)) is None


def test_a_packages_file_changed_after_deps_ran_needs_deps_again(tmp_path, clean_env):
    root = copy_consumer_project(tmp_path / "shop")
    (root / "dbt_packages/featurestore").mkdir(parents=True)
    project = Project(root)
    assert packages_to_install(project) is None
    later = time.time_ns() + 10**9
    os.utime(root / "packages.yml", ns=(later, later))
    assert packages_to_install(project) == (
        "packages.yml changed since `dbt deps` filled dbt_packages/: running `dbt deps`")


ADDED = {  # a feature added to the contract and its model
    "order_count_30d": ("{'name': 'order_count_30d', 'agg': 'count', 'expr': 'order_id', "
                        "'window': '30d'},"),
    "order_amount_sum_7d": ("{'name': 'order_amount_sum_7d', 'agg': 'sum', 'expr': 'amount', "
                            "'window': '7d'},"),
}


def _add_feature(root, name: str) -> None:
    dtype, cast = ("int64", "bigint") if "count" in name else ("float64", "double")
    contract = root / "feature_defs/customer_orders.yml"
    contract.write_text(contract.read_text() + (
        f"  - name: {name}\n    dtype: {dtype}\n    default: 0\n    sensitivity: internal\n"
        f"    description: Added after the first build.\n"))
    model = root / "models/features/customer/fs_customer__orders.sql"
    text = model.read_text()
    text = text.replace("        aggregates=[\n",
                        f"        aggregates=[\n            {ADDED[name]}\n")
    text = text.replace("        cast(last_order_amount as double) as last_order_amount",
                        "        cast(last_order_amount as double) as last_order_amount,\n"
                        f"        cast({name} as {cast}) as {name}")
    model.write_text(text)


def _columns(root) -> list[str]:
    import duckdb

    with duckdb.connect(str(root / DUCKDB_FILE), read_only=True) as con:
        return [r[0] for r in con.execute("describe fs_customer__orders").fetchall()]


def test_a_changed_incremental_feature_model_is_rebuilt_until_its_view_is_consumed(
        tmp_path, clean_env):
    root = copy_consumer_project(tmp_path / "shop")
    project_file = root / "dbt_project.yml"
    project_file.write_text(project_file.read_text().replace(
        "    features:\n      +materialized: table\n",
        "    features:\n      +materialized: incremental\n"
        "      +incremental_strategy: delete+insert\n"
        "      +unique_key: [customer_id, feature_ts]\n      +on_schema_change: fail\n"))
    assert featurestore(root, "build").exit_code == 0

    _add_feature(root, "order_count_30d")
    rebuilt = featurestore(root, "build")
    assert rebuilt.exit_code == 0, rebuilt.stdout + rebuilt.stderr
    assert ("fs_customer__orders: its columns changed, and nothing has consumed view "
            "`customer_orders` yet (no sync, training set or promotion): rebuilding it from "
            "scratch, as `--full-refresh` would\n") in rebuilt.stderr
    assert "order_count_30d" in _columns(root)

    consume(Project(root), "customer_orders")
    _add_feature(root, "order_amount_sum_7d")
    refused = featurestore(root, "build")
    assert refused.exit_code == 1, refused.stdout + refused.stderr
    command = "featurestore build --select fs_customer__orders --full-refresh"
    assert refused.stderr.endswith(
        "Error: model `fs_customer__orders` (view `customer_orders`, read by a training "
        "set): its columns changed since its table was built, and dbt does not change an "
        "incremental model's columns in place (on_schema_change: fail). Rebuild it from its "
        f"whole history: `{command}`.\n")
    assert "order_amount_sum_7d" not in _columns(root)  # left as the consumers read it
    done = featurestore(root, *command.split()[1:])
    assert done.exit_code == 0, done.stdout + done.stderr
    assert "order_amount_sum_7d" in _columns(root)
