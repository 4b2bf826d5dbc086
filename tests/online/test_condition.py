"""How the writer reads a cancelled transaction: stale items are skipped and counted,
bystanders and retryable items re-sent, anything else refused with the item named."""

from __future__ import annotations

import itertools

import pytest

from featurestore.errors import OnlineStoreError
from featurestore.online.condition import (
    CONDITION,
    blocking_codes,
    conditional_put,
    only_stale,
    settle_cancelled,
)
from featurestore.online.items import encode_item
from tests.online.conftest import T0, TXNS
from tests.online_stores import store_for

_users = itertools.count(9_000_000)


def _item(user: int, micros: int = 0) -> dict:
    return {"pk": {"S": f"user#{user}"}, "sk": {"S": "user_transactions#v1"},
            "feature_ts": {"N": str(micros)}}


def test_a_put_carries_the_never_regress_condition_on_its_own_feature_ts():
    item = _item(1, 42)
    assert conditional_put("t", item) == {"Put": {
        "TableName": "t", "Item": item,
        "ConditionExpression": "attribute_not_exists(pk) OR feature_ts <= :ts",
        "ExpressionAttributeValues": {":ts": {"N": "42"}}}}
    assert CONDITION == "attribute_not_exists(pk) OR feature_ts <= :ts"


def test_stale_items_are_skipped_and_the_rest_re_sent_in_order():
    items = [_item(i) for i in range(5)]
    reasons = [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}, {},
               {"Code": "TransactionConflict"}, {"Code": "ConditionalCheckFailed"}]
    assert settle_cancelled("t", items, reasons) == ([items[1], items[2], items[3]], 2)
    assert only_stale(reasons) is False
    assert blocking_codes(reasons) == "TransactionConflict"
    assert only_stale(reasons[:3]) is True and blocking_codes(reasons[:3]) == ""


@pytest.mark.parametrize("code", ["ThrottlingError", "ProvisionedThroughputExceeded",
                                  "TransactionConflict"])
def test_retryable_reasons_are_re_sent_not_counted_as_skipped(code):
    items = [_item(1), _item(2)]
    assert settle_cancelled("t", items, [{"Code": code}, {"Code": "None"}]) == (items, 0)
    assert only_stale([{"Code": code}]) is False
    assert blocking_codes([{"Code": code}]) == code  # named alone, nothing made up


@pytest.mark.parametrize("code", ["AccessDeniedException", "ValidationError",
                                  "ItemCollectionSizeLimitExceeded"])
def test_a_refusal_is_never_read_as_stale_whatever_its_name(code):
    """Codes sorting before and after "ConditionalCheckFailed" alike."""
    with pytest.raises(OnlineStoreError, match=f": {code}: $"):
        settle_cancelled("t", [_item(1)], [{"Code": code}])


def test_any_other_reason_is_a_refusal_naming_the_item():
    items = [_item(1), _item(2)]
    with pytest.raises(OnlineStoreError) as error:
        settle_cancelled("features", items, [
            {"Code": "ConditionalCheckFailed"},
            {"Code": "ValidationError", "Message": "Item size has exceeded the limit"}])
    assert str(error.value) == (
        "table features: DynamoDB refused the item pk='user#2' "
        "sk='user_transactions#v1': ValidationError: Item size has exceeded the limit")


@pytest.mark.parametrize("count", [1, 3])
def test_reasons_that_do_not_match_the_items_are_an_error_not_a_guess(count):
    with pytest.raises(OnlineStoreError) as error:
        settle_cancelled("features", [_item(1), _item(2)], [{"Code": "None"}] * count)
    assert str(error.value) == (f"table features: a cancelled transaction gave {count} "
                                "reasons for 2 items; cannot tell which were stale")


def test_one_stale_item_does_not_stop_the_others_of_its_transaction(dynamodb_table):
    """Real DynamoDB: a transaction with a stale item is cancelled whole; the writer
    counts the stale one as skipped and lands the others on the re-send."""
    client, table = dynamodb_table
    users = [next(_users) for _ in range(3)]

    def row(user, minutes, amount):
        return encode_item(TXNS, {"user_id": user, "feature_ts": T0.replace(minute=minutes),
                                  "last_txn_amount": amount}, 1)

    client.put_item(TableName=table, Item=row(users[1], 30, 9.0))  # newer than the write
    writer = store_for(client, table).writer(threads=1)
    writer.write_conditional([row(u, 10, 1.0) for u in users])
    writer.close()
    assert (writer.counters.written, writer.counters.skipped) == (2, 1)
    stored = [client.get_item(TableName=table, ConsistentRead=True, Key={
        "pk": {"S": f"user#{u}"}, "sk": {"S": "user_transactions#v1"}})["Item"]
        ["last_txn_amount"]["N"] for u in users]
    assert stored == ["1", "9", "1"]
