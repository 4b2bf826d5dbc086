"""`featurestore training-set --service fraud_model` on the demo warehouse: the service's
features in its order, the transformed columns beside them, the parameters frozen in
the registry with their hash in the manifest, each parameter equal to an oracle's over
the written raw columns, and each transformed value equal to the oracle's application."""

from __future__ import annotations

import json

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from featurestore.apps.cli import cli
from featurestore.feature_services.param_registry import parameter_sets
from featurestore.warehouse import Warehouse
from tests.service_oracle import close, oracle_apply, oracle_params

pytestmark = pytest.mark.slow
RAW = ["user_transactions__txn_count_1h", "user_transactions__txn_count_7d",
       "user_transactions__txn_amount_sum_7d", "user_transactions__txn_amount_avg_30d",
       "user_transactions__last_txn_amount", "user_profile__country",
       "user_profile__signup_channel", "user_profile__kyc_level", "user_profile__is_verified",
       "txn_context__amount_over_avg_30d"]


@pytest.fixture
def spine(demo_env, tmp_path):
    """300 transactions' users at their transaction times, and one unknown user."""
    raw = demo_env.raw_file("transactions")
    path = tmp_path / "spine.parquet"
    with duckdb.connect() as con:
        con.execute(f"""copy (
            select transaction_id, user_id, transacted_at as event_ts, amount
            from (select * from read_parquet('{raw}') order by transaction_id limit 300)
            union all select -1, 999999, timestamp '2026-04-20 12:00:00', 12.5
        ) to '{path}'""").fetchall()
    return path


def _run(demo, *args):
    return CliRunner().invoke(cli, ["--project-dir", str(demo.root), "training-set", *args])


def test_service_training_set_freezes_what_it_applies(demo_env, spine, tmp_path):
    out = tmp_path / "train.parquet"
    result = _run(demo_env, "--spine", str(spine), "--service", "fraud_model",
                  "--out", str(out))
    assert result.exit_code == 0, result.output
    with Warehouse(demo_env.project, read_only=True) as warehouse:
        frozen = parameter_sets(warehouse, "fraud_model")[-1]
    assert result.stdout == (
        f"301 rows written to {out} (manifest: {out}.manifest.json)\n"
        f"parameters frozen: fraud_model v1, parameter set {frozen.version} "
        f"(sha256 {frozen.sha256})\n")
    table = pq.read_table(out)
    transformed = [c for t in frozen.document["transformations"] for c in t["columns"]]
    vocabulary = frozen.document["transformations"][5]["params"]["vocabulary"]
    assert table.column_names == [
        "transaction_id", "user_id", "event_ts", "amount", *RAW,
        "user_transactions__feature_ts", "user_profile__feature_ts", *transformed]
    assert transformed == [
        "user_transactions__txn_count_1h__min_max",
        "user_transactions__txn_count_7d__quantile_bins",
        "user_transactions__txn_amount_sum_7d__log1p",
        "user_transactions__txn_amount_avg_30d__zscore",
        "user_transactions__last_txn_amount__clip",
        *(f"user_profile__country__one_hot_{i}" for i in range(len(vocabulary))),
        "user_profile__country__one_hot_oov", "user_profile__country__one_hot_null",
        "user_profile__signup_channel__index", "txn_context__amount_over_avg_30d__log1p"]
    assert 1 <= len(vocabulary) <= 5

    manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text())
    assert manifest["service"] == {
        "name": "fraud_model", "version": 1, "service_hash": frozen.service_hash,
        "parameters_version": frozen.version, "parameters_sha256": frozen.sha256,
        "features": RAW, "transformed_columns": transformed}
    assert frozen.training_set == str(out)
    assert frozen.document["training_set"] == {
        "spine_sha256": manifest["spine"]["sha256"],
        "join_sql_sha256": manifest["join_sql_sha256"], "rows": 301}
    assert [(f["name"], f["version"]) for f in frozen.document["features"]] == [
        (c.replace("__", ":"), 1) for c in RAW]
    # the on-demand feature's inputs were read at these versions: the lookup reads them
    assert frozen.document["reads"] == {"user_transactions": 1, "user_profile": 1}
    assert [f.get("on_demand", False) for f in frozen.document["features"]] == \
        [False] * 9 + [True]

    rows = table.to_pylist()
    for entry in frozen.document["transformations"]:
        column = entry["feature"].replace(":", "__")
        raw = [row[column] for row in rows]
        expected = oracle_params(entry["kind"], entry["dtype"], raw, entry["options"])
        for name, want in expected.items():
            got = entry["params"][name]
            assert close(got, want) if name in ("mean", "std") else got == want, \
                (entry["kind"], name, got, want)
        for row in rows:
            applied = [row[c] for c in entry["columns"]]
            assert applied == oracle_apply(entry["kind"], entry["dtype"], entry["params"],
                                           row[column]), (entry["kind"], row)
    unknown = next(row for row in rows if row["user_id"] == 999999)
    assert unknown["user_profile__country__one_hot_null"] == 1
    assert unknown["user_profile__signup_channel__index"] == len(
        frozen.document["transformations"][6]["params"]["vocabulary"]) + 1


def test_each_build_is_a_new_parameter_set(demo_env, spine, tmp_path):
    from featurestore import FeatureStore

    fs = FeatureStore(demo_env.root)
    with Warehouse(demo_env.project, read_only=True) as warehouse:
        before = len(parameter_sets(warehouse, "fraud_model"))
    table = fs.training_set(str(spine), service="fraud_model")
    assert table.column_names[4:14] == RAW
    with Warehouse(demo_env.project, read_only=True) as warehouse:
        sets = parameter_sets(warehouse, "fraud_model")
    assert len(sets) == before + 1
    assert sets[-1].version == before + 1 and sets[-1].training_set is None


def test_one_of_features_or_service(demo_env, spine, tmp_path):
    result = _run(demo_env, "--spine", str(spine), "--out", str(tmp_path / "x.parquet"))
    assert result.exit_code == 1  # a usage error (the CLI's exit codes)
    assert ("name the features with --features VIEW[:FEATURE],... or a feature service with "
            "--service NAME (one of the two)") in result.stderr
    result = _run(demo_env, "--spine", str(spine), "--service", "fraud", "--out",
                  str(tmp_path / "x.parquet"))
    assert result.exit_code == 1
    assert result.stderr.endswith("unknown feature service `fraud` (did you mean "
                                  "`fraud_model`?); known services: fraud_model\n")
    assert not (tmp_path / "x.parquet").exists()
