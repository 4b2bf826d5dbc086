"""The demo generator: deterministic, the promised shape, and sane relations between tables."""

from __future__ import annotations

import datetime as dt
import hashlib

import duckdb
import pytest
from click.testing import CliRunner

from featurestore.apps.cli import cli
from featurestore.demo_data import HISTORY_FILE, TABLES, generate

END = dt.datetime(2026, 5, 1)
EXPECTED_ROWS = {"users": 200, "profile_updates": 363, "merchants": 10, "devices": 404,
                 "transactions": 3258, "chargebacks": 25, "refunds": 68}


def _digests(folder) -> dict[str, str]:
    return {t: hashlib.sha256((folder / t / HISTORY_FILE).read_bytes()).hexdigest()
            for t in TABLES}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("small")
    return out, generate(out, users=200, days=30, seed=7, end=END)


def test_row_counts_are_exact(small):
    _, rows = small
    assert rows == EXPECTED_ROWS


def test_same_arguments_give_byte_identical_files(small, tmp_path):
    out, _ = small
    generate(tmp_path, users=200, days=30, seed=7, end=END)
    assert _digests(tmp_path) == _digests(out)


def test_another_seed_gives_other_data(small, tmp_path):
    out, _ = small
    generate(tmp_path, users=200, days=30, seed=8, end=END)
    assert _digests(tmp_path)["transactions"] != _digests(out)["transactions"]


def test_columns_and_types(small):
    out, _ = small
    got = {}
    for table in TABLES:
        described = duckdb.sql(
            f"describe select * from '{out}/{table}/{HISTORY_FILE}'").fetchall()
        got[table] = [(row[0], row[1]) for row in described]
    assert got == {
        "users": [("user_id", "BIGINT"), ("signed_up_at", "TIMESTAMP"), ("country", "VARCHAR"),
                  ("signup_channel", "VARCHAR"), ("email_domain", "VARCHAR")],
        "profile_updates": [("user_id", "BIGINT"), ("updated_at", "TIMESTAMP"),
                            ("country", "VARCHAR"), ("is_verified", "BOOLEAN"),
                            ("kyc_level", "INTEGER"), ("loaded_at", "TIMESTAMP")],
        "merchants": [("merchant_id", "BIGINT"), ("category", "VARCHAR"), ("country", "VARCHAR")],
        "devices": [("device_id", "VARCHAR"), ("user_id", "BIGINT"),
                    ("first_seen_at", "TIMESTAMP")],
        "transactions": [("transaction_id", "BIGINT"), ("user_id", "BIGINT"),
                         ("merchant_id", "BIGINT"), ("device_id", "VARCHAR"),
                         ("amount", "DOUBLE"), ("currency", "VARCHAR"),
                         ("transacted_at", "TIMESTAMP"), ("loaded_at", "TIMESTAMP")],
        "chargebacks": [("transaction_id", "BIGINT"), ("filed_at", "TIMESTAMP"),
                        ("reason", "VARCHAR"), ("loaded_at", "TIMESTAMP")],
        "refunds": [("transaction_id", "BIGINT"), ("user_id", "BIGINT"), ("amount", "DOUBLE"),
                    ("refunded_at", "TIMESTAMP"), ("loaded_at", "TIMESTAMP")],
    }


