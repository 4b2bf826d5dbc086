"""rolling_windows with `statements`: a full build in one statement per bucket of entities.

dbt compiles the one-statement SQL, marked with what the statements need, and this
package's duckdb__create_table_as runs the statements instead: the input staged once, a
`create table` over bucket 0, an `insert` per further bucket. On random entities the
table must equal the brute force, through a full build, an incremental run (one
statement) and a full refresh; a model whose input is a join of CTEs and whose windows
are joined to another relation must give the rows of its one statement; and text of the
model's expressions must reach the statements to the letter, whatever it holds.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.hostile_text import kept_text
from tests.offline.rolling_support import (
    RAW_EVENTS,
    Event,
    brute_force,
    dbt_project,
    dbt_sql,
    run_dbt_in,
)
from tests.offline.test_rolling_incremental import (
    AGGREGATES,
    BASE,
    LAST,
    MODEL,
    US,
    _approx,
    _first_landings,
    _land,
    _table,
)

pytestmark = pytest.mark.slow
JOINED = """
{{ config(materialized='table') }}
with

events as (
    select * from raw_events
),

weights as (
    select * from raw_weights
),

weighted as (
    select events.k, events.ts, events.loaded_at, events.amount * weights.weight as amount
    from events
    inner join weights on events.k = weights.k
),

windows as (
    {{ featurestore.rolling_windows(
        relation='weighted',
        partition_by=['k'],
        event_ts='ts',
        loaded_at='loaded_at',
        aggregates=[{'name': 'n_3h', 'agg': 'count', 'expr': 'amount', 'window': '3h'},
                    {'name': 'sum_1d', 'agg': 'sum', 'expr': 'amount', 'window': '1d'}],
    ) }}
)

select windows.*, labels.label
from windows
left join raw_labels as labels on windows.k = labels.k
"""
TAGGED = """
{{ config(materialized='table') }}
%(literals)s
with

events as (
    select * from raw_events
),

windows as (
    {{ featurestore.rolling_windows(
        relation='events',
        partition_by=['k'],
        event_ts='ts',
        aggregates=[{'name': 'n_1h', 'agg': 'count', 'expr': 'amount', 'window': '1h'}],
        last_values=%(last)s,
    ) }}
)

