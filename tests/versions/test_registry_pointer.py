"""The serving pointer a sync writes into a table that has none, from the registry's
version log (sync/pointer.py): what the pointer commands would have left there."""

from __future__ import annotations

import datetime as dt

import pytest

from featurestore.online.serving import Pointer
from featurestore.sync.pointer import ensure_pointer, registry_pointer
from featurestore.version_log import VersionEvent
from tests.core.conftest import project  # noqa: F401  (the fixture)
from tests.online_stores import store_for

VIEW = "user_transactions"
T0 = dt.datetime(2026, 5, 1, 12, 0, 0)


def log(*rows: tuple[str, int, int | None]) -> list[VersionEvent]:
    """Events of VIEW, one minute apart: (action, version, previous_version)."""
    return [VersionEvent(VIEW, version, action, f"user{i}", f"why {i}", previous,
                         at=T0 + dt.timedelta(minutes=i), event_id=f"e{i}")
            for i, (action, version, previous) in enumerate(rows)]


def micros(minutes: int) -> int:
    return int((T0 + dt.timedelta(minutes=minutes) - dt.datetime(1970, 1, 1))
               / dt.timedelta(microseconds=1))


@pytest.mark.parametrize(("events", "expected"), [
    (log(), None),
    (log(("backfill", 2, 1)), None),  # a backfill serves nothing
    (log(("backfill", 2, 1), ("promote", 2, 1)),
     Pointer(VIEW, 2, 1, frozenset(), "e1", "promote", 2, micros(1), "user1", "why 1")),
    (log(("promote", 2, 1), ("rollback", 1, 2)),
     Pointer(VIEW, 1, 2, frozenset(), "e1", "rollback", 1, micros(1), "user1", "why 1")),
    # a retirement changes the retired set and the last change, not what is served
    (log(("promote", 2, 1), ("retire_started", 1, 2), ("retired", 1, None)),
     Pointer(VIEW, 2, 1, frozenset({1}), "e1", "retire_started", 1, micros(1), "user1",
             "why 1")),
    (log(("promote", 3, 1), ("retire_started", 2, 3), ("retired", 2, None),
         ("promote", 1, 3)),
     Pointer(VIEW, 1, 3, frozenset({2}), "e3", "promote", 1, micros(3), "user3", "why 3")),
])
def test_the_registry_pointer_is_what_the_commands_left(events, expected):
    assert registry_pointer(events, VIEW) == expected


def test_a_table_without_a_pointer_gets_the_registry_one_once(project, dynamodb_table):  # noqa: F811
    from featurestore import version_log
    from featurestore.warehouse import Warehouse

    client, table = dynamodb_table
    with Warehouse(project) as warehouse:
        for event in log(("promote", 2, 1), ("retire_started", 1, 2)):
            version_log.record(warehouse, event)
        written = ensure_pointer(warehouse, store_for(client, table), VIEW)
        assert written == Pointer(VIEW, 2, 1, frozenset({1}), "e1", "retire_started", 1,
                                  micros(1), "user1", "why 1")
        assert store_for(client, table).read_pointers([VIEW])[VIEW] == written
        # a later promotion moves the pointer on; the next sync leaves it alone
        moved = Pointer(VIEW, 3, 2, frozenset({1}), "e9", "promote", 3, micros(9), "bob", "v3")
        store_for(client, table).write_pointer(moved, written)
        assert ensure_pointer(warehouse, store_for(client, table), VIEW) is None
        assert store_for(client, table).read_pointers([VIEW])[VIEW] == moved
        # a view the registry never promoted nor retired gets none
        assert ensure_pointer(warehouse, store_for(client, table), "merchant_risk") is None
        others = store_for(client, table).read_pointers(["merchant_risk"])
        assert others["merchant_risk"].event_id is None
