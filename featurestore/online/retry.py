"""Which DynamoDB answers are worth retrying, and how long to wait before the next try.

The writer (a sync, which can wait) and the reader (a lookup, with a deadline of a few
hundred milliseconds) retry the same answers with the same backoff shape; only their
budgets differ, so both read the policy from here.
"""

from __future__ import annotations

import random
from collections.abc import Callable

# Error codes of a whole request that a later identical request may not get.
RETRYABLE_CODES = frozenset({
    "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "TransactionInProgressException",
    "TransactionConflictException",
})
# Cancellation reasons of one item in a TransactWriteItems that a retry may clear.
RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError",
                               "ProvisionedThroughputExceeded", "None"})


def backoff_delay(attempt: int, base: float = 0.05, cap: float = 5.0,
                  rng: Callable[[float, float], float] = random.uniform) -> float:
    """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2**attempt)]."""
    return rng(0.0, min(cap, base * 2**attempt))
