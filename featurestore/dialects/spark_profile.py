"""The settings of the Spark session dbt and featurestore share, from the dbt profile.

A Spark target's ``server_side_parameters`` are the session's settings. A team's profile
needs only ``method: session``, ``host``, ``schema`` and, if it likes, a warehouse folder;
featurestore adds the rest:

- what it needs, whatever the profile says (a contradiction is one note on stderr):
  ``REQUIRED`` below;
- defaults where the profile is silent: local mode, a small driver, few shuffle
  partitions, no UI, and a catalog that persists between commands: the tables under
  ``warehouse/spark/tables`` unless the profile names its ``spark.sql.warehouse.dir``,
  and Derby's metastore beside them (``metastore_db``, as Spark itself lays them out).
  FEATURESTORE_SPARK_DIR overrides both folders (``DIR/tables``, ``DIR/metastore_db``),
  FEATURESTORE_SPARK_DRIVER_MEMORY the driver's memory;
- relative folders taken from the project folder, as dbt running there takes them.

dbt runs with the same settings (featurestore/dbt_profile.py hands it the changed
profile), so whichever side starts the session in a process starts it the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

from featurestore.dialects.base import Change, jinja_literal

DEFAULT_DIR = Path("warehouse/spark")
WAREHOUSE_DIR = "spark.sql.warehouse.dir"
METASTORE_URL = "spark.hadoop.javax.jdo.option.ConnectionURL"
JAVA_OPTIONS = "spark.driver.extraJavaOptions"
# setting -> (value, why featurestore needs it)
REQUIRED = {
    "spark.sql.session.timeZone": (
        "UTC", "the point-in-time rules compare instants in UTC, whatever the machine's zone"),
    "spark.sql.timestampType": (
        "TIMESTAMP_NTZ", "a naive timestamp stays naive UTC, as on DuckDB and Snowflake"),
    "spark.sql.ansi.enabled": (
        "false", "the spark__ macro bodies are written for it, as dbt-spark's are"),
    "spark.sql.variable.substitute": (
        "false", "contract text is data: a ${env:NAME} in it must stay as written"),
}
_DATABASE = re.compile(r"(databaseName=)([^;]+)")
_DERBY_HOME = re.compile(r"(-Dderby\.system\.home=)(\S+)")


def defaults(spark_dir: Path, driver_memory: str = "2g",
             master: str = "local[2]") -> dict[str, str]:
    """featurestore's settings where a profile says nothing: local mode on a small
    machine, and the catalog (Derby metastore, tables) under ``spark_dir``, so a table
    built by one command is there for the next."""
    spark_dir = spark_dir.resolve()
    return {
        "spark.master": master,
        "spark.app.name": "featurestore",
        "spark.driver.memory": driver_memory,
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        WAREHOUSE_DIR: str(spark_dir / "tables"),
        METASTORE_URL: f"jdbc:derby:;databaseName={spark_dir / 'metastore_db'};create=true",
        JAVA_OPTIONS: f"-Dderby.system.home={spark_dir}",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }


def session_config(spark_dir: Path, driver_memory: str = "2g",
                   master: str = "local[2]") -> dict[str, str]:
    """The whole session of a profile that sets nothing: the defaults and ``REQUIRED``."""
    config = defaults(spark_dir, driver_memory, master)
    config.update({key: value for key, (value, _) in REQUIRED.items()})
    return config


def method(credentials) -> str:
    value = getattr(credentials, "method", None)
    return str(getattr(value, "value", value))


def profile_changes(credentials, settings, root: Path, where: str) -> list[Change]:
    """What featurestore sets in a session target's ``server_side_parameters``; a
    target on a cluster (thrift, odbc, http) is left as it is."""
    if method(credentials) != "session":
        return []
    given = {str(k): str(v) for k, v in (credentials.server_side_parameters or {}).items()}
    spark_dir = settings.spark_dir or root / DEFAULT_DIR
    # the metastore beside the profile's tables folder, if it names a local one
    tables = absolute(WAREHOUSE_DIR, given[WAREHOUSE_DIR], root) \
        if given.get(WAREHOUSE_DIR) else ""
    beside = Path(tables).parent if tables and Path(tables).is_absolute() else spark_dir
    base = defaults(beside if settings.spark_dir is None else spark_dir,
                    settings.spark_driver_memory or "2g")
    base.update({key: absolute(key, value, root) for key, value in given.items()})
    overrides: dict[str, tuple[str, str]] = {}
    if settings.spark_dir is not None:
        folders = defaults(spark_dir)
        overrides.update({key: (folders[key], "FEATURESTORE_SPARK_DIR")
                          for key in (WAREHOUSE_DIR, METASTORE_URL)})
    if settings.spark_driver_memory:
        overrides["spark.driver.memory"] = (settings.spark_driver_memory,
                                            "FEATURESTORE_SPARK_DRIVER_MEMORY")
    final = {**base, **{key: value for key, (value, _) in overrides.items()},
             **{key: value for key, (value, _) in REQUIRED.items()}}
    changes = []
    for key, value in final.items():
        was = given.get(key)
        if was == value:
            continue
        place = ("server_side_parameters", key)
        if key in REQUIRED:
            agrees = was is None or was.strip().lower() == value.lower()
            changes.append(Change(place, value, value, was,
                                  reason="" if agrees else REQUIRED[key][1]))
        elif key in overrides and base[key] != value:
            changes.append(Change(place, jinja_literal(value), value, base[key],
                                  variable=overrides[key][1]))
        else:  # a default, or the profile's folder made absolute
            changes.append(Change(place, jinja_literal(value), value, was))
    return changes


def absolute(key: str, value: str, root: Path) -> str:
    """A folder setting with its relative path taken from the project folder."""
    def anchored(path: str) -> str:
        return path if Path(path).is_absolute() else str(root / path)

    if key == WAREHOUSE_DIR and "://" not in value and not value.startswith("file:"):
        return anchored(value)
    if key == METASTORE_URL and value.startswith("jdbc:derby:"):
        return _DATABASE.sub(lambda m: m.group(1) + anchored(m.group(2)), value)
    if key == JAVA_OPTIONS:
        return _DERBY_HOME.sub(lambda m: m.group(1) + anchored(m.group(2)), value)
    return value


def metastore(parameters: dict) -> Path | None:
    """The folder of the embedded Derby metastore, when the session uses one."""
    found = _DATABASE.search(str(parameters.get(METASTORE_URL, "")))
    return Path(found.group(2)) if found else None