select * from windows
"""


def _project(root: Path, models: dict[str, str], partitions: int = 5,
             statements: bool = True) -> Path:
    """A dbt project with the real macros, its vars asking for buckets as statements."""
    return dbt_project(root, models, {"featurestore_rolling_partitions": partitions,
                                      "featurestore_rolling_statements": statements})


def _random_batches(seed: int, entities: int = 60) -> list[list[Event]]:
    """Two arrival batches over many entities: events on a 20-minute grid, some a
    microsecond off, null amounts, a null key, late events and exact repeats."""
    rng = random.Random(seed)
    ids = iter(range(1, 100_000))
    events = []
    for key in [*range(1, entities + 1), None]:
        for _ in range(rng.randint(1, 8)):
            ts = (BASE + dt.timedelta(minutes=20 * rng.randint(0, 200))
                  + rng.choice([0, 0, 0, 1, -1]) * US)
            amount = rng.choice([None, 0.1, 0.2, -7.25, 100.0, round(rng.uniform(-1e4, 1e4), 4)])
            events.append((key, ts, amount, next(ids)))
    first = BASE + dt.timedelta(days=4)
    batches: list[list[Event]] = [[], []]
    for key, ts, amount, id_ in events:
        batch = rng.random() < 0.2
        batches[batch].append(Event(key, ts, amount, first + batch * dt.timedelta(hours=1), id_))
    batches[1] += [Event(e.key, e.ts, e.amount, first + dt.timedelta(hours=1), e.id)
                   for e in rng.sample(batches[0], 5)]  # retried uploads
    return batches


def test_a_full_build_an_incremental_run_and_a_refresh_equal_the_brute_force(tmp_path):
    root = _project(tmp_path, {"rw_incremental": MODEL % {"aggregates": AGGREGATES,
                                                          "last": LAST}})
    batches = _random_batches(seed=21)
    for number, batch in enumerate(batches):
        with duckdb.connect(str(root / "rw.duckdb")) as con:
            con.execute(RAW_EVENTS)
            _land(con, batch)
        run_dbt_in(root, "run")
        executed = dbt_sql(root, "rw_incremental", "run")
        if number == 0:  # the full build: the stage, 5 buckets, the stage dropped
            assert executed.count("create or replace temp table _featurestore_rw_input") == 1
            assert executed.count("_featurestore_rw_bucket = ") == 5
            assert len(re.findall(r"^insert into .* select \* from \($", executed, re.M)) == 4
            assert executed.rstrip().endswith("drop table _featurestore_rw_input;")
        else:  # the incremental run: one statement, the buckets inside it
            compiled = dbt_sql(root, "rw_incremental")
            assert "_rw_previous" in compiled
            assert "featurestore:rolling_statements" not in compiled
            assert "_featurestore_rw_input" not in executed
    expected = _approx(brute_force(_first_landings(batches), AGGREGATES))
    with duckdb.connect(str(root / "rw.duckdb")) as con:
        assert _table(con, "rw_incremental") == expected
    run_dbt_in(root, "run", "--full-refresh")
    assert "_featurestore_rw_input" in dbt_sql(root, "rw_incremental", "run")
    with duckdb.connect(str(root / "rw.duckdb")) as con:
        assert _table(con, "rw_incremental") == expected
        # the stage lived on dbt's connection only, and is gone
        assert con.execute("select count(*) from duckdb_tables() "
                           "where table_name like '_featurestore_rw%'").fetchall() == [(0,)]


def _load_joined(root: Path, batches: list[list[Event]]) -> None:
    with duckdb.connect(str(root / "rw.duckdb")) as con:
        con.execute(RAW_EVENTS)
        _land(con, [e for batch in batches for e in batch])
        con.execute("create table raw_weights as select range as k, 1 + range % 3 as weight "
                    "from range(1, 61)")
        con.execute("create table raw_labels as select range as k, 'label ' || range as label "
                    "from range(1, 61, 2)")


def test_a_cte_input_and_a_joined_output_give_the_one_statements_rows(tmp_path):
    """The stage reads the model's own CTEs (a join), and each bucket's statement joins
    its windows to another table: the rows of the same model as one statement."""
    batches = _random_batches(seed=5)
    rows = {}
    for statements in (True, False):
        root = _project(tmp_path / str(statements), {"rw_joined": JOINED},
                        partitions=4, statements=statements)
        _load_joined(root, batches)
        run_dbt_in(root, "run")
        assert ("_featurestore_rw_input" in dbt_sql(root, "rw_joined", "run")) is statements
        with duckdb.connect(str(root / "rw.duckdb")) as con:
            rows[statements] = con.execute(
                "select * from rw_joined order by k nulls first, feature_ts").fetchall()
    assert len(rows[True]) > 300
    assert rows[True] == rows[False]


def _build_error(tmp_path: Path, model: str) -> str:
    """The error `dbt run` of ``model`` (as rw_incremental, over landed events) stops with."""
    root = _project(tmp_path, {"rw_incremental": model})
    with duckdb.connect(str(root / "rw.duckdb")) as con:
        con.execute(RAW_EVENTS)
        _land(con, _random_batches(seed=3)[0])
    with pytest.raises(Exception) as error:
        run_dbt_in(root, "run")
    return str(error.value)


def test_a_call_that_is_not_a_ctes_whole_body_is_refused_with_the_fix(tmp_path):
    model = (MODEL % {"aggregates": AGGREGATES, "last": LAST}).replace(
        "windows as (\n    {{", "windows as (\n    select * from ({{").replace(
        "    ) }}\n)", "    ) }}) as w\n)")
    error = _build_error(tmp_path, model)
    assert ("rolling_windows with `statements` true (var featurestore_rolling_statements) "
            "in ") in error
    assert ("the call must be the whole body of a CTE, `windows as ( {{ rolling_windows(...) "
            "}} )`; write it so, or set statements false.") in error


def test_two_calls_with_statements_are_refused_with_the_fix(tmp_path):
    model = (MODEL % {"aggregates": AGGREGATES, "last": LAST}).replace(
        "select * from windows", "select * from windows\nunion all\nselect * from again")
    again = ("again as (\n    {{ featurestore.rolling_windows(relation='events', "
             "partition_by=['k'], event_ts='ts', loaded_at='loaded_at', "
             f"aggregates={AGGREGATES!r}, last_values={LAST!r}) }}}}\n),\n\nwindows as (")
    model = model.replace("windows as (", again, 1)
    assert ("the model holds 2 calls marked for statements (or their marker's text, /* "
            "featurestore:rolling_statements ... */); one statement per bucket splits one "
            "call: pass statements=false to the others.") in _build_error(tmp_path, model)


def test_statements_must_be_true_or_false(tmp_path):
    root = _project(tmp_path, {"rw_incremental": MODEL % {"aggregates": AGGREGATES,
                                                          "last": LAST}})
    text = (root / "dbt_project.yml").read_text()
    (root / "dbt_project.yml").write_text(text.replace(
        "featurestore_rolling_statements: true", "featurestore_rolling_statements: 'yes'"))
    with pytest.raises(Exception) as error:
        run_dbt_in(root, "compile")
    assert ("rolling_windows: `statements` (var featurestore_rolling_statements) must be "
            "true or false, not yes.") in str(error.value)


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(texts=st.lists(kept_text, min_size=4, max_size=4))
def test_expressions_reach_the_statements_to_the_letter(tmp_path_factory, texts):
    """Each last value is a SQL literal of hostile text (comment ends and starts, quotes,
    backslashes, Jinja, the bucket's own placeholder): carried as JSON in a comment, it
    must come out of every bucket's statement exactly."""
    assume(not any(re.search(r"endraw", text) for text in texts))
    texts = [*texts, "__featurestore_rw_bucket_0__ */ /* \\/"]
    literals = "\n".join(
        f"{{% set tag_{i} %}}{{% raw %}}{_sql_literal(text)}{{% endraw %}}{{% endset %}}"
        for i, text in enumerate(texts))
    last = "[" + ", ".join(f"{{'name': 'tag_{i}', 'expr': tag_{i}, 'order_by': 'id'}}"
                           for i in range(len(texts))) + "]"
    root = _project(tmp_path_factory.mktemp("tagged"),
                    {"rw_tagged": TAGGED % {"literals": literals, "last": last}}, partitions=3)
    with duckdb.connect(str(root / "rw.duckdb")) as con:
        con.execute(RAW_EVENTS)
        _land(con, _random_batches(seed=9, entities=12)[0])
    run_dbt_in(root, "run")
    assert "_featurestore_rw_input" in dbt_sql(root, "rw_tagged", "run")
    columns = ", ".join(f"tag_{i}" for i in range(len(texts)))
    with duckdb.connect(str(root / "rw.duckdb")) as con:
        values = set(con.execute(f"select {columns} from rw_tagged").fetchall())
        keys = con.execute("select count(distinct k) from rw_tagged").fetchall()[0][0]
    assert values == {tuple(texts)}
    assert keys == 12
