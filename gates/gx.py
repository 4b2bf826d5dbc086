"""The one way the gates import Great Expectations: with analytics off, without pyspark,
and without pyspark ending a ``python -c`` process when GX imports it
(featurestore/main_module.py).

GX imports pyspark whenever it is installed (the `spark` extra), for its Spark data
sources: seconds of import, and a ``FutureWarning`` about pandas on every gate run. The
gates validate pandas frames of metrics the warehouse computed, on every target, so GX
never needs it: unless pyspark is loaded already (the Spark target's session), GX is
imported with pyspark hidden, and finds it "not installed".
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def _without_pyspark() -> Iterator[None]:
    """``import pyspark`` raises ImportError inside (None in sys.modules is how Python
    spells "this module cannot be imported"), unless pyspark is already loaded."""
    hidden = "pyspark" not in sys.modules
    if hidden:
        sys.modules["pyspark"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if hidden and sys.modules.get("pyspark", 0) is None:
            del sys.modules["pyspark"]


def great_expectations():
    """The ``great_expectations`` module."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    from featurestore.main_module import script_main

    with script_main(), _without_pyspark():
        import great_expectations as gx
    return gx