def test_relations_between_tables_hold(small):
    out, _ = small
    con = duckdb.connect()
    for table in TABLES:
        con.execute(f"create view {table} as select * from '{out}/{table}/{HISTORY_FILE}'"
                    ).fetchall()
    checks = {
        # every row landed at or before END, and never before it happened
        "late_or_future_txn": "select count(*) from transactions "
                              "where loaded_at < transacted_at or loaded_at > '2026-05-01'",
        "txn_outside_history": "select count(*) from transactions "
                               "where transacted_at < '2026-04-01' "
                               "or transacted_at >= '2026-05-01'",
        "txn_before_signup": "select count(*) from transactions join users using (user_id) "
                             "where transacted_at < signed_up_at",
        "unknown_merchant": "select count(*) from transactions anti join merchants "
                            "using (merchant_id)",
        "device_not_of_user": "select count(*) from transactions anti join devices "
                              "using (user_id, device_id)",
        "chargeback_before_txn": "select count(*) from chargebacks join transactions "
                                 "using (transaction_id) where filed_at <= transacted_at",
        "refund_not_a_day_after_txn": "select count(*) from refunds join transactions "
                                      "using (transaction_id, user_id) where refunded_at < "
                                      "transacted_at + interval '1 day' or refunded_at > "
                                      "transacted_at + interval '21 days'",
        "refund_over_the_amount": "select count(*) from refunds r join transactions t "
                                  "using (transaction_id) where r.amount <= 0 "
                                  "or r.amount > t.amount",
        "refund_of_no_txn": "select count(*) from refunds anti join transactions "
                            "using (transaction_id, user_id)",
        "refund_landed_late": "select count(*) from refunds where loaded_at <= refunded_at "
                              "or loaded_at > '2026-05-01'",
        "bad_device_id": "select count(*) from devices "
                         "where not regexp_full_match(device_id, 'd-[0-9]{7}')",
        "bad_channel": "select count(*) from users where signup_channel "
                       "not in ('web', 'ios', 'android', 'partner')",
        "bad_kyc": "select count(*) from profile_updates where kyc_level not between 0 and 3",
        "duplicate_profile_row": "select count(*) - count(distinct (user_id, updated_at)) "
                                 "from profile_updates",
    }
    failing = {name: con.execute(sql).fetchall()[0][0] for name, sql in checks.items()}
    assert failing == dict.fromkeys(checks, 0)
    # a few % of transactions land more than a day late
    late = con.execute("select count(*) filter (where loaded_at - transacted_at "
                       "> interval '1 day') from transactions").fetchall()[0][0]
    assert 0 < late < 0.05 * EXPECTED_ROWS["transactions"]


def test_cli_writes_files_and_shows_progress(tmp_path):
    result = CliRunner().invoke(cli, ["demo-data", "--users", "50", "--days", "3", "--seed",
                                      "1", "--end", "2026-05-01T00:00:00", "--out",
                                      str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "demo-data: users: 50" in result.stderr
    assert result.stdout.endswith(f"rows in 7 tables written to {tmp_path}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(TABLES)
    assert all((tmp_path / t / HISTORY_FILE).is_file() for t in TABLES)


def test_cli_refuses_zero_users(tmp_path):
    result = CliRunner().invoke(cli, ["demo-data", "--users", "0", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "--users must be from 1 to 9,999,999, got 0" in result.output


def test_the_stream_drops_new_late_and_repeated_events_after_the_history(small):
    import pyarrow.parquet as pq

    from featurestore.demo_stream import stream

    out, _ = small
    now = dt.datetime(2026, 5, 2, 12)
    stats = stream(out, rate=400, every=0.1, duration=0.55, late_share=0.3,
                   duplicate_share=0.2, seed=3, now=lambda: now)
    files = sorted((out / "transactions").glob("stream-*.parquet"))
    assert len(files) == stats.files >= 4
    rows = [row for path in files for row in pq.read_table(path).to_pylist()]
    assert len(rows) == stats.events
    assert "loaded_at" not in rows[0]  # ingest stamps it
    history = pq.read_table(out / "transactions" / HISTORY_FILE).column("transaction_id")
    ids = [r["transaction_id"] for r in rows]
    assert min(ids) == max(history.to_pylist()) + 1
    assert len(ids) - len(set(ids)) == stats.duplicates > 0
    by_id = {}
    for row in rows:  # a repeat is the same event exactly
        assert by_id.setdefault(row["transaction_id"], row) == row
    late = [r for r in rows if now - r["transacted_at"] >= dt.timedelta(hours=1)]
    assert len({r["transaction_id"] for r in late}) == stats.late > 0
    assert all(r["transacted_at"] <= now for r in rows)
    # a second run goes on after the first one's ids
    again = stream(out, rate=100, every=0.1, duration=0.15, seed=3, now=lambda: now)
    newest = sorted((out / "transactions").glob("stream-*.parquet"))[len(files):]
    assert again.files == len(newest)
    assert min(r["transaction_id"] for path in newest
               for r in pq.read_table(path).to_pylist()) == max(ids) + 1
