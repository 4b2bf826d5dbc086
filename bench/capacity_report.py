"""The tables of docs/scale.md: item sizes measured with the codec, then the model's
arithmetic (bench/capacity.py) on the seeds' workload, printed as Markdown."""

from __future__ import annotations

import datetime as dt
import math
import random

from bench.capacity import batch_get_calls, cache_hit_rate, read_units, write_units
from bench.capacity_inputs import ROOT_FEATURE_DEFS
from bench.capacity_sections import cost_section, fleet_section, sync_section, table

ZIPF_EXPONENTS = (0.8, 1.0, 1.2)
WRITTEN_AT_US = 1_780_000_000_000_000  # 2026-05-28: a 16-digit epoch in microseconds


def sample_value(dtype: str, rng: random.Random):
    """A value as the demo's features hold them: counts of a few digits, floats computed
    by sums and means (the full 17 significant digits of a double, the largest number
    DynamoDB is asked to hold), short strings, timestamps."""
    if dtype == "int64":
        return rng.randrange(1, 10_000)
    if dtype == "float64":
        return rng.random() * 10_000
    if dtype == "string":
        return "".join(rng.choice("abcdefghij") for _ in range(8))
    if dtype == "bool":
        return rng.random() < 0.5
    return dt.datetime(2026, 5, 1) + dt.timedelta(microseconds=rng.randrange(10**12))


def item_bytes(view, entity_id: int, seed: int = 1) -> int:
    """The size of ``view``'s item for ``entity_id``, encoded by the codec and measured by
    DynamoDB's item-size rule (featurestore.online.items.item_size)."""
    from featurestore.online.items import encode_item, item_size

    rng = random.Random(seed)
    row = {key: entity_id for key in view.keys}
    row[view.timestamp] = dt.datetime(2026, 5, 1, 12, 30, 15, 123456)
    for feature in view.features:
        row[feature.name] = sample_value(feature.dtype, rng)
    return item_size(encode_item(view, row, WRITTEN_AT_US))


def synthetic_view(features: int):
    """A user view of ``features`` features, half int64 counts and half float64 amounts,
    named as the demo names them (``txn_amount_sum_30d``: 18 bytes)."""
    from featurestore.contracts import Entity, Feature, FeatureView, JoinKey

    def name(i: int) -> str:
        return f"f{i:03d}_amount_sum_30d"  # 18 bytes, as long as the demo's typical name

    return FeatureView(
        name=f"synthetic_{features}", version=1,
        entity=Entity("user", (JoinKey("user_id", "int64"),)),
        source=f"fs_synthetic_{features}", timestamp="feature_ts", owner="bench",
        description="capacity model", ttl_seconds=30 * 86_400,
        features=tuple(Feature(name(i), "float64" if i % 2 else "int64", "internal", "x")
                       for i in range(features)))


def measure_items(entities: int) -> dict[str, dict]:
    """Per view: features and item bytes at the largest key of ``entities`` entities."""
    from featurestore.contracts import load_catalog

    sizes = {}
    catalog = load_catalog(ROOT_FEATURE_DEFS)
    for name, view in sorted(catalog.views.items()):
        if view.online:
            sizes[name] = {"features": len(view.features),
                           "bytes": item_bytes(view, entities)}
    for count in (17, 50, 300):
        view = synthetic_view(count)
        sizes[view.name] = {"features": count, "bytes": item_bytes(view, entities)}
    return sizes


def item_table(sizes: dict) -> str:
    rows = [[name, s["features"], f"{s['bytes']:,}", read_units(s["bytes"]),
             read_units(s["bytes"], consistent=True), write_units(s["bytes"]),
             write_units(s["bytes"], transactional=True)] for name, s in sizes.items()]
    return table(["view", "features", "item bytes", "RRU eventual", "RRU consistent",
                  "WRU plain", "WRU transactional"], rows)


def request_shapes(sizes: dict, workload: dict) -> list[dict]:
    """A request of F features reads ceil(F / features_per_view) items of that view."""
    per_view = workload["features_per_view"]
    item = sizes[f"synthetic_{per_view}"]["bytes"]
    shapes = []
    for features in workload["features_per_request"]:
        items = math.ceil(features / per_view)
        shapes.append({"features": features, "items": items, "item_bytes": item,
                       "rru": items * read_units(item),
                       "calls_1_key": batch_get_calls(items, item),
                       "calls_100_keys": batch_get_calls(100 * items, item)})
    return shapes


def hit_rates(simulate: bool, measured: dict, entities: int) -> dict:
    if not simulate:
        return measured["cache_hit_rate"]
    rates = {}
    for exponent in ZIPF_EXPONENTS:
        rates[exponent] = {rate: cache_hit_rate(exponent, rate, entities)
                           for rate in (500, 2_000)}
    return rates


def report(simulate_cache: bool, workload: dict, measured: dict) -> str:
    entities = workload["entities"]
    sizes = measure_items(entities)
    shapes = request_shapes(sizes, workload)
    hits = hit_rates(simulate_cache, measured, entities)
    parts = ["## Items (measured by the codec)", item_table(sizes),
             "## Reads per request",
             table(["features", "items", "item bytes", "RRU (eventual)",
                    "BatchGetItem calls, 1 key", "calls, 100 keys"],
                   [[s["features"], s["items"], f"{s['item_bytes']:,}", s["rru"],
                     s["calls_1_key"], s["calls_100_keys"]] for s in shapes])]
    parts += fleet_section(workload, measured, shapes, hits)
    parts += sync_section(workload, measured, sizes)
    parts += cost_section(workload, measured, shapes, sizes, hits)
    return "\n\n".join(parts)

