"""Parity against a real DynamoDB Local, and skew against a training set and serving log."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest

from tests.gates.conftest import AS_OF, END


def _publish(gate_project, client, table, view_name):
    """Write the latest row per entity as the sync would: encode_item, one put each.

    The tables are rebuilt to end now: items carry expires_at (feature_ts + ttl), and
    DynamoDB Local's TTL sweeper deletes items that expired in the past.
    """
    from bench.feature_tables import create_feature_tables
    from featurestore.online.items import encode_item

    view = gate_project.project.catalog().view(view_name)
    with gate_project.warehouse() as warehouse:
        create_feature_tables(warehouse.connection, dt.datetime.now(dt.UTC).replace(tzinfo=None))
        rows = warehouse.fetch_arrow(
            f"select * from main.{view.source} qualify row_number() over (partition by "
            f"{', '.join(view.keys)} order by {view.timestamp} desc) = 1").to_pylist()
    for row in rows:
        client.put_item(TableName=table, Item=encode_item(view, row, 1))
    return view, rows


@pytest.mark.slow
def test_parity_passes_when_items_match_and_names_a_wrong_item(gate_project, dynamodb_table,
                                                               dynamodb_local, monkeypatch):
    from featurestore.online.items import encode_item

    client, table = dynamodb_table
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", dynamodb_local)
    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", table)
    view, rows = _publish(gate_project, client, table, "merchant_risk")

    result = gate_project.gate("--view", "merchant_risk", "--suite", "parity")
    assert result.exit_code == 0, result.output
    assert "parity/merchant_risk: 50 entities compared" in result.output

    # A wrong value and a missing item, written straight into DynamoDB Local.
    wrong = dict(next(r for r in rows if r["merchant_id"] == 7), txn_count_7d=999_999)
    client.put_item(TableName=table, Item=encode_item(view, wrong, 2))
    client.delete_item(TableName=table, Key={"pk": {"S": "merchant#9"},
                                             "sk": {"S": "merchant_risk#v1"}})
    result = gate_project.gate("--view", "merchant_risk", "--suite", "parity",
                               "--parity-sample", "50")
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert "parity/merchant_risk: merchant#9: no DynamoDB item (merchant_risk#v1)" in lines
    original = next(r for r in rows if r["merchant_id"] == 7)["txn_count_7d"]
    assert (f"parity/merchant_risk: merchant#7 txn_count_7d: warehouse {original}, "
            "DynamoDB 999999") in lines
    assert [line.split() for line in lines if line.startswith("parity ")] == [
        ["parity", "merchant_risk", "missing_items", "1", "<=", "0", "FAIL"],
        ["parity", "merchant_risk", "mismatched_values", "1", "<=", "0", "FAIL"],
    ]


@pytest.mark.slow
def test_parity_sample_limits_the_entities_compared(gate_project, dynamodb_table,
                                                    dynamodb_local, monkeypatch):
    client, table = dynamodb_table
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", dynamodb_local)
    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", table)
    _publish(gate_project, client, table, "device_seen_before")
    result = gate_project.gate("--view", "device_seen_before", "--suite", "parity",
                               "--parity-sample", "150")
    assert result.exit_code == 0, result.output
    assert "parity/device_seen_before: 150 entities compared" in result.output


def test_psi_is_zero_for_the_same_distribution_and_grows_with_shift():
    from featurestore.gates.skew import population_stability_index

    values = [float(i % 100) for i in range(1000)]
    assert population_stability_index(values, values, numeric=True) == 0.0
    shifted = [v + 30 for v in values]
    # decile bins of 100 values each; shifted: 0, 0, 0, then six of 100 and one of 400.
    # Laplace-smoothed shares (count + 1) / (1000 + 10): expected 101/1010 = 1/10 each;
    # served 1/1010 three times, 1/10 six times, 401/1010 once:
    # 3 (1/1010 - 1/10) ln(1/101) + (300/1010) ln(401/101) = (30/101) ln 401
    assert population_stability_index(values, shifted, numeric=True) == pytest.approx(
        30 / 101 * math.log(401), abs=1e-12)  # 1.78038; 2.4861 with the 1e-4 floor
    # a: 50/50 -> 51/102 each; served 90/10 -> 91/102, 11/102: (20/51) ln(91/11)
    assert population_stability_index(["a", "b"] * 50, ["a"] * 90 + ["b"] * 10,
                                      numeric=False) == pytest.approx(
        20 / 51 * math.log(91 / 11), abs=1e-12)  # 0.82861


def test_psi_of_an_empty_bin_is_finite():
    from featurestore.gates.skew import population_stability_index

    # b never served: expected (2+1)/6, (2+1)/6; served (4+1)/6, (0+1)/6
    # (5/6 - 1/2) ln(5/3) + (1/6 - 1/2) ln(1/3) = (1/3) ln 5
    assert population_stability_index(["a", "b", "a", "b"], ["a"] * 4, numeric=False) == \
        pytest.approx(math.log(5) / 3, abs=1e-12)  # 0.53648
    # the README's six serving lines, every one in the lowest decile of 0..99: expected
    # 11/110 per bin; served 7/16 once and 1/16 nine times: (27/80) ln 7 (7.1 before)
    training = [float(v) for v in range(100)]
    assert population_stability_index(training, [0.0] * 6, numeric=True) == pytest.approx(
        27 / 80 * math.log(7), abs=1e-12)  # 0.65674
    # identical proportions at other sizes: a bin neither side reached is left out
    assert population_stability_index([1, 2] * 500, [1, 2] * 3, numeric=True) == 0.0


def _training_set(path, values):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"user_profile__kyc_level": values,
                             "user_profile__signup_channel": ["web", "ios"] * (len(values) // 2)}),
                   path)
    manifest = {"views": [{"name": "user_profile", "version": 1, "features": [
        {"name": "kyc_level", "column": "user_profile__kyc_level", "dtype": "int64"},
        {"name": "signup_channel", "column": "user_profile__signup_channel",
         "dtype": "string"}]}]}
    path.with_name(path.name + ".manifest.json").write_text(json.dumps(manifest))


def _serving_log(folder, kyc_values, channel="web"):
    folder.mkdir(parents=True, exist_ok=True)
    ts = (END - dt.timedelta(hours=1)).isoformat() + "Z"
    old = (END - dt.timedelta(days=30)).isoformat() + "Z"
    with (folder / "2026-05-01.jsonl").open("w") as out:
        for index, value in enumerate(kyc_values):
            features = {"user_profile:kyc_level": {"value": value, "feature_ts": ts,
                                                   "status": "PRESENT"},
                        "user_profile:signup_channel": {
                            "value": channel if index % 2 else "ios", "feature_ts": ts,
                            "status": "PRESENT"}}
            out.write(json.dumps({"ts": ts, "request_id": f"r{index}", "model": None,
                                  "entity": "user", "key": {"user_id": index},
                                  "features": features}) + "\n")
        # outside the 7 d window: never counted, however skewed
        out.write(json.dumps({"ts": old, "request_id": "old", "model": None, "entity": "user",
                              "key": {"user_id": 1}, "features": {
                                  "user_profile:kyc_level": {"value": None, "feature_ts": None,
                                                             "status": "MISSING"}}}) + "\n")


def test_skew_passes_on_a_matching_serving_log(gate_project, tmp_path):
    training = tmp_path / "train.parquet"
    _training_set(training, [i % 4 for i in range(4000)])
    _serving_log(tmp_path / "log", [i % 4 for i in range(1200)])  # over skew.min_sample
    result = gate_project.gate("--suite", "skew", "--view", "user_profile", "--training-set",
                               str(training), "--serving-log", str(tmp_path / "log"),
                               "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert [line.split() for line in result.output.splitlines()
            if line.startswith("skew ")] == [
        ["skew", "user_profile", "psi(signup_channel)", "0", "<=", "0.2", "(max_psi)", "pass"],
        ["skew", "user_profile", "null_rate_diff(signup_channel)", "0", "<=", "0.05",
         "(max_null_rate_diff)", "pass"],
        ["skew", "user_profile", "psi(kyc_level)", "0", "<=", "0.2", "(max_psi)", "pass"],
        ["skew", "user_profile", "null_rate_diff(kyc_level)", "0", "<=", "0.05",
         "(max_null_rate_diff)", "pass"],
    ]
    assert "skew: 1200 serving log lines from" in result.output


def test_skewed_serving_log_fails_skew(gate_project, tmp_path):
    training = tmp_path / "train.parquet"
    _training_set(training, [i % 4 for i in range(4000)])
    # served: kyc_level stuck at 3 for most users, and 10 % nulls
    _serving_log(tmp_path / "log", [3] * 800 + [0] * 100 + [None] * 100)
    result = gate_project.gate("--suite", "skew", "--view", "user_profile", "--training-set",
                               str(training), "--serving-log", str(tmp_path / "log"),
                               "--as-of", AS_OF)
    assert result.exit_code == 2
    rows = {line.split()[2]: line.split() for line in result.output.splitlines()
            if line.startswith("skew ")}
    # decile edges of 0,1,2,3 (25 % each) are 0, 1, 1.5, 2, 3: the bins reached hold
    # 1000 each, smoothed 1001/4004 = 1/4; served 100 zeros, no 1 or 2, 800 threes of 900:
    # smoothed 101/904, 1/904, 1/904, 801/904:
    # (101/904-1/4)ln(101/226) + 2(1/904-1/4)ln(1/226) + (801/904-1/4)ln(801/226) = 3.61447
    # (4.83352 with the 1e-4 floor of an empty share)
    assert rows["psi(kyc_level)"][3] == "3.61447"
    assert rows["psi(kyc_level)"][-1] == "FAIL"
    assert rows["null_rate_diff(kyc_level)"][3:] == ["0.1", "<=", "0.05",
                                                     "(max_null_rate_diff)", "FAIL"]
    assert rows["psi(signup_channel)"][-1] == "pass"
    assert "skew/user_profile: psi(kyc_level) observed 3.61447, threshold <= 0.2" in (
        result.output)


def test_skew_without_a_manifest_says_how_to_fix_it(gate_project, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    training = tmp_path / "train.parquet"
    pq.write_table(pa.table({"user_profile__kyc_level": [1]}), training)
    result = gate_project.gate("--suite", "skew", "--training-set", str(training))
    assert result.exit_code == 1
    assert (f"Error: {training}.manifest.json: the training set's manifest is missing; the "
            "skew gate needs it to know the views and versions. Rewrite the training set "
            "with `featurestore training-set`.") in result.output
