"""dbt's `as_of_join` computes on-demand features: a dbt model that as-of joins a spine
with request columns and names an on-demand view gives exactly the rows of `featurestore
training-set` for the same spine (DuckDB, one `dbt run`), its columns in the same order.

The on-demand SQL reaches dbt through the macro `featurestore generate` writes
(featurestore/generate_on_demand.py); a view of literals drawn by Hypothesis from
tests/hostile_text.py (Jinja delimiters, env_var calls, a `copy ... to`, quotes and
backslashes), beside fixed ones, must come back as the same text and run nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import Phase, given, settings

from featurestore.generate import contracts_macro
from featurestore.generate_on_demand import on_demand_macro
from featurestore.project import Project
from featurestore.training import build_training_set
from tests.conftest import REPO_ROOT
from tests.hostile_text import CANARY_FILE, CANARY_VALUE, CANARY_VAR, kept_text, yaml_quoted
from tests.offline.conftest import on_fakesnow, use_snowflake_target
from tests.offline.test_snowflake_training import TABLES, TYPES, sent  # noqa: F401
from tests.offline.test_training_on_demand import EXPECTED, ON_DEMAND, PROFILE, _spine
from tests.offline.test_training_on_demand import _load as load_snowflake

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]

FIXED_LITERALS = [f"{{{{ env_var('{CANARY_VAR}') }}}}", "{% endmacro %}{# ", "it's \\' \\",
                  f"'); copy (select 42) to '{CANARY_FILE}'; --", "$J }}"]
LITERALS = 6
# model -> the features it names (its dbt model, and `featurestore training-set`'s)
MODELS = {
    "od_training": ["txn_context", "user_transactions:txn_count_7d"],
    "od_inputs_only": ["txn_context:is_foreign", "txn_context:amount_over_avg_30d"],
    "od_asked_input": ["user_transactions:txn_amount_avg_7d", "txn_context:local_hour",
                       "txn_context:amount_minus_avg_7d"],
    "od_aware": ["txn_context:local_hour", "user_profile:country"],
    "od_hostile": ["txn_hostile"],
}
SPINE_COLUMNS = ("row_id bigint, user_id bigint, event_ts timestamp, amount double, "
                 "txn_ts {ts}, merchant_country varchar")


def drawn_literals() -> list[str]:
    found = []

    @settings(max_examples=LITERALS, database=None, deadline=None, phases=[Phase.generate])
    @given(kept_text)
    def collect(text):
        found.append(text)

    collect()
    return FIXED_LITERALS + found


def _hostile_view(literals: list[str]) -> str:
    features = "".join(
        f"  - name: lit_{i}\n"
        f"    sql: {yaml_quoted('concat(merchant_country, ' + repr_sql(text) + ')')}\n"
        f"    sensitivity: internal\n    description: Literal {i}.\n"
        for i, text in enumerate(literals))
    return ("name: txn_hostile\nkind: on_demand\nversion: 1\nentity: user\nowner: risk-ml\n"
            "description: Drawn literals.\nrequest:\n"
            "  - {name: merchant_country, dtype: string}\nfeatures:\n" + features)


def repr_sql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _load(con, aware: bool) -> None:
    types = {**TYPES["duckdb"], "text": "varchar"}
    for table, (columns, rows) in {**TABLES, "fs_user__profile": PROFILE}.items():
        con.execute(f"create table raw_{table} ({columns.format(**types)})")
        for row in rows:
            con.execute(f"insert into raw_{table} values ({', '.join('?' * len(row))})",
                        list(row))
    for name, tz in (("raw_spine", False), ("raw_spine_aware", True)):
        con.execute(f"create table {name} "
                    f"({SPINE_COLUMNS.format(ts='timestamptz' if tz else 'timestamp')})")
        frame = _spine(aware=tz)
        for row in frame.itertuples(index=False):
            con.execute(f"insert into {name} values (?, ?, ?, ?, ?, ?)",
                        [None if value != value else value for value in row])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The project (demo contracts, one hostile view), its tables, and one `dbt run`."""
    import duckdb

    root = tmp_path_factory.mktemp("od_dbt")
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(REPO_ROOT / name, root / name)
    shutil.copytree(REPO_ROOT / "macros", root / "macros")
    shutil.copytree(REPO_ROOT / "feature_defs", root / "feature_defs")
    literals = drawn_literals()
    (root / "feature_defs" / "txn_hostile.yml").write_text(_hostile_view(literals))
    project = Project(root)
    catalog = project.catalog()
    (root / "macros/generated/featurestore_contracts.sql").write_text(contracts_macro(catalog))
    (root / "macros/generated/featurestore_on_demand.sql").write_text(
        on_demand_macro(catalog, "featurestore"))
    models = root / "models" / "od"
    models.mkdir(parents=True)
    for table in ("fs_user__transactions", "fs_user__profile"):
        (models / f"{table}.sql").write_text(f"select * from main.raw_{table}")
    (models / "od_spine.sql").write_text("select * from main.raw_spine")
    (models / "od_spine_aware.sql").write_text("select * from main.raw_spine_aware")
    (models / "od_spine_short.sql").write_text(  # no `amount`
        "select row_id, user_id, event_ts, txn_ts, merchant_country from main.raw_spine")
    for model, refs in MODELS.items():
        spine = "od_spine_aware" if model == "od_aware" else "od_spine"
        (models / f"{model}.sql").write_text(
            f"{{{{ featurestore.as_of_join(ref('{spine}'), {refs!r}) }}}}\n")
    database = root / "warehouse" / "fs.duckdb"
    database.parent.mkdir()
    with duckdb.connect(str(database)) as con:
        _load(con, aware=False)
    with mock.patch.dict(os.environ, {"FEATURESTORE_DUCKDB_PATH": str(database),
                                      CANARY_VAR: CANARY_VALUE,
                                      "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}):
        os.environ.pop("FEATURESTORE_TARGET", None)  # put back when the block ends
        run = _dbt(root, "run")
        assert run.returncode == 0, run.stdout + run.stderr
        yield Project(root), database, literals  # the DuckDB file of the environment


def _dbt(root: Path, *args: str) -> subprocess.CompletedProcess:
    """dbt in a process of its own: dbt-duckdb keeps its connection to the file open."""
    return subprocess.run([str(Path(sys.executable).with_name("dbt")), *args,
                           "--project-dir", str(root), "--profiles-dir", str(root)],
                          capture_output=True, text=True, check=False)


def _rows(database: Path, model: str) -> tuple[list[str], list[tuple]]:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        cursor = con.execute(f"select * from main.{model} order by row_id")
        return [d[0] for d in cursor.description], cursor.fetchall()


def _training_set(project: Project, model: str) -> tuple[list[str], list[tuple]]:
    built = build_training_set(project, _spine(aware=model == "od_aware"),
                               ",".join(MODELS[model]))
    rows = sorted(built.table.to_pylist(), key=lambda row: row["row_id"])
    names = built.table.column_names
    return names, [tuple(row[name] for name in names) for row in rows]


def _same_instant(row: tuple) -> tuple:
    """A timezone-aware value as its UTC instant (DuckDB answers in the session's zone,
    Arrow at UTC)."""
    return tuple(v.astimezone(dt.UTC) if isinstance(v, dt.datetime) and v.tzinfo else v
                 for v in row)


@pytest.mark.parametrize("model", list(MODELS))
def test_the_dbt_model_gives_the_training_sets_rows(built, model):
    project, database, _ = built
    names, rows = _rows(database, model)
    expected_names, expected = _training_set(project, model)
    assert names == expected_names
    assert [_same_instant(r) for r in rows] == [_same_instant(r) for r in expected]


def test_the_values_are_the_hand_worked_ones(built):
    _, database, _ = built
    names, rows = _rows(database, "od_training")
    assert names == ["row_id", "user_id", "event_ts", "amount", "txn_ts", "merchant_country",
                     "user_transactions__txn_count_7d", "user_transactions__feature_ts",
                     *ON_DEMAND]
    assert [row[-4:] for row in rows] == EXPECTED


def test_drawn_literals_come_back_exactly_and_nothing_runs(built):
    project, database, literals = built
    names, rows = _rows(database, "od_hostile")
    countries = [row[names.index("merchant_country")] for row in rows]
    assert [row[names.index(f"txn_hostile__lit_{i}")] for row in rows
            for i in range(len(literals))] == [
        None if country is None else country + text
        for country in countries for text in literals]
    assert not CANARY_FILE.exists()
    compiled = (project.root / "target" / "compiled").rglob("od_hostile.sql")
    for path in compiled:
        assert CANARY_VALUE not in path.read_text()
    manifest = json.loads((project.root / "target" / "manifest.json").read_text())
    assert CANARY_VALUE not in json.dumps(manifest)


@pytest.mark.parametrize("model", ["od_training", "od_inputs_only"])
def test_on_snowflake_the_compiled_model_gives_the_training_sets_rows(built, sent,  # noqa: F811
                                                                      monkeypatch, tmp_path,
                                                                      model):
    """The model compiled by dbt-snowflake (its `snowflake__` spellings), run on fakesnow,
    against `featurestore training-set` on the same fakesnow tables (a fresh fakesnow per
    model: its spine uploads accumulate)."""
    import pyarrow.parquet as pq
    from dbt.cli.main import dbtRunner

    from featurestore.warehouse import Warehouse

    def load(warehouse, dialect):
        load_snowflake(warehouse, dialect)
        warehouse.execute(f"create table od_spine ({SPINE_COLUMNS.format(ts='timestamp_ntz')})")
        for row in _spine().itertuples(index=False):
            warehouse.execute("insert into od_spine values (?, ?, ?, ?, ?, ?)",
                              [None if value != value else value for value in row])

    root = built[0].root
    use_snowflake_target(monkeypatch)
    with on_fakesnow(root, load) as snow:
        result = dbtRunner().invoke([
            "compile", "--select", model, "--target", "snowflake", "--no-populate-cache",
            "--project-dir", str(root), "--profiles-dir", str(root), "--quiet"])
        assert result.success, result.exception
        sql = result.result.results[0].node.compiled_code
        out = tmp_path / f"{model}.parquet"  # fakesnow answers no Arrow: a file
        build_training_set(snow, _spine(), ",".join(MODELS[model]), out=out)
        with Warehouse(snow) as warehouse:
            cursor = warehouse.execute(sql)
            names = [d[0].lower() for d in cursor.description]
            rows = sorted(cursor.fetchall())
    expected = pq.read_table(out)
    assert "fs_joined.* exclude (" in sql
    assert names == expected.column_names
    assert rows == sorted(tuple(row.values()) for row in expected.to_pylist())


ERRORS = [
    ("['txn_context:nope']", "as_of_join: on-demand view `txn_context` has no feature `nope`; "
     "its features: amount_over_avg_30d, amount_minus_avg_7d, local_hour, is_foreign."),
    ("['txn_context@v2:local_hour']", "as_of_join: on-demand view `txn_context` has no "
     "version `v2`; its version: v1."),
    ("['nope']", "as_of_join: unknown feature view `nope`; known views: device_seen_before, "
     "merchant_risk, txn_context, txn_hostile, user_profile, user_transactions."),
]


@pytest.mark.parametrize(("views", "message"), ERRORS, ids=["feature", "version", "view"])
def test_compile_errors_name_the_fix(built, views, message):
    run = _dbt(built[0].root, "compile", "--inline",
               f"{{{{ featurestore.as_of_join(ref('od_spine'), {views}) }}}}")
    assert run.returncode != 0
    assert message in run.stdout, run.stdout


def test_a_built_spine_without_a_request_column_is_named(built):
    run = _dbt(built[0].root, "compile", "--inline", "{{ featurestore.as_of_join("
               "ref('od_spine_short'), ['txn_context:amount_over_avg_30d']) }}")
    assert run.returncode != 0
    assert ("as_of_join: the spine has no column `amount`: an on-demand feature asked for "
            "reads request field `amount`. Add it to the spine, with the value each row was "
            "scored with.") in run.stdout, run.stdout
