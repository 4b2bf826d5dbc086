"""Whether a stored item already holds what a sync would write: the test that lets a sync
write only what changed.

Two items are the same when every attribute but ``written_at`` (the time of the write,
not a value) is equal: the same ``feature_ts``, the same ``expires_at``, the same value of
every feature, and no attribute on one side only. A stored item with an extra attribute
(edited behind the store's back, or written by a contract that had another feature) is
different, so a verify-and-repair pass rewrites it whole.

Numbers are compared as numbers: DynamoDB keeps a number's value, not the text it was
sent as (``1.50`` may come back as ``1.5``), so the text is compared first (the common,
cheap case) and ``Decimal`` decides when the texts differ.

Kept apart from the writer so the rule is one small function a reader can check.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

IGNORED = "written_at"


def _same_attribute(stored: dict | None, wanted: dict) -> bool:
    if stored == wanted:
        return True
    if stored is None or "N" not in stored or "N" not in wanted:
        return False
    try:
        return Decimal(stored["N"]) == Decimal(wanted["N"])
    except InvalidOperation:
        return False


def same_item(stored: dict | None, wanted: dict) -> bool:
    """True when ``stored`` (as DynamoDB returned it; None: no item) already holds every
    attribute of ``wanted`` (an encoded item) and nothing else, ``written_at`` aside."""
    if stored is None:
        return False
    # the common case in C: the same text everywhere (``written_at`` set aside a moment;
    # each item is compared by one thread)
    kept = wanted.pop(IGNORED, None)
    stored_at = stored.pop(IGNORED, None)
    try:
        if stored == wanted:
            return True
    finally:
        if kept is not None:
            wanted[IGNORED] = kept
        if stored_at is not None:
            stored[IGNORED] = stored_at
    extra = len(stored) - (IGNORED in stored)
    if extra != len(wanted) - (IGNORED in wanted):
        return False
    for name, attribute in wanted.items():
        if name != IGNORED and not _same_attribute(stored.get(name), attribute):
            return False
    return True


def item_key(item: dict) -> tuple[str, str]:
    """``(pk, sk)`` of an item in DynamoDB's low-level format."""
    return item["pk"]["S"], item["sk"]["S"]
