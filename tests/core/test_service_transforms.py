"""Feature-service transformations: the parameters the warehouse computes equal an oracle's
(plain Python sharing no code with featurestore), and each transformation applied in
Python (the lookup's generated functions) equals the warehouse's applied value, exactly,
on random data with nulls, NaN, infinities, -0.0 and ties, on DuckDB and on the Snowflake
SQL (through fakesnow). The oracle applies the documented meaning too, so the two sides
cannot agree on a wrong answer.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from featurestore.dialects.duckdb import DuckDB
from featurestore.dialects.snowflake import Snowflake
from featurestore.feature_refs import FeatureRef
from featurestore.feature_services.model import ServiceFeature, Transformation
from featurestore.feature_services.params_sql import ParameterQueries
from featurestore.feature_services.transforms import compiled, expressions
from featurestore.ondemand.render import render
from tests.service_oracle import close, oracle_apply, oracle_params

EXAMPLES = 120
TYPES = {"duckdb": {"int64": "bigint", "float64": "double", "string": "varchar",
                    "bool": "boolean"},
         "snowflake": {"int64": "number(38,0)", "float64": "float", "string": "varchar",
                       "bool": "boolean"}}
FLOATS = st.one_of(st.sampled_from([0.0, -0.0, 1.5, -2.25, 1e-300, math.nan, math.inf,
                                    -math.inf, 3.0]),
                   st.floats(-1e6, 1e6, allow_nan=False))
INTS = st.one_of(st.sampled_from([0, 1, -1, 7, 2**40]), st.integers(-10**6, 10**6))
TEXTS = st.one_of(st.sampled_from(["a", "A", "b", "", "it's", "back\\slash", "é", "😀",
                                   "Z"]),
                  st.text(st.characters(blacklist_characters="\x00"), max_size=3))
VALUES = {"float64": FLOATS, "int64": INTS, "string": TEXTS, "bool": st.booleans()}
NUMERIC = ("zscore", "min_max", "log1p", "clip", "quantile_bins")


class House:
    """The two methods ParameterQueries asks of a warehouse, over a DB-API cursor."""

    def __init__(self, cursor, dialect):
        self.cursor, self.dialect = cursor, dialect

    def fetch_all(self, sql, params=None):
        self.cursor.execute(sql)
        return self.cursor.fetchall()


@pytest.fixture(scope="module")
def houses():
    import duckdb

    fakesnow = pytest.importorskip("fakesnow")
    import snowflake.connector

    duck = duckdb.connect()
    with fakesnow.patch():
        connection = snowflake.connector.connect(database="DB", schema="SERVICES")
        snow = connection.cursor()
        snow.execute("create database if not exists DB")
        snow.execute("create schema if not exists DB.SERVICES")
        snow.execute("use schema DB.SERVICES")
        yield {"duckdb": House(duck, DuckDB()), "snowflake": House(snow, Snowflake())}
        connection.close()
    duck.close()


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(["zscore", "min_max", "log1p", "clip", "quantile_bins",
                                 "one_hot", "index"]))
    dtype = draw(st.sampled_from(["int64", "float64"] if kind in NUMERIC
                                 else ["string", "int64", "bool"]))
    pool = draw(st.lists(VALUES[dtype], min_size=1, max_size=6))  # repeats: ties
    values = draw(st.lists(st.none() | st.sampled_from(pool) | VALUES[dtype], max_size=30))
    options = {}
    if kind == "clip":
        lower = draw(st.sampled_from([0.0, 0.01, 0.1, 0.25, 0.5]))
        options = {"lower": lower, "upper": draw(st.sampled_from([0.75, 0.9, 0.99, 1.0]))}
    elif kind == "quantile_bins":
        options = {"bins": draw(st.integers(2, 12))}
    elif kind in ("one_hot", "index"):
        options = {"max_categories": draw(st.integers(1, 5))}
    return kind, dtype, values, options


# -- the property ---------------------------------------------------------------------------
def check(house, engine, kind, dtype, values, options):
    cursor = house.cursor
    cursor.execute(f"create or replace table rows_t (rid integer, t__f "
                   f"{TYPES[engine][dtype]})")
    mark = "?" if engine == "duckdb" else "%s"
    if values:
        # fakesnow binds a NaN or an infinity as a bare word: those are written as casts
        odd = {i for i, v in enumerate(values) if isinstance(v, float) and not math.isfinite(v)}
        cursor.execute("insert into rows_t values " + ", ".join(
            f"({mark}, cast('{values[i]}' as {TYPES[engine][dtype]}))" if i in odd
            else f"({mark}, {mark})" for i in range(len(values))),
            [v for i, value in enumerate(values) for v in ((i,) if i in odd else (i, value))])
    feature = ServiceFeature(FeatureRef("t", "f"), dtype)
    transformation = Transformation(feature, kind, tuple(options.items()))
    (params,) = ParameterQueries(house, "select * from rows_t").compute((transformation,))
    expected = oracle_params(kind, dtype, values, options)
    for name, want in expected.items():
        if name in ("mean", "std"):
            assert close(params[name], want), (engine, name, params[name], want)
        else:
            assert params[name] == want, (engine, name, params[name], want)
            assert [type(v) for v in _list(params[name])] == [type(v) for v in _list(want)]
    trees = expressions(kind, dtype, params)
    selects = ", ".join(render(tree, house.dialect, lambda _n: "training.t__f")
                        for tree in trees)
    rows = house.fetch_all(f"select {selects} from (select * from rows_t) as training "
                           "order by rid")
    functions = compiled(kind, dtype, params)
    for value, row in zip(values, rows, strict=True):
        python = [function({"x": value}) for function in functions]
        warehouse = [_plain(v) for v in row]
        where = f"{engine} {kind} {dtype} {params} x={value!r}"
        assert python == warehouse, where
        assert [type(v) for v in python] == [type(v) for v in warehouse], where
        assert python == oracle_apply(kind, dtype, params, value), where


def _list(value):
    return value if isinstance(value, list) else [value]


def _plain(value):
    """A driver's number as Python's: fakesnow gives NUMBER(38,0) back as int already;
    a Decimal would be a driver's choice, not a different value."""
    from decimal import Decimal

    return int(value) if isinstance(value, Decimal) else value


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=cases())
@example(case=("quantile_bins", "int64", [1, 1, 1, 2, 2, 3, None, 3, 3, 3], {"bins": 4}))
@example(case=("zscore", "float64", [2.5, 2.5, None, 2.5], {}))
@example(case=("index", "string", ["b", "a", "a", "b", None, "c"], {"max_categories": 2}))
@example(case=("clip", "float64", [], {"lower": 0.01, "upper": 0.99}))
@example(case=("one_hot", "bool", [True, None, False, False], {"max_categories": 1}))
def test_python_equals_the_warehouse_and_the_oracle(houses, case):
    kind, dtype, values, options = case
    for engine, house in houses.items():
        check(house, engine, kind, dtype, values, options)


