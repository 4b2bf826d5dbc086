"""The DynamoDB item layout shared by the sync and the lookup."""

import datetime as dt

import pytest

from featurestore.contracts import load_catalog
from featurestore.errors import BadValueError, OnlineStoreError, RequestError
from featurestore.online.client import ensure_table
from featurestore.online.items import (
    decode_item,
    encode_item,
    entity_pk,
    from_epoch_micros,
    key_from_pk,
    to_epoch_micros,
)
from tests.conftest import REPO_ROOT

CATALOG = load_catalog(REPO_ROOT / "feature_defs")
DEVICE = CATALOG.views["device_seen_before"]
TXNS = CATALOG.views["user_transactions"]


def test_multi_column_keys_never_collide():
    first = entity_pk(DEVICE.entity, {"user_id": 1, "device_id": "23"})
    second = entity_pk(DEVICE.entity, {"user_id": 12, "device_id": "3"})
    assert first == "user_device#1|23"
    assert second == "user_device#12|3"
    assert entity_pk(DEVICE.entity, {"user_id": 1, "device_id": "2|3"}) == "user_device#1|2%7C3"


def test_pk_round_trips_typed_keys():
    pk = entity_pk(DEVICE.entity, {"user_id": "42", "device_id": "d 1/é"})
    assert key_from_pk(DEVICE.entity, pk) == {"user_id": 42, "device_id": "d 1/é"}


def test_wrong_key_type_names_the_key():
    with pytest.raises(RequestError) as error:
        entity_pk(TXNS.entity, {"user_id": "forty-two"})
    assert str(error.value) == "entity `user`: key `user_id` must be an int64, got 'forty-two'"


def test_item_round_trip_keeps_every_value():
    row = {"user_id": 7, "feature_ts": dt.datetime(2026, 5, 22, 17, 40, 0, 123456),
           "txn_count_1h": 2, "txn_count_7d": 14, "txn_count_30d": 30,
           "txn_amount_sum_1h": 0.1, "txn_amount_sum_7d": 1e-7, "txn_amount_sum_30d": 12345.67,
           "txn_amount_avg_7d": None, "txn_amount_avg_30d": 411.52233, "last_txn_amount": 3.0}
    item = encode_item(TXNS, row, written_at_us=5)
    assert item["sk"] == {"S": "user_transactions#v1"}
    expires = to_epoch_micros(row["feature_ts"]) // 10**6 + 1 + 30 * 86400
    assert item["expires_at"] == {"N": str(expires)}
    feature_ts, values = decode_item(TXNS, item)
    assert feature_ts == row["feature_ts"]
    assert values == {k: v for k, v in row.items() if k not in ("user_id", "feature_ts")}


@pytest.mark.parametrize(("micros", "expires_at"), [
    (0, 30 * 86400),  # on a whole second: feature_ts + ttl exactly
    (1, 30 * 86400 + 1),  # a microsecond past it: the next second, never the one before
    (999_999, 30 * 86400 + 1),
])
def test_expires_at_never_falls_before_the_lookup_stops_serving(micros, expires_at):
    """DynamoDB may delete an item once its expires_at second is past; the lookup serves
    the value until an age of exactly the ttl. Rounding down would let DynamoDB delete a
    value the lookup still calls PRESENT or STALE, and answer DEFAULT in its place."""
    row = {"user_id": 7, "feature_ts": dt.datetime(1970, 1, 1, microsecond=micros)}
    item = encode_item(TXNS, row, written_at_us=5)
    assert item["expires_at"] == {"N": str(expires_at)}


@pytest.mark.parametrize(
    ("feature", "value", "message"),
    [
        ("txn_amount_avg_7d", float("inf"),
         "inf cannot be stored in DynamoDB (NaN and infinity have no DynamoDB number); "
         "fix the model or make it null"),
        ("txn_amount_avg_7d", "12.5", "'12.5' is not a number (the contract says float64)"),
        ("txn_count_7d", 1.5, "1.5 is not an int64 (the contract says int64)"),
    ],
)
def test_bad_values_name_view_entity_and_feature(feature, value, message):
    row = {"user_id": 7, "feature_ts": dt.datetime(2026, 1, 1), feature: value}
    with pytest.raises(BadValueError) as error:
        encode_item(TXNS, row, written_at_us=0)
    where = f"view `user_transactions`, entity user_id=7, feature `{feature}`"
    assert str(error.value) == f"{where}: {message}"


def test_item_over_400_kb_is_refused():
    profile = CATALOG.views["user_profile"]
    row = {"user_id": 1, "feature_ts": dt.datetime(2026, 1, 1), "email_domain": "x" * 410_000}
    with pytest.raises(BadValueError, match=r"feature `email_domain`: the item is 410,\d+ bytes"):
        encode_item(profile, row, written_at_us=0)


def test_epoch_micros_round_trip_and_aware_input():
    naive = dt.datetime(2026, 3, 1, 8, 30, 0, 7)
    assert from_epoch_micros(to_epoch_micros(naive)) == naive
    aware = dt.datetime(2026, 3, 1, 9, 30, 0, 7, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert to_epoch_micros(aware) == to_epoch_micros(naive)


def test_ensure_table_is_idempotent_and_checks_key_schema(dynamodb_table):
    client, name = dynamodb_table
    assert ensure_table(client, name) is False
    client.create_table(
        TableName=f"{name}_other",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(OnlineStoreError, match=r"exists with key schema \[\('id', 'HASH'\)\]"):
        ensure_table(client, f"{name}_other")
    client.delete_table(TableName=f"{name}_other")


@pytest.mark.parametrize("text", ["²", "--5", "٣", "1.0", "", " ", "5-", "0x10"])
def test_a_key_text_that_is_not_an_int64_is_named(text):
    from featurestore.errors import RequestError
    from featurestore.online.items import coerce_key_value

    entity = load_catalog(REPO_ROOT / "feature_defs").entities["user"]
    with pytest.raises(RequestError) as error:
        coerce_key_value(entity, "user_id", text)
    assert str(error.value) == f"entity `user`: key `user_id` must be an int64, got {text!r}"


def test_forget_names_a_bad_key_instead_of_a_traceback(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "from featurestore.apps.cli import main; main()",
                           "--project-dir", str(REPO_ROOT), "forget", "user", "²"],
                          capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "FEATURESTORE_DYNAMODB_ENDPOINT":
                               "http://127.0.0.1:9", "HOME": str(tmp_path)})
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "Error: entity `user`: key `user_id` must be an int64, got '²'")


def test_ensure_table_takes_a_table_made_since_it_looked(dynamodb_table, monkeypatch):
    """A busy DynamoDB Local answered CreateTable too late: botocore retried, and the
    retry found the table its first attempt had made ("Cannot create preexisting
    table" failed two CI tests). Made since we looked is made: checked, not raised."""
    from featurestore.online import client as online_client

    client, name = dynamodb_table  # exists already
    looked = []

    def not_yet(client, table_name):
        looked.append(table_name)
        return None if len(looked) == 1 else describe(client, table_name)

    describe = online_client.describe_table
    monkeypatch.setattr(online_client, "describe_table", not_yet)
    assert ensure_table(client, name) is False
    assert looked == [name, name]
