"""The feature dtypes a contract may declare, and what each means in every system.

A dtype is the promise a feature makes to its consumers: training sets (Arrow/Parquet),
the warehouse and DynamoDB items. Here: which Python values it holds, which warehouse
column types hold it (by their names, whichever warehouse reports them), and the one SQL
spelling of its type and its values that every warehouse reads alike, for generated
files. What differs per warehouse (the type it stores a dtype as, its string literals
and their escapes, which timestamps carry a zone) is an attribute or a method of the
warehouse's dialect (featurestore/dialects/), never a branch here.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class DType:
    name: str
    # the SQL type every warehouse reads (DuckDB, Snowflake and Spark alike), for
    # generated SQL; a warehouse's own name for it is ``Dialect.type_name``
    portable: str
    # warehouse column types (upper case, without parameters) accepted for this dtype
    accepts: frozenset[str]


# The names warehouses give timezone-aware timestamp types, aliases included (each
# dialect's own are its ``tz_timestamp_types``; tests/core/test_dialect_facts.py checks
# they are all here).
TZ_TIMESTAMP_TYPES = frozenset({
    "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ",
    "TIMESTAMP_TZ", "TIMESTAMP_LTZ", "TIMESTAMPLTZ", "TIMESTAMP WITH LOCAL TIME ZONE",
})

DTYPES: dict[str, DType] = {
    d.name: d
    for d in (
        DType(
            "int64",
            "bigint",
            frozenset(
                {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT",
                 "UINTEGER", "USMALLINT", "UTINYINT", "NUMBER", "INT"}
            ),
        ),
        DType(
            "float64",
            "double",
            frozenset({"DOUBLE", "FLOAT", "REAL", "DECIMAL", "NUMBER", "NUMERIC"}),
        ),
        DType("string", "string", frozenset({"VARCHAR", "TEXT", "STRING"})),
        DType("bool", "boolean", frozenset({"BOOLEAN", "BOOL"})),
        DType(
            "timestamp",
            "timestamp",
            # naive columns hold UTC; timezone-aware ones are read as their UTC instant
            frozenset({"TIMESTAMP", "TIMESTAMP_NTZ", "DATETIME", "TIMESTAMP_NS",
                       "TIMESTAMP_MS", "TIMESTAMP_S", *TZ_TIMESTAMP_TYPES}),
        ),
    )
}

KEY_DTYPES = ("int64", "string")


def utc_naive(moment: dt.datetime | None = None) -> dt.datetime:
    """The warehouse's timestamp convention, naive UTC; None means now."""
    if moment is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if moment.tzinfo is not None:
        return moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def base_type(warehouse_type: str) -> str:
    """``DECIMAL(18,3)`` -> ``DECIMAL``; the parameters never decide compatibility."""
    return warehouse_type.split("(")[0].strip().upper()


def accepts(dtype: str, warehouse_type: str) -> bool:
    return base_type(warehouse_type) in DTYPES[dtype].accepts


def check_value(dtype: str, value: object) -> str | None:
    """Return why ``value`` does not fit ``dtype``, or None if it does (None always fits)."""
    if value is None:
        return None
    if dtype == "int64":
        ok = isinstance(value, int) and not isinstance(value, bool)
        ok = ok and -(2**63) <= value < 2**63
    elif dtype == "float64":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and not math.isfinite(float(value)):
            return f"{value!r} is not a finite number"
    elif dtype == "string":
        ok = isinstance(value, str)
    elif dtype == "bool":
        ok = isinstance(value, bool)
    else:  # timestamp
        ok = isinstance(value, dt.datetime)
    return None if ok else f"{value!r} is not a {dtype}"


def portable_string(text: str) -> str:
    """``text`` as one SQL string expression that every warehouse reads as exactly
    ``text``, whatever its settings: for generated files (the contracts macro serves
    whichever target a project builds on) and for statements written once for all.

    A quote is doubled (standard SQL: DuckDB, Snowflake and Spark read it so). A
    backslash starts an escape on Snowflake and Spark but not on DuckDB, so it is spelled
    ``chr(92)`` between literals: ``('a' || chr(92) || 'b')``. And ``${`` is split
    between two literals, ``('a$' || '{b')``, so that a Spark session that substitutes
    variables in SQL text (``spark.sql.variable.substitute``, on by default outside
    featurestore's own sessions) finds no ``${env:NAME}`` to replace.
    """
    def standard(part: str) -> str:
        return "'" + part.replace("'", "''") + "'"

    pieces: list[str] = []
    for index, chunk in enumerate(text.split("\\")):
        if index:
            pieces.append("chr(92)")
        parts = chunk.split("${")
        pieces += [standard(("{" if i else "") + part + ("$" if i < len(parts) - 1 else ""))
                   for i, part in enumerate(parts)]
    return pieces[0] if len(pieces) == 1 else "(" + " || ".join(pieces) + ")"


def sql_literal(dtype: str, value: object, dialect=None) -> str:
    """``value`` of ``dtype`` as SQL.

    Args:
        dtype: the contract dtype of the value.
        value: a contract value (a default, an allowed value); None is ``null``.
        dialect: the warehouse's dialect object (``featurestore.dialects``), which
            spells its own strings and timestamps (``Dialect.string_literal``,
            ``timestamp_literal``); None: one spelling every warehouse reads alike
            (``portable_string``), as generated files need.
    """
    if value is None:
        return "null"
    if dtype == "bool":
        return "true" if value else "false"
    if dtype in ("int64", "float64"):
        return repr(value) if dtype == "float64" else str(int(value))
    if dtype == "timestamp":
        if dialect is not None:
            return dialect.timestamp_literal(value)
        return f"cast('{value.isoformat(sep=' ')}' as timestamp)"
    text = str(value)
    return dialect.string_literal(text) if dialect is not None else portable_string(text)
