"""The status of one feature value: the offline ``as_of_join`` rule, asked online.

Kept apart from the lookup so the rule is one small function a reader (and the mutation
run, ``make mutate``) can check against the README without the request handling around it.
Ages, TTLs and SLOs are exact microseconds; both bounds are inclusive, as offline: an age
of exactly the TTL is not expired, an age of exactly the freshness SLO is not stale.
"""

from __future__ import annotations

PRESENT, STALE, EXPIRED, DEFAULT, MISSING = "PRESENT", "STALE", "EXPIRED", "DEFAULT", "MISSING"
STATUSES = (PRESENT, STALE, EXPIRED, DEFAULT, MISSING)
# worst last: an on-demand value's status is the worst of its inputs' (lookup/on_demand.py)
RANK = {status: rank for rank, status in enumerate(STATUSES)}


def stored_status(age_us: int, ttl_us: int | None, slo_us: int | None) -> str:
    """A stored item's status: EXPIRED past its TTL, STALE past its SLO, else PRESENT."""
    if ttl_us is not None and age_us > ttl_us:
        return EXPIRED
    if slo_us is not None and age_us > slo_us:
        return STALE
    return PRESENT


def absent_status(store_answered: bool, has_default: bool) -> str:
    """No value to serve: DEFAULT when the store failed or the contract has a default,
    MISSING (null) when the store says there is no item and there is no default."""
    return DEFAULT if not store_answered or has_default else MISSING
