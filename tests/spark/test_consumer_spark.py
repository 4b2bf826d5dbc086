"""A team's project on Spark with the profile a team writes.

tests/consumer_project/profiles.yml's `spark` target says only `method: session`,
`host`, `schema` and a tables folder; featurestore adds the session settings it needs
(featurestore/dialects/spark_profile.py) for dbt and for itself. One fresh process (its
own JVM, as a team's command would have) builds the feature view and its parents on
Spark, validates the built columns, and writes a training set, which must equal the one
the same project gives on its DuckDB target.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from tests.consumer.conftest import FOREIGN_ENV, copy_consumer_project

pytestmark = [pytest.mark.spark, pytest.mark.slow]

FEATURES = ("customer_orders:order_count_7d,customer_orders:order_amount_sum_30d,"
            "customer_orders:last_order_amount")
# Each step through the CLI, in one process; what each printed, as JSON on stdout. The
# contract's dbt tests are left out (they run on Spark in test_demo_spark.py): this step
# of CI is bounded.
SCRIPT = """\
import json, sys
from click.testing import CliRunner
from featurestore.apps.cli import cli

root, spark_out, duckdb_out = sys.argv[1:4]
steps = {
    "spark build": ["--target", "spark", "build", "--select", "+fs_customer__orders",
                    "--exclude-resource-type", "test"],
    "spark validate": ["--target", "spark", "validate"],
    "spark training-set": ["--target", "spark", "training-set", "--spine",
                           root + "/seeds/raw_churn_labels.csv", "--features", FEATURES,
                           "--out", spark_out],
    "duckdb build": ["build", "--select", "+fs_customer__orders",
                     "--exclude-resource-type", "test"],
    "duckdb training-set": ["training-set", "--spine", root + "/seeds/raw_churn_labels.csv",
                            "--features", FEATURES, "--out", duckdb_out],
}
report = {}
for name, args in steps.items():
    result = CliRunner().invoke(cli, ["--project-dir", root, *args], obj={})
    report[name] = [result.exit_code, result.stdout[-400:], result.stderr]
    if result.exit_code:
        break
print(json.dumps(report))
"""


def _rows(path) -> list[tuple]:
    def clean(value):
        return float(f"{value:.9g}") if isinstance(value, float) and math.isfinite(value) \
            else value

    rows = [tuple(clean(v) for v in row.values()) for row in pq.read_table(path).to_pylist()]
    return sorted(rows, key=lambda row: tuple((v is not None, v if v is not None else 0)
                                              for v in row))


def test_a_minimal_spark_profile_builds_validates_and_trains(tmp_path):
    pytest.importorskip("pyspark", reason="the spark extra: pip install 'featurestore[spark]'")
    root = copy_consumer_project(tmp_path / "shop")
    script = tmp_path / "steps.py"
    script.write_text(SCRIPT.replace("FEATURES", repr(FEATURES)))
    spark_out, duckdb_out = tmp_path / "spark.parquet", tmp_path / "duckdb.parquet"
    env = {name: value for name, value in __import__("os").environ.items()
           if name not in FOREIGN_ENV}
    env["FEATURESTORE_SPARK_DRIVER_MEMORY"] = "1g"  # the profile sets none: no note
    done = subprocess.run([sys.executable, str(script), str(root), str(spark_out),
                           str(duckdb_out)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert [report[step][0] for step in report] == [0] * 5, report
    _, build_out, build_err = report["spark build"]
    # no note: nothing overruled, and the column checks ran against the built tables
    # (pyspark may add its pandas FutureWarning after these lines)
    assert build_err.startswith(
        "packages.yml lists 1 dbt package(s) and dbt_packages/ holds 0: running `dbt deps`\n"
        "dbt build --select +fs_customer__orders --exclude-resource-type test\n")
    assert "note:" not in build_err
    assert build_out.endswith("Build OK: models match their contracts.\n")
    assert report["spark validate"][1] == "OK: 1 feature views, 1 entities.\n"
    assert "note:" not in report["spark validate"][2] + report["spark training-set"][2]
    # the catalog where the profile says, relative to the project folder
    spark = root / "warehouse" / "spark"
    assert (spark / "tables" / "main.db" / "fs_customer__orders").is_dir()
    assert (spark / "metastore_db").is_dir()
    assert _rows(spark_out) == _rows(duckdb_out)
    assert len(_rows(spark_out)) == 11
