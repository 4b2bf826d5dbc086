"""`featurestore ingest`: every landed file loaded exactly once, with loaded_at; a file
that does not fit quarantined with the file and the column named, while the rest load;
a kill between load and record never double-loads."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from featurestore.dbt_runner import run_dbt
from featurestore.ingest import ingest, raw_tables
from tests.offline.ingest_support import SOURCES, T, ledger_lines, orders, raw_rows
from tests.waiting import wait_until


def test_the_raw_table_comes_from_the_declared_columns(shop):
    (table,) = raw_tables(shop)
    assert (table.label, table.relation, table.loaded_at) == (
        "shop.orders", '"shop"."raw"."orders"', "loaded_at")
    assert table.landing == str(shop.root / "landing" / "orders")
    assert list(table.columns.items()) == [
        ("order_id", "bigint"), ("customer", "varchar"), ("amount", "double"),
        ("ordered_at", "timestamp"), ("loaded_at", "timestamp")]
    assert table.required == {"order_id", "ordered_at"}  # their not_null data tests


def test_a_project_never_parsed_is_parsed_first(shop):
    """A fresh clone has no manifest; ingest parses the project rather than asking for it."""
    import shutil

    shutil.rmtree(shop.target_dir)
    pq.write_table(orders(1, 3), shop.root / "landing" / "orders" / "a.parquet")
    report = ingest(shop)
    assert (report.count("loaded"), report.rows) == (1, 3)
    assert (shop.target_dir / "manifest.json").exists()


def test_each_file_loads_once_in_any_format_with_loaded_at(shop):
    folder = shop.root / "landing" / "orders"
    pq.write_table(orders(1, 3), folder / "a.parquet")
    orders(4, 2).to_pandas().to_csv(folder / "b.csv", index=False)
    with (folder / "c.jsonl").open("w") as out:
        for row in orders(6, 2).to_pylist():
            out.write(json.dumps({**row, "ordered_at": row["ordered_at"].isoformat()}) + "\n")
    (folder / ".d.parquet.partial").write_bytes(b"half a file")  # a writer's temporary
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    report = ingest(shop)
    assert (report.count("loaded"), report.rows, report.count("quarantined")) == (3, 7, 0)
    assert [r[0] for r in raw_rows(shop)] == [1, 2, 3, 4, 5, 6, 7]
    assert raw_rows(shop)[4] == (5, "c1", 1.5, T + dt.timedelta(minutes=1))
    stamps = {r[0] for r in raw_rows(shop, "loaded_at")}
    assert all(before <= stamp <= dt.datetime.now(dt.UTC).replace(tzinfo=None)
               for stamp in stamps)
    again = ingest(shop)
    assert (again.count("loaded"), again.count("skipped")) == (0, 3)
    assert len(raw_rows(shop)) == 7
    assert ledger_lines(shop) == [("orders", "a.parquet", 3, "loaded"),
                             ("orders", "b.csv", 2, "loaded"),
                             ("orders", "c.jsonl", 2, "loaded")]


def test_a_file_with_its_own_loaded_at_keeps_it(shop):
    folder = shop.root / "landing" / "orders"
    pq.write_table(orders(1, 2, loaded_at=[T, T + dt.timedelta(hours=1)]),
                   folder / "history.parquet")
    ingest(shop)
    assert raw_rows(shop, "loaded_at") == [(T,), (T + dt.timedelta(hours=1),)]


@pytest.mark.parametrize(("table", "problem"), [
    (orders(10, 2, coupon=["x", "y"]),
     "column `coupon` is not a column of source table shop.orders (its columns: order_id, "
     "customer, amount, ordered_at, loaded_at)"),
    (orders(10, 2).drop_columns(["amount"]),
     "column `amount` (double) of source table shop.orders is missing"),
    (orders(10, 2).set_column(2, "amount", pa.array(["1.5", "lots"])),
     "row 2, column `amount`: 'lots' is not a double"),
])
def test_a_file_that_does_not_fit_is_quarantined_and_the_rest_load(shop, table, problem):
    folder = shop.root / "landing" / "orders"
    pq.write_table(table, folder / "bad.parquet")
    pq.write_table(orders(1, 2), folder / "good.parquet")
    report = ingest(shop)
    quarantine = shop.root / "landing" / "_quarantine" / "orders"
    assert [r[0] for r in raw_rows(shop)] == [1, 2]
    (bad,) = [f for f in report.files if f.status == "quarantined"]
    assert bad.message == f"{problem}; moved to {quarantine / 'bad.parquet'}"
    assert not (folder / "bad.parquet").exists()
    assert (quarantine / "bad.parquet.error.txt").read_text() == (
        f"{folder / 'bad.parquet'}: {problem}\n")
    assert ledger_lines(shop) == [("orders", "bad.parquet", 0, "quarantined"),
                             ("orders", "good.parquet", 2, "loaded")]
    assert ingest(shop).count("loaded") == 0


def test_an_unreadable_file_is_quarantined(shop):
    folder = shop.root / "landing" / "orders"
    (folder / "broken.parquet").write_bytes(b"PAR1 not really")
    (report,) = ingest(shop).files
    assert report.status == "quarantined"
    assert report.message.startswith("cannot be read as parquet: ")


def test_a_kill_between_load_and_record_never_double_loads(shop):
    """SIGKILL in the middle of a file's transaction (its rows inserted, its ledger line
    not yet): the rows are gone with it, and the next run loads the file exactly once."""
    folder = shop.root / "landing" / "orders"
    pq.write_table(orders(1, 3), folder / "a.parquet")
    pq.write_table(orders(4, 3), folder / "b.parquet")
    script = textwrap.dedent(f"""
        import os, signal
        from featurestore.ingest import ingest, ledger
        from featurestore.project import Project
        record = ledger.record
        def record_then_die(warehouse, book, values):
            if values["name"] == "b.parquet":
                os.kill(os.getpid(), signal.SIGKILL)
            return record(warehouse, book, values)
        ledger.record = record_then_die
        ingest(Project({str(shop.root)!r}))
        """)
    done = subprocess.run([sys.executable, "-c", script], env=os.environ.copy(),
                          capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    assert [r[0] for r in raw_rows(shop)] == [1, 2, 3]  # b's rows died with its transaction
    assert ingest(shop).count("loaded") == 1
    assert [r[0] for r in raw_rows(shop)] == [1, 2, 3, 4, 5, 6]


@settings(max_examples=15, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batches=st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["parquet", "csv"])),
                        min_size=1, max_size=5))
def test_any_sequence_of_files_and_runs_loads_each_row_once(shop, batches):
    """Files of any size and format land between runs; every row ends up once."""
    import shutil

    folder = shop.root / "landing" / "orders"
    shutil.rmtree(folder)
    folder.mkdir()
    shop.dbt_target.duckdb_path.unlink(missing_ok=True)
    expected, next_id = [], 1
    for number, (count, kind) in enumerate(batches):
        rows = orders(next_id, count)
        next_id += count
        expected += list(range(rows.num_rows and rows.column(0)[0].as_py() or 0,
                               next_id)) if count else []
        path = folder / f"f{number}.{kind}"
        if kind == "parquet":
            pq.write_table(rows, path)
        else:
            rows.to_pandas().to_csv(path, index=False)
        ingest(shop)
    ingest(shop)
    assert [r[0] for r in raw_rows(shop)] == expected


@pytest.fixture
def s3_endpoint(tmp_path):
    """An S3 API on loopback (moto's server): yields host:port."""
    import shutil
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([shutil.which("moto_server", path=os.path.dirname(sys.executable)),
                               "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def answers() -> bool:
        assert server.poll() is None, f"moto_server exited ({server.returncode})"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
        except OSError:
            return False
        return True

    try:
        wait_until(answers, f"moto's S3 to answer on port {port}")
    except BaseException:
        server.kill()
        raise
    yield f"127.0.0.1:{port}"
    server.terminate()
    server.wait()


def test_files_under_an_s3_prefix_load_once_and_misfits_move_aside(shop, s3_endpoint,
                                                                   monkeypatch):
    import io

    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    s3 = boto3.client("s3", endpoint_url=f"http://{s3_endpoint}", region_name="us-east-1")
    s3.create_bucket(Bucket="landing")
    landing = f"s3://landing/shop?endpoint_override={s3_endpoint}&scheme=http&region=us-east-1"
    (shop.root / "models" / "sources.yml").write_text(
        SOURCES.replace("landing: landing", f"landing: '{landing}'"))
    run_dbt(shop, ["parse", "--quiet"])
    for name, table in {"a.parquet": orders(1, 2), "b.parquet": orders(3, 1, coupon=["x"])
                        }.items():
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        s3.put_object(Bucket="landing", Key=f"shop/orders/{name}", Body=buffer.getvalue())
    report = ingest(shop)
    assert (report.count("loaded"), report.count("quarantined")) == (1, 1)
    assert [r[0] for r in raw_rows(shop)] == [1, 2]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="landing")["Contents"]
                  if not o["Key"].endswith("/"))  # pyarrow's empty "directory" markers
    assert keys == ["shop/_quarantine/orders/b.parquet",
                    "shop/_quarantine/orders/b.parquet.error.txt", "shop/orders/a.parquet"]
    assert ingest(shop).count("loaded") == 0
