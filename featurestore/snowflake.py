"""Snowflake as the warehouse: a connection from the environment, and column types.

The same variables dbt's ``snowflake`` target reads (profiles.yml), so featurestore and
dbt always talk to the same account, database and schema. The connector is an optional
extra, imported only here. Parameters are bound in ``qmark`` style (``?``), as on DuckDB,
so ``Warehouse`` sends the same statements to both.
"""

from __future__ import annotations

import os

from featurestore.errors import MissingExtraError, WarehouseError

REQUIRED = ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD", "SNOWFLAKE_DATABASE")
OPTIONAL = ("SNOWFLAKE_ROLE", "SNOWFLAKE_WAREHOUSE", "SNOWFLAKE_SCHEMA")

# snowflake.connector's FIELD_TYPES order: type_code -> name
_TYPE_NAMES = ("FIXED", "REAL", "TEXT", "DATE", "TIMESTAMP", "VARIANT", "TIMESTAMP_LTZ",
               "TIMESTAMP_TZ", "TIMESTAMP_NTZ", "OBJECT", "ARRAY", "BINARY", "TIME",
               "BOOLEAN", "GEOGRAPHY", "GEOMETRY", "VECTOR")


def connect_snowflake():
    """A connection from SNOWFLAKE_* variables; clear errors for what is missing."""
    try:
        import snowflake.connector
    except ImportError:
        raise MissingExtraError("snowflake-connector-python", "snowflake",
                                "The Snowflake warehouse target") from None
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        raise WarehouseError(
            f"the snowflake target needs the environment variable(s) {', '.join(missing)} "
            f"(and optionally {', '.join(OPTIONAL)}); set them as for dbt's profiles.yml, "
            "or use FEATURESTORE_TARGET=duckdb."
        )
    settings = {
        "account": os.environ["SNOWFLAKE_ACCOUNT"],
        "user": os.environ["SNOWFLAKE_USER"],
        "password": os.environ["SNOWFLAKE_PASSWORD"],
        "database": os.environ["SNOWFLAKE_DATABASE"],
        "schema": os.environ.get("SNOWFLAKE_SCHEMA", "FEATURESTORE"),
        "paramstyle": "qmark",
        "session_parameters": {"TIMEZONE": "UTC", "QUERY_TAG": "featurestore"},
    }
    for name in ("SNOWFLAKE_ROLE", "SNOWFLAKE_WAREHOUSE"):
        if os.environ.get(name):
            settings[name.removeprefix("SNOWFLAKE_").lower()] = os.environ[name]
    try:
        return snowflake.connector.connect(**settings)
    except snowflake.connector.errors.Error as exc:
        raise WarehouseError(
            f"cannot connect to Snowflake account {settings['account']} as "
            f"{settings['user']}: {exc}"
        ) from None


def describe_types(cursor) -> dict[str, str]:
    """Column -> Snowflake type name of the cursor's last result (NUMBER(p,s) for FIXED)."""
    types = {}
    for column in cursor.description:
        code = column[1]
        name = _TYPE_NAMES[code] if isinstance(code, int) and code < len(_TYPE_NAMES) else str(
            code)
        if name == "FIXED":
            precision, scale = column[4], column[5]
            name = f"NUMBER({precision},{scale})" if precision is not None else "NUMBER"
        types[column[0]] = name
    return types
