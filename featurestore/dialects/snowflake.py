"""Snowflake: a connection from the dbt profile's target, made as dbt-snowflake makes it.

So featurestore and dbt always talk to the same account, database and schema, with the
same authentication (``SnowflakeCredentials.auth_args``: a password, a key pair, SSO or
OAuth). SNOWFLAKE_* variables override the profile's fields, for dbt too. The connector
is an optional extra, imported only here. Parameters are bound in ``qmark`` style
(``?``), as on DuckDB, so ``Warehouse`` sends the same statements to both; the session
runs in UTC. What differs from the base: unquoted names are stored upper case; a spine
is uploaded into a temporary table (the connector's ``write_pandas``); the training set
streams back as Arrow batches into a Parquet file.
"""

from __future__ import annotations

from pathlib import Path

from featurestore.dialects.base import Change, Dialect, quote
from featurestore.dialects.expression_sql import SnowflakeSql
from featurestore.errors import MissingExtraError, WarehouseError, WarehouseUnreachable

# the override variables and the profile fields they stand for
VARIABLES = {"SNOWFLAKE_ACCOUNT": "account", "SNOWFLAKE_USER": "user",
             "SNOWFLAKE_PASSWORD": "password", "SNOWFLAKE_ROLE": "role",
             "SNOWFLAKE_WAREHOUSE": "warehouse", "SNOWFLAKE_DATABASE": "database",
             "SNOWFLAKE_SCHEMA": "schema"}
REQUIRED = ("account", "user", "database", "schema")
# ways dbt-snowflake authenticates besides a password
_AUTHENTICATION = ("password", "authenticator", "private_key", "private_key_path", "token")

# snowflake.connector's FIELD_TYPES order: type_code -> name
_TYPE_NAMES = ("FIXED", "REAL", "TEXT", "DATE", "TIMESTAMP", "VARIANT", "TIMESTAMP_LTZ",
               "TIMESTAMP_TZ", "TIMESTAMP_NTZ", "OBJECT", "ARRAY", "BINARY", "TIME",
               "BOOLEAN", "GEOGRAPHY", "GEOMETRY", "VECTOR")


