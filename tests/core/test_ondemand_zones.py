"""On-demand expressions read zone rules from the pinned tzdata package, not the host's:
the endpoint then converts times as DuckDB does, whatever IANA version the machine (or
a Lambda image) carries. Morocco's 2026 change is the case that told them apart."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from featurestore.errors import RequestError
from featurestore.ondemand import compile_expression

AFTER_CHANGE = dt.datetime(2027, 1, 15, 4, 8, tzinfo=dt.UTC)


def test_casablanca_after_moroccos_2026_change_is_duckdbs_hour():
    expression = compile_expression("date_part('hour', t, 'Africa/Casablanca')",
                                    {"t": "timestamp"})
    with duckdb.connect() as con:
        duckdb_hour = con.execute("select hour(timezone('Africa/Casablanca', ?::timestamptz))",
                                  [AFTER_CHANGE]).fetchone()[0]
    assert expression.evaluate({"t": AFTER_CHANGE}) == duckdb_hour == 4


@pytest.mark.parametrize("name", ["../../etc/passwd", "Nowhere/Zone", "Europe//Paris",
                                  "zone1970.tab", "Europe", "Europe/Paris\x00"])
def test_a_name_that_is_no_zone_is_refused(name):
    expression = compile_expression("date_part('hour', t, z)", {"t": "timestamp",
                                                                "z": "string"})
    with pytest.raises(RequestError) as caught:
        expression.evaluate({"t": AFTER_CHANGE, "z": name})
    assert str(caught.value) == (f"unknown time zone {name!r} in an on-demand expression; "
                                 "name an IANA zone such as 'Europe/Paris'")
