"""``view`` and ``view:feature`` references, parsed and resolved in one place.

Training sets (CLI and SDK), the lookup endpoint and the SDK's online reads all name
features the same way, so they all go through ``resolve``: one spelling, one set of
error messages (naming the unknown view or feature, the closest match, and the choices),
whatever the caller.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from featurestore.contracts import Catalog, Entity, Feature, FeatureView, suggest
from featurestore.errors import RequestError


@dataclass(frozen=True)
class FeatureRef:
    """One reference: a whole view (``feature`` None) or one of its features."""

    view: str
    feature: str | None = None

    @classmethod
    def parse(cls, text: str) -> FeatureRef:
        view, _, feature = text.strip().partition(":")
        return cls(view.strip(), feature.strip() or None)

    def __str__(self) -> str:
        return f"{self.view}:{self.feature}" if self.feature else self.view


def split_refs(refs: object, *, hint: str) -> list[FeatureRef]:
    """A comma-separated string or a list of strings as references; ``hint`` says how to
    name features where the caller takes them (a query parameter, a CLI option)."""
    if isinstance(refs, str):
        refs = refs.split(",")
    if not isinstance(refs, list | tuple) or not all(isinstance(r, str) for r in refs):
        raise RequestError(
            "`features` must be a list of \"view:feature\" or \"view\" names, got "
            f"{json.dumps(refs, default=str)}"
        )
    parsed = [FeatureRef.parse(r) for r in refs if r.strip()]
    if not parsed:
        raise RequestError(f"name the features to read: {hint} (or a whole view by name)")
    return parsed


def resolve_entity(catalog: Catalog, name: object) -> Entity:
    if not isinstance(name, str) or name not in catalog.entities:
        raise RequestError(
            f"unknown entity `{name}`{suggest(str(name), catalog.entities)}; known entities: "
            f"{', '.join(sorted(catalog.entities))}"
        )
    return catalog.entities[name]


def resolve(catalog: Catalog, refs: object, *, entity: Entity | None = None,
            hint: str = "features=view:feature,...") -> list[tuple[FeatureView, list[Feature]]]:
    """The views named by ``refs`` and, per view, the features asked for, in the order
    first named; a whole view means all its features. With ``entity``, every view must
    be keyed by it."""
    chosen: dict[str, list[Feature]] = {}
    for ref in split_refs(refs, hint=hint):
        view = catalog.views.get(ref.view)
        if view is None:
            raise RequestError(
                f"unknown feature view `{ref.view}`{suggest(ref.view, catalog.views)}; "
                f"known views: {', '.join(sorted(catalog.views))}"
            )
        if entity is not None and view.entity.name != entity.name:
            raise RequestError(
                f"feature view `{view.name}` is keyed by entity `{view.entity.name}`, not "
                f"`{entity.name}`; ask for it with {view.entity.name} keys"
            )
        selected = chosen.setdefault(view.name, [])
        if ref.feature is None:
            wanted = list(view.features)
        else:
            try:
                wanted = [view.feature(ref.feature)]
            except KeyError:
                raise RequestError(
                    f"feature view `{view.name}` has no feature `{ref.feature}`"
                    f"{suggest(ref.feature, view.feature_names)}; its features: "
                    f"{', '.join(view.feature_names)}"
                ) from None
        selected.extend(f for f in wanted if f not in selected)
    return [(catalog.views[name], features) for name, features in chosen.items()]
