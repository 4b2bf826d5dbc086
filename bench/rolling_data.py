"""The data side of bench/rolling_windows.py's incremental cycles: new events landed in
a warehouse as ingest would land them, and two warehouses' feature tables compared row for
row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path


def land_new_events(database: Path, share: float, cycle: int) -> int:
    """``share`` of the transactions again as new ones: most just after the horizon, 5%
    hours to days late, 2% exact repeats of landed rows; stamped one minute after the
    newest loaded_at. Returns the rows landed."""
    import duckdb

    with duckdb.connect(str(database)) as con:
        total, newest_id, horizon, newest_load = con.execute(
            "select count(*), max(transaction_id), max(transacted_at), max(loaded_at) "
            "from raw.transactions").fetchall()[0]
        n = max(1, round(total * share))
        stamp = newest_load + dt.timedelta(minutes=1)
        con.execute(f"""
            insert into raw.transactions (transaction_id, user_id, merchant_id,
                device_id, amount, currency, transacted_at, loaded_at)
            select
                {newest_id} + row_number() over (order by transaction_id),
                user_id, merchant_id, device_id, amount * 1.07, currency,
                case
                    when hash(transaction_id, {cycle}) % 100 < 5
                        then timestamp '{horizon}' - to_microseconds(
                            cast(3600 + hash(transaction_id, {cycle}, 1) % (3 * 86400)
                                 as bigint) * 1000000)
                    else timestamp '{horizon}' + to_microseconds(
                        cast(hash(transaction_id, {cycle}, 2) % 300000000 as bigint))
                end,
                timestamp '{stamp}'
            from raw.transactions
            using sample reservoir({n} rows) repeatable ({cycle})
        """)
        repeats = max(1, n // 50)
        con.execute(f"""
            insert into raw.transactions by name
            select * replace (timestamp '{stamp}' as loaded_at) from raw.transactions
            where transaction_id <= {newest_id}
            using sample reservoir({repeats} rows) repeatable ({cycle + 1000})
        """)
    return n + repeats


def same_tables(left: Path, right: Path, models) -> dict[str, tuple[int, int]]:
    """Per model: (rows, rows that differ in either direction) between two warehouses."""
    import duckdb

    with duckdb.connect(str(left)) as con:
        con.execute(f"attach '{right}' as other (read_only)")
        figures = {}
        for model in models:
            rows = con.execute(f"select count(*) from main.{model}").fetchall()[0][0]
            differ = con.execute(
                f"select count(*) from ((select * from main.{model} except all "
                f"select * from other.main.{model}) union all (select * from "
                f"other.main.{model} except all select * from main.{model}))").fetchall()[0][0]
            figures[model] = (rows, differ)
    return figures
