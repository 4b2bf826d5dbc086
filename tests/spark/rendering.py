"""The macro bodies rendered for Spark with plain Jinja (as tests/offline/rolling_support.py
does for DuckDB), with the Spark helpers the shared bodies dispatch to."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import jinja2

from tests.offline.rolling_support import _Exceptions, _Namespace

ROOT = Path(__file__).resolve().parents[2]
MACRO_FILES = ("featurestore_helpers.sql", "rolling_windows.sql",
               "spark/featurestore_spark_helpers.sql", "spark/featurestore_spark_rolling.sql")


@functools.lru_cache(maxsize=1)
def _module():
    source = "\n".join((ROOT / "macros" / name).read_text() for name in MACRO_FILES)
    env = jinja2.Environment(extensions=["jinja2.ext.do"], undefined=jinja2.StrictUndefined,
                             loader=jinja2.DictLoader({"macros": source}))
    namespace = _Namespace()
    env.globals.update(featurestore=namespace, exceptions=_Exceptions())
    namespace.module = env.get_template("macros").module
    return namespace.module


def render_rolling(relation: str, partition_by: list[str], event_ts: str,
                   aggregates: list[dict], loaded_at: str | None = None,
                   last_values: Iterable[dict] = (), previous: str | None = None,
                   allowed_lateness: str | None = None, too_late: str = "skip") -> str:
    """The SQL ``spark__rolling_windows`` gives for these arguments."""
    module = _module()
    spec: dict = {}
    module.featurestore_rolling_spec(spec, relation, partition_by, event_ts, aggregates,
                                     loaded_at, list(last_values), "feature_ts",
                                     previous or False, allowed_lateness, too_late, 12)
    return str(module.spark__rolling_windows(spec))
