"""The one way the gates import Great Expectations: with analytics off, and without
pyspark ending a ``python -c`` process when GX imports it (featurestore/main_module.py)."""

from __future__ import annotations

import os


def great_expectations():
    """The ``great_expectations`` module."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    from featurestore.main_module import script_main

    with script_main():
        import great_expectations as gx
    return gx
