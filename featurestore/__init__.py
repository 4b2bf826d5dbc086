"""featurestore: a dbt/SQL-first, warehouse-native feature store.

The Python API is ``FeatureStore`` (apps/sdk.py); the command line is
``featurestore`` (apps/cli/). Both are imported on first use, so that importing
this package (the Lambda handler does) costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from featurestore.apps.sdk import FeatureStore

__all__ = ["FeatureStore", "__version__"]


def __getattr__(name: str):
    if name == "FeatureStore":
        from featurestore.apps.sdk import FeatureStore

        return FeatureStore
    if name == "__version__":
        from importlib.metadata import version

        return version("featurestore")
    raise AttributeError(f"module 'featurestore' has no attribute {name!r}")
