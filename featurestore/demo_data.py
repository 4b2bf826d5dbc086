"""A deterministic demo shop: users, merchants, devices, transactions, chargebacks and
refunds.

The demo and the benchmarks need data that behaves like a card-fraud shop (a few hot
merchants, power users, fraud rings whose transactions come back as chargebacks, a few
percent of rows landing days late) at any size, generated in seconds. Everything is drawn
from one seeded numpy ``Generator`` in a fixed order and written with fixed Parquet
settings, so the same (users, days, seed, end) gives byte-identical files: a test or a
benchmark can name its data by those four numbers.

All timestamps are naive UTC with microsecond precision, like the warehouse stores them.
``generate`` is one function on purpose: its numbered steps draw from the generator in
the order that makes the files, and read best top to bottom (the size rule's one
allowance, tests/core/test_sizes.py). New events after the history: demo_stream.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from featurestore.dtypes import utc_naive
from featurestore.errors import RequestError

TABLES = ("users", "profile_updates", "merchants", "devices", "transactions", "chargebacks",
          "refunds")
HISTORY_FILE = "history.parquet"

_COUNTRY_NAMES = ["US", "GB", "DE", "FR", "ES", "NL", "BR", "IN", "NG", "CA"]
_COUNTRY_WEIGHTS = [0.34, 0.12, 0.1, 0.08, 0.06, 0.05, 0.08, 0.07, 0.04, 0.06]
CURRENCY = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "ES": "EUR", "NL": "EUR",
             "BR": "BRL", "IN": "INR", "NG": "NGN", "CA": "CAD"}
_CHANNELS = ["web", "ios", "android", "partner"]
_CHANNEL_WEIGHTS = [0.35, 0.3, 0.3, 0.05]
_EMAIL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me",
                  "mailinator.com"]
_EMAIL_WEIGHTS = [0.5, 0.18, 0.12, 0.14, 0.04, 0.02]
# category -> (median amount, spread of log amount)
_CATEGORIES = {"grocery": (35.0, 0.5), "restaurants": (28.0, 0.6), "fuel": (50.0, 0.3),
               "electronics": (240.0, 0.9), "travel": (420.0, 0.8), "fashion": (80.0, 0.7),
               "digital_goods": (15.0, 0.8), "gift_cards": (100.0, 0.6)}
_REASONS = ["fraudulent", "unrecognized", "product_not_received", "duplicate", "other"]
# category -> share of its transactions refunded: goods come back, fuel and meals do not
_REFUND_RATES = {"grocery": 0.01, "restaurants": 0.005, "fuel": 0.0, "electronics": 0.06,
                 "travel": 0.04, "fashion": 0.12, "digital_goods": 0.02, "gift_cards": 0.0}
_LEGIT_REASON_WEIGHTS = [0.1, 0.25, 0.35, 0.2, 0.1]

US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND
MAX_USERS = 9_999_999  # device ids are d-NNNNNNN with seven digits


def default_end() -> dt.datetime:
    """Now (UTC, naive) floored to the hour: fresh enough for the freshness gates."""
    now = utc_naive()
    return now.replace(minute=0, second=0, microsecond=0)


def epoch_us(moment: dt.datetime) -> int:
    return int((moment - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1))


def generate(
    out_dir: Path | str,
    users: int = 1000,
    days: int = 60,
    seed: int = 42,
    end: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write one Parquet file per table, ``<out_dir>/<table>/history.parquet`` (the
    landing layout `featurestore ingest` reads); return rows per table.

    Args:
        out_dir: the landing folder (created if missing).
        users: number of user accounts; transactions grow with users x days.
        days: length of the transaction history, ending at ``end``.
        seed: the seed of the one random generator everything is drawn from.
        end: the newest moment of the data (naive UTC); default now floored to the hour.
        progress: called with a short line per step (the CLI prints them to stderr).
    """
    import numpy as np
    import pyarrow as pa

    if users < 1 or users > MAX_USERS:
        raise RequestError(f"--users must be from 1 to {MAX_USERS:,}, got {users}")
    if days < 1:
        raise RequestError(f"--days must be 1 or more, got {days}")
    if end is None:
        end = default_end()
    if end.tzinfo is not None:
        end = end.astimezone(dt.UTC).replace(tzinfo=None)
    say = progress or (lambda _line: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    end_us = epoch_us(end)
    start_us = end_us - days * US_PER_DAY
    tables: dict[str, pa.Table] = {}

    # 1. Users: most signed up before the history starts, some during it.
    user_id = np.arange(1, users + 1, dtype=np.int64)
    before = rng.random(users) < 0.75
    signup_us = np.where(
        before,
        start_us - rng.integers(0, 730 * US_PER_DAY, users),
        start_us + rng.integers(0, days * US_PER_DAY, users),
    )
    signup_us = (signup_us // US_PER_SECOND) * US_PER_SECOND
    country_idx = rng.choice(len(_COUNTRY_NAMES), users, p=_COUNTRY_WEIGHTS)
    channel_idx = rng.choice(len(_CHANNELS), users, p=_CHANNEL_WEIGHTS)
    email_idx = rng.choice(len(_EMAIL_DOMAINS), users, p=_EMAIL_WEIGHTS)
    countries = np.array(_COUNTRY_NAMES)
    tables["users"] = pa.table({
        "user_id": user_id,
        "signed_up_at": timestamps(signup_us),
        "country": pa.array(countries[country_idx]),
        "signup_channel": pa.array(np.array(_CHANNELS)[channel_idx]),
        "email_domain": pa.array(np.array(_EMAIL_DOMAINS)[email_idx]),
    })
    say(f"users: {users:,}")

    # 2. Fraud rings: about 1% of users in rings of 5 to 12 that share devices.
    ring_of = np.full(users, -1, dtype=np.int64)
    n_ring_users = max(users // 100, 5 if users >= 50 else 0)
    if n_ring_users:
        members = rng.choice(users, n_ring_users, replace=False)
        sizes = rng.integers(5, 13, max(1, n_ring_users // 8))
        ring_ids = np.repeat(np.arange(len(sizes)), sizes)[:n_ring_users]
        ring_ids = np.concatenate([ring_ids, np.zeros(n_ring_users - len(ring_ids), np.int64)])
        ring_of[members] = ring_ids

    # 3. Profile updates: the signup row, then KYC steps and the odd country move.
    n_steps = rng.poisson(0.8, users)
    upd_user = np.concatenate([user_id, np.repeat(user_id, n_steps)])
    first_step_us = np.repeat(signup_us, n_steps)
    horizon = np.maximum(end_us - first_step_us, US_PER_SECOND)
    step_offset = (rng.random(n_steps.sum()) ** 2 * horizon).astype(np.int64)
    upd_us = np.concatenate([signup_us, first_step_us + step_offset])
    upd_us = (upd_us // US_PER_SECOND) * US_PER_SECOND
    order = np.lexsort((upd_us, upd_user))
    upd_user, upd_us = upd_user[order], upd_us[order]
    # one row per user per second: a second update in the same second replaces the first
    keep = np.ones(len(upd_user), bool)
    keep[1:] = (upd_user[1:] != upd_user[:-1]) | (upd_us[1:] != upd_us[:-1])
    upd_user, upd_us = upd_user[keep], upd_us[keep]
    step_no = _rank_within(upd_user)
    kyc = np.minimum(step_no, 3)
    moved = (step_no > 0) & (rng.random(len(upd_user)) < 0.05)
    new_country = rng.choice(len(_COUNTRY_NAMES), len(upd_user), p=_COUNTRY_WEIGHTS)
    upd_country = np.where(moved, new_country, country_idx[upd_user - 1])
    upd_country = _carry_forward(upd_user, upd_country, moved)
    upd_loaded = upd_us + rng.integers(30, 600, len(upd_user)) * US_PER_SECOND
    landed = upd_loaded <= end_us
    upd_user, upd_us, upd_loaded = upd_user[landed], upd_us[landed], upd_loaded[landed]
    kyc, upd_country = kyc[landed], upd_country[landed]
    tables["profile_updates"] = pa.table({
        "user_id": upd_user,
        "updated_at": timestamps(upd_us),
        "country": pa.array(countries[upd_country]),
        "is_verified": pa.array(kyc >= 1),
        "kyc_level": pa.array(kyc.astype(np.int32)),
        "loaded_at": timestamps(upd_loaded),
    })
    say(f"profile_updates: {len(upd_user):,}")

    # 4. Merchants: a Zipf-like popularity, so a few are hot; one in 50 is a ring favourite.
    n_merchants = max(10, users // 20)
    merchant_id = np.arange(1, n_merchants + 1, dtype=np.int64)
    categories = np.array(list(_CATEGORIES))
    merchant_cat = rng.choice(len(categories), n_merchants)
    merchant_country = rng.choice(len(_COUNTRY_NAMES), n_merchants, p=_COUNTRY_WEIGHTS)
    popularity = 1.0 / np.arange(1, n_merchants + 1) ** 1.1
    popularity = popularity[rng.permutation(n_merchants)]
    popularity /= popularity.sum()
    ring_merchants = rng.choice(n_merchants, max(1, n_merchants // 50), replace=False)
    tables["merchants"] = pa.table({
        "merchant_id": merchant_id,
        "category": pa.array(categories[merchant_cat]),
        "country": pa.array(countries[merchant_country]),
    })
    say(f"merchants: {n_merchants:,}")

    # 5. Devices: one to three per user; ring members also use their ring's shared device.
    n_devices = rng.integers(1, 4, users)
    dev_user = np.repeat(user_id, n_devices)
    dev_number = np.arange(1, len(dev_user) + 1, dtype=np.int64)
    n_rings = int(ring_of.max()) + 1
    ring_device = np.arange(len(dev_user) + 1, len(dev_user) + 1 + n_rings, dtype=np.int64)
    ring_members = np.flatnonzero(ring_of >= 0)
    dev_user = np.concatenate([dev_user, user_id[ring_members]])
    dev_number = np.concatenate([dev_number, ring_device[ring_of[ring_members]]])
    dev_first_us = signup_us[dev_user - 1]
    tables["devices"] = pa.table({
        "device_id": pa.array(_device_ids(dev_number)),
        "user_id": dev_user,
        "first_seen_at": timestamps(dev_first_us),
    })
    say(f"devices: {len(dev_user):,}")

    # 6. Transactions: per-user rates are log-normal (power users); rings are busy.
    rate = rng.lognormal(np.log(0.4), 0.9, users)
    rate = np.where(ring_of >= 0, rate + 1.5, rate)
    active_from = np.maximum(signup_us, start_us)
    active_days = (end_us - active_from) / US_PER_DAY
    n_txn = rng.poisson(rate * active_days)
    t_user = np.repeat(user_id, n_txn)
    n = len(t_user)
    t_from = active_from[t_user - 1]
    t_us = t_from + (rng.random(n) * (end_us - t_from)).astype(np.int64)
    is_ring = ring_of[t_user - 1] >= 0
    merchant = rng.choice(n_merchants, n, p=popularity)
    ring_pick = is_ring & (rng.random(n) < 0.6)
    merchant = np.where(ring_pick, ring_merchants[rng.integers(0, len(ring_merchants), n)],
                        merchant)
    # device: one of the user's own devices (offsets into the per-user device block)
    first_dev = np.concatenate([[0], np.cumsum(n_devices)[:-1]])
    own_dev = first_dev[t_user - 1] + (rng.random(n) * n_devices[t_user - 1]).astype(np.int64)
    device_no = own_dev + 1
    shared = is_ring & (rng.random(n) < 0.7)
    device_no = np.where(shared, ring_device[np.maximum(ring_of[t_user - 1], 0)], device_no)
    median, spread = (np.array(v) for v in zip(*_CATEGORIES.values(), strict=True))
    cat = merchant_cat[merchant]
    amount = rng.lognormal(np.log(median[cat]), spread[cat])
    amount = np.where(ring_pick, amount * 3.0, amount)
    amount = np.round(amount, 2)
    delay_s = rng.exponential(240.0, n).astype(np.int64) + 5
    late = rng.random(n) < 0.03
    delay_s = np.where(late, rng.integers(86_400, 5 * 86_400, n), delay_s)
    loaded_us = t_us + delay_s * US_PER_SECOND
    landed = loaded_us <= end_us  # not yet in the warehouse at `end`
    order = np.lexsort((t_user, t_us))
    order = order[landed[order]]
    t_user, t_us, loaded_us = t_user[order], t_us[order], loaded_us[order]
    merchant, device_no, amount, is_ring, ring_pick = (
        merchant[order], device_no[order], amount[order], is_ring[order], ring_pick[order])
    n = len(t_user)
    transaction_id = np.arange(1, n + 1, dtype=np.int64)
    currency = np.array([CURRENCY[c] for c in _COUNTRY_NAMES])[merchant_country[merchant]]
    tables["transactions"] = pa.table({
        "transaction_id": transaction_id,
        "user_id": t_user,
        "merchant_id": merchant_id[merchant],
        "device_id": pa.array(_device_ids(device_no)),
        "amount": amount,
        "currency": pa.array(currency),
        "transacted_at": timestamps(t_us),
        "loaded_at": timestamps(loaded_us),
    })
    say(f"transactions: {n:,}")

    # 7. Chargebacks: most ring transactions at ring merchants, a trickle of the rest.
    p_cb = np.where(ring_pick, 0.6, np.where(is_ring, 0.15, 0.004))
    has_cb = rng.random(n) < p_cb
    filed_us = t_us + rng.integers(2 * 86_400, 40 * 86_400, n) * US_PER_SECOND
    cb_loaded = filed_us + rng.integers(600, 6 * 3600, n) * US_PER_SECOND
    reason = np.where(
        is_ring, 0, rng.choice(len(_REASONS), n, p=_LEGIT_REASON_WEIGHTS))
    pick = has_cb & (cb_loaded <= end_us)
    cb_order = np.flatnonzero(pick)
    cb_order = cb_order[np.argsort(filed_us[cb_order], kind="stable")]
    tables["chargebacks"] = pa.table({
        "transaction_id": transaction_id[cb_order],
        "filed_at": timestamps(filed_us[cb_order]),
        "reason": pa.array(np.array(_REASONS)[reason[cb_order]]),
        "loaded_at": timestamps(cb_loaded[cb_order]),
    })
    say(f"chargebacks: {len(cb_order):,}")

    # 8. Refunds: goods sent back 1 to 21 days later, most in full, some in part. Drawn
    # last, so the tables above are the same with or without them.
    refund_rate = np.array([_REFUND_RATES[c] for c in categories])[merchant_cat[merchant]]
    refunded = rng.random(n) < refund_rate
    refunded_us = t_us + rng.integers(86_400, 21 * 86_400, n) * US_PER_SECOND
    share = np.where(rng.random(n) < 0.7, 1.0, rng.uniform(0.2, 0.9, n))
    refund_loaded = refunded_us + rng.integers(60, 3_600, n) * US_PER_SECOND
    rf_order = np.flatnonzero(refunded & (refund_loaded <= end_us))
    rf_order = rf_order[np.argsort(refunded_us[rf_order], kind="stable")]
    tables["refunds"] = pa.table({
        "transaction_id": transaction_id[rf_order],
        "user_id": t_user[rf_order],
        "amount": np.maximum(np.round(amount[rf_order] * share[rf_order], 2), 0.01),
        "refunded_at": timestamps(refunded_us[rf_order]),
        "loaded_at": timestamps(refund_loaded[rf_order]),
    })
    say(f"refunds: {len(rf_order):,}")

    rows = {}
    for name in TABLES:
        write_parquet(tables[name], out / name / HISTORY_FILE)
        rows[name] = tables[name].num_rows
    say(f"wrote {len(TABLES)} Parquet files to {out}/<table>/{HISTORY_FILE}")
    return rows


def timestamps(values_us):
    import pyarrow as pa

    return pa.array(values_us, type=pa.timestamp("us"))


def _device_ids(numbers) -> list[str]:
    import numpy as np

    return np.char.add("d-", np.char.zfill(numbers.astype(str), 7))


def _rank_within(groups):
    """0, 1, 2, ... within each run of equal values of a sorted ``groups`` array."""
    import numpy as np

    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    return np.arange(len(groups)) - np.repeat(starts, np.diff(np.r_[starts, len(groups)]))


def _carry_forward(groups, values, changed):
    """Within each group, a value set where ``changed`` holds until the next change."""
    import numpy as np

    index = np.where(changed | np.r_[True, groups[1:] != groups[:-1]],
                     np.arange(len(values)), 0)
    index = np.maximum.accumulate(index)
    return values[index]


def write_parquet(table, path: Path) -> None:
    """Fixed writer settings, and a rename at the end, so files are whole and identical."""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")  # hidden: ingest skips it
    pq.write_table(table, partial, compression="zstd", row_group_size=1_000_000,
                   write_statistics=True, use_dictionary=True)
    partial.replace(path)
