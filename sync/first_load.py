"""The claim that lets a first load use plain BatchWriteItem without risking a regression.

BatchWriteItem is twice as fast as conditional transactions on DynamoDB Local (figures in
``sync/writer.py``) but cannot carry a condition, so it is safe only where no stored value
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

import os
import socket
import threading
import time
import uuid

from featurestore.errors import OnlineStoreError
from featurestore.online.retry import is_unreachable

MARKER_PK = "_featurestore#sync"
DEFAULT_LEASE_SECONDS = 60
UNREAD = object()  # acquire(marker=...): the caller has not read the marker


def marker_key(sk: str) -> dict:
    """The key of the first-load marker of the view version whose sort key is ``sk``."""
    return {"pk": {"S": MARKER_PK}, "sk": {"S": f"_first_load#{sk}"}}


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

    def __init__(self, client, table: str, sk: str, owner: str,
                 lease_seconds: int = DEFAULT_LEASE_SECONDS):
        self.client, self.table, self.sk, self.owner = client, table, sk, owner
        self.lease_seconds = lease_seconds
        self.unconditional = False
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._released = False

    @property
    def key(self) -> dict:
        return marker_key(self.sk)

    def acquire(self, allow_unconditional: bool = True, marker=UNREAD) -> bool:
        """True when this run owns a first load and may use BatchWriteItem.

        ``marker``: the marker item as the caller has just read it (a consistent read;
        None: there is none), which saves the two requests that would find it here. The
        claim itself is still the conditional put: a marker read as missing is created
        only if it is still missing.
        """
        from botocore.exceptions import ClientError

        if allow_unconditional and (marker is UNREAD or marker is None):
            try:
                self.client.put_item(
                    TableName=self.table,
                    Item={**self.key, "state": {"S": "loading"}, "owner": {"S": self.owner},
                          "lease_until": {"N": str(int(time.time()) + self.lease_seconds)}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                marker = UNREAD  # created meanwhile: read it
            else:
                self.unconditional = True
                self._renewer = threading.Thread(target=self._renew, daemon=True,
                                                 name="fs-sync-lease")
                self._renewer.start()
                return True
        self._check_no_live_loader(marker)
        return False

    def _check_no_live_loader(self, marker=UNREAD) -> None:
        if marker is UNREAD:
            marker = self.client.get_item(TableName=self.table, Key=self.key,
                                          ConsistentRead=True).get("Item")
        if not marker or marker["state"]["S"] != "loading":
            return
        owner = marker["owner"]["S"]
        lease_until = int(marker["lease_until"]["N"])
        if lease_until > time.time() and not _owner_is_dead(owner):
            raise OnlineStoreError(
                f"view version {self.sk} is being loaded for the first time by {owner} "
                f"(lease until {time.strftime('%H:%M:%S', time.localtime(lease_until))}); "
                "wait for that sync to finish, then run `featurestore sync` again."
            )
        # The loader died: from now on this view version is written conditionally only.
        self.client.put_item(
            TableName=self.table,
            Item={**self.key, "state": {"S": "loaded"}, "owner": {"S": self.owner},
                  "lease_until": {"N": "0"}},
        )

    def _renew(self) -> None:
        from botocore.exceptions import ClientError

        while not self._stop.wait(self.lease_seconds / 3):
            try:
                self.client.update_item(
                    TableName=self.table, Key=self.key,
                    UpdateExpression="SET lease_until = :until",
                    ConditionExpression="#o = :me",
                    ExpressionAttributeNames={"#o": "owner"},
                    ExpressionAttributeValues={
                        ":until": {"N": str(int(time.time()) + self.lease_seconds)},
                        ":me": {"S": self.owner},
                    },
                )
            except ClientError:
                return  # taken over: the release below will refuse to mark it loaded
            except Exception as exc:  # no answer: try again next time, the writes will tell
                if not is_unreachable(exc):
                    raise

    def release(self, completed: bool) -> None:
        """After every write is acknowledged: mark loaded (or leave it for a takeover).

        Stops and joins the lease renewer first; a second call does nothing more. After a
        failure (``completed`` false) this is best effort: a store that does not answer
        keeps the marker as it was, and the lease runs out by itself (or its owner is seen
        dead), so the failure the run is reporting is not hidden behind a second one.
        """
        from botocore.exceptions import ClientError

        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        if not self.unconditional or self._released:
            return
        self._released = True
        if not completed:
            try:
                self._put_marker(completed=False)
            except Exception as exc:
                if not (isinstance(exc, ClientError) or is_unreachable(exc)):
                    raise
            return
        try:
            self._put_marker(completed=True)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise OnlineStoreError(
                f"view version {self.sk}: another sync took over this first load while "
                "it ran (its lease expired); run `featurestore sync` again to be sure "
                "every value is the newest."
            ) from None

    def _put_marker(self, completed: bool) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={**self.key, "state": {"S": "loaded" if completed else "loading"},
                  "owner": {"S": self.owner},
                  "lease_until": {"N": "0" if completed else "1"}},
            ConditionExpression="#o = :me",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":me": {"S": self.owner}},
        )
