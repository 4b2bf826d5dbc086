"""Feature contracts: the YAML files in ``feature_defs/`` and their validation.

A contract is the single definition of a feature view that training, serving and the
gates all read. Loading is strict on purpose: an unknown field, a default that does not
fit its dtype or a missing ``sensitivity`` stops here, with the file, the line and the
field, instead of surfacing later as a silently wrong training set or a 500 online.

One module per job; every name callers use is importable from here:

- ``rules.py``: the fields each mapping may hold, reserved names and words, bounds,
  ``text_problem`` and ``suggest``;
- ``model.py``: ``JoinKey``, ``Entity``, ``Feature``, ``CompareThresholds``,
  ``FeatureView``, ``Catalog``;
- ``reader.py``: ``FieldReader``, field access that raises located errors;
- ``features.py``: one feature; ``versions.py``: a view's later versions;
- ``load.py``: ``load_entities``, ``load_view``, ``load_view_versions``, ``load_catalog``;
- ``on_demand.py``: ``OnDemandView`` (``kind: on_demand``: request fields, stored inputs,
  SQL expressions) and its loader.
"""

from __future__ import annotations

from featurestore.contracts.load import (
    load_catalog,
    load_entities,
    load_view,
    load_view_versions,
)
from featurestore.contracts.model import (
    Catalog,
    CompareThresholds,
    Entity,
    Feature,
    FeatureView,
    JoinKey,
)
from featurestore.contracts.on_demand import (
    OnDemandFeature,
    OnDemandInput,
    OnDemandView,
    RequestField,
)
from featurestore.contracts.rules import (
    COMPARE_FIELDS,
    DEFAULT_MAX_NULL_RATE_DIFF,
    DEFAULT_MAX_PSI,
    DEFAULT_SKEW_MIN_SAMPLE,
    ENTITIES_FILE,
    FEATURE_FIELDS,
    MAX_DURATION_DAYS,
    MAX_VERSION,
    RESERVED_NAMES,
    RESERVED_WORDS,
    SENSITIVITIES,
    SKEW_FIELDS,
    VERSION_FIELDS,
    VIEW_FIELDS,
    suggest,
    text_problem,
)

__all__ = [
    "COMPARE_FIELDS", "DEFAULT_MAX_NULL_RATE_DIFF", "DEFAULT_MAX_PSI", "DEFAULT_SKEW_MIN_SAMPLE",
    "ENTITIES_FILE", "FEATURE_FIELDS", "MAX_DURATION_DAYS", "MAX_VERSION", "RESERVED_NAMES",
    "RESERVED_WORDS", "SENSITIVITIES", "SKEW_FIELDS", "VERSION_FIELDS", "VIEW_FIELDS",
    "Catalog", "CompareThresholds", "Entity", "Feature", "FeatureView", "JoinKey",
    "OnDemandFeature", "OnDemandInput", "OnDemandView", "RequestField",
    "load_catalog", "load_entities", "load_view", "load_view_versions", "suggest",
    "text_problem",
]
