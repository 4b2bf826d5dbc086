"""The online store as the rest of featurestore sees it: one interface, ``OnlineStore``.

The sync, the lookup, the parity gate, ``forget``, ``retire``, the versions workflow and
the tests take an object of this shape and never a boto3 client: every DynamoDB call of
the code base is in its one implementation, ``featurestore/online/dynamodb.py``
(``DynamoDBStore``), which holds the retry policy too (``online/retry.py``). What the
interface offers is what those callers need, in their words:

- **items within a deadline**: ``get`` (BatchGetItem for the lookup and the parity gate;
  ``StoreUnavailable`` past the deadline) and ``ping``;
- **conditional writes that never regress**: ``writer`` gives a pool of writer threads
  whose puts carry the never-regress condition (``online/condition.py``), or, for a first
  load claimed through a marker, plain batches;
- **markers and claims**: small items of featurestore's own under ``MARKER_PK``, each
  named (``_first_load#<view>#v1``, ``_synced#...``, ``_retire#...``), with plain
  ``str``/``int`` fields, written unconditionally, only if absent, or only if some
  fields still hold what the writer expects (a lease held by its owner). A shard claim
  of a scaled-out sync is one more marker name;
- **the serving pointer**: ``read_pointers`` (consistent) and ``write_pointer``
  (conditional on the pointer read before: ``PointerChanged`` if another change won);
- **deletes in batches**: the sort keys of one entity (``entity_items``), the keys of
  one view version (``version_items``, a scan), and ``delete_items``, 25 keys a request,
  unprocessed ones retried.

``where`` names the store. A store over two regions (``online/failover.py``:
``FailoverStore``, which reads a replica when its primary does not answer) answers ``get``
with ``Items``, a dict that also names the region it came from; a store of one region may
answer a plain dict.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from featurestore.online.serving import Pointer

# featurestore's own items live under partition keys no entity can have (contracts forbid
# entity names that start with "_"): the sync's markers and claims here, the serving
# pointers under ``serving.POINTER_PK``.
MARKER_PK = "_featurestore#sync"

Key = tuple[str, str]  # (pk, sk) of an item
Fields = Mapping[str, str | int]  # a marker's fields: text or whole numbers


class Items(dict):
    """``get``'s answer, ``{(pk, sk): item}``, with the region that gave it (``region``):
    what the lookup names in its answer when the table has two regions."""

    __slots__ = ("region",)

    def __init__(self, found: Mapping, *, region: str | None = None):
        super().__init__(found)
        self.region = region


@runtime_checkable
class ItemWriter(Protocol):
    """A pool of writers of encoded items (``online/items.py``); the first failure stops
    it, and ``submit``/``wait`` raise it."""

    counters: object  # ``writer.Counters``: written, skipped, retried, unchanged

    def submit(self, items: list[dict], *, conditional: bool = True,
               compare: bool = False) -> None:
        """Queue ``items``; ``conditional``: with the never-regress condition (else plain
        batches, for a claimed first load only); ``compare``: read the stored items first
        and write only those that differ."""

    def wait(self) -> None:
        """Block until every queued write is acknowledged; raise the first failure."""

    def close(self, cancel: bool = False) -> None:
        """Stop the pool (``cancel``: drop what is queued); returns when it has."""


@runtime_checkable
class OnlineStore(Protocol):
    """One feature table in one online store (see the module docstring)."""

    table: str

    def where(self) -> str:
        """Which store: ``AWS DynamoDB in us-east-1``, ``DynamoDB Local at ...``."""

    def store_id(self) -> str:
        """``<endpoint> <table ARN>``: which table this is, wherever it lives (the sync's
        state is keyed by it); OnlineStoreError when the table does not exist."""

    def errors(self) -> AbstractContextManager[None]:
        """A context in which the store's own errors become featurestore's: no answer
        -> ``StoreUnavailable`` (exit 3), a refusal -> ``OnlineStoreError``."""

    # -- items ---------------------------------------------------------------------------
    def get(self, keys: Sequence[Key], attributes: Sequence[str], *,
            consistent: bool | None = None) -> dict[Key, dict]:
        """``{(pk, sk): item}`` of the items that exist, with ``pk``, ``sk``,
        ``feature_ts`` and ``attributes``; ``StoreUnavailable`` past the deadline."""

    def ping(self) -> None:
        """One cheap read within the deadline; ``StoreUnavailable`` if it fails."""

    def writer(self, *, threads: int = 8) -> ItemWriter:
        """A pool of writer threads for one sync run of one view version."""

    # -- markers and claims --------------------------------------------------------------
    def read_markers(self, names: Sequence[str]) -> dict[str, dict[str, str | int]]:
        """The markers that exist among ``names`` (a consistent read), by name."""

    def put_marker(self, name: str, fields: Fields, *, absent: bool = False,
                   expect: Fields | None = None) -> bool:
        """Write the marker ``name`` with ``fields`` (replacing it whole); ``absent``:
        only if there is none, ``expect``: only if its fields hold these values. False
        when the condition refused the write."""

    def delete_markers(self, names: Sequence[str]) -> None:
        """Delete the markers ``names`` (those missing are no error)."""

    # -- the serving pointer -------------------------------------------------------------
    def read_pointers(self, views: Sequence[str]) -> dict[str, Pointer]:
        """Each view's serving pointer (a consistent read; an empty one where none)."""

    def write_pointer(self, pointer: Pointer, expected: Pointer) -> None:
        """Store ``pointer`` if the stored one is still ``expected``; else
        ``serving.PointerChanged``."""

    # -- deletes in batches --------------------------------------------------------------
    def entity_items(self, pk: str) -> list[str]:
        """The sort keys of every item under the partition key ``pk``."""

    def version_items(self, sk: str) -> Iterator[list[Key]]:
        """The keys of every item whose sort key is ``sk``, a page at a time (a scan of
        the table: what a retirement without the version's relation must pay)."""

    def delete_items(self, keys: Sequence[Key]) -> None:
        """Delete ``keys`` in batches; ``OnlineStoreError`` if some stay undeleted."""
