"""The contract's objects: entities, features, feature views and the catalog of them.

Frozen dataclasses, built only by the loaders (``contracts/load.py``), so an object that
exists has passed validation. ``FeatureView.to_dict`` is the canonical form: what is
hashed, recorded in the registry and baked into the Lambda's snapshot.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property

from featurestore.contracts.rules import (
    DEFAULT_MAX_NULL_RATE_DIFF,
    DEFAULT_MAX_PSI,
    DEFAULT_SKEW_MIN_SAMPLE,
    suggest,
)
from featurestore.durations import format_duration
from featurestore.errors import ContractError


@dataclass(frozen=True)
class JoinKey:
    name: str
    dtype: str


@dataclass(frozen=True)
class Entity:
    name: str
    join_keys: tuple[JoinKey, ...]
    description: str = ""

    # cached: the lookup endpoint asks for these once per key of every request
    @cached_property
    def key_names(self) -> list[str]:
        return [k.name for k in self.join_keys]

    @cached_property
    def key_dtypes(self) -> dict[str, str]:
        return {k.name: k.dtype for k in self.join_keys}


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: str
    sensitivity: str
    description: str
    default: object = None
    max_null_rate: float | None = None
    min: float | None = None
    max: float | None = None
    allowed_values: tuple | None = None
    max_psi: float = DEFAULT_MAX_PSI
    max_null_rate_diff: float = DEFAULT_MAX_NULL_RATE_DIFF
    skew_min_sample: int = DEFAULT_SKEW_MIN_SAMPLE

    def to_dict(self) -> dict:
        out = {
            "name": self.name, "dtype": self.dtype, "sensitivity": self.sensitivity,
            "description": self.description, "default": _jsonable(self.default),
            "max_null_rate": self.max_null_rate, "min": self.min, "max": self.max,
            "allowed_values": list(self.allowed_values) if self.allowed_values else None,
            "max_psi": self.max_psi, "max_null_rate_diff": self.max_null_rate_diff,
        }
        if self.skew_min_sample != DEFAULT_SKEW_MIN_SAMPLE:  # only when set: the hash of a
            out["skew_min_sample"] = self.skew_min_sample  # contract without it is unchanged
        return out


@dataclass(frozen=True)
class CompareThresholds:
    """What ``featurestore compare`` accepts between two versions before a promotion:
    per feature present in both, the population stability index, the difference of null
    rates and the share of entities whose latest value changed (None: not bounded)."""

    max_psi: float = DEFAULT_MAX_PSI
    max_null_rate_diff: float = DEFAULT_MAX_NULL_RATE_DIFF
    max_changed_share: float | None = None

    def to_dict(self) -> dict:
        return {"max_psi": self.max_psi, "max_null_rate_diff": self.max_null_rate_diff,
                "max_changed_share": self.max_changed_share}


@dataclass(frozen=True)
class FeatureView:
    name: str
    version: int
    entity: Entity
    source: str
    timestamp: str
    owner: str
    description: str
    features: tuple[Feature, ...]
    created_timestamp: str | None = None
    ttl_seconds: int | None = None
    freshness_slo_seconds: int | None = None
    online: bool = True
    tags: tuple[str, ...] = ()
    path: str = ""
    lines: dict = field(default_factory=dict, compare=False, hash=False)
    # -- versions (docs/versions.md) -------------------------------------------------
    # The dbt model version (`v`) that computes this version: None when the view's model
    # is not versioned (a contract without `versions:`).
    model_version: int | None = None
    changes: str = ""  # what this version changed, from its `versions:` entry
    retired: bool = False  # marked `retired: true`: no longer built, synced or served
    multi_version: bool = False  # the view has several versions in its contract
    is_base: bool = True  # the contract's top-level version (the others derive from it)
    compare: CompareThresholds | None = None  # the contract's `compare:` (None: defaults)

    @property
    def keys(self) -> list[str]:
        return self.entity.key_names

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def feature(self, name: str) -> Feature:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)

    def line_of(self, field_name: str) -> int | None:
        return self.lines.get(field_name)

    @property
    def label(self) -> str:
        """How reports name this version: the view's name while it has one version,
        ``view@vN`` while it has several (gate results, sync runs, compare)."""
        return f"{self.name}@v{self.version}" if self.multi_version else self.name

    @property
    def model_ref(self) -> str:
        """The dbt model version as dbt's selectors spell it: ``model`` or ``model.vN``."""
        return self.source if self.model_version is None else \
            f"{self.source}.v{self.model_version}"

    @property
    def model_file(self) -> str:
        """The dbt model's file name (without .sql) and its relation's name: the model's
        own for the base version (so adding versions never renames or rebuilds it), and
        ``<model>_v<N>`` for a later version, as dbt names versions by default."""
        if self.model_version is None or self.is_base:
            return self.source
        return f"{self.source}_v{self.model_version}"

    @property
    def thresholds(self) -> CompareThresholds:
        return self.compare or CompareThresholds()

    def to_dict(self) -> dict:
        """The canonical form: what is hashed, recorded in the registry and baked online."""
        return {
            "name": self.name,
            "version": self.version,
            "entity": {
                "name": self.entity.name,
                "join_keys": [{"name": k.name, "dtype": k.dtype} for k in self.entity.join_keys],
            },
            "source": self.source,
            "timestamp": self.timestamp,
            "created_timestamp": self.created_timestamp,
            "ttl": format_duration(self.ttl_seconds) if self.ttl_seconds else None,
            "freshness_slo": (
                format_duration(self.freshness_slo_seconds)
                if self.freshness_slo_seconds else None
            ),
            "online": self.online,
            "owner": self.owner,
            "description": self.description,
            "tags": list(self.tags),
            "features": [f.to_dict() for f in self.features],
            # only when used: a contract without versions keeps the hash it always had
            **({"changes": self.changes} if self.changes else {}),
            **({"compare": self.compare.to_dict()} if self.compare else {}),
        }

    def contract_hash(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Catalog:
    """Every entity and feature view of a project, validated together.

    ``on_demand`` holds the on-demand views (``kind: on_demand``), whose names no stored
    view has. ``views`` holds each view's base version (the contract's top-level `version`): what
    every caller that names no version gets until a version is promoted. ``versions``
    holds every version a contract declares, the base and retired ones included.
    """

    entities: dict[str, Entity]
    views: dict[str, FeatureView]
    versions: dict[str, dict[int, FeatureView]] = field(default_factory=dict)
    # the on-demand views (contracts/on_demand.py), in the views' namespace
    on_demand: dict[str, object] = field(default_factory=dict)  # name -> OnDemandView

    def view(self, name: str) -> FeatureView:
        try:
            return self.views[name]
        except KeyError:
            raise ContractError(
                "feature_defs/", f"no feature view named `{name}`{suggest(name, self.views)}"
            ) from None

    def versions_of(self, name: str) -> dict[int, FeatureView]:
        """Version number -> FeatureView of every version ``name`` declares."""
        found = self.versions.get(name)
        if found:
            return found
        view = self.view(name)
        return {view.version: view}

    def live_versions(self, name: str) -> list[FeatureView]:
        """The versions of ``name`` not marked retired, oldest first."""
        return [v for _, v in sorted(self.versions_of(name).items()) if not v.retired]

    def view_version(self, name: str, version: int) -> FeatureView:
        """One version of a view; ContractError naming the versions it has."""
        known = self.versions_of(name)
        if version not in known:
            listed = ", ".join(f"v{v}" for v in sorted(known))
            raise ContractError(self.views[name].path, f"view `{name}` has no version "
                                f"{version}; its versions: {listed}", field="versions")
        return known[version]

    def all_live(self) -> list[FeatureView]:
        """Every live version of every view, by name then version."""
        return [v for name in sorted(self.views) for v in self.live_versions(name)]



def _jsonable(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value
