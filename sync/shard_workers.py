"""The workers of a sync in shards (``shards.py``), and the run that coordinates them.

``featurestore sync --workers N`` (N > 1): the coordinating process plans the run as a
sync in one process does (``worker.py``: the state, the serving pointer, the first-load
claim, the watermark read before the rows), has the warehouse write the rows in
``N x SHARDS_PER_WORKER`` shards (Parquet files; on Snowflake a table, each worker reading
its shards over its own connection: ``shard_sources.py``), marks them pending, starts
N - 1 worker processes and works as the N-th itself. Each worker claims a shard, writes
it with the same codec (``items.encode_item``) and the same conditional writer as a sync
in one process, marks it done with its counts, and claims the next, until none is left;
a shard whose worker died is taken over once its lease expires. Only when every shard is
done does the coordinator move the sync marker and ``sync_state``: a run that fails, or
whose coordinator dies, leaves the watermark where it was, and the next run reads the
same rows again.

More shards than workers, so a slow or dead worker's share is split among the others
(and a takeover re-writes a small shard, not a quarter of the table). The workers are
fresh interpreters (``start_worker``), not forks: the coordinator holds threads (boto3's
pools, DuckDB's), which a fork would copy mid-lock.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from featurestore.contracts import FeatureView
from featurestore.errors import FeatureStoreError, OnlineStoreError, StoreUnavailable
from featurestore.online.config import OnlineConfig
from featurestore.online.items import encode_item, view_sk
from featurestore.online.store import OnlineStore
from featurestore.online.writer import Counters
from featurestore.sync import shard_sources
from featurestore.sync import shards as shard_ops
from featurestore.sync.first_load import new_owner
from featurestore.sync.reader import ReadPlan

SHARDS_PER_WORKER = 4
POLL_SECONDS = 0.25  # how often a worker with nothing to claim looks at the markers again


@dataclass(frozen=True)
class ShardJob:
    """What every worker of one run needs (picklable: it is sent to each process)."""

    config: OnlineConfig
    view: FeatureView
    directory: str  # where the rows are: Parquet files here, a folder per shard, ...
    shards: int
    run_id: str
    unconditional: bool  # under the coordinator's first-load claim: plain batches
    threads: int = 8
    batch_size: int = 5_000
    lease_seconds: float = 60.0
    table: shard_sources.ShardTable | None = None  # ... or, when set, in this table

    def reader(self):
        """This worker's way to its shards' rows (``shard_sources.reader``)."""
        return shard_sources.reader(self.directory, self.table, self.batch_size)

    @property
    def names(self) -> list[str]:
        return shard_ops.marker_names(view_sk(self.view), self.shards)


def work(job: ShardJob, store: OnlineStore, *,
         progress: Callable[[int, Counters], None] | None = None) -> Counters:
    """Claim and write shards until every shard of the run is done or one failed; the
    counts of the shards this worker completed."""
    owner = new_owner()
    total = Counters()
    with job.reader() as read:
        while True:
            markers = store.read_markers(job.names)
            if any(markers.get(name, {}).get("run") != job.run_id for name in job.names):
                raise OnlineStoreError(
                    f"view version {view_sk(job.view)}: the shard claims of sync run "
                    f"{job.run_id} were replaced (another sync of this view version "
                    "started); run `featurestore sync` again once it has finished.")
            states = [markers[name]["state"] for name in job.names]
            if "failed" in states or all(state == "done" for state in states):
                return total
            at = shard_ops.now_ms()
            taken = next((shard for shard, name in enumerate(job.names)
                          if shard_ops.claimable(markers[name], job.run_id, at)
                          and shard_ops.claim(store, name, markers[name], owner,
                                              job.lease_seconds)), None)
            if taken is not None:
                write_shard(job, store, taken, owner, total, read, progress)
            else:
                time.sleep(POLL_SECONDS)  # the shards left are another live worker's


def write_shard(job: ShardJob, store: OnlineStore, shard: int, owner: str,
                total: Counters, read: shard_sources.ShardReader, progress=None) -> None:
    """Write one claimed shard (its rows from ``read``) under a renewed lease, then mark
    it done (or failed)."""
    name = job.names[shard]
    stop, lost = threading.Event(), threading.Event()

    def keep_lease() -> None:
        while not stop.wait(job.lease_seconds / 3):
            try:
                if not shard_ops.renew(store, name, job.run_id, owner, job.lease_seconds):
                    lost.set()  # taken over: the new owner writes the whole shard
                    return
            except StoreUnavailable:
                continue  # no answer: the writes will tell
            except OnlineStoreError:
                lost.set()
                return

    renewer = threading.Thread(target=keep_lease, daemon=True, name="fs-shard-lease")
    renewer.start()
    writer = store.writer(threads=job.threads)
    rows_read = 0
    try:
        with store.errors():
            for rows in read(shard):
                if lost.is_set():
                    break
                written_at = time.time_ns() // 1_000
                items = [encode_item(job.view, row, written_at) for row in rows]  # all, first
                writer.submit(items, conditional=not job.unconditional,
                              compare=not job.unconditional)
                rows_read += len(rows)
                if progress is not None:
                    progress(len(rows), writer.counters)
            writer.wait()
    except BaseException as exc:
        writer.close(cancel=True)
        stop.set()
        renewer.join()
        if isinstance(exc, FeatureStoreError):  # best effort: the error is what matters
            try:
                shard_ops.finish(store, name, job.run_id, owner, {},
                                 message=f"{type(exc).__name__}: {exc}")
            except FeatureStoreError:
                pass
        raise
    writer.close()
    stop.set()
    renewer.join()
    counters = writer.counters
    counts = {"rows": rows_read, "written": counters.written, "skipped": counters.skipped,
              "retried": counters.retried, "unchanged": counters.unchanged}
    if not lost.is_set() and shard_ops.finish(store, name, job.run_id, owner, counts):
        total.add(counters.written, counters.skipped, counters.retried, counters.unchanged)


def start_worker(job: ShardJob) -> subprocess.Popen:
    """A worker process (``python -m featurestore.sync.shard_workers``), handed ``job``
    on its standard input. A fresh interpreter rather than multiprocessing's spawn, which
    re-runs the launching script's main module (a console script without a
    ``__main__`` guard would start the whole command again)."""
    process = subprocess.Popen([sys.executable, "-m", "featurestore.sync.shard_workers"],
                               stdin=subprocess.PIPE)
    with process.stdin:
        process.stdin.write(pickle.dumps(job))
    return process


def work_in_process(job: ShardJob) -> None:
    """A worker process: its own store, writing until every shard is done."""
    from featurestore.online.dynamodb import DynamoDBStore

    store = DynamoDBStore.for_sync(job.config, threads=job.threads)
    try:
        work(job, store)
    except FeatureStoreError as exc:  # its shard is marked failed; the coordinator tells
        raise SystemExit(f"featurestore sync worker: {exc}") from None


def run_shards(warehouse, store, view: FeatureView, relation: str, plan: ReadPlan, *,
               workers: int, run_id: str, unconditional: bool, threads: int,
               batch_size: int, lease_seconds: float,
               progress: Callable[[int, Counters], None] | None = None
               ) -> tuple[int, Counters]:
    """Write the run's rows with ``workers`` workers (this process one of them); the rows
    read and the counters summed over every shard, once every shard is done."""
    count = workers * SHARDS_PER_WORKER
    sk = view_sk(view)
    with shard_sources.staged(warehouse, view, relation, plan, count, run_id) as rows:
        if rows.empty:
            return 0, Counters()  # nothing to write: no worker is started
        shard_ops.open_shards(store, sk, count, run_id)
        job = ShardJob(store.config, view, rows.directory, count, run_id, unconditional,
                       threads, batch_size, lease_seconds, rows.table)
        children = [start_worker(job) for _ in range(1, workers)]
        done, own = False, [0]

        def tally(rows: int, counters: Counters) -> None:
            own[0] += rows
            if progress is not None:
                progress(rows, counters)

        try:
            work(job, store, progress=tally)
            markers = store.read_markers(job.names)
            done = True
        finally:
            for child in children:
                if not done:
                    child.terminate()  # its writes are conditional or of this snapshot
                child.wait()  # done: it saw every shard done and left
        outcome = _outcome(job, markers, own[0], progress)
        shard_ops.close_shards(store, sk, count)
    return outcome


def _outcome(job: ShardJob, markers: dict, own_rows: int, progress) -> tuple[int, Counters]:
    failed = [(shard, markers[name]) for shard, name in enumerate(job.names)
              if markers[name]["state"] == "failed"]
    if failed:
        shard, marker = failed[0]
        message = (f"view `{job.view.name}` v{job.view.version}, shard {shard} of "
                   f"{job.shards}: {marker.get('message', 'failed')}")
        if str(marker.get("message", "")).startswith("StoreUnavailable"):
            raise StoreUnavailable(message)
        raise OnlineStoreError(message)
    total = Counters()
    rows = 0
    for name in job.names:
        marker = markers[name]
        rows += int(marker.get("rows", 0))
        total.add(int(marker.get("written", 0)), int(marker.get("skipped", 0)),
                  int(marker.get("retried", 0)), int(marker.get("unchanged", 0)))
    if progress is not None:  # the other workers' rows, once known
        progress(rows - own_rows, total)
    return rows, total


if __name__ == "__main__":
    work_in_process(pickle.load(sys.stdin.buffer))
