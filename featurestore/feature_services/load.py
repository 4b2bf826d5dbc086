"""Load ``feature_services/*.yml`` strictly: each problem a ContractError naming the file,
the line and the field, as the contracts of ``feature_defs/`` are loaded.

Every feature is resolved through featurestore/feature_refs.py against the project's
contracts (its view, version and feature must exist, keyed by the service's entity), so
a service never names a feature the training set or the lookup would refuse later. A
feature of an on-demand view (``kind: on_demand``) is one like any other: the training
set computes it from the spine's request columns, the lookup from the request's fields.
"""

from __future__ import annotations

from pathlib import Path

from featurestore.contracts import Catalog, suggest
from featurestore.contracts.reader import FieldReader
from featurestore.contracts.rules import MAX_VERSION
from featurestore.errors import ContractError, RequestError
from featurestore.feature_refs import FeatureRef, resolve_all
from featurestore.feature_services.model import (
    CATEGORICAL_DTYPES,
    CATEGORICAL_KINDS,
    KINDS,
    NUMERIC_DTYPES,
    SERVICES_DIR,
    FeatureService,
    ServiceFeature,
    Transformation,
)
from featurestore.yaml_lines import LineDict, load_yaml

SERVICE_FIELDS = {"name": True, "version": True, "entity": True, "description": True,
                  "owner": False, "features": True, "transformations": False,
                  "parameters": False}


def load_services(root: Path, catalog: Catalog) -> dict[str, FeatureService]:
    """Every service of ``root/feature_services/`` by name; none when the folder is
    absent. The first problem found is raised."""
    folder = Path(root) / SERVICES_DIR
    if not folder.is_dir():
        return {}
    services: dict[str, FeatureService] = {}
    for path in sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml")):
        service = load_service(path, catalog)
        services[service.name] = service
    return services


def service_named(services: dict[str, FeatureService], name: object) -> FeatureService:
    """The service ``name``; RequestError naming the closest and the known ones."""
    if not isinstance(name, str) or name not in services:
        known = ", ".join(sorted(services)) or f"none (add one to {SERVICES_DIR}/)"
        raise RequestError(f"unknown feature service `{name}`{suggest(str(name), services)}; "
                           f"known services: {known}", status=404)
    return services[name]


def load_service(path: Path, catalog: Catalog) -> FeatureService:
    display = f"{SERVICES_DIR}/{path.name}"
    reader = FieldReader(display, load_yaml(path, display), "a feature service")
    reader.check_fields(SERVICE_FIELDS)
    name = reader.identifier("name")
    if name != path.stem:
        raise reader.error("name", f"the service is named `{name}` but its file is "
                           f"`{path.name}`: rename one so they match")
    version = _whole(reader, "version")
    entity = reader.get("entity")
    if entity not in catalog.entities:
        raise reader.error("entity", f"unknown entity {entity!r}"
                           f"{suggest(str(entity), catalog.entities)}; entities are declared "
                           "in feature_defs/entities.yml")
    parameters = _whole(reader, "parameters") if reader.get("parameters") is not None else None
    features = _features(reader, catalog, path)
    transformations = _transformations(reader, features)
    return FeatureService(
        name=name, version=version, entity=entity,
        description=reader.text("description", multiline=True),
        owner=reader.text("owner"), features=features, transformations=transformations,
        parameters=parameters, path=display,
        lines=dict(reader.mapping.key_lines) if isinstance(reader.mapping, LineDict) else {})


def _whole(reader: FieldReader, key: str) -> int:
    value = reader.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VERSION:
        raise reader.error(key, f"expected a whole number from 1 to {MAX_VERSION}, got "
                           f"{value!r}")
    return value


def _item_lines(path: Path, key: str) -> list[int]:
    """The line of each item of the top-level list ``key`` (the line loader keeps the
    lines of mapping keys only; a list of plain references needs its own)."""
    import yaml

    node = yaml.compose(path.read_text())
    for key_node, value_node in getattr(node, "value", []):
        if getattr(key_node, "value", None) == key and isinstance(value_node,
                                                                  yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value_node.value]
    return []


