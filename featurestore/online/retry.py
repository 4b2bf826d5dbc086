"""Which DynamoDB answers are worth retrying, and how long to wait before the next try.

The writer (a sync, which can wait) and the reader (a lookup, with a deadline of a few
hundred milliseconds) retry the same answers with the same backoff shape; only their
budgets differ, so both read the policy from here.

Two kinds of failure, two budgets. An *answer* that says "later" (throttling, a
transaction conflict, a 5xx) comes from a DynamoDB that is there: the writer retries it
``max_attempts`` times with growing delays. *No answer* (connection refused, an endpoint
that cannot be reached, a dropped connection, a timeout) is not throttling: the writer
retries it only while the store has been silent for less than ``UNREACHABLE_SECONDS``
(a blip), then gives up with ``StoreUnavailable`` instead of waiting out the throttling
budget against a store that is gone.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

# Error codes of a whole request that a later identical request may not get.
RETRYABLE_CODES = frozenset({
    "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "TransactionInProgressException",
    "TransactionConflictException",
})
# How long the writer keeps trying a store that does not answer at all, counted from the
# first failure of an unbroken run of them (any answer resets it), before it stops.
UNREACHABLE_SECONDS = 5.0
# Cancellation reasons of one item in a TransactWriteItems that a retry may clear.
RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError",
                               "ProvisionedThroughputExceeded", "None"})


@dataclass(frozen=True)
class RetryPolicy:
    """The one retry policy of the online store: how many times an answer that says
    "later" is retried, the backoff's first step and cap, and how long a store that does
    not answer at all is tried before ``StoreUnavailable``.

    Every DynamoDB request of ``online/dynamodb.py`` follows it: the writer threads, the
    marker, pointer and delete batches (UnprocessedKeys and UnprocessedItems included).
    The lookup's reads keep its shape under a deadline instead of a number of attempts
    (``online/reader.py``), with a step small enough for a budget of milliseconds.
    """

    max_attempts: int = 10
    base_delay: float = 0.05
    max_delay: float = 5.0
    unreachable_seconds: float = UNREACHABLE_SECONDS

    def delay(self, attempt: int) -> float:
        """The pause before retry number ``attempt`` (0 first): full jitter."""
        return backoff_delay(attempt, self.base_delay, self.max_delay)


LOOKUP_RETRY = RetryPolicy(base_delay=0.002)  # within a deadline of a few hundred ms


def backoff_delay(attempt: int, base: float = 0.05, cap: float = 5.0,
                  rng: Callable[[float, float], float] = random.uniform) -> float:
    """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2**attempt)]."""
    return rng(0.0, min(cap, base * 2**attempt))


def is_unreachable(exc: BaseException) -> bool:
    """True for botocore's errors of the connection itself (no DynamoDB answered):
    refused, unreachable endpoint, dropped connection, connect or read timeout."""
    from botocore.exceptions import ConnectionError, HTTPClientError

    return isinstance(exc, ConnectionError | HTTPClientError)