def test_worked_values():
    """A hand-worked case of each kind (the documented meaning, in numbers)."""
    assert compiled("quantile_bins", "int64", {"edges": [1, 1, 3]})[0]({"x": 1}) == 0
    assert compiled("quantile_bins", "int64", {"edges": [1, 1, 3]})[0]({"x": 2}) == 2
    assert compiled("quantile_bins", "int64", {"edges": [1, 1, 3]})[0]({"x": 4}) == 3
    assert compiled("quantile_bins", "int64", {"edges": [1, 1, 3]})[0]({"x": None}) is None
    assert compiled("zscore", "float64", {"mean": 2.0, "std": 0.5})[0]({"x": 3.0}) == 2.0
    assert compiled("zscore", "float64", {"mean": 2.0, "std": 0.0})[0]({"x": 9.0}) == 0.0
    assert compiled("min_max", "int64", {"min": 2, "max": 6})[0]({"x": 8}) == 1.5
    assert compiled("log1p", "float64", {})[0]({"x": -1.0}) is None
    assert compiled("clip", "int64", {"lower_value": 2, "upper_value": 5})[0]({"x": 9}) == 5
    hot = compiled("one_hot", "string", {"vocabulary": ["DE", "FR"]})
    assert [f({"x": "FR"}) for f in hot] == [0, 1, 0, 0]
    assert [f({"x": "US"}) for f in hot] == [0, 0, 1, 0]
    assert [f({"x": None}) for f in hot] == [0, 0, 0, 1]
    index = compiled("index", "string", {"vocabulary": ["DE", "FR"]})[0]
    assert [index({"x": v}) for v in ("DE", "FR", "US", None)] == [0, 1, 2, 3]


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(drawn=st.lists(cases(), min_size=1, max_size=5), data=st.data())
def test_one_function_of_the_vector_is_each_column_as_the_closures_give_it(drawn, data):
    """The lookup's one generated function of a service's raw vector (several
    transformations, some reading the same feature) gives, column by column, what
    evaluate.py's closures (the reference held to every warehouse) and the oracle give."""
    from featurestore.feature_services.transforms import compiled_vector
    from featurestore.ondemand.evaluate import compile_node

    transforms, raw = [], []
    for kind, dtype, values, options in drawn:
        params = oracle_params(kind, dtype, values, options)
        shared = [i for i, (_, d) in enumerate(raw) if d == dtype]
        if shared and data.draw(st.booleans()):  # a feature another transformation reads
            position = data.draw(st.sampled_from(shared))
        else:
            position = len(raw)
            raw.append((data.draw(st.none() | VALUES[dtype]), dtype))
        transforms.append((position, kind, dtype, params))
    vector = [value for value, _ in raw]
    expected = [compile_node(tree)({"x": vector[position]})
                for position, kind, dtype, params in transforms
                for tree in expressions(kind, dtype, params)]
    got = compiled_vector(transforms)(vector)
    assert repr(list(got)) == repr(expected)
    oracle = [v for position, kind, dtype, params in transforms
              for v in oracle_apply(kind, dtype, params, vector[position])]
    assert list(got) == oracle


def test_a_vector_with_no_transformation_adds_no_column():
    from featurestore.feature_services.transforms import compiled_vector

    assert compiled_vector([])([1, "a"]) == ()
