"""The dbt tests `featurestore generate` writes from a contract ask what the point-in-time
joins rely on, and no more: a view with corrections (several rows of one key and
feature_ts, landed at different times) or an unknown load time passes its own build;
an exact repeat, or two rows of one key and time in a view without a load time, fails."""

from __future__ import annotations

import json

import pytest
import yaml

from featurestore.generate import contracts_schema
from tests.consumer.conftest import FOREIGN_ENV, copy_consumer_project, featurestore

CONTRACT = """\
name: {view}
version: 1
entity: customer
source: fs_customer__{view}
timestamp: feature_ts
{created}owner: growth
description: Rows written by hand for the generated tests.
features:
  - {{name: spend, dtype: int64, sensitivity: internal, description: A number.}}
"""
ROWS = {  # (customer_id, feature_ts, loaded_at, spend)
    # a correction of customer 1's value landed two days later, and customer 2's row
    # whose load time is unknown: the joins take the correction, and the row for 2
    "corrections": [(1, "'2026-01-01'", "'2026-01-01 00:05'", 10),
                    (1, "'2026-01-01'", "'2026-01-03'", 12),
                    (2, "'2026-01-01'", "null", 7)],
    # the same row twice: no rule picks one
    "repeats": [(1, "'2026-01-01'", "'2026-01-01 00:05'", 10),
                (1, "'2026-01-01'", "'2026-01-01 00:05'", 10)],
    # no load time in the contract: two values at one time for one key
    "plain": [(1, "'2026-01-01'", None, 10), (1, "'2026-01-01'", None, 11)],
}


def _model(view: str) -> str:
    rows = []
    for key, ts, loaded, spend in ROWS[view]:
        loaded_sql = "" if loaded is None else f", cast({loaded} as timestamp) as loaded_at"
        rows.append(f"select cast({key} as bigint) as customer_id, cast({ts} as timestamp) "
                    f"as feature_ts{loaded_sql}, cast({spend} as bigint) as spend")
    return "\nunion all\n".join(rows) + "\n"


def _schema_of(root, view: str) -> dict:
    from featurestore.contracts import load_catalog

    document = yaml.safe_load(contracts_schema(load_catalog(root / "feature_defs")))
    return next(m for m in document["models"] if m["name"] == f"fs_customer__{view}")


@pytest.mark.slow
def test_generated_tests_follow_the_join_rules_in_a_real_build(tmp_path, monkeypatch):
    for name in FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)
    root = copy_consumer_project(tmp_path / "shop")
    for view in ROWS:
        created = "" if view == "plain" else "created_timestamp: loaded_at\n"
        (root / "feature_defs" / f"{view}.yml").write_text(
            CONTRACT.format(view=view, created=created))
        (root / "models/features/customer" / f"fs_customer__{view}.sql").write_text(
            _model(view))

    corrections = _schema_of(root, "corrections")
    assert corrections["data_tests"] == [{"featurestore.unique_combination_of_columns": {
        "arguments": {"combination_of_columns": ["customer_id", "feature_ts", "loaded_at"]}}}]
    loaded_at = next(c for c in corrections["columns"] if c["name"] == "loaded_at")
    assert "data_tests" not in loaded_at  # an unknown load time is allowed
    assert _schema_of(root, "plain")["data_tests"][0][
        "featurestore.unique_combination_of_columns"]["arguments"] == {
        "combination_of_columns": ["customer_id", "feature_ts"]}

    build = featurestore(root, "build")
    assert build.exit_code == 2, build.stdout + build.stderr
    results = json.loads((root / "target/run_results.json").read_text())["results"]
    failed = sorted(r["unique_id"].split(".")[2] for r in results
                    if r["status"] not in ("success", "pass"))
    assert [name.split("_fs_customer__")[1].split("_")[0] for name in failed] == [
        "plain", "repeats"], failed
    assert all(name.startswith("featurestore_unique_combination_of_columns_") for name in failed)
    passed = [r["unique_id"] for r in results if "fs_customer__corrections" in r["unique_id"]
              and r["status"] in ("success", "pass")]
    assert len(passed) == 4  # the model, and its tests: not_null x2, unique per load time


@pytest.mark.parametrize(("created", "grain"), [
    ("created_timestamp: loaded_at\n", ["customer_id", "feature_ts", "loaded_at"]),
    ("", ["customer_id", "feature_ts"]),
])
def test_the_grain_test_names_the_load_time_only_when_the_contract_has_one(
        tmp_path, created, grain):
    root = copy_consumer_project(tmp_path / "shop")
    (root / "feature_defs" / "corrections.yml").write_text(
        CONTRACT.format(view="corrections", created=created))
    model = _schema_of(root, "corrections")
    assert model["data_tests"][0]["featurestore.unique_combination_of_columns"][
        "arguments"]["combination_of_columns"] == grain
    assert [c["name"] for c in model["columns"] if "data_tests" in c] == [
        "customer_id", "feature_ts"]
