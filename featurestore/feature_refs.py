"""``view``, ``view:feature`` and ``view@v2:feature`` references, parsed and resolved in
one place.

Training sets (CLI and SDK), the lookup endpoint and the SDK's online reads all name
features the same way, so they all go through ``resolve``; the lookup's API keys
(``shadow``), the serving-log readers and the catalog parse with ``FeatureRef.parse``
too, so a pinned ``view@v2:feature`` means the same everywhere: one spelling, one set of
error messages (naming the unknown view, version or feature, the closest match, and the
choices), whatever the caller.

A reference without a version gets the view's *served* version: the one promoted last
(``featurestore promote``), else the contract's base version. The caller says which
that is (``served``): the lookup reads it from DynamoDB, a training set from the
registry. ``@vN`` pins version N whatever is served, for a model that needs it.

An on-demand view (``kind: on_demand``) is named the same way (``txn_context:feature``
or ``txn_context``): ``resolve_all`` lists its features apart from the stored ones,
with the stored inputs they read, each at the version it is read at (its pin, else the
one served). A caller that cannot compute on-demand features uses ``resolve_refs``,
which refuses them by name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from featurestore.contracts import (
    MAX_VERSION,
    Catalog,
    Entity,
    Feature,
    FeatureView,
    OnDemandFeature,
    OnDemandView,
    suggest,
)
from featurestore.contracts.rules import IDENTIFIER
from featurestore.errors import RequestError

# view[@vN][:feature]; the names themselves are checked against the catalog
_PIN = re.compile(r"v([1-9][0-9]{0,9})")
MAX_ECHO = 120  # characters of a bad reference quoted back


@dataclass(frozen=True)
class FeatureRef:
    """One reference: a whole view (``feature`` None) or one of its features, at a
    pinned ``version`` or (None) at the served one."""

    view: str
    feature: str | None = None
    version: int | None = None

    @classmethod
    def parse(cls, text: str) -> FeatureRef:
        """``view``, ``view:feature``, ``view@v2`` or ``view@v2:feature``; RequestError
        naming the reference when the version part is not ``@v`` and a whole number."""
        head, _, feature = text.strip().partition(":")
        view, at, pin = head.strip().partition("@")
        version = None
        if at:
            found = _PIN.fullmatch(pin.strip())
            if found is None or int(found.group(1)) > MAX_VERSION:
                raise RequestError(
                    f"`{_cut(text.strip())}`: a version is written `@v` and a whole number "
                    f"from 1 to {MAX_VERSION}, as in `{_cut(view.strip()) or 'view'}@v2:feature`")
            version = int(found.group(1))
        return cls(view.strip(), feature.strip() or None, version)

    @property
    def view_text(self) -> str:
        """The view part as written: ``view`` or ``view@v2``."""
        return self.view if self.version is None else f"{self.view}@v{self.version}"

    def __str__(self) -> str:
        return f"{self.view_text}:{self.feature}" if self.feature else self.view_text


def parse_view_version(text: str) -> FeatureRef:
    """Exactly ``view@vN``, written as ``str`` writes it back (no spaces, no feature, a
    view named as contracts name views): a shadow version in an API key's settings, which
    is checked before any catalog is at hand. RequestError naming the text otherwise."""
    ref = FeatureRef.parse(text)
    if ref.version is None or ref.feature is not None or str(ref) != text \
            or not IDENTIFIER.fullmatch(ref.view):
        raise RequestError(f"`{_cut(text)}`: name a view version, like "
                           "`user_transactions@v2`")
    return ref


def _cut(text: str) -> str:
    text = text if text.isprintable() else json.dumps(text)[1:-1]
    return text if len(text) <= MAX_ECHO else f"{text[:MAX_ECHO]}..."


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


@dataclass(frozen=True)
class ResolvedView:
    """One version of a view and the features asked of it; ``pinned``: named with
    ``@vN`` (the answer names it so, ``view@vN:feature``)."""

    view: FeatureView
    features: list[Feature]
    pinned: bool

    @property
    def prefix(self) -> str:
        return f"{self.view.name}@v{self.view.version}" if self.pinned else self.view.name


def pick_version(catalog: Catalog, name: str, version: int | None, *,
                 served: Mapping[str, int] | None = None,
                 retired: Mapping[str, Collection[int]] | None = None) -> FeatureView:
    """The FeatureView of ``name`` at ``version`` (None: the served one); RequestError for
    a version the view does not have or that is retired."""
    versions = catalog.versions_of(name)
    if version is None:
        chosen = (served or {}).get(name)
        if chosen in versions and not versions[chosen].retired:
            return versions[chosen]
        return catalog.views[name] if not catalog.views[name].retired else \
            catalog.live_versions(name)[0]
    if version not in versions:
        listed = ", ".join(f"v{v}" for v, view in sorted(versions.items()) if not view.retired)
        raise RequestError(f"feature view `{name}` has no version {version}; its versions: "
                           f"{listed}")
    if versions[version].retired or version in (retired or {}).get(name, ()):
        live = [f"{name}@v{v.version}" for v in catalog.live_versions(name)
                if v.version not in (retired or {}).get(name, ())]
        raise RequestError(f"version {version} of feature view `{name}` is retired: it is no "
                           f"longer served. Ask for {' or '.join(live) or name} instead")
    return versions[version]


def resolve_refs(catalog: Catalog, refs: object, *, entity: Entity | None = None,
                 hint: str = "features=view:feature,...",
                 served: Mapping[str, int] | None = None,
                 retired: Mapping[str, Collection[int]] | None = None) -> list[ResolvedView]:
    """The view versions named by ``refs`` and, per version, the features asked for, in
    the order first named; a whole view means all its features. With ``entity``, every
    view must be keyed by it. An unpinned and a pinned reference to one version stay
    apart (each answer is named as it was asked)."""
    parsed = refs if _is_parsed(refs) else split_refs(refs, hint=hint)
    # name -> feature, in the order first named: a dict keeps a 50-feature request linear
    chosen: dict[tuple[str, int, bool], dict[str, Feature]] = {}
    views: dict[tuple[str, int, bool], FeatureView] = {}
    for ref in parsed:
        base = catalog.views.get(ref.view)
        if base is None and ref.view in catalog.on_demand:
            raise RequestError(f"`{_cut(str(ref))}` is an on-demand feature, computed from "
                               "request fields; it cannot be read here, only where request "
                               "fields are given (a training set's spine, a lookup's "
                               "`request`)")
        if base is None:
            raise RequestError(
                f"unknown feature view `{ref.view}`{suggest(ref.view, _names(catalog))}; "
                f"known views: {', '.join(sorted(_names(catalog)))}"
            )
        if entity is not None and base.entity.name != entity.name:
            raise RequestError(
                f"feature view `{base.name}` is keyed by entity `{base.entity.name}`, not "
                f"`{entity.name}`; ask for it with {base.entity.name} keys"
            )
        view = pick_version(catalog, base.name, ref.version, served=served, retired=retired)
        key = (view.name, view.version, ref.version is not None)
        views[key] = view
        selected = chosen.setdefault(key, {})
        if ref.feature is None:
            wanted = list(view.features)
        else:
            try:
                wanted = [view.feature(ref.feature)]
            except KeyError:
                raise RequestError(_no_feature(catalog, view, ref)) from None
        for feature in wanted:
            selected.setdefault(feature.name, feature)
    return [ResolvedView(views[key], list(features.values()), key[2])
            for key, features in chosen.items()]


def _is_parsed(refs: object) -> bool:
    return isinstance(refs, list) and bool(refs) and all(isinstance(r, FeatureRef)
                                                         for r in refs)


def _names(catalog: Catalog) -> list[str]:
    """Every view name a reference may use: stored and on-demand."""
    return [*catalog.views, *catalog.on_demand]


@dataclass(frozen=True)
class ResolvedOnDemand:
    """One on-demand view and the features asked of it; ``inputs``: input name -> the
    stored view version it is read at and that feature, for the inputs these features
    read (in the contract's order)."""

    view: OnDemandView
    features: list[OnDemandFeature]
    inputs: dict[str, tuple[FeatureView, Feature]]

    @property
    def request_fields(self) -> list:
        """The request fields these features read, in the contract's order."""
        used = set().union(*(f.expression.inputs for f in self.features))
        return [r for r in self.view.request if r.name in used]


@dataclass(frozen=True)
class Resolution:
    """What a list of references asks: the stored views (as ``resolve_refs`` gives
    them) and the on-demand views, in the order first named."""

    stored: list[ResolvedView]
    on_demand: list[ResolvedOnDemand]

    def input_reads(self) -> list[tuple[FeatureView, list[Feature]]]:
        """The stored features the on-demand features read, per view version, in the
        order first needed (some may also be asked for: ``stored`` says which)."""
        reads: dict[tuple[str, int], tuple[FeatureView, list[Feature]]] = {}
        for found in self.on_demand:
            for view, feature in found.inputs.values():
                _, features = reads.setdefault((view.name, view.version), (view, []))
                if feature not in features:
                    features.append(feature)
        return list(reads.values())


def resolve_all(catalog: Catalog, refs: object, *, entity: Entity | None = None,
                hint: str = "features=view:feature,...",
                served: Mapping[str, int] | None = None,
                retired: Mapping[str, Collection[int]] | None = None) -> Resolution:
    """``refs`` resolved, on-demand views included (see ``resolve_refs`` for the stored
    ones): an on-demand reference's inputs are read at their pinned version, else at the
    one ``served``."""
    parsed = split_refs(refs, hint=hint)
    stored = [r for r in parsed if r.view not in catalog.on_demand]
    asked: dict[str, list[OnDemandFeature]] = {}
    for ref in parsed:
        view = catalog.on_demand.get(ref.view)
        if view is None:
            continue
        if entity is not None and view.entity.name != entity.name:
            raise RequestError(
                f"on-demand view `{view.name}` is keyed by entity `{view.entity.name}`, not "
                f"`{entity.name}`; ask for it with {view.entity.name} keys")
        if ref.version is not None and ref.version != view.version:
            raise RequestError(f"on-demand view `{view.name}` has no version {ref.version}; "
                               f"its version: v{view.version}")
        selected = asked.setdefault(view.name, [])
        if ref.feature is None:
            wanted = list(view.features)
        else:
            try:
                wanted = [view.feature(ref.feature)]
            except KeyError:
                raise RequestError(
                    f"on-demand view `{view.name}` has no feature `{ref.feature}`"
                    f"{suggest(ref.feature, view.feature_names)}; its features: "
                    f"{', '.join(view.feature_names)}") from None
        selected.extend(f for f in wanted if f not in selected)
    on_demand = [_on_demand(catalog, catalog.on_demand[name], features, served, retired)
                 for name, features in asked.items()]
    found = resolve_refs(catalog, stored, entity=entity, hint=hint, served=served,
                         retired=retired) if stored else []
    return Resolution(found, on_demand)


def _on_demand(catalog: Catalog, view: OnDemandView, features: list[OnDemandFeature],
               served, retired) -> ResolvedOnDemand:
    used = set().union(*(f.expression.inputs for f in features))
    inputs = {}
    for item in view.inputs:
        if item.name not in used:
            continue
        version = pick_version(catalog, item.view, item.version, served=served,
                               retired=retired)
        if item.feature not in version.feature_names:
            raise RequestError(f"on-demand view `{view.name}` reads `{item.ref}`, but version "
                               f"{version.version} of `{item.view}` (the one served) has no "
                               f"feature `{item.feature}`; pin the input's version in "
                               f"{view.path}")
        inputs[item.name] = (version, version.feature(item.feature))
    return ResolvedOnDemand(view, features, inputs)


def _no_feature(catalog: Catalog, view: FeatureView, ref: FeatureRef) -> str:
    where = f"feature view `{view.name}`"
    if view.multi_version:
        where += f" (version {view.version}{'' if ref.version else ', the one served'})"
    message = (f"{where} has no feature `{ref.feature}`"
               f"{suggest(ref.feature, view.feature_names)}; its features: "
               f"{', '.join(view.feature_names)}")
    elsewhere = [v.version for v in catalog.live_versions(view.name)
                 if v.version != view.version and ref.feature in v.feature_names]
    if elsewhere:
        message += (f". Version {elsewhere[0]} has it: ask for "
                    f"`{view.name}@v{elsewhere[0]}:{ref.feature}`")
    return message


def resolve(catalog: Catalog, refs: object, *, entity: Entity | None = None,
            hint: str = "features=view:feature,...",
            served: Mapping[str, int] | None = None,
            retired: Mapping[str, Collection[int]] | None = None,
            ) -> list[tuple[FeatureView, list[Feature]]]:
    """``resolve_refs`` as (view version, features) pairs."""
    return [(r.view, r.features) for r in resolve_refs(
        catalog, refs, entity=entity, hint=hint, served=served, retired=retired)]


def select_versions(catalog: Catalog, names: Collection[str] = (), *,
                    retired: Mapping[str, Collection[int]] | None = None) -> list[FeatureView]:
    """The view versions a command works on (a sync, a gate run): ``view`` is every live
    version of it, ``view@vN`` that one version; no names, every live version of every
    view. Versions retired in the registry (``retired``) are left out unless named."""
    gone = retired or {}
    if not names:
        return [v for v in catalog.all_live() if v.version not in gone.get(v.name, ())]
    chosen: list[FeatureView] = []
    for text in names:
        ref = FeatureRef.parse(text)
        if ref.feature is not None or not ref.view:
            raise RequestError(f"`{_cut(text)}`: name a view (`view`) or one of its versions "
                               "(`view@v2`), not a feature")
        catalog.view(ref.view)  # an unknown view: ContractError naming the closest
        if ref.version is None:
            found = [v for v in catalog.live_versions(ref.view)
                     if v.version not in gone.get(v.name, ())]
        else:
            found = [pick_version(catalog, ref.view, ref.version, retired=retired)]
        chosen.extend(v for v in found if v not in chosen)
    return chosen
