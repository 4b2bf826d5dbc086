"""A promotion judged by compare: refused past the contract's `compare:` thresholds,
done with --force and recorded with what it overrode. The two versions' tables are
built in SQL (no dbt), v2's items synced to DynamoDB Local."""

from __future__ import annotations

import json

from tests.gates.conftest import END, gate_project  # noqa: F401  (the fixture)
from tests.versions.world import FIXTURES

VIEW = "user_transactions"


def test_promotion_past_the_thresholds_needs_force_and_is_recorded(
        gate_project, dynamodb_table, monkeypatch):  # noqa: F811
    client, table = dynamodb_table
    endpoint = client.meta.endpoint_url
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", endpoint)
    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", table)
    monkeypatch.setenv("FEATURESTORE_USER", "bob")
    contract = gate_project.root / "feature_defs" / f"{VIEW}.yml"
    contract.write_text(contract.read_text()
                        + "compare:\n  max_psi: 0.1\n  max_changed_share: 0.2\n"
                        + (FIXTURES / f"{VIEW}_versions.yml").read_text())
    with gate_project.warehouse() as warehouse:  # v2: counts doubled, 24h windows, a max
        warehouse.execute(
            "create table main.fs_user__transactions_v2 as select user_id, feature_ts, "
            "loaded_at, txn_count_7d * 2 as txn_count_7d, txn_count_30d, txn_amount_sum_7d, "
            "txn_amount_sum_30d, txn_amount_avg_7d, txn_amount_avg_30d, last_txn_amount, "
            "txn_count_1h * 8 as txn_count_24h, txn_amount_sum_1h * 8 as txn_amount_sum_24h, "
            "last_txn_amount * 2 as txn_amount_max_7d from main.fs_user__transactions")
    from click.testing import CliRunner

    from featurestore.apps.cli import cli

    def run(*args):
        return CliRunner().invoke(cli, ["--project-dir", str(gate_project.root), *args],
                                  obj={})

    result = run("sync", "--view", f"{VIEW}@v2", "--no-gate")
    assert result.exit_code == 0, result.output
    result = run("compare", VIEW, "--from", "1", "--to", "2")
    assert result.exit_code == 2
    assert "compare/user_transactions: changed_share(txn_count_7d) v1->v2 observed " \
           "0.950000 (190 of 200), threshold <= 0.2 (max_changed_share)" in result.output
    refused = run("promote", VIEW, "--version", "2", "--reason", "doubled")
    assert refused.exit_code == 2
    assert "promotion of user_transactions v2 refused" in refused.output
    assert "psi(txn_count_7d) v1->v2 observed" in refused.output
    assert "pass --force to promote anyway" in refused.output
    forced = run("promote", VIEW, "--version", "2", "--reason", "doubled on purpose",
                 "--force", "--json")
    assert forced.exit_code == 0, forced.output
    change = json.loads(forced.output[forced.output.index("{"):])
    assert change["action"] == "promote" and change["event"]["forced"] is True
    with gate_project.warehouse() as warehouse:
        rows = warehouse.fetch_all(f"select by_user, reason, forced, details from "
                                   f"{warehouse.store_table('feature_versions')} "
                                   "where action = 'promote'")
    assert [(who, why, was_forced) for who, why, was_forced, _ in rows] == [
        ("bob", "doubled on purpose", True)]
    overridden = json.loads(rows[0][3])["forced_over"]
    assert any(line.startswith("compare/user_transactions: psi(txn_count_7d) v1->v2")
               for line in overridden)
    assert overridden == change["forced_over"]
