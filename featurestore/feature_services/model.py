"""What a feature service is: the features one model consumes, in its order, and the
transformations whose parameters are frozen on a training set.

A service names features as every other part of featurestore does (``view:feature``,
``view@v2:feature``; featurestore/feature_refs.py resolves them). Its transformations
are declared here without numbers: the numbers (a mean, bin edges, a vocabulary) are
computed in the warehouse on a training set and frozen (featurestore/feature_services/
freeze.py), never written by hand and never recomputed from live data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from featurestore.feature_refs import FeatureRef

SERVICES_DIR = "feature_services"
# kind -> its options: name -> (default, low, high, whole number)
KINDS: dict[str, dict[str, tuple[float | None, float, float, bool]]] = {
    "zscore": {},
    "min_max": {},
    "log1p": {},
    "clip": {"lower": (0.01, 0.0, 1.0, False), "upper": (0.99, 0.0, 1.0, False)},
    "quantile_bins": {"bins": (10, 2, 100, True)},
    "one_hot": {"max_categories": (20, 1, 1000, True)},
    "index": {"max_categories": (100, 1, 100_000, True)},
}
NUMERIC_KINDS = frozenset({"zscore", "min_max", "log1p", "clip", "quantile_bins"})
CATEGORICAL_KINDS = frozenset({"one_hot", "index"})
# the dtypes each family reads: numbers, or values compared for equality
NUMERIC_DTYPES = ("int64", "float64")
CATEGORICAL_DTYPES = ("string", "int64", "bool")


@dataclass(frozen=True)
class ServiceFeature:
    """One feature of a service, as written (``ref``) and as resolved on load
    (``view``, ``feature``, ``dtype``; ``ref.version`` is the pin, if any)."""

    ref: FeatureRef
    dtype: str
    line: int | None = None
    on_demand: bool = False  # a feature of an on-demand view, computed per request

    @property
    def view(self) -> str:
        return self.ref.view

    @property
    def feature(self) -> str:
        return self.ref.feature or ""

    @property
    def name(self) -> str:
        """``view:feature``: how the service and its answers name it (pins aside)."""
        return f"{self.view}:{self.feature}"

    @property
    def column(self) -> str:
        """The training set's column: ``<view>__<feature>``, whatever the version."""
        return f"{self.view}__{self.feature}"


@dataclass(frozen=True)
class Transformation:
    """One transformation of one of the service's features: its kind and options."""

    feature: ServiceFeature
    kind: str
    options: tuple[tuple[str, float], ...] = ()
    line: int | None = None

    def option(self, name: str) -> float:
        return dict(self.options).get(name, KINDS[self.kind][name][0])

    @property
    def column(self) -> str:
        """The first (for one_hot, the stem of each) transformed column's name."""
        return f"{self.feature.column}__{self.kind}"

    def to_dict(self) -> dict:
        return {"feature": self.feature.name, "kind": self.kind,
                **{name: self.option(name) for name in KINDS[self.kind]}}


@dataclass(frozen=True)
class FeatureService:
    """A named, versioned list of what one model consumes.

    ``parameters``: the parameter set (one per training set built with ``--service``)
    the lookup serves; None serves the newest frozen for this version."""

    name: str
    version: int
    entity: str
    description: str
    owner: str
    features: tuple[ServiceFeature, ...]
    transformations: tuple[Transformation, ...]
    parameters: int | None = None
    path: str = ""
    lines: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def refs(self) -> list[str]:
        """The references as written, in the model's order (what a training set asks)."""
        return [str(f.ref) for f in self.features]

    def line_of(self, key: str) -> int | None:
        return self.lines.get(key)

    def to_dict(self) -> dict:
        """The canonical form: what is hashed and recorded with the parameters."""
        return {
            "name": self.name,
            "version": self.version,
            "entity": self.entity,
            "description": self.description,
            "owner": self.owner,
            "features": [str(f.ref) for f in self.features],
            "transformations": [t.to_dict() for t in self.transformations],
        }

    def service_hash(self) -> str:
        """Of the definition (not of ``parameters``, which only picks what is served)."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
