"""``/healthz`` and ``/readyz``: whether the online store can be read, region by region.

Liveness (``/healthz``) is 200 whatever the store does, with its state in the body, so an
instance that cannot read DynamoDB keeps serving defaults instead of being restarted in a
loop; readiness (``/readyz``) is 503 while no answer with stored values is possible. With a
table in two regions (``online/failover.py``) each region is pinged and reported: the
lookup is "degraded" while either cannot be read, and ready while one can (it reads the
replica then).
"""

from __future__ import annotations

from featurestore.errors import StoreUnavailable
from featurestore.lookup.events import message
from featurestore.lookup.routes import UNAVAILABLE
from featurestore.online.store import OnlineStore


def liveness(store: OnlineStore, views: int, built_at: str) -> dict:
    """The body of ``/healthz``."""
    head = {"views": views, "registry_built_at": built_at}
    regions = region_states(store)
    if regions is not None:
        down = any(state["status"] != "ok" for state in regions.values())
        return {"status": "degraded" if down else "ok", **head,
                "store": regions["primary"], "replica": regions["replica"]}
    problem = store_problem(store)
    state = {"status": "ok"} if problem is None else {"status": UNAVAILABLE,
                                                      "message": problem}
    return {"status": "ok" if problem is None else "degraded", **head, "store": state}


def readiness(store: OnlineStore, views: int, built_at: str) -> tuple[int, dict]:
    """``(status, body)`` of ``/readyz``: 503 while no region can be read."""
    ready = {"status": "ready", "views": views, "registry_built_at": built_at}
    regions = region_states(store)
    if regions is not None:
        statuses = {state["region"]: state["status"] for state in regions.values()}
        if all(state["status"] != "ok" for state in regions.values()):
            return 503, {"error": UNAVAILABLE, "message": " ".join(
                state["message"] for state in regions.values()), "regions": statuses}
        return 200, {**ready, "regions": statuses}
    problem = store_problem(store)
    if problem is not None:
        return 503, {"error": UNAVAILABLE, "message": problem}
    return 200, ready


def store_problem(store: OnlineStore) -> str | None:
    """Why DynamoDB cannot be read now (one GetItem within the deadline); None if it
    can."""
    try:
        store.ping()
    except StoreUnavailable as exc:
        return message(f"the online store cannot be read: {exc}")
    return None


def region_states(store: OnlineStore) -> dict[str, dict] | None:
    """With two regions: ``{"primary": {"region", "status"[, "message"]}, "replica":
    ...}`` from one ping of each; else None."""
    if getattr(store, "regions", None) is None:
        return None
    states = {}
    for role, (region, problem) in store.check().items():
        state = {"region": region, "status": "ok" if problem is None else UNAVAILABLE}
        if problem is not None:
            state["message"] = message(f"the {role} region ({region}) cannot be read: "
                                       f"{problem}")
        states[role] = state
    return states
