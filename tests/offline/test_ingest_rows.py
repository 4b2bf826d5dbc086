"""Row checks: a landed value fits its declared column exactly or the file is refused,
naming the row, the column and the value; one missing-value rule for CSV, JSON lines
and Parquet; `featurestore ingest --unload FILE` takes a loaded file's rows out again;
raw tables and ledgers made before these columns are brought up to date."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from featurestore.apps.cli import cli
from featurestore.errors import RequestError
from featurestore.ingest import ingest, unload_file
from featurestore.ingest.unload import incremental_models
from tests.offline.ingest_support import T, ledger_lines, orders, raw_rows

HEADER = "order_id,customer,amount,ordered_at"
GOOD = {"order_id": 1, "customer": "c1", "amount": 1.5, "ordered_at": "2026-05-01 12:00:00"}


def _land(project, kind: str, rows: list[dict] | str, name: str = "f") -> None:
    path = project.root / "landing" / "orders" / f"{name}.{kind}"
    if kind == "csv":
        path.write_text(rows if isinstance(rows, str) else HEADER + "\n" + "".join(
            ",".join("" if r[k] is None else str(r[k]) for k in GOOD) + "\n" for r in rows))
    elif kind == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)


def _refusal(project) -> str:
    (result,) = ingest(project).files
    assert result.status == "quarantined", result
    assert raw_rows(project) == []
    return result.message.split("; moved to ")[0]


@pytest.mark.parametrize(("kind", "bad", "message"), [
    ("csv", {"order_id": None}, "row 2, column `order_id`: is empty, and its source declares "
     "it `not_null`: every row must give it a value"),
    ("jsonl", {"ordered_at": None}, "row 2, column `ordered_at`: is empty, and its source "
     "declares it `not_null`: every row must give it a value"),
    ("csv", {"amount": "inf"}, "row 2, column `amount`: 'inf' is not a finite double"),
    ("parquet", {"amount": float("inf")}, "row 2, column `amount`: inf is not a finite "
     "double"),
    ("csv", {"order_id": "1.7"}, "row 2, column `order_id`: '1.7' is not a bigint"),
    ("jsonl", {"order_id": 1.7}, "row 2, column `order_id`: 1.7 is not a bigint"),
    ("jsonl", {"order_id": True}, "row 2, column `order_id`: 'true' is not a bigint"),
    ("csv", {"order_id": "1e3"}, "row 2, column `order_id`: '1e3' is not a bigint"),
    ("csv", {"order_id": "99999999999999999999"},
     "row 2, column `order_id`: '99999999999999999999' is not a bigint"),
    ("csv", {"ordered_at": "yesterday"}, "row 2, column `ordered_at`: 'yesterday' is not a "
     "timestamp"),
])
def test_a_value_that_does_not_fit_exactly_refuses_its_file(shop, kind, bad, message):
    _land(shop, kind, [GOOD, {**GOOD, "order_id": 2, **bad}])
    assert _refusal(shop) == message


@pytest.mark.parametrize(("column", "values", "message"), [
    ("order_id", [True, False], "row 1, column `order_id`: true is a boolean, not a bigint"),
    ("ordered_at", [5, 6], "row 1, column `ordered_at`: 5 is a whole number, not a timestamp"),
    ("amount", [dt.date(2026, 5, 1)] * 2, "row 1, column `amount`: 2026-05-01 is a date, not "
     "a double"),
])
def test_a_value_of_another_type_is_refused(shop, column, values, message):
    _land(shop, "parquet", [{**GOOD, "order_id": i, column: v} for i, v in enumerate(values)])
    assert _refusal(shop) == f"{message}; 2 of 2 rows do not fit"


def test_the_message_counts_the_rows_that_do_not_fit(shop):
    _land(shop, "csv", [GOOD, *({**GOOD, "order_id": i, "amount": "lots"} for i in (2, 3))])
    assert _refusal(shop) == "row 2, column `amount`: 'lots' is not a double; 2 of 3 rows " \
        "do not fit"


@pytest.mark.parametrize(("header", "message"), [
    ("order_id,order_id,amount,ordered_at",
     "the header names column `order_id` twice; keep one"),
    ("order_id,customer,amount,ordered_at,ORDER_ID",
     "the header names one column twice: `order_id` and `ORDER_ID` (column names are "
     "matched ignoring case); keep one"),
])
def test_a_header_naming_a_column_twice_is_refused(shop, header, message):
    _land(shop, "csv", f"{header}\n1,c,1.5,2026-05-01 12:00:00,1\n")
    assert _refusal(shop) == message


@pytest.mark.parametrize("text", ["n/a", "NaN", "null", "NA", "None"])
@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_one_missing_value_rule_for_every_format(shop, kind, text):
    """Only null is missing: a CSV's empty field, a JSON null. `n/a`, `NaN`, `null` in a
    CSV are text, as in JSON lines, and text is not a double."""
    _land(shop, kind, [GOOD, {**GOOD, "order_id": 2, "amount": text}])
    finite = " finite" if text == "NaN" else ""
    assert _refusal(shop) == f"row 2, column `amount`: {text!r} is not a{finite} double"


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_an_empty_value_is_null_in_every_format(shop, kind):
    _land(shop, kind, [GOOD, {**GOOD, "order_id": 2, "amount": None, "customer": None}])
    assert ingest(shop).rows == 2
    assert raw_rows(shop)[1] == (2, None, None, T)


def test_exact_values_load_as_they_are(shop):
    """Text is the value it spells: `007` stays text in a varchar, a whole 2.0 is 2, an
    offset is applied, a date is midnight; an empty loaded_at is stamped."""
    _land(shop, "csv", HEADER + ",loaded_at\n"
          "007,007,1.50,2026-05-01T12:00:00+02:00,\n"
          " 8 ,c,-2,2026-05-01,2026-05-01 09:00:00\n")
    _land(shop, "parquet", [{**GOOD, "order_id": 9.0, "ordered_at": T}], name="g")
    report = ingest(shop)
    assert (report.count("loaded"), report.rows) == (2, 3)
    assert raw_rows(shop, "order_id, customer, amount, ordered_at, loaded_at") == [
        (7, "007", 1.5, dt.datetime(2026, 5, 1, 10), report.load_time),
        (8, "c", -2.0, dt.datetime(2026, 5, 1), dt.datetime(2026, 5, 1, 9)),
        (9, "c1", 1.5, T, report.load_time)]
    assert report.files[0].message == (
        f"loaded_at: 1 empty, stamped with the load time {report.load_time.isoformat(sep=' ')}")


def test_unload_takes_a_files_rows_out_and_records_it(shop):
    folder = shop.root / "landing" / "orders"
    pq.write_table(orders(1, 3), folder / "a.parquet")
    pq.write_table(orders(4, 2), folder / "b.parquet")
    ingest(shop)
    result = CliRunner().invoke(cli, ["--project-dir", str(shop.root), "ingest", "--unload",
                                      "a.parquet"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "unloaded a.parquet from shop.orders: 3 rows removed\n"
    assert [r[0] for r in raw_rows(shop)] == [4, 5]
    assert ledger_lines(shop) == [("orders", "a.parquet", 3, "unloaded"),
                                  ("orders", "b.parquet", 2, "loaded")]
    with duckdb.connect(str(shop.settings.duckdb_path), read_only=True) as con:
        (message,) = con.execute("select message from featurestore.ingested_files "
                                 "where status = 'unloaded'").fetchone()
    assert message.startswith("unloaded at ") and message.endswith(": 3 rows removed")
    again = CliRunner().invoke(cli, ["--project-dir", str(shop.root), "ingest", "--unload",
                                     "a.parquet"])
    assert again.exit_code == 1
    assert again.output.endswith("Error: a.parquet: no loaded file of that name (see "
                                 "\"shop\".featurestore.ingested_files, status 'loaded').\n")


def test_an_unloaded_file_left_in_the_landing_folder_is_not_loaded_again(shop):
    """The soak's finding: the operator unloads a file the contract refused (the README's
    fix), the file stays where it landed, and the next ingest (the next cycle) put its
    rows back. The same content under that name stays out; new content of that name is a
    correction and loads."""
    folder = shop.root / "landing" / "orders"
    pq.write_table(orders(1, 3), folder / "a.parquet")
    pq.write_table(orders(4, 2), folder / "b.parquet")
    ingest(shop)
    unload_file(shop, "a.parquet")
    report = ingest(shop)
    assert [(f.path.rsplit("/", 1)[-1], f.status, f.message) for f in report.files] == [
        ("a.parquet", "skipped", "unloaded"), ("b.parquet", "skipped", "")]
    assert [r[0] for r in raw_rows(shop)] == [4, 5]
    assert ledger_lines(shop) == [("orders", "a.parquet", 3, "unloaded"),
                                  ("orders", "b.parquet", 2, "loaded")]
    pq.write_table(orders(7, 1), folder / "a.parquet")  # a correction under the name
    assert ingest(shop).count("loaded") == 1
    assert [r[0] for r in raw_rows(shop)] == [4, 5, 7]


def test_unload_names_the_incremental_models_to_rebuild():
    manifest = {
        "sources": {"source.p.demo.txns": {"source_name": "demo", "name": "txns"}},
        "child_map": {"source.p.demo.txns": ["model.p.stg"], "model.p.stg": [
            "model.p.fs_a", "model.p.fs_b", "test.p.t"]},
        "nodes": {"model.p.stg": {"name": "stg", "resource_type": "model",
                                  "config": {"materialized": "view"}},
                  "model.p.fs_a": {"name": "fs_a", "resource_type": "model",
                                   "config": {"materialized": "incremental"}},
                  "model.p.fs_b": {"name": "fs_b", "resource_type": "model",
                                   "config": {"materialized": "incremental"}},
                  "test.p.t": {"name": "t", "resource_type": "test", "config": {}}}}
    assert incremental_models(manifest, "demo.txns") == ["fs_a", "fs_b"]


def test_raw_tables_and_ledgers_of_before_are_brought_up_to_date(shop):
    """A raw table and ledger made before the file column and the watermark columns: the
    columns are added, the old rows stay (and cannot be unloaded by file), and a future
    loaded_at already there is reported, not followed into the future."""
    with duckdb.connect(str(shop.settings.duckdb_path)) as con:
        con.execute("create schema raw; create schema featurestore")
        con.execute("create table raw.orders (order_id bigint, customer varchar, amount "
                    "double, ordered_at timestamp, loaded_at timestamp)")
        con.execute("insert into raw.orders values (1, 'c', 1.0, ?, '2099-01-01')", [T])
        con.execute("create table featurestore.ingested_files (run_id varchar, source "
                    "varchar, source_table varchar, path varchar, name varchar, size bigint, "
                    "sha256 varchar, rows bigint, status varchar, message varchar, "
                    "ingested_at timestamp)")
        con.execute("insert into featurestore.ingested_files values ('r', 'shop', 'orders', "
                    "'/x/old.parquet', 'old.parquet', 1, 'abc', 1, 'loaded', '', ?)",
                    [T + dt.timedelta(hours=1)])
    pq.write_table(orders(2, 1), shop.root / "landing" / "orders" / "new.parquet")
    now = dt.datetime(2026, 6, 1)
    report = ingest(shop, clock=lambda: now)
    assert report.notes == [
        "shop.orders: holds loaded_at up to 2099-01-01 00:00:00, later than its last load "
        "(2026-05-01 13:00:00): a producer's clock, loaded before ingest clamped it. "
        "Incremental models reading it stop at that watermark: correct or delete those "
        "rows, then rebuild them with `featurestore build --full-refresh`."]
    assert raw_rows(shop, "order_id, loaded_at") == [(1, dt.datetime(2099, 1, 1)), (2, now)]
    with pytest.raises(RequestError, match="was loaded before ingest tagged each row"):
        unload_file(shop, "old.parquet")
    assert unload_file(shop, "new.parquet").rows == 1
