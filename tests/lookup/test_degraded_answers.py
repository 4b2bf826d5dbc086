"""A store that does not answer is an error for the SDK and the CLI, unless degraded answers
are asked for (issue 18, item 4): defaults must not look like success."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from featurestore import FeatureStore
from featurestore.apps.cli import cli
from featurestore.errors import StoreUnavailable
from featurestore.online.local import free_port
from tests.lookup.lookup_testkit import REPO_ROOT

F = "user_transactions:txn_count_7d"


@pytest.fixture
def dead_store(monkeypatch) -> str:
    """FEATURESTORE_DYNAMODB_ENDPOINT names a loopback port nothing listens on."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", endpoint)
    return endpoint


def test_sdk_online_raises_store_unavailable(dead_store):
    store = FeatureStore(REPO_ROOT)
    with pytest.raises(StoreUnavailable) as raised:
        store.online("user", 42, F)
    message = str(raised.value)
    assert message.startswith("the online store did not answer: DynamoDB is unreachable: "
                              f'Could not connect to the endpoint URL: "{dead_store}/"')
    assert message.endswith("No value was read; pass allow_degraded=True for the contract "
                            "defaults, marked degraded.")
    assert raised.value.exit_code == 3


def test_sdk_online_returns_the_defaults_when_asked(dead_store):
    body = FeatureStore(REPO_ROOT).online("user", [42, 43], F, allow_degraded=True)
    assert body["degraded"] is True
    assert body["error"].startswith("DynamoDB is unreachable: Could not connect")
    assert [r["features"][F] for r in body["results"]] == [
        {"value": 0, "feature_ts": None, "status": "DEFAULT"}] * 2


def lookup(*options: str):
    return CliRunner().invoke(cli, ["--project-dir", str(REPO_ROOT), "lookup", "user", "42",
                                    "-f", F, *options], obj={})


def test_cli_lookup_exits_3(dead_store):
    result = lookup()
    assert result.exit_code == 3
    assert result.stdout == ""
    last = result.stderr.splitlines()[-1]
    assert last.startswith("Error: the online store did not answer: DynamoDB is unreachable")
    assert last.endswith("No value was read; --allow-degraded prints the contract defaults "
                         "instead, marked degraded.")


def test_cli_lookup_json_error_is_json_on_stdout(dead_store):
    result = lookup("--json")
    assert result.exit_code == 3
    document = json.loads(result.stdout)
    assert (document["error"], document["exit_code"]) == ("store_unavailable", 3)
    assert document["message"].startswith("the online store did not answer: DynamoDB is "
                                          "unreachable")


def test_cli_lookup_allow_degraded_prints_the_defaults(dead_store):
    result = lookup("--allow-degraded", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["degraded"] is True
    assert body["results"][0]["features"][F] == {"value": 0, "feature_ts": None,
                                                 "status": "DEFAULT"}
    assert "warning: DynamoDB did not answer, defaults served: DynamoDB is unreachable" \
        in result.stderr
