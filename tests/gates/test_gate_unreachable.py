"""`featurestore gate` when the online store cannot be reached: parity says so for itself,
the other suites run and are recorded in featurestore.gate_results (so the catalog shows
them), and the exit code is 3 only when nothing failed (2 when something did)."""

from __future__ import annotations

import socket

import pytest

from tests.gates.conftest import AS_OF

NO_CREDENTIALS = ("parity not run: the online store is unreachable: AWS DynamoDB in "
                  "us-east-1: no AWS credentials found. Pass --local for the DynamoDB Local "
                  "that `featurestore online start` runs, or set AWS credentials")


@pytest.fixture
def no_aws(monkeypatch, tmp_path):
    """AWS with no credentials anywhere boto3 looks (environment, files, instance role)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "FEATURESTORE_DYNAMODB_ENDPOINT",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _recorded(gate_project, run_id: str) -> dict[str, int]:
    with gate_project.warehouse() as warehouse:
        rows = warehouse.fetch_all(
            f"select suite, count(*) from {warehouse.store_table('gate_results')} "
            "where run_id = ? group by suite order by suite", [run_id])
    return dict(rows)


def _run_id(output: str) -> str:
    return next(line.split()[1].rstrip(":") for line in output.splitlines()
                if line.startswith("run "))


def test_without_credentials_parity_says_so_and_what_ran_is_recorded(gate_project, no_aws):
    result = gate_project.gate("--as-of", AS_OF)
    assert result.exit_code == 3, result.output
    assert f"parity: not run, {NO_CREDENTIALS.split(' not run: ')[1]}\n" in result.stdout
    checks = [line for line in result.stdout.splitlines() if line.endswith(" pass")]
    assert result.stderr.endswith(f"Error: {NO_CREDENTIALS}. Nothing that ran failed "
                                  f"({len(checks)} passed, recorded in "
                                  "featurestore.gate_results).\n")
    recorded = _recorded(gate_project, _run_id(result.stdout))
    assert set(recorded) == {"freshness", "quality"}
    assert sum(recorded.values()) == len(checks)


def test_a_refused_connection_is_unreachable_too(gate_project, monkeypatch):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", f"http://127.0.0.1:{port}")
    result = gate_project.gate("--as-of", AS_OF, "--suite", "quality", "--suite", "parity")
    assert result.exit_code == 3, result.output
    assert "parity: not run, the online store is unreachable: " in result.stdout
    assert set(_recorded(gate_project, _run_id(result.stdout))) == {"quality"}


def test_a_failure_elsewhere_exits_2_and_still_names_the_suite_not_run(gate_project, no_aws):
    result = gate_project.gate("--as-of", "2026-06-01T00:00:00Z")  # a month stale
    assert result.exit_code == 2, result.output
    assert "\nError: gate failed: freshness/" in result.stderr
    assert result.stderr.endswith(f" ({NO_CREDENTIALS})\n")
    recorded = _recorded(gate_project, _run_id(result.stdout))
    assert set(recorded) == {"freshness", "quality"}
