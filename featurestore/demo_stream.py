"""A stream of new events for the demo shop: small Parquet files dropped into the landing
folder while ``featurestore run`` (or the freshness benchmark) ingests them.

The events continue the history ``demo_data.generate`` wrote: its users, devices and
merchants, ids after the last one sent. Like the history, every draw comes from one
seeded numpy ``Generator`` in a fixed order, so a seed and a clock give the same files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from featurestore.demo_data import (
    CURRENCY,
    HISTORY_FILE,
    US_PER_SECOND,
    epoch_us,
    timestamps,
    write_parquet,
)
from featurestore.dtypes import utc_naive
from featurestore.errors import RequestError

STREAM_STATE = ".stream-state.json"  # hidden: ingest skips it
KEPT_FOR_REPEATS = 10_000  # the last events sent, from which a repeat is drawn


@dataclass
class StreamStats:
    files: int = 0
    events: int = 0
    late: int = 0
    duplicates: int = 0


@dataclass
class _Shop:
    """What the stream draws from: the history's devices (and their users), merchants
    and their currencies, and the next transaction id (kept in the state file)."""

    device_user: object
    device_id: object
    merchant_id: object
    currency: object
    state_path: Path
    state: dict


def _shop(landing: Path) -> _Shop:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        devices = pq.read_table(landing / "devices" / HISTORY_FILE,
                                columns=["device_id", "user_id"])
        merchants = pq.read_table(landing / "merchants" / HISTORY_FILE,
                                  columns=["merchant_id", "country"])
    except (OSError, pa.ArrowException):
        raise RequestError(f"{landing}: no demo history to stream from; write it first with "
                           "`featurestore demo-data`") from None
    folder = landing / "transactions"
    state_path = folder / STREAM_STATE
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    if "next_id" not in state:
        import pyarrow.compute as pc

        history = pq.read_table(folder / HISTORY_FILE, columns=["transaction_id"])
        state["next_id"] = int(pc.max(history.column(0)).as_py() or 0) + 1
    return _Shop(device_user=devices.column("user_id").to_numpy(),
                 device_id=np.array(devices.column("device_id").to_pylist()),
                 merchant_id=merchants.column("merchant_id").to_numpy(),
                 currency=np.array([CURRENCY.get(c, "USD")
                                    for c in merchants.column("country").to_pylist()]),
                 state_path=state_path, state=state)


def _draw(rng, shop: _Shop, n: int, moment_us: int, late_share: float):
    """``n`` new events at ``moment_us`` (a ``late_share`` of them hours to days
    behind): the rows, one dict an event, and which of them are late."""
    import numpy as np

    pick = rng.integers(0, len(shop.device_id), n)
    store = rng.integers(0, len(shop.merchant_id), n)
    late = rng.random(n) < late_share
    behind_s = np.where(late, rng.integers(3_600, 3 * 86_400, n),
                        rng.exponential(3.0, n).astype(np.int64))
    first_id = shop.state["next_id"]
    rows = {
        "transaction_id": np.arange(first_id, first_id + n, dtype=np.int64),
        "user_id": shop.device_user[pick],
        "merchant_id": shop.merchant_id[store],
        "device_id": shop.device_id[pick],
        "amount": np.round(rng.lognormal(np.log(40.0), 0.8, n), 2),
        "currency": shop.currency[store],
        "transacted_at": moment_us - behind_s * US_PER_SECOND,
    }
    shop.state["next_id"] += n
    return [dict(zip(rows, values, strict=True))
            for values in zip(*rows.values(), strict=True)], late


def _table(events: list[dict]):
    import pyarrow as pa

    return pa.table({
        "transaction_id": pa.array([r["transaction_id"] for r in events], pa.int64()),
        "user_id": pa.array([r["user_id"] for r in events], pa.int64()),
        "merchant_id": pa.array([r["merchant_id"] for r in events], pa.int64()),
        "device_id": pa.array([str(r["device_id"]) for r in events]),
        "amount": pa.array([float(r["amount"]) for r in events]),
        "currency": pa.array([str(r["currency"]) for r in events]),
        "transacted_at": timestamps([int(r["transacted_at"]) for r in events]),
    })


def stream(landing: Path | str, *, rate: float = 200.0, every: float = 5.0,
           duration: float | None = None, late_share: float = 0.05,
           duplicate_share: float = 0.01, seed: int = 42, now=None,
           stop: Callable[[], bool] = lambda: False,
           progress: Callable[[str], None] | None = None) -> StreamStats:
    """Keep dropping small Parquet files of new transactions into the landing folder.

    Every ``every`` seconds, a file of about ``rate * every`` events of the history's
    users, devices and merchants: most just happened, ``late_share`` of them happened
    hours to days ago (late data), and ``duplicate_share`` repeat an event already sent,
    exactly (a retried upload). Files carry no ``loaded_at``: ingest stamps it. Ids
    continue after the last one sent (kept in a hidden state file), so several runs
    never reuse one. Stops after ``duration`` seconds, or when ``stop()`` says so.
    """
    import time

    import numpy as np

    if rate <= 0 or every <= 0:
        raise RequestError(f"--rate and --every must be positive, got {rate} and {every}")
    if not 0 <= late_share <= 1 or not 0 <= duplicate_share <= 1:
        raise RequestError("--late and --duplicates are shares from 0 to 1")
    landing = Path(landing)
    say = progress or (lambda _line: None)
    shop = _shop(landing)
    rng = np.random.default_rng([seed, shop.state["next_id"]])
    clock = now or (lambda: utc_naive())
    stats = StreamStats()
    sent: list[dict] = []
    started = time.monotonic()
    while not stop() and (duration is None or time.monotonic() - started < duration):
        tick = time.monotonic()
        n = int(rng.poisson(rate * every))
        moment_us = epoch_us(clock())
        first_id = shop.state["next_id"]
        batch, late = _draw(rng, shop, n, moment_us, late_share)
        repeats = [sent[i] for i in rng.integers(0, len(sent), int(rng.binomial(
            n, duplicate_share)))] if sent and n else []
        sent = (sent + batch)[-KEPT_FOR_REPEATS:]
        table = _table(batch + repeats)
        # the first id in the name: unique across runs, and in the order events were sent
        name = f"stream-{moment_us}-{first_id:012d}.parquet"
        write_parquet(table, landing / "transactions" / name)
        shop.state_path.write_text(json.dumps(shop.state))
        stats.files += 1
        stats.events += table.num_rows
        stats.late += int(late.sum())
        stats.duplicates += len(repeats)
        say(f"{name}: {table.num_rows} events ({int(late.sum())} late, {len(repeats)} "
            "repeated)")
        time.sleep(max(0.0, every - (time.monotonic() - tick)))
    return stats
