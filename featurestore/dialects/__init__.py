"""One object per warehouse featurestore runs on; ``for_target`` picks it.

The one list of the warehouses featurestore runs on is here (``NAMES``): every other
module asks a dialect object what differs, never compares a target's name
(tests/core/test_dialect_facts.py checks it).
"""

from __future__ import annotations

import importlib

from featurestore.dialects.base import Dialect, quote
from featurestore.errors import ProjectError

__all__ = ["NAMES", "Dialect", "for_target", "quote"]

# the dbt adapter's type -> the dialect's module and class (imported when first asked for)
_CLASSES = {"duckdb": "duckdb.DuckDB", "snowflake": "snowflake.Snowflake",
            "spark": "spark.Spark"}
NAMES = tuple(_CLASSES)


def for_target(target: str) -> Dialect:
    """The dialect of a dbt target type (``duckdb``, ``snowflake`` or ``spark``)."""
    if target not in _CLASSES:
        raise ProjectError(f"no warehouse dialect for target {target!r}; use "
                           f"{', '.join(NAMES[:-1])} or {NAMES[-1]}.")
    module, _, name = _CLASSES[target].partition(".")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)()
