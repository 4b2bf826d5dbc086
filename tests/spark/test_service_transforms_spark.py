"""Feature-service transformations on Spark: the parameters Spark computes equal the
oracle's (tests/service_oracle.py, plain Python), and each transformation applied in
Python (the lookup's closures) equals Spark's applied value, on random data with NULLs,
NaN, infinities, -0.0 and ties. Exact, except ``log1p``'s float: Spark calls Java's
``Math.log``, which the JDK lets be one ulp off the C library's (docs/request-time.md).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings

from featurestore.dialects.spark import Spark
from featurestore.feature_refs import FeatureRef
from featurestore.feature_services.model import ServiceFeature, Transformation
from featurestore.feature_services.params_sql import ParameterQueries
from featurestore.feature_services.transforms import compiled, expressions
from featurestore.ondemand.render import render
from tests.core.test_service_transforms import cases
from tests.service_oracle import close, oracle_params

pytestmark = [pytest.mark.spark]
TYPES = {"int64": "bigint", "float64": "double", "string": "string", "bool": "boolean"}


class House:
    def __init__(self, session):
        self.session, self.dialect = session, Spark()

    def fetch_all(self, sql, params=None):
        return [tuple(row) for row in self.session.sql(sql).collect()]


def _ulps(a: float, b: float) -> float:
    return abs(a - b) / math.ulp(max(abs(a), abs(b)) or 1.0)


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_python_equals_spark_and_the_oracle(spark, case):
    kind, dtype, values, options = case
    spark.createDataFrame([(i, v) for i, v in enumerate(values)],
                          schema=f"rid int, t__f {TYPES[dtype]}").createOrReplaceTempView(
        "rows_t")
    house = House(spark)
    transformation = Transformation(ServiceFeature(FeatureRef("t", "f"), dtype), kind,
                                    tuple(options.items()))
    (params,) = ParameterQueries(house, "select * from rows_t").compute((transformation,))
    for name, want in oracle_params(kind, dtype, values, options).items():
        got = params[name]
        assert close(got, want) if name in ("mean", "std") else got == want, (name, got, want)
    selects = ", ".join(render(tree, house.dialect, lambda _n: "training.t__f")
                        for tree in expressions(kind, dtype, params))
    rows = house.fetch_all(f"select {selects} from (select * from rows_t) as training "
                           "order by rid")
    functions = compiled(kind, dtype, params)
    for value, row in zip(values, rows, strict=True):
        python = [function({"x": value}) for function in functions]
        for mine, theirs in zip(python, row, strict=True):
            where = f"spark {kind} {dtype} {params} x={value!r}"
            if kind == "log1p" and isinstance(mine, float) and isinstance(theirs, float):
                assert _ulps(mine, theirs) <= 1, where
            else:
                assert mine == theirs and type(mine) is type(theirs), where
