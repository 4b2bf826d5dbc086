"""The small project the ingest tests land files in: one source table, `shop.orders`,
parsed by dbt, with its own DuckDB file (the `shop` fixture, shared through conftest)."""

from __future__ import annotations

import datetime as dt
import textwrap

import duckdb
import pyarrow as pa
import pytest

from featurestore.dbt_runner import run_dbt
from featurestore.project import Project

SOURCES = """
version: 2
sources:
  - name: shop
    schema: raw
    meta:
      featurestore:
        landing: landing
    tables:
      - name: orders
        config: {loaded_at_field: loaded_at}
        columns:
          - {name: order_id, data_type: bigint, data_tests: [not_null]}
          - {name: customer, data_type: varchar}
          - {name: amount, data_type: double}
          - {name: ordered_at, data_type: timestamp, data_tests: [not_null]}
          - {name: loaded_at, data_type: timestamp}
"""
T = dt.datetime(2026, 5, 1, 12)


@pytest.fixture
def shop(tmp_path, monkeypatch):
    """A dbt project with one landed source table, parsed (no feature views needed)."""
    for name in ("FEATURESTORE_TARGET", "DBT_TARGET_PATH", "DBT_PROFILES_DIR",
                 "FEATURESTORE_LANDING_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEATURESTORE_DUCKDB_PATH", str(tmp_path / "shop.duckdb"))
    monkeypatch.setenv("FEATURESTORE_INGEST_SETTLE", "0")  # files here are written whole
    return shop_project(tmp_path)


def shop_project(root, sources: str = SOURCES, landing: str = "landing") -> Project:
    """The shop project in ``root`` with ``sources``, parsed; its DuckDB file is
    FEATURESTORE_DUCKDB_PATH."""
    (root / "dbt_project.yml").write_text(
        "name: shop\nversion: '1.0'\nconfig-version: 2\nprofile: shop\n")
    (root / "profiles.yml").write_text(textwrap.dedent("""\
        shop:
          target: duckdb
          outputs:
            duckdb:
              type: duckdb
              path: "{{ env_var('FEATURESTORE_DUCKDB_PATH') }}"
              schema: main
        """))
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / "sources.yml").write_text(sources)
    (root / "feature_defs").mkdir(exist_ok=True)
    (root / landing / "orders").mkdir(parents=True, exist_ok=True)
    project = Project(root)
    run_dbt(project, ["parse", "--quiet"])
    return project


def orders(first: int, count: int, **extra) -> pa.Table:
    columns = {"order_id": list(range(first, first + count)),
               "customer": [f"c{i % 3}" for i in range(count)],
               "amount": [float(i) + 0.5 for i in range(count)],
               "ordered_at": [T + dt.timedelta(minutes=i) for i in range(count)]}
    columns.update(extra)
    return pa.table(columns)


def raw_rows(project, columns="order_id, customer, amount, ordered_at") -> list[tuple]:
    with duckdb.connect(str(project.dbt_target.duckdb_path), read_only=True) as con:
        return con.execute(f"select {columns} from raw.orders order by order_id").fetchall()


def ledger_lines(project) -> list[tuple]:
    with duckdb.connect(str(project.dbt_target.duckdb_path), read_only=True) as con:
        return con.execute("select source_table, regexp_extract(path, '[^/]+$'), rows, status "
                           "from featurestore.ingested_files order by path").fetchall()
