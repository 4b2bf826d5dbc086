"""The skew gate reports a feature service's frozen parameters beside the same statistics
of the values served, and never replaces them: the registry's parameter sets are the
same after the gate as before."""

from __future__ import annotations

from featurestore.feature_services.load import load_services
from featurestore.feature_services.param_registry import freeze, parameter_sets
from tests.gates.conftest import AS_OF
from tests.gates.test_parity_skew import _serving_log, _training_set

SERVICE = """\
name: risk_model
version: 1
entity: user
description: Two profile features.
features:
  - user_profile:kyc_level
  - user_profile:signup_channel
transformations:
  - {feature: user_profile:kyc_level, kind: zscore}
  - {feature: user_profile:kyc_level, kind: quantile_bins, bins: 4}
  - {feature: user_profile:signup_channel, kind: index, max_categories: 1}
"""


def _freeze(gate_project) -> None:
    (gate_project.root / "feature_services").mkdir()
    (gate_project.root / "feature_services" / "risk_model.yml").write_text(SERVICE)
    project = gate_project.project
    service = load_services(project.root, project.catalog())["risk_model"]
    features = [{"name": f.name, "ref": str(f.ref), "view": f.view, "version": 1,
                 "feature": f.feature, "dtype": f.dtype, "column": f.column}
                for f in service.features]
    document = {
        "service": "risk_model", "service_version": 1,
        "service_hash": service.service_hash(), "features": features,
        "transformations": [
            {"feature": "user_profile:kyc_level", "kind": "zscore", "options": {},
             "dtype": "int64", "columns": ["user_profile__kyc_level__zscore"],
             "params": {"count": 4000, "mean": 2.0, "std": 1.0}},
            {"feature": "user_profile:kyc_level", "kind": "quantile_bins",
             "options": {"bins": 4}, "dtype": "int64",
             "columns": ["user_profile__kyc_level__quantile_bins"],
             "params": {"count": 4000, "bins": 4, "ranks": [1000, 2000, 3000],
                        "edges": [1, 2, 3]}},
            {"feature": "user_profile:signup_channel", "kind": "index",
             "options": {"max_categories": 1}, "dtype": "string",
             "columns": ["user_profile__signup_channel__index"],
             "params": {"count": 4000, "max_categories": 1, "vocabulary": ["web"],
                        "frequencies": [2000]}}],
        "training_set": {"spine_sha256": "0" * 64, "join_sql_sha256": "0" * 64,
                         "rows": 4000}}
    with gate_project.warehouse() as warehouse:
        freeze(warehouse, document, "train.parquet", who="tests")


def test_skew_reports_live_statistics_beside_the_frozen_ones(gate_project, tmp_path):
    _freeze(gate_project)
    with gate_project.warehouse() as warehouse:
        before = parameter_sets(warehouse)
    training = tmp_path / "train.parquet"
    _training_set(training, [i % 4 for i in range(4000)])
    _serving_log(tmp_path / "log", [i % 4 for i in range(1200)])
    result = gate_project.gate("--suite", "skew", "--view", "user_profile", "--training-set",
                               str(training), "--serving-log", str(tmp_path / "log"),
                               "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    tail = "(1,200 served; the frozen value is served)"
    # served: kyc_level 0,1,2,3 a quarter each (mean 1.5, population std sqrt(1.25)),
    # nearest-rank quartiles 0, 1, 2 (ranks 300, 600, 900 of 1,200); the channel "web"
    # on every other line
    assert [line.strip() for line in result.output.splitlines()
            if line.strip().startswith("skew: risk_model")] == [
        f"skew: risk_model (parameters 1) user_profile:kyc_level zscore mean: frozen 2, "
        f"live 1.5 {tail}",
        f"skew: risk_model (parameters 1) user_profile:kyc_level zscore std: frozen 1, "
        f"live 1.11803 {tail}",
        f"skew: risk_model (parameters 1) user_profile:kyc_level quantile_bins edges: "
        f"frozen [1, 2, 3], live [0, 1, 2] {tail}",
        f"skew: risk_model (parameters 1) user_profile:signup_channel index in_vocabulary: "
        f"frozen 0.5, live 0.5 {tail}"]
    with gate_project.warehouse() as warehouse:
        assert parameter_sets(warehouse) == before
