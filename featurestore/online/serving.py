"""The serving pointer: which version of a view the lookup serves, kept in the feature
table itself so that a promotion or a rollback reaches every lookup without a redeploy.

One item per view that has been promoted, rolled back or had a version retired::

    pk = "_featurestore#versions"     (no entity name starts with "_": contracts forbid it)
    sk = "<view>"
    served        N   the version a reference without ``@vN`` gets
    previous      N   the version served before (what ``rollback`` returns to)
    retired       NS  versions retired or being retired (absent when none)
    event_id      S   the change that wrote it, also a row of featurestore.feature_versions
    action        S   promote | rollback | retire_started
    subject       N   the version that change was about (the one promoted, retired...)
    changed_at    N   epoch microseconds
    changed_by    S   who
    reason        S   why (as given: data, never code)
    forced        BOOL  whether a refused check was overridden (--force)

Every write is conditional on the ``event_id`` read before it (or on there being no item),
so two promotions at once cannot both win: the second is refused and says so. The lookup
reads these items with a consistent read at most once per refresh interval
(``FEATURESTORE_LOOKUP_VERSION_REFRESH_MS``, default 1 s) and answers each request from one
snapshot of them: a promotion is visible to every lookup that starts more than one
interval after it, and no answer mixes two versions of one view. Low-level attribute
format, no boto3 import: the lookup's cold start stays small. The reads and the
conditional write are the online store's (``read_pointers``, ``write_pointer``:
``online/dynamodb.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

POINTER_PK = "_featurestore#versions"
ATTRIBUTES = ("served", "previous", "retired", "event_id", "action", "subject",
              "changed_at", "changed_by", "reason", "forced")


@dataclass(frozen=True)
class Pointer:
    """One view's serving pointer as stored."""

    view: str
    served: int | None = None  # None: never promoted (the base version is served)
    previous: int | None = None
    retired: frozenset[int] = field(default_factory=frozenset)
    event_id: str | None = None  # None: there is no item
    action: str = ""
    subject: int | None = None
    changed_at_us: int = 0
    changed_by: str = ""
    reason: str = ""
    forced: bool = False

    def to_dict(self) -> dict:
        return {"view": self.view, "served": self.served, "previous": self.previous,
                "retired": sorted(self.retired), "event_id": self.event_id,
                "action": self.action, "subject": self.subject, "changed_at_us": self.changed_at_us,
                "changed_by": self.changed_by, "reason": self.reason, "forced": self.forced}


def pointer_key(view: str) -> dict:
    return {"pk": {"S": POINTER_PK}, "sk": {"S": view}}


def decode_pointer(view: str, item: dict | None) -> Pointer:
    """The pointer of ``view`` from its item (None: no item, nothing promoted)."""
    if not item:
        return Pointer(view)

    def number(name: str) -> int | None:
        value = item.get(name)
        return int(value["N"]) if value and "N" in value else None

    def text(name: str) -> str:
        value = item.get(name)
        return value["S"] if value and "S" in value else ""

    retired = item.get("retired", {}).get("NS", [])
    return Pointer(view, number("served"), number("previous"),
                   frozenset(int(v) for v in retired), text("event_id") or None,
                   text("action"), number("subject"), number("changed_at") or 0,
                   text("changed_by"),
                   text("reason"), bool(item.get("forced", {}).get("BOOL", False)))


def encode_pointer(pointer: Pointer) -> dict:
    item = {**pointer_key(pointer.view), "event_id": {"S": pointer.event_id or ""},
            "action": {"S": pointer.action},
            "changed_at": {"N": str(pointer.changed_at_us or time.time_ns() // 1000)},
            "changed_by": {"S": pointer.changed_by}, "reason": {"S": pointer.reason},
            "forced": {"BOOL": pointer.forced}}
    if pointer.served is not None:
        item["served"] = {"N": str(pointer.served)}
    if pointer.previous is not None:
        item["previous"] = {"N": str(pointer.previous)}
    if pointer.subject is not None:
        item["subject"] = {"N": str(pointer.subject)}
    if pointer.retired:
        item["retired"] = {"NS": [str(v) for v in sorted(pointer.retired)]}
    return item


class PointerChanged(Exception):
    """Another command changed the pointer since it was read."""
