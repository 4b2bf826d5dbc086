"""The feature dtypes a contract may declare, and what each means in every system.

A dtype is the promise a feature makes to its consumers: training sets (Arrow/Parquet),
the warehouse (DuckDB, Snowflake) and DynamoDB items. Keeping the mapping in one table
means a new system is one new column here, not a hunt through the code.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class DType:
    name: str
    duckdb: str
    snowflake: str
    # warehouse column types (upper case, without parameters) accepted for this dtype
    accepts: frozenset[str]


# Timezone-aware timestamp types, per warehouse: DuckDB's TIMESTAMP WITH TIME ZONE (alias
# TIMESTAMPTZ), Snowflake's TIMESTAMP_TZ and TIMESTAMP_LTZ (and their spelled-out aliases).
TZ_TIMESTAMP_TYPES = frozenset({
    "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ",
    "TIMESTAMP_TZ", "TIMESTAMP_LTZ", "TIMESTAMPLTZ", "TIMESTAMP WITH LOCAL TIME ZONE",
})

DTYPES: dict[str, DType] = {
    d.name: d
    for d in (
        DType(
            "int64",
            "BIGINT",
            "NUMBER(38,0)",
            frozenset(
                {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT",
                 "UINTEGER", "USMALLINT", "UTINYINT", "NUMBER", "INT"}
            ),
        ),
        DType(
            "float64",
            "DOUBLE",
            "FLOAT",
            frozenset({"DOUBLE", "FLOAT", "REAL", "DECIMAL", "NUMBER", "NUMERIC"}),
        ),
        DType("string", "VARCHAR", "VARCHAR", frozenset({"VARCHAR", "TEXT", "STRING"})),
        DType("bool", "BOOLEAN", "BOOLEAN", frozenset({"BOOLEAN", "BOOL"})),
        DType(
            "timestamp",
            "TIMESTAMP",
            "TIMESTAMP_NTZ",
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


# The SQL dialects a literal can be written for: the macros' names for them (a dialect
# object's ``macro_dialect``). None means "every warehouse at once", for generated files
# that serve whichever target the project builds on.
SQL_DIALECTS = ("duckdb", "snowflake", "default")


def sql_string(text: str, dialect: str | None = None) -> str:
    """``text`` as a SQL string that means exactly ``text``.

    Standard SQL (DuckDB, the portable bodies) escapes only a quote, by doubling it.
    Snowflake also reads a backslash as an escape (``'\\n'`` is a newline), so there a
    backslash is doubled too. With no dialect the result must hold on both, so a backslash
    is spelled ``chr(92)`` between standard literals: ``('a' || chr(92) || 'b')``.
    """
    if dialect is not None and dialect not in SQL_DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; use one of {', '.join(SQL_DIALECTS)}")

    def standard(part: str) -> str:
        return "'" + part.replace("'", "''") + "'"

    if dialect == "snowflake":
        return standard(text.replace("\\", "\\\\"))
    if dialect is not None or "\\" not in text:
        return standard(text)
    return "(" + " || chr(92) || ".join(standard(part) for part in text.split("\\")) + ")"


def sql_literal(dtype: str, value: object, dialect: str | None = None) -> str:
    """``value`` of ``dtype`` as SQL for ``dialect`` (see ``sql_string``; None: valid on
    DuckDB and Snowflake alike, as generated files need)."""
    if value is None:
        return "null"
    if dtype == "bool":
        return "true" if value else "false"
    if dtype in ("int64", "float64"):
        return repr(value) if dtype == "float64" else str(int(value))
    if dtype == "timestamp":
        return f"cast('{value.isoformat(sep=' ')}' as timestamp)"
    return sql_string(str(value), dialect)
