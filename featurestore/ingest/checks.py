"""Row checks: every value of a landed file against its source's declared column, in SQL.

The file's rows are readable in the warehouse (``load_arrow``); for each declared
column one SQL predicate finds the values that do not fit, and one expression converts
the others. A value fits when the warehouse stores exactly it:

- a whole number for an integer column: ``1.7`` is refused (a cast would store 2),
  ``2.0`` is 2; text must be written as a whole number (``1e3``, ``0x10``, ``1_000``
  are refused, though DuckDB's cast reads them);
- a finite number for a floating or decimal column (``inf``, ``NaN`` are refused), and
  for a decimal one that its scale holds (``1.234`` in ``decimal(10,2)`` is refused);
- ``true``/``false``/``1``/``0`` (any case) as text for a boolean, 0 or 1 as a number;
- for a timestamp, a timestamp or date, or text that reads as one (an offset in the
  text is applied: ``12:00+02:00`` is 10:00 UTC; naive text is UTC);
- never a boolean for a number, nor a number for a timestamp: a type that is not the
  declared one's family is refused, value by value.

A column must have a value in every row when its source declaration gives it a
``not_null`` data test (how a source marks its keys and event times); the loader's
``loaded_at`` column is filled by ingest instead (watermark.py). The first value that
does not fit refuses the file, naming its row (the n-th data row, from 1), its column
and the value, escaped and cut to 200 characters, with how many rows do not fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from featurestore.dtypes import base_type
from featurestore.ingest.messages import Refused, column_name, excerpt
from featurestore.ingest.sources import RawTable

if TYPE_CHECKING:
    import pyarrow as pa

ROW = "__featurestore_row"  # the data row number (1, 2, ...), added before loading
MAX_DOUBLE = "1.7976931348623157e308"
INTEGER_TEXT = "[ ]*[+-]?[0-9]+[ ]*"
NUMBER_TEXT = "[ ]*[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?[ ]*"
DATE_TEXT = "[ ]*[0-9]{4}-[0-9]{2}-[0-9]{2}[ ]*"
NON_FINITE = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan", "+nan",
              "-nan"}
_FAMILIES = {
    "integer": {"TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT", "UTINYINT",
                "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "INT1", "INT2", "INT4",
                "INT8", "LONG", "SHORT", "SIGNED", "BYTEINT"},
    "floating": {"DOUBLE", "FLOAT", "REAL", "FLOAT4", "FLOAT8", "DOUBLE PRECISION"},
    "decimal": {"DECIMAL", "NUMERIC", "NUMBER"},
    "boolean": {"BOOLEAN", "BOOL", "LOGICAL"},
    "timestamp": {"TIMESTAMP", "DATETIME", "TIMESTAMP_NTZ", "TIMESTAMP_NS", "TIMESTAMP_MS",
                  "TIMESTAMP_S", "TIMESTAMP WITHOUT TIME ZONE"},
    "timestamptz": {"TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_TZ",
                    "TIMESTAMP_LTZ"},
    "date": {"DATE"},
    "text": {"VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR", "CHARACTER VARYING",
             "NVARCHAR", "CHARACTER"},
}
_NUMBERS = ("integer", "floating", "decimal")
# (declared family) -> the file's value families it may convert from
_CONVERTS = {
    "integer": {"text", *_NUMBERS}, "floating": {"text", *_NUMBERS},
    "decimal": {"text", *_NUMBERS}, "boolean": {"text", "integer", "boolean"},
    "timestamp": {"text", "timestamp", "timestamptz", "date"},
    "timestamptz": {"text", "timestamp", "timestamptz", "date"},
    "date": {"text", "date", "timestamp", "timestamptz"},
    "text": {"text", *_NUMBERS, "boolean", "timestamp", "timestamptz", "date"},
}


def declared_family(data_type: str) -> str:
    name = base_type(data_type)
    if name == "NUMBER" and data_type.replace(" ", "").upper().endswith(",0)"):
        return "integer"
    return next((family for family, names in _FAMILIES.items() if name in names), "other")


def value_family(arrow_type: pa.DataType) -> str:
    import pyarrow.types as t

    if t.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    checks = (("null", t.is_null), ("text", lambda x: t.is_string(x) or t.is_large_string(x)
                                    or getattr(t, "is_string_view", lambda _: False)(x)),
              ("boolean", t.is_boolean), ("integer", t.is_integer),
              ("floating", t.is_floating), ("decimal", t.is_decimal), ("date", t.is_date),
              ("timestamptz", lambda x: t.is_timestamp(x) and x.tz is not None),
              ("timestamp", t.is_timestamp))
    return next((family for family, test in checks if test(arrow_type)), "other")


class _Column:
    """One declared column and its file column: the predicate of a value that does not
    fit, the reason for one, and the conversion of the others."""

    def __init__(self, dialect, name: str, data_type: str, column: str, source: str,
                 source_type: str):
        self.name, self.data_type, self.column = name, data_type, column
        self.target, self.source = declared_family(data_type), source
        c, self.try_cast = column, dialect.try_cast(column, data_type)
        self.convert = f"cast({c} as {data_type})"
        self.ok = self._ok(dialect, c, source_type)

    def _ok(self, dialect, c: str, source_type: str) -> str | None:
        """SQL true for a value that fits (None: every value of this type fits; "false":
        none does)."""
        target, source, cast = self.target, self.source, self.try_cast
        finite = f"abs({cast}) <= {MAX_DOUBLE}"
        if source == "null":
            return None
        if target == "other":
            return f"{cast} is not null" if source not in ("other",) else "false"
        if source not in _CONVERTS[target]:
            return "false"
        if target == "text":
            return None
        if source == "text":
            if target == "timestamp":
                self.convert = dialect.text_timestamp(c)
            return {
                "integer": f"{dialect.full_match(c, INTEGER_TEXT)} and {cast} is not null",
                "floating": f"{dialect.full_match(c, NUMBER_TEXT)} and {finite}",
                "decimal": f"{dialect.full_match(c, NUMBER_TEXT)} and cast({cast} as double) "
                           f"= {dialect.try_cast(c, 'double')}",
                "boolean": f"lower(trim({c})) in ('true', 'false', '1', '0')",
                "timestamp": f"{dialect.text_timestamp(c)} is not null",
                "timestamptz": f"{cast} is not null",
                "date": f"{dialect.full_match(c, DATE_TEXT)} and {cast} is not null",
            }[target]
        if target == "integer" and source == "integer":
            return f"{cast} is not null"
        if target == "integer":
            return f"cast({cast} as {source_type}) = {c}"
        if target == "floating":
            return finite
        if target == "decimal":
            return f"cast({cast} as double) = cast({c} as double)"
        if target == "boolean" and source == "integer":
            return f"{c} in (0, 1)"
        if target == "timestamp" and source == "timestamptz":
            self.convert = dialect.utc_naive(c)
        if target == "date" and source != "date":
            return f"cast(cast({c} as date) as {source_type}) = {c}"
        return None

    def bad(self, required: bool) -> str | None:
        """SQL true for a row whose value does not fit; None: every row fits."""
        checks = []
        if required:
            checks.append(f"{self.column} is null")
        if self.ok is not None:
            checks.append(f"({self.column} is not null and not coalesce({self.ok}, false))")
        return " or ".join(checks) or None

    def reason(self, value: object) -> str:
        if value is None:
            return ("is empty, and its source declares it `not_null`: every row must give "
                    "it a value")
        shown = excerpt(value)
        if self.source not in _CONVERTS.get(self.target, {self.source}) or (
                self.target == "other" and self.source == "other"):
            kind = {"text": "text", "integer": "a whole number", "floating": "a number",
                    "decimal": "a number", "boolean": "a boolean", "date": "a date",
                    "timestamp": "a timestamp", "timestamptz": "a timestamp"}.get(
                self.source, "a value of another type")
            return f"{shown} is {kind}, not {_a(self.data_type)}"
        if self.target in ("floating", "decimal") and _non_finite(value):
            return f"{shown} is not a finite {self.data_type}"
        return f"{shown} is not {_a(self.data_type)}"


def _a(data_type: str) -> str:
    return f"{'an' if data_type[:1].lower() in 'aeiou' else 'a'} {data_type}"


def _non_finite(value: object) -> bool:
    import math

    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, str) and value.strip().lower() in NON_FINITE


def fit(warehouse, table: RawTable, rows: pa.Table, relation: str) -> dict[str, str | None]:
    """Declared column -> the SQL that converts the file's values into it (None: the
    file lacks the loader's column, which ingest fills); Refused names the first row
    and column that do not fit."""
    quote = warehouse.dialect.alias  # Spark reads a double-quoted name as a string

    declared = {name.lower(): name for name in table.columns}
    unknown = [name for name in rows.column_names
               if name.lower() not in declared and name != ROW]
    if unknown:
        raise Refused(f"column {column_name(unknown[0])} is not a column of source table "
                      f"{table.label} (its columns: {', '.join(table.columns)})")
    present = {name.lower(): name for name in rows.column_names}
    types = warehouse.columns(relation)
    checked: list[_Column] = []
    converts: dict[str, str | None] = {}
    for name, data_type in table.columns.items():
        column = present.get(name.lower())
        if column is None:
            if name == table.loaded_at:
                converts[name] = None
                continue
            raise Refused(f"column `{name}` ({data_type}) of source table {table.label} is "
                          "missing")
        check = _Column(warehouse.dialect, name, data_type, quote(column),
                        value_family(rows.schema.field(column).type), types[column])
        checked.append(check)
        converts[name] = check.convert
    _first_misfit(warehouse, table, relation, checked, rows.num_rows)
    return converts


def _first_misfit(warehouse, table: RawTable, relation: str, checked: list[_Column],
                  total: int) -> None:
    """Refused naming the first row (and in it the first column) that does not fit."""
    quote = warehouse.dialect.alias  # Spark reads a double-quoted name as a string

    rules = [(check, check.bad(check.name in table.required and check.name != table.loaded_at))
             for check in checked]
    rules = [(check, bad) for check, bad in rules if bad]
    if not rules:
        return
    row = quote(ROW)
    either = " or ".join(f"({bad})" for _, bad in rules)
    first, count = warehouse.fetch_all(
        f"select min({row}), count(*) from {relation} where {either}")[0]
    if not count:
        return
    flags = ", ".join(f"case when {bad} then 1 else 0 end" for _, bad in rules)
    values = ", ".join(check.column for check, _ in rules)
    found = warehouse.fetch_all(f"select {flags}, {values} from {relation} where {row} = ?",
                                [first])[0]
    index = list(found[:len(rules)]).index(1)
    check = rules[index][0]
    value = found[len(rules) + index]
    more = f"; {count:,} of {total:,} rows do not fit" if count > 1 else ""
    raise Refused(f"row {first}, column `{check.name}`: {check.reason(value)}{more}")
