"""Online/offline parity: do DynamoDB items hold the warehouse's latest values?

A sample of entities (deterministic, by key hash; all of them when there are fewer than
the sample size) is read from the warehouse as the sync would publish it (newest row
with ``feature_ts`` <= now, ties to the row landed last) and from the online store
(``OnlineStore.get``, consistent, in chunks of 100 within the store's deadline: 10 s a
chunk for a store opened by a command); every feature value and ``feature_ts`` is
compared.
"""

from __future__ import annotations

import datetime as dt
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from featurestore.contracts import FeatureView
from featurestore.dtypes import sql_literal, utc_naive
from featurestore.errors import StoreUnavailable
from featurestore.gates.freshness import utc_column
from featurestore.gates.quality import resolve_columns
from featurestore.online.items import decode_item, entity_pk, view_sk
from featurestore.online.store import OnlineStore

CHUNK = 100  # keys per read: one BatchGetItem
SHOWN_MISMATCHES = 20


@dataclass
class ParityReport:
    view: str
    sampled: int = 0
    missing: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)

    def metrics(self) -> dict:
        return {"missing_items": len(self.missing), "mismatched_values": len(self.mismatches)}

    def detail_lines(self) -> list[str]:
        lines = [f"parity/{self.view}: {self.sampled} entities compared"]
        problems = self.missing + self.mismatches
        lines += [f"parity/{self.view}: {p}" for p in problems[:SHOWN_MISMATCHES]]
        if len(problems) > SHOWN_MISMATCHES:
            lines.append(f"parity/{self.view}: ... and {len(problems) - SHOWN_MISMATCHES} more")
        return lines


def sample_sql(warehouse, view: FeatureView, sample: int, as_of: dt.datetime) -> str:
    relation = warehouse.view_relation(view)
    wanted = [*view.keys, view.timestamp, *view.feature_names]
    if view.created_timestamp:
        wanted.append(view.created_timestamp)
    columns = resolve_columns(warehouse, relation, wanted)
    missing = [c for c in wanted if c not in columns]
    if missing:
        from featurestore.errors import WarehouseError

        raise WarehouseError(f"{relation} lacks column `{missing[0]}` of view `{view.name}`; "
                             "rebuild the model (`featurestore build`).")
    keys = [columns[k] for k in view.keys]
    ts = columns[view.timestamp]
    # a timezone-aware feature_ts is compared by its instant, as naive UTC
    visible_ts = utc_column(warehouse, relation, view.timestamp, f"r.{ts}")
    order = f"r.{ts} desc"
    if view.created_timestamp:
        # a null created_ts loses a tie, as in the sync and the joins (DuckDB and
        # Snowflake put nulls at different ends of a DESC order, so say it)
        order += f", r.{columns[view.created_timestamp]} desc nulls last"
    selected = ", ".join(f"r.{columns[c]}" for c in [*view.keys, view.timestamp,
                                                       *view.feature_names])
    joined = " and ".join(f"r.{k} = s.{k}" for k in keys)
    return (
        "-- 1. the sampled entities: a stable pseudo-random choice by key hash\n"
        f"with sampled as (select {', '.join(keys)} from (select distinct {', '.join(keys)} "
        f"from {relation}) as e order by hash({', '.join(keys)}) limit {int(sample)}),\n"
        "-- 2. their newest visible row, as the sync publishes it\n"
        f"latest as (select {selected} from {relation} as r join sampled as s on {joined} "
        f"where {visible_ts} <= {sql_literal('timestamp', as_of)} "
        f"qualify row_number() over (partition by {', '.join('r.' + k for k in keys)} "
        f"order by {order}) = 1)\n"
        "select * from latest"
    )


def _same(dtype: str, offline: object, online: object) -> bool:
    if offline is None or online is None:
        return offline is None and online is None
    if dtype == "float64":
        a, b = float(offline), float(online)
        return a == b or (math.isfinite(a) and math.isclose(a, b, rel_tol=1e-9))
    if dtype == "timestamp":
        return utc_naive(offline) == online
    return offline == online


def read_items(store: OnlineStore, view: FeatureView, pks: list[str],
               threads: int = 4) -> dict[str, dict]:
    """pk -> item for every key found: the online store's reads (BatchGetItem in chunks of
    100, UnprocessedKeys retried within its deadline), strongly consistent, a few chunks
    in parallel."""
    sk = view_sk(view)
    chunks = [pks[i:i + CHUNK] for i in range(0, len(pks), CHUNK)]
    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            answers = list(pool.map(
                lambda chunk: store.get([(pk, sk) for pk in chunk], view.feature_names,
                                        consistent=True),
                chunks))
    except StoreUnavailable as exc:
        raise StoreUnavailable(f"table {store.table}: reading items for the parity gate "
                               f"failed ({exc}). Is DynamoDB reachable and the table "
                               "synced?") from None
    return {pk: item for answer in answers for (pk, _sk), item in answer.items()}


def parity_metrics(warehouse, store: OnlineStore, view: FeatureView, sample: int,
                   as_of: dt.datetime | None = None) -> ParityReport:
    report = ParityReport(view.label)
    reference = utc_naive(as_of)
    rows = warehouse.fetch_arrow(sample_sql(warehouse, view, sample, reference)).to_pylist()
    rows = [{k.lower(): v for k, v in row.items()} for row in rows]
    report.sampled = len(rows)
    sk = view_sk(view)
    pks = [entity_pk(view.entity, {k: row[k] for k in view.keys}) for row in rows]
    items = read_items(store, view, pks)
    for pk, row in zip(pks, rows, strict=True):
        item = items.get(pk)
        if item is None:
            report.missing.append(f"{pk}: no DynamoDB item ({sk})")
            continue
        online_ts, values = decode_item(view, item)
        offline_ts = utc_naive(row[view.timestamp])
        if offline_ts != online_ts:
            report.mismatches.append(f"{pk} feature_ts: warehouse {offline_ts.isoformat()}, "
                                     f"DynamoDB {online_ts.isoformat()}")
        for feature in view.features:
            offline, online = row[feature.name], values[feature.name]
            if not _same(feature.dtype, offline, online):
                report.mismatches.append(f"{pk} {feature.name}: warehouse {offline!r}, "
                                         f"DynamoDB {online!r}")
    return report