def _features(reader: FieldReader, catalog: Catalog, path: Path) -> tuple[ServiceFeature, ...]:
    items = reader.get("features")
    if not isinstance(items, list) or not items:
        raise reader.error("features", "expected a non-empty list of `view:feature` "
                           "references, in the model's order")
    lines = _item_lines(path, "features")
    entity = catalog.entities[reader.get("entity")]
    found: list[ServiceFeature] = []
    for index, item in enumerate(items):
        line = lines[index] if index < len(lines) else reader.line("features")
        where = f"features[{index}]"

        def refuse(problem: str, where=where, line=line) -> ContractError:
            return ContractError(reader.path, problem, line=line, field=where)

        if not isinstance(item, str):
            raise refuse(f"expected a `view:feature` reference, got {item!r}")
        try:
            ref = FeatureRef.parse(item)
            if ref.feature is None:
                raise RequestError(f"`{item}` names a whole view; a service lists one "
                                   f"feature per item, in the model's order, like "
                                   f"`{ref.view_text}:feature`")
            resolution = resolve_all(catalog, [item], entity=entity)
        except RequestError as exc:
            raise refuse(str(exc)) from None
        if resolution.on_demand:  # computed per request: its dtype is its expression's
            dtype = resolution.on_demand[0].features[0].feature.dtype
        else:
            dtype = resolution.stored[0].features[0].dtype
        feature = ServiceFeature(ref, dtype, line, bool(resolution.on_demand))
        if any(f.name == feature.name for f in found):
            raise refuse(f"`{feature.name}` is listed twice; a model reads each feature once")
        if any(f.view == ref.view and f.ref.version != ref.version for f in found):
            raise refuse(f"`{item}` names `{ref.view}` at another version than an earlier "
                         "item; a service reads one version of a view (its training set's "
                         f"columns are `{ref.view}__<feature>`): pin every feature of "
                         f"`{ref.view}` to one version, or none")
        found.append(feature)
    return tuple(found)


def _transformations(reader: FieldReader,
                     features: tuple[ServiceFeature, ...]) -> tuple[Transformation, ...]:
    items = reader.get("transformations") or []
    if not isinstance(items, list):
        raise reader.error("transformations", "expected a list of {feature, kind} mappings")
    by_name = {f.name: f for f in features}
    found: list[Transformation] = []
    for index, item in enumerate(items):
        prefix = f"transformations[{index}]."
        entry = FieldReader(reader.path, item, "a transformation",
                            line=reader.line("transformations"))
        kind = entry.get("kind")

        def refuse(key: str, problem: str, entry=entry, prefix=prefix) -> ContractError:
            return ContractError(entry.path, problem, line=entry.line(key),
                                 field=f"{prefix}{key}")

        if kind not in KINDS:
            raise refuse("kind", f"unknown transformation kind {kind!r}"
                              f"{suggest(str(kind), KINDS)}; kinds: {', '.join(KINDS)}")
        entry.check_fields({"feature": True, "kind": True,
                            **{name: False for name in KINDS[kind]}}, prefix=prefix)
        text = entry.get("feature")
        try:
            ref = FeatureRef.parse(text) if isinstance(text, str) else None
        except RequestError:
            ref = None
        feature = by_name.get(f"{ref.view}:{ref.feature}") if ref else None
        if feature is None or (ref.version is not None and ref.version != feature.ref.version):
            raise refuse("feature", f"{text!r} is not one of the service's features"
                              f"{suggest(str(text), by_name)}; transform a feature listed "
                              "under `features`")
        allowed = CATEGORICAL_DTYPES if kind in CATEGORICAL_KINDS else NUMERIC_DTYPES
        if feature.dtype not in allowed:
            raise refuse("kind", f"`{kind}` reads {' or '.join(allowed)} features; "
                         f"`{feature.name}` is {feature.dtype}")
        options = tuple((name, _option(entry, prefix, name, kind)) for name in KINDS[kind]
                        if entry.get(name) is not None)
        transformation = Transformation(feature, kind, options, entry.line())
        if any(t.column == transformation.column for t in found):
            raise refuse("kind", f"`{feature.name}` has two `{kind}` transformations; "
                              "keep one")
        found.append(transformation)
    for transformation in found:
        if transformation.kind == "clip" and \
                transformation.option("lower") >= transformation.option("upper"):
            index = found.index(transformation)
            raise ContractError(reader.path, f"clip of `{transformation.feature.name}`: "
                                "`lower` must be below `upper`", line=transformation.line,
                                field=f"transformations[{index}].lower")
    return tuple(found)


def _option(entry: FieldReader, prefix: str, name: str, kind: str) -> float:
    _, low, high, whole = KINDS[kind][name]
    value = entry.get(name)
    if whole:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ContractError(entry.path, f"expected a whole number from {low} to {high}, got "
                                f"{value!r}", line=entry.line(name), field=f"{prefix}{name}")
        return value
    return entry.number(name, prefix, low, high)
