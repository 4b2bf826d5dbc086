"""The claim that lets a first load use plain BatchWriteItem without risking a regression.

BatchWriteItem is twice as fast as conditional transactions on DynamoDB Local (figures in
``online/writer.py``) but cannot carry a condition, so it is safe only where no stored value
can be newer: a view version nobody has written yet. A marker item per view version
records that::

    pk = "_featurestore#sync"   (no entity name starts with "_": contracts forbid it)
    sk = "_first_load#<view>#v<version>"   (never equal to a feature item's sort key)
    state = "loading" | "loaded", owner = "<host>:<pid>:<run id>", lease_until (epoch s)

* The first run creates the marker with ``attribute_not_exists(pk)``; only the run that
  wins that conditional put may use BatchWriteItem, and it renews a short lease while it
  loads. Every other run, and every later run, writes conditionally.
* A conditional run that finds a live "loading" lease refuses to start (its newer values
  could be overwritten by the loader's unconditional writes); an expired lease, or one
  whose owner process is gone from this host, is taken over: the remaining writes of that
  load are then done conditionally.
* The guarantee assumes every writer of the feature table is a featurestore sync (the
  lookup only reads; ``forget`` only deletes) and a loader that does not stall past its
  lease: the lease is renewed every ``lease/3`` seconds by a thread of its own.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid

from featurestore.errors import OnlineStoreError, StoreUnavailable
from featurestore.online.store import MARKER_PK, OnlineStore

DEFAULT_LEASE_SECONDS = 60
UNREAD = object()  # acquire(marker=...): the caller has not read the marker


def marker_name(sk: str) -> str:
    """The first-load marker's name (its sort key under ``MARKER_PK``) of the view version
    whose sort key is ``sk``."""
    return f"_first_load#{sk}"


def marker_key(sk: str) -> dict:
    """The key of the first-load marker of the view version whose sort key is ``sk``."""
    return {"pk": {"S": MARKER_PK}, "sk": {"S": marker_name(sk)}}


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _owner_is_dead(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class FirstLoadClaim:
    """Decides, per run and view version, whether the run may write unconditionally."""

    def __init__(self, store: OnlineStore, sk: str, owner: str,
                 lease_seconds: int = DEFAULT_LEASE_SECONDS):
        self.store, self.sk, self.owner = store, sk, owner
        self.name = marker_name(sk)
        self.lease_seconds = lease_seconds
        self.unconditional = False
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._released = False

    def _fields(self, state: str, lease_until: int) -> dict:
        return {"state": state, "owner": self.owner, "lease_until": lease_until}

    def acquire(self, allow_unconditional: bool = True, marker=UNREAD) -> bool:
        """True when this run owns a first load and may use BatchWriteItem.

        ``marker``: the marker's fields as the caller has just read them (a consistent
        read; None: there is none), which saves the request that would find it here. The
        claim itself is still the conditional put: a marker read as missing is created
        only if it is still missing.
        """
        if allow_unconditional and (marker is UNREAD or marker is None):
            lease = int(time.time()) + self.lease_seconds
            if self.store.put_marker(self.name, self._fields("loading", lease), absent=True):
                self.unconditional = True
                self._renewer = threading.Thread(target=self._renew, daemon=True,
                                                 name="fs-sync-lease")
                self._renewer.start()
                return True
            marker = UNREAD  # created meanwhile: read it
        self._check_no_live_loader(marker)
        return False

    def _check_no_live_loader(self, marker=UNREAD) -> None:
        if marker is UNREAD:
            marker = self.store.read_markers([self.name]).get(self.name)
        if not marker or marker["state"] != "loading":
            return
        owner = marker["owner"]
        lease_until = int(marker["lease_until"])
        if lease_until > time.time() and not _owner_is_dead(owner):
            raise OnlineStoreError(
                f"view version {self.sk} is being loaded for the first time by {owner} "
                f"(lease until {time.strftime('%H:%M:%S', time.localtime(lease_until))}); "
                "wait for that sync to finish, then run `featurestore sync` again."
            )
        # The loader died: from now on this view version is written conditionally only.
        self.store.put_marker(self.name, self._fields("loaded", 0))

    def _renew(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            lease = int(time.time()) + self.lease_seconds
            try:
                if not self.store.put_marker(self.name, self._fields("loading", lease),
                                             expect={"owner": self.owner}):
                    return  # taken over: the release below will refuse to mark it loaded
            except StoreUnavailable:  # no answer: try again next time, the writes will tell
                continue
            except OnlineStoreError:
                return  # refused: as a takeover, the release will tell

    def release(self, completed: bool) -> None:
        """After every write is acknowledged: mark loaded (or leave it for a takeover).

        Stops and joins the lease renewer first; a second call does nothing more. After a
        failure (``completed`` false) this is best effort: a store that does not answer
        keeps the marker as it was, and the lease runs out by itself (or its owner is seen
        dead), so the failure the run is reporting is not hidden behind a second one.
        """
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        if not self.unconditional or self._released:
            return
        self._released = True
        if not completed:
            with contextlib.suppress(OnlineStoreError):  # StoreUnavailable included
                self.store.put_marker(self.name, self._fields("loading", 1),
                                      expect={"owner": self.owner})
            return
        if not self.store.put_marker(self.name, self._fields("loaded", 0),
                                     expect={"owner": self.owner}):
            raise OnlineStoreError(
                f"view version {self.sk}: another sync took over this first load while "
                "it ran (its lease expired); run `featurestore sync` again to be sure "
                "every value is the newest."
            )
