"""A landed file's bytes as Arrow rows, with one rule for a missing value in every format.

A value is missing when it is null: an empty CSV field, a JSON null or absent key, a
Parquet null. Nothing else is: ``n/a``, ``NaN``, ``null`` or ``NA`` in a CSV are text,
as the same strings are in JSON lines, and the row checks then judge them against the
declared type (not a double; not a finite double). So a CSV is read as text, every
column, and the warehouse converts the text to the declared types, exactly (row checks
in checks.py): no guess of a reader decides that ``007`` is the number 7.

JSON lines are read value by value, not by a reader that types a whole column from its
first rows (pyarrow's stops at a column holding ``1.5`` and then ``"n/a"``, and turns
text that looks like a date into a timestamp): a column whose values are all numbers,
all booleans or all strings keeps that type, and a column that mixes them is text, each
number as written in the file, so the row checks judge ``"n/a"`` as they do in a CSV.

A header that names one column twice, in any case (``user_id`` and ``USER_ID``), is
refused: which of the two is the column would be a guess.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from featurestore.ingest.messages import Refused, column_name, complaint

if TYPE_CHECKING:
    import pyarrow as pa


def read_rows(data: bytes, kind: str) -> pa.Table:
    """The rows of a file of ``kind`` (parquet, csv, json); Refused when it does not read
    as one, quoting the reader at most an excerpt."""
    import pyarrow as pa

    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            rows = pq.read_table(io.BytesIO(data))
        elif kind == "csv":
            rows = _read_csv(data)
        else:
            rows = _read_json_lines(data)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise Refused(f"cannot be read as {kind}: {complaint(exc)}") from None
    check_header(rows.column_names)
    return rows


def _read_csv(data: bytes) -> pa.Table:
    """Every column as text; the empty field, and only it, is missing."""
    import pyarrow as pa
    import pyarrow.csv as pv

    names = _csv_header(data)
    check_header(names)
    return pv.read_csv(
        io.BytesIO(data),
        convert_options=pv.ConvertOptions(
            column_types={name: pa.string() for name in names}, null_values=[""],
            strings_can_be_null=True, quoted_strings_can_be_null=True))


def _csv_header(data: bytes) -> list[str]:
    """The names in a CSV's first record (quoted names may hold commas)."""
    import csv

    head = data[:1 << 20].decode("utf-8-sig", errors="replace")
    for record in csv.reader(io.StringIO(head)):
        return record
    return []


def check_header(names: list[str]) -> None:
    """Refused when two columns have one name, ignoring case."""
    seen: dict[str, str] = {}
    for name in names:
        first = seen.get(name.lower())
        if first is None:
            seen[name.lower()] = name
        elif first == name:
            raise Refused(f"the header names column {column_name(name)} twice; keep one")
        else:
            raise Refused(f"the header names one column twice: {column_name(first)} and "
                          f"{column_name(name)} (column names are matched ignoring case); "
                          "keep one")


class _Number(str):
    """A JSON number, as written in the file."""


def _read_json_lines(data: bytes) -> pa.Table:
    """One JSON object per line (blank lines skipped) as Arrow columns, typed as the
    module docstring says."""
    import json

    import pyarrow as pa

    def pairs(items: list[tuple[str, object]]) -> dict:
        names = [name for name, _ in items]
        check_header(names)
        return dict(items)

    records = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, parse_int=_Number, parse_float=_Number,
                                parse_constant=_Number, object_pairs_hook=pairs)
        except ValueError as exc:
            raise Refused(f"cannot be read as json: line {number}: {complaint(exc)}") from None
        if not isinstance(record, dict):
            raise Refused(f"cannot be read as json: line {number} is not a JSON object")
        records.append(record)
    names = list(dict.fromkeys(name for record in records for name in record))
    check_header(names)
    return pa.table({name: _json_column([r.get(name) for r in records]) for name in names})


def _json_column(values: list) -> pa.Array:
    import json

    import pyarrow as pa

    kinds = {"number" if isinstance(v, _Number) else type(v).__name__
             for v in values if v is not None}
    if not kinds:
        return pa.nulls(len(values))
    if kinds == {"bool"}:
        return pa.array(values, pa.bool_())
    if kinds == {"str"}:
        return pa.array(values, pa.string())
    if kinds == {"number"}:
        if all(v is None or v.lstrip("-").isdigit() for v in values):
            if all(v is None or -(2 ** 63) <= int(v) < 2 ** 63 for v in values):
                return pa.array([None if v is None else int(v) for v in values], pa.int64())
        else:
            return pa.array([None if v is None else float(v) for v in values], pa.float64())

    def text(value) -> str | None:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        return json.dumps(value)

    return pa.array([text(v) for v in values], pa.string())
