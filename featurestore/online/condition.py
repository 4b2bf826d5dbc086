"""The never-regress rule of every conditional write, and how a refusal is read.

A put lands unless the stored item is strictly newer::

    attribute_not_exists(pk) OR feature_ts <= :ts

``<=`` and not ``<``, on purpose: the warehouse's current row is the truth for its
``feature_ts``, so a full refresh after a model fix that recomputed values *at the same*
``feature_ts`` repairs them, and a write retried after a timeout (already applied) is
accepted again instead of being miscounted as stale. A cancelled TransactWriteItems names
a reason per item: ConditionalCheckFailed is "skipped as not newer" (counted, not an
error), a retryable reason is re-sent, any other reason is a refusal.

Kept apart from the writer's threads and retries so the rule is one small module a
reader (and ``make mutate``) can check on its own.
"""

from __future__ import annotations

from featurestore.errors import OnlineStoreError
from featurestore.online.retry import RETRYABLE_REASONS

CONDITION = "attribute_not_exists(pk) OR feature_ts <= :ts"
STALE = "ConditionalCheckFailed"
NO_REASON = "None"  # DynamoDB's code for an item that did not cause the cancellation


def conditional_put(table: str, item: dict) -> dict:
    """One TransactWriteItems entry: put ``item`` unless a newer one is stored."""
    return {"Put": {"TableName": table, "Item": item, "ConditionExpression": CONDITION,
                    "ExpressionAttributeValues": {":ts": item["feature_ts"]}}}


def settle_cancelled(table: str, pending: list[dict],
                     reasons: list[dict]) -> tuple[list[dict], int]:
    """``(items to re-send, items skipped as not newer)`` of a cancelled transaction;
    OnlineStoreError for an item DynamoDB refused outright (too large, bad type, ...)."""
    if len(reasons) != len(pending):
        raise OnlineStoreError(
            f"table {table}: a cancelled transaction gave {len(reasons)} reasons for "
            f"{len(pending)} items; cannot tell which were stale"
        )
    retry, skipped = [], 0
    for item, reason in zip(pending, reasons, strict=True):
        code = reason.get("Code") or NO_REASON
        if code == STALE:
            skipped += 1
        elif code in RETRYABLE_REASONS:
            retry.append(item)
        else:
            raise OnlineStoreError(
                f"table {table}: DynamoDB refused the item {describe(item)}: "
                f"{code}: {reason.get('Message', '')}"
            )
    return retry, skipped


def only_stale(reasons: list[dict]) -> bool:
    """Whether only stale items (and bystanders) cancelled the transaction: the others
    can be re-sent at once, without a backoff."""
    return all((r.get("Code") or NO_REASON) in (STALE, NO_REASON) for r in reasons)


def blocking_codes(reasons: list[dict]) -> str:
    """The reasons that were neither stale nor bystanders, for the error message."""
    return ", ".join(sorted({r.get("Code") or NO_REASON for r in reasons}
                            - {STALE, NO_REASON}))


def describe(item: dict) -> str:
    return f"pk={item['pk']['S']!r} sk={item['sk']['S']!r}"
