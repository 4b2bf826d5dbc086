"""The skew gate below its minimum sample: "insufficient data", recorded and shown, never a
failure (issue 18, item 5). The README's example compared a training set with six
serving-log lines and failed every view with PSI 5 to 8."""

from __future__ import annotations

import json

import pytest

from featurestore.contracts import DEFAULT_SKEW_MIN_SAMPLE, load_catalog
from featurestore.errors import ContractError
from tests.gates.conftest import AS_OF
from tests.gates.test_parity_skew import _serving_log, _training_set

SKEW_ROWS = [
    ["skew", "user_profile", "psi(signup_channel)", "6", "serving", "line(s)", "of", "1,000",
     "needed", "<=", "0.2", "(max_psi)", "insufficient", "data"],
    ["skew", "user_profile", "null_rate_diff(signup_channel)", "6", "serving", "line(s)", "of",
     "1,000", "needed", "<=", "0.05", "(max_null_rate_diff)", "insufficient", "data"],
    ["skew", "user_profile", "psi(kyc_level)", "6", "serving", "line(s)", "of", "1,000",
     "needed", "<=", "0.2", "(max_psi)", "insufficient", "data"],
    ["skew", "user_profile", "null_rate_diff(kyc_level)", "6", "serving", "line(s)", "of",
     "1,000", "needed", "<=", "0.05", "(max_null_rate_diff)", "insufficient", "data"],
]


@pytest.fixture
def six_lines(gate_project, tmp_path):
    """A training set of 4,000 rows and six serving lines, all of them skewed."""
    training = tmp_path / "train.parquet"
    _training_set(training, [i % 4 for i in range(4000)])
    _serving_log(tmp_path / "log", [3] * 6)
    return ["--suite", "skew", "--view", "user_profile", "--training-set", str(training),
            "--serving-log", str(tmp_path / "log"), "--as-of", AS_OF]


def test_six_serving_lines_are_insufficient_data_not_a_failure(gate_project, six_lines):
    result = gate_project.gate(*six_lines)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split() for line in lines if line.startswith("skew ")] == SKEW_ROWS
    assert [line for line in lines if line.startswith("run ")][0].endswith(
        ": 0 passed, 0 failed, 4 insufficient data (not judged) (results in "
        "featurestore.gate_results)")
    # recorded: passed is null, neither true nor false; no observed value to plot
    with gate_project.warehouse() as warehouse:
        rows = warehouse.fetch_all(
            "select expectation, observed, observed_value, passed from "
            f"{warehouse.store_table('gate_results')} order by expectation")
    assert rows == [
        ("null_rate_diff(kyc_level)", "6 serving line(s) of 1,000 needed", None, None),
        ("null_rate_diff(signup_channel)", "6 serving line(s) of 1,000 needed", None, None),
        ("psi(kyc_level)", "6 serving line(s) of 1,000 needed", None, None),
        ("psi(signup_channel)", "6 serving line(s) of 1,000 needed", None, None)]
    history = gate_project.gate("--history", "user_profile")
    assert "6 serving lin... (too few)" in history.output and "FAIL" not in history.output


def test_gate_json_says_passed_null(gate_project, six_lines):
    result = gate_project.gate(*six_lines, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["passed"] is True  # the run did not fail
    assert [(c["expectation"], c["passed"], c["observed_value"]) for c in
            document["checks"]] == [("psi(signup_channel)", None, None),
                                    ("null_rate_diff(signup_channel)", None, None),
                                    ("psi(kyc_level)", None, None),
                                    ("null_rate_diff(kyc_level)", None, None)]
    trend = json.loads(gate_project.gate("--history", "user_profile", "--json").stdout)
    assert {s["expectation"]: list(s["observed"].values())[0]["passed"]
            for s in trend["series"]} == {"psi(signup_channel)": None,
                                          "null_rate_diff(signup_channel)": None,
                                          "psi(kyc_level)": None,
                                          "null_rate_diff(kyc_level)": None}


def _set_min_sample(gate_project, feature: str, text: str) -> None:
    path = gate_project.root / "feature_defs" / "user_profile.yml"
    old = f"  - name: {feature}\n"
    body = path.read_text()
    assert old in body
    path.write_text(body.replace(old, f"{old}    skew: {{min_sample: {text}}}\n", 1))


def test_a_contract_sets_its_own_minimum(gate_project, six_lines):
    _set_min_sample(gate_project, "kyc_level", "5")
    result = gate_project.gate(*six_lines)
    assert result.exit_code == 2  # six lines are enough for kyc_level now, and skewed
    rows = {line.split()[2]: line.split() for line in result.output.splitlines()
            if line.startswith("skew ")}
    # bins reached 1000 each (1/4 smoothed); served 0, 0, 0, 6: 1/10, 1/10, 1/10, 7/10:
    # 3 (1/10 - 1/4) ln(2/5) + (7/10 - 1/4) ln(14/5) = 0.875660
    assert rows["psi(kyc_level)"][3:] == ["0.87566", "<=", "0.2", "(max_psi)", "FAIL"]
    assert rows["psi(signup_channel)"][-2:] == ["insufficient", "data"]


@pytest.mark.parametrize(("text", "problem"), [
    ("0", "expected a number from 1 to 1000000000, got 0"),
    ("2.5", "expected a whole number of values, got 2.5"),
    ("many", "expected a number, got 'many'"),
])
def test_min_sample_is_a_whole_number(gate_project, text, problem):
    _set_min_sample(gate_project, "kyc_level", text)
    with pytest.raises(ContractError) as raised:
        load_catalog(gate_project.root / "feature_defs")
    assert raised.value.field == "features.kyc_level.skew.min_sample"
    assert raised.value.problem == problem


def test_the_default_keeps_every_contract_hash(gate_project):
    before = load_catalog(gate_project.root / "feature_defs").views["user_profile"]
    assert before.feature("kyc_level").skew_min_sample == DEFAULT_SKEW_MIN_SAMPLE == 1000
    assert "skew_min_sample" not in before.feature("kyc_level").to_dict()
    _set_min_sample(gate_project, "kyc_level", "1000")  # the default, written out
    same = load_catalog(gate_project.root / "feature_defs").views["user_profile"]
    assert same.contract_hash() == before.contract_hash()
    _set_min_sample(gate_project, "signup_channel", "50")
    changed = load_catalog(gate_project.root / "feature_defs").views["user_profile"]
    assert changed.contract_hash() != before.contract_hash()
    assert changed.feature("signup_channel").to_dict()["skew_min_sample"] == 50
