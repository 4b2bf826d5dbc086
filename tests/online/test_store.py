"""The online-store interface and its DynamoDB implementation, against DynamoDB Local:
markers and claims, the serving pointer, deletes in batches, one retry policy."""

from __future__ import annotations

import pytest

from featurestore.errors import OnlineStoreError, StoreUnavailable
from featurestore.online.dynamodb import DynamoDBStore
from featurestore.online.retry import RetryPolicy
from featurestore.online.serving import Pointer, PointerChanged
from featurestore.online.store import MARKER_PK, ItemWriter, OnlineStore
from tests.online_stores import FaultyStore, UnprocessingClient, down, store_for

FAST = RetryPolicy(base_delay=0.001, max_delay=0.01)


def test_the_implementation_and_the_wrappers_are_online_stores(online_store, tmp_path):
    from featurestore.lookup.local import FollowingStore

    assert isinstance(online_store, OnlineStore)
    assert isinstance(FaultyStore(online_store), OnlineStore)
    assert isinstance(FollowingStore(online_store, None, tmp_path / "state.json",
                                     lambda endpoint: online_store), OnlineStore)
    writer = online_store.writer(threads=1)
    assert isinstance(writer, ItemWriter)
    writer.close()


def test_a_marker_is_claimed_once_and_kept_by_its_owner_only(online_store):
    lease = {"state": "loading", "owner": "host:1:a", "lease_until": 1_700_000_000}
    assert online_store.put_marker("_shard#v#0", lease, absent=True) is True
    assert online_store.put_marker("_shard#v#0", {**lease, "owner": "host:2:b"},
                                   absent=True) is False
    assert online_store.read_markers(["_shard#v#0", "_shard#v#1"]) == {"_shard#v#0": lease}
    renewed = {**lease, "lease_until": 1_700_000_060}
    assert online_store.put_marker("_shard#v#0", renewed, expect={"owner": "host:2:b"}) is False
    assert online_store.put_marker("_shard#v#0", renewed, expect={"owner": "host:1:a"}) is True
    assert online_store.read_markers(["_shard#v#0"])["_shard#v#0"]["lease_until"] == \
        1_700_000_060
    online_store.delete_markers(["_shard#v#0", "_shard#v#1"])
    assert online_store.read_markers(["_shard#v#0"]) == {}


def test_marker_fields_are_text_or_whole_numbers(online_store):
    with pytest.raises(TypeError, match="^marker field `lease_until`: text or a whole "
                                        "number, not 1.5$"):
        online_store.put_marker("_x", {"lease_until": 1.5})


def test_a_pointer_write_is_refused_when_another_change_got_there_first(online_store):
    empty = online_store.read_pointers(["v"])["v"]
    assert empty == Pointer("v")
    first = Pointer("v", 2, 1, frozenset(), "e-1", "promote", 2, 1, "alice", "why")
    online_store.write_pointer(first, empty)
    assert online_store.read_pointers(["v"])["v"] == first
    with pytest.raises(PointerChanged):  # read before `first` was written
        online_store.write_pointer(Pointer("v", 3, 2, frozenset(), "e-2", "promote", 3, 2,
                                           "bob", "why"), empty)
    second = Pointer("v", 1, 2, frozenset(), "e-2", "rollback", 1, 2, "bob", "undo")
    online_store.write_pointer(second, first)
    assert online_store.read_pointers(["v", "w"]) == {"v": second, "w": Pointer("w")}


def test_deletes_go_in_batches_and_unprocessed_ones_are_sent_again(dynamodb_table):
    client, table = dynamodb_table
    for user in range(60):
        client.put_item(TableName=table, Item={"pk": {"S": f"user#{user}"},
                                               "sk": {"S": "txns#v1"}})
    throttled = store_for(UnprocessingClient(client, leave=5, times=3), table, retry=FAST)
    throttled.delete_items([(f"user#{user}", "txns#v1") for user in range(60)])
    assert client.scan(TableName=table, Select="COUNT", ConsistentRead=True)["Count"] == 0


def test_deletes_left_unprocessed_past_the_policy_fail_naming_the_table(dynamodb_table):
    client, table = dynamodb_table
    stuck = store_for(UnprocessingClient(client, leave=25, times=100), table,
                      retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01))
    with pytest.raises(OnlineStoreError) as error:
        stuck.delete_items([(f"user#{user}", "txns#v1") for user in range(30)])
    assert str(error.value) == (
        f"table {table}: DynamoDB left deletes of 25 keys undone after 3 attempts (last "
        "answer: unprocessed); run the command again: it starts over or resumes where "
        "this one stopped.")


def test_the_items_of_an_entity_and_of_a_version_are_found(online_store, dynamodb_table):
    client, table = dynamodb_table
    for pk, sk in [("user#1", "a#v1"), ("user#1", "b#v1"), ("user#2", "a#v1"),
                   (MARKER_PK, "_synced#a#v1")]:
        client.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": sk}})
    assert sorted(online_store.entity_items("user#1")) == ["a#v1", "b#v1"]
    found = sorted(key for page in online_store.version_items("a#v1") for key in page)
    assert found == [("user#1", "a#v1"), ("user#2", "a#v1")]


def test_a_store_that_does_not_answer_is_unavailable_within_the_policy():
    from featurestore.online.config import OnlineConfig
    from featurestore.online.local import free_port

    nowhere = DynamoDBStore(OnlineConfig(endpoint=f"http://127.0.0.1:{free_port()}",
                                         max_attempts=1),
                            retry=RetryPolicy(base_delay=0.01, max_delay=0.05,
                                              unreachable_seconds=0.2))
    with pytest.raises(StoreUnavailable, match=r"^DynamoDB at http://127\.0\.0\.1:\d+ \("
                                               r"table featurestore_online\) does not answer"):
        nowhere.read_markers(["_synced#a#v1"])


def test_a_faulty_store_fails_only_what_it_is_told_to(online_store):
    faulty = FaultyStore(online_store, get_error=down("DynamoDB is unreachable: test"))
    with pytest.raises(StoreUnavailable, match="^DynamoDB is unreachable: test$"):
        faulty.get([("user#1", "a#v1")], ["x"])
    faulty.ping()  # the real store answers
    assert faulty.read_markers(["_x"]) == {}  # everything else is the real store's