class Snowflake(Dialect):
    name = "snowflake"
    dbt_package = "dbt-snowflake"
    extra = "snowflake"
    macro_dialect = "snowflake"
    # how on-demand expressions are spelled here (featurestore/dialects/expression_sql.py)
    expressions = SnowflakeSql()
    # https://docs.snowflake.com/en/sql-reference/data-types-datetime (with the aliases
    # the connector reports: TIMESTAMPLTZ, TIMESTAMP WITH LOCAL TIME ZONE)
    tz_timestamp_types = frozenset({"TIMESTAMP_TZ", "TIMESTAMP_LTZ", "TIMESTAMPLTZ",
                                    "TIMESTAMP WITH LOCAL TIME ZONE"})
    # what dbt-snowflake creates for each dtype's values
    type_names = {"int64": "NUMBER(38,0)", "float64": "FLOAT", "string": "VARCHAR",
                  "bool": "BOOLEAN", "timestamp": "TIMESTAMP_NTZ"}

    def profile_changes(self, credentials, settings, root: Path, where: str) -> list[Change]:
        """The SNOWFLAKE_* variables set, over the profile's fields they differ from. The
        changed profile reads them with env_var(), so no value is written to a file."""
        changes = []
        for variable, field in VARIABLES.items():
            value = settings.snowflake.get(variable)
            was = getattr(credentials, field, None)
            if value and value != was:
                changes.append(Change((field,), '{{ env_var("' + variable + '") }}', value,
                                      was or None, variable=variable,
                                      secret=field == "password"))
        return changes

    def connect(self, target, read_only: bool):
        """A connection with the target's credentials, as dbt-snowflake opens one."""
        try:
            import snowflake.connector
        except ImportError:
            raise MissingExtraError("snowflake-connector-python", "snowflake",
                                    "The Snowflake warehouse target") from None
        credentials = target.credentials
        missing = [field for field in REQUIRED if not getattr(credentials, field, None)]
        if not any(getattr(credentials, field, None) for field in _AUTHENTICATION):
            missing.append("password (or authenticator, private_key_path)")
        if missing:
            raise WarehouseError(
                f"{target.where}: {', '.join(missing)} empty. Set them in the profile "
                "(this repository's reads SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, "
                "SNOWFLAKE_PASSWORD, SNOWFLAKE_DATABASE, ...), or pick another target "
                "with --target.")
        options = {
            "account": credentials.account,
            "database": credentials.database,
            "schema": credentials.schema,
            "warehouse": credentials.warehouse,
            "role": credentials.role,
            "paramstyle": "qmark",
            "session_parameters": {"TIMEZONE": "UTC",
                                   "QUERY_TAG": credentials.query_tag or "featurestore"},
            **credentials.auth_args(),
        }
        try:
            return snowflake.connector.connect(**options)
        except snowflake.connector.errors.Error as exc:
            raise WarehouseUnreachable(
                f"cannot connect to Snowflake account {credentials.account} as "
                f"{credentials.user}: {exc}"
            ) from None

    def describe(self, target) -> str:
        credentials = target.credentials
        return (f"Snowflake account {credentials.account}, "
                f"{credentials.database}.{credentials.schema}")

    def stream_batches(self, connection, sql: str, params, batch_size: int):
        cursor = self.execute(connection, sql, params)
        if not hasattr(cursor, "fetch_arrow_batches"):
            # fakesnow (the tests' stand-in) has result batches that only give pandas
            import pyarrow as pa

            for result_batch in cursor.get_result_batches() or []:
                table = pa.Table.from_pandas(result_batch.to_pandas(), preserve_index=False)
                yield from table.to_batches(max_chunksize=batch_size)
            return
        for table in cursor.fetch_arrow_batches():
            yield from table.to_batches(max_chunksize=batch_size)

    def result_types(self, cursor) -> dict[str, str]:
        """Column -> Snowflake type name (NUMBER(p,s) for FIXED)."""
        types = {}
        for column in cursor.description:
            code = column[1]
            name = (_TYPE_NAMES[code] if isinstance(code, int) and code < len(_TYPE_NAMES)
                    else str(code))
            if name == "FIXED":
                precision, scale = column[4], column[5]
                name = f"NUMBER({precision},{scale})" if precision is not None else "NUMBER"
            types[column[0]] = name
        return types

    def is_driver_error(self, exc: BaseException) -> bool:
        return type(exc).__module__.startswith("snowflake")

    def string_literal(self, text: str) -> str:
        """A backslash starts an escape sequence in Snowflake's strings (``'\\n'`` is a
        newline), so it is doubled, and a quote doubled as in standard SQL.
        https://docs.snowflake.com/en/sql-reference/data-types-text"""
        return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"

    def column(self, name: str) -> str:
        """dbt-snowflake creates unquoted names, which Snowflake stores upper case."""
        return quote(name.upper())

    def try_cast(self, expr: str, data_type: str) -> str:
        # https://docs.snowflake.com/en/sql-reference/functions/try_cast: from text only
        return f"try_cast(to_varchar({expr}) as {data_type})"

    def fingerprint_sql(self, relation: str, columns: list[str]) -> str:
        # https://docs.snowflake.com/en/sql-reference/functions/hash_agg: an aggregate
        # signature of the rows, independent of their order, nulls included
        return (f"select count(*), to_varchar(coalesce(hash_agg({', '.join(columns)}), 0)) "
                f"from {relation}")

    def full_match(self, expr: str, pattern: str) -> str:
        # https://docs.snowflake.com/en/sql-reference/functions/regexp_like: whole subject
        return f"regexp_like({expr}, '{pattern}')"

    def text_timestamp(self, expr: str) -> str:
        # https://docs.snowflake.com/en/sql-reference/functions/convert_timezone
        return f"to_timestamp_ntz(convert_timezone('UTC', try_to_timestamp_tz({expr})))"

    def stage_shards(self, warehouse, sql: str, relation: str) -> None:
        # https://docs.snowflake.com/en/user-guide/tables-temp-transient: a transient
        # table has no Fail-safe period (nothing kept, nothing billed, after the drop),
        # and unlike a temporary one it is seen by the workers' other sessions
        warehouse.execute(f"create transient table {relation} as\n{sql}")

    def drop_arrow(self, warehouse, name: str) -> None:
        warehouse.execute(f"drop table if exists {quote(name.upper())}")

    def load_arrow(self, warehouse, table, name: str) -> str:
        """Upload the rows into a temporary table with the connector's ``write_pandas``
        (a Parquet file staged and copied in: the connector's own bulk path). Columns
        are named in upper case, quoted: what an unquoted name means on Snowflake, and
        what the macros' quoted identifiers name (a column may be called `event-ts`)."""
        try:
            from snowflake.connector.pandas_tools import write_pandas
        except ImportError:
            raise MissingExtraError("pandas", "snowflake",
                                    "Uploading rows to Snowflake") from None
        frame = table.to_pandas()
        frame.columns = [str(column).upper() for column in frame.columns]
        success, _chunks, _rows, _output = write_pandas(
            warehouse.connection, frame, name.upper(), auto_create_table=True,
            table_type="temporary", quote_identifiers=True, use_logical_type=True)
        if not success:
            raise WarehouseError(f"uploading rows to the temporary table {name} failed")
        return quote(name.upper())
