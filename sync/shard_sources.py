"""Where the rows of a sync in shards wait for the workers, and how a worker reads a shard.

The coordinator has the warehouse put the run's rows, each with its shard
(``shards.sharded_sql``), in one of two places, by ``Dialect.shards_as_files``:

- **Parquet files**, a folder per shard (DuckDB's partitioned ``COPY``,
  ``Dialect.export_shards``), in a temporary folder: a DuckDB file admits one writing
  process, so the workers never open it.
- **A table in the warehouse** (Snowflake): ``create transient table
  featurestore.fs_sync_shards_<run>`` as the sharded rows, computed once by the
  warehouse (``Dialect.stage_shards``). Each worker opens its own connection and reads
  only the shards it claims (``where _fs_shard = n``) as Arrow batches, so the rows go
  from the warehouse to the worker that writes them, and none passes through the
  coordinator. The connection is resolved in the worker from the dbt profile, as every
  featurestore command resolves it (``Project.dbt_target``): the job carries the
  project's folder, the target's name and the profiles folder, never a credential (a
  password in ``profiles.yml`` is read there, one in a ``SNOWFLAKE_*`` variable from
  the worker's environment, which it inherits).

Either way the rows are gone when the run ends, whether it succeeded or failed: the
folder is removed, the table dropped (``staged``). A coordinator killed outright leaves
its table behind, named for its run, and its sync state row still says ``running``
under that run's id: the next sync of that view version drops it (``drop_leftover``).
A run still marked running then is either dead or about to fail anyway, since the new
run's shard markers replace its own.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from featurestore.contracts import FeatureView
from featurestore.errors import WarehouseError
from featurestore.sync import shards as shard_ops
from featurestore.sync.reader import ReadPlan, regroup

TABLE_PREFIX = "fs_sync_shards_"

# a shard's rows, as lists of row dicts of up to the job's batch size
ShardReader = Callable[[int], Iterator[list[dict]]]


@dataclass(frozen=True)
class ShardTable:
    """A run's shards as one table in the warehouse, and how a worker connects to it
    (picklable, and free of secrets: names and folders only)."""

    relation: str
    project_root: str
    target: str | None = None  # the dbt target asked for (--target); None: dbt's default
    profiles_dir: str | None = None  # --profiles-dir; None: as dbt finds it

    def connect(self):
        """A warehouse connection of this process's own, from the dbt profile."""
        from featurestore.project import Project
        from featurestore.warehouse import Warehouse

        return Warehouse(Project(Path(self.project_root), target=self.target,
                                 profiles_dir_option=self.profiles_dir))

    def shard_sql(self, shard: int) -> str:
        return (f"select * from {self.relation} "
                f"where {shard_ops.SHARD_COLUMN} = {int(shard)}")


@dataclass(frozen=True)
class Staged:
    """Where a run's rows are: Parquet files under ``directory``, or ``table``."""

    directory: str = ""
    table: ShardTable | None = None
    empty: bool = False  # no row to write: no worker needs to start


def table_name(warehouse, run_id: str) -> str:
    if not run_id.isalnum():  # a uuid's hex: nothing to escape in a name
        raise ValueError(f"sync run id {run_id!r} is not alphanumeric")
    return warehouse.store_table(f"{TABLE_PREFIX}{run_id}")


def drop_leftover(warehouse, previous) -> str | None:
    """Drop the shard table of the view version's previous run if that run never
    finished (its coordinator was killed); the table's name if one was dropped."""
    if (warehouse.dialect.shards_as_files or previous.status != "running"
            or not previous.run_id):
        return None
    name = table_name(warehouse, previous.run_id)
    warehouse.execute(f"drop table if exists {name}")
    return name


@contextlib.contextmanager
def staged(warehouse, view: FeatureView, relation: str, plan: ReadPlan, shards: int,
           run_id: str) -> Iterator[Staged]:
    """Put the run's rows where the workers read them, for the block; removed after."""
    if warehouse.dialect.shards_as_files:
        with tempfile.TemporaryDirectory(prefix="featurestore-shards-") as directory:
            shard_ops.export(warehouse, view, relation, plan, shards, Path(directory))
            empty = not any(shard_ops.shard_files(Path(directory), n)
                            for n in range(shards))
            yield Staged(directory=directory, empty=empty)
        return
    name = table_name(warehouse, run_id)
    project = warehouse.project
    table = ShardTable(name, str(project.root), project.target,
                       None if project.profiles_dir_option is None
                       else str(project.profiles_dir_option))
    sql = shard_ops.sharded_sql(view, relation, plan, warehouse.dialect, shards)
    warehouse.ensure_store_schema()
    try:
        warehouse.dialect.stage_shards(warehouse, sql, name)
        count = warehouse.fetch_all(f"select count(*) from {name}")[0][0]
        yield Staged(table=table, empty=not count)
    except BaseException:
        with contextlib.suppress(WarehouseError):  # the error being raised matters more
            warehouse.execute(f"drop table if exists {name}")
        raise
    warehouse.execute(f"drop table if exists {name}")


@contextlib.contextmanager
def reader(directory: str, table: ShardTable | None,
           batch_size: int) -> Iterator[ShardReader]:
    """A function from a shard to its rows, for one worker: from the Parquet files, or
    from the table over a connection of this worker's own (opened at the first shard it
    claims, closed when the block ends)."""
    if table is None:
        yield lambda shard: shard_ops.read_shard(Path(directory), shard, batch_size)
        return
    opened: list = []

    def read(shard: int) -> Iterator[list[dict]]:
        if not opened:
            opened.append(table.connect())
        batches = opened[0].stream_batches(table.shard_sql(shard), batch_size=batch_size)
        return regroup((_without_shard(batch) for batch in batches), batch_size)

    try:
        yield read
    finally:
        for warehouse in opened:
            warehouse.close()


def _without_shard(batch):
    """The batch without its shard column (which a warehouse that folds unquoted names
    gives back upper case)."""
    names = [name for name in batch.schema.names
             if name.lower() == shard_ops.SHARD_COLUMN]
    return batch.drop_columns(names) if names else batch
