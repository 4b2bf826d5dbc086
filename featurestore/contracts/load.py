"""Load the contracts of ``feature_defs/``: the entities file, then each view's file.

Loading is strict on purpose: an unknown field, a default that does not fit its dtype or
a missing ``sensitivity`` stops here, with the file, the line and the field.
"""

from __future__ import annotations

from pathlib import Path

from featurestore.contracts.features import load_feature
from featurestore.contracts.model import Catalog, CompareThresholds, Entity, FeatureView, JoinKey
from featurestore.contracts.reader import FieldReader
from featurestore.contracts.rules import (
    COMPARE_FIELDS,
    DEFAULT_MAX_NULL_RATE_DIFF,
    DEFAULT_MAX_PSI,
    ENTITIES_FILE,
    KINDS,
    MAX_VERSION,
    RESERVED_NAMES,
    VIEW_FIELDS,
    suggest,
)
from featurestore.contracts.versions import load_versions
from featurestore.dtypes import KEY_DTYPES
from featurestore.errors import ContractError
from featurestore.yaml_lines import LineDict, load_yaml


def load_entities(feature_defs: Path) -> dict[str, Entity]:
    path = feature_defs / ENTITIES_FILE
    display = f"feature_defs/{ENTITIES_FILE}"
    if not path.exists():
        raise ContractError(display, "file not found: declare entities here, e.g. "
                            "`entities: [{name: user, join_keys: [user_id]}]`")
    document = FieldReader(display, load_yaml(path, display), "the entities file")
    document.check_fields({"entities": True})
    items = document.get("entities")
    if not isinstance(items, list):
        raise document.error("entities", "expected a list of entities")
    entities: dict[str, Entity] = {}
    for item in items:
        reader = FieldReader(display, item, "an entity", line=document.line("entities"))
        reader.check_fields({"name": True, "join_keys": True, "description": False})
        name = reader.identifier("name", sql=False)
        if name in entities:
            raise reader.error("name", f"entity `{name}` is declared twice")
        raw_keys = reader.get("join_keys")
        if not isinstance(raw_keys, list) or not raw_keys:
            raise reader.error("join_keys", "expected a non-empty list of key columns")
        keys = []
        for raw in raw_keys:
            if isinstance(raw, str):
                raw = {"name": raw, "dtype": "string"}
            key_reader = FieldReader(display, raw, "a join key", line=reader.line("join_keys"))
            key_reader.check_fields({"name": True, "dtype": False}, prefix="join_keys.")
            key_name = key_reader.identifier("name", prefix="join_keys.")
            dtype = key_reader.get("dtype", "string")
            if dtype not in KEY_DTYPES:
                raise key_reader.error(
                    "dtype", f"join key `{key_name}` has dtype {dtype!r}; a key is one of "
                    f"{', '.join(KEY_DTYPES)}")
            keys.append(JoinKey(key_name, dtype))
        if len({k.name for k in keys}) != len(keys):
            raise reader.error("join_keys", f"entity `{name}` lists a join key twice")
        entities[name] = Entity(name, tuple(keys), reader.text("description", multiline=True))
    return entities


def load_view(path: Path, entities: dict[str, Entity], display: str | None = None) -> FeatureView:
    """Load and validate one contract file against the project's entities; its base
    version (``load_view_versions`` gives every version)."""
    return load_view_versions(path, entities, display)[0]


def load_view_versions(path: Path, entities: dict[str, Entity],
                       display: str | None = None, document: object = None,
                       ) -> list[FeatureView]:
    """Every version one contract file declares, the base first, each validated;
    ``document``: the file already read."""
    display = display or f"feature_defs/{path.name}"
    if document is None:
        document = load_yaml(path, display)
    reader = FieldReader(display, document, "a feature view")
    reader.check_fields(VIEW_FIELDS)
    if reader.get("kind", "stored") != "stored":
        raise reader.error("kind", f"kind {reader.get('kind')!r} is not one of "
                           f"{', '.join(KINDS)}{suggest(reader.get('kind'), KINDS)}")
    name = reader.identifier("name")
    if name == "spine":  # the as-of join's alias of the spine, next to each view's own
        raise reader.error("name", "`spine` is what the training-set join calls the spine; "
                           "rename the view (and its file)")
    if name != path.stem:
        raise reader.error("name", f"the view is named `{name}` but its file is "
                           f"`{path.name}`: rename one so they match")
    version = reader.get("version")
    if (isinstance(version, bool) or not isinstance(version, int)
            or not 1 <= version <= MAX_VERSION):
        raise reader.error("version", f"expected a whole number from 1 to {MAX_VERSION}, got "
                           f"{version!r}")
    entity_name = reader.get("entity")
    if entity_name not in entities:
        raise reader.error("entity", f"unknown entity {entity_name!r}"
                           f"{suggest(entity_name, entities)}; entities are declared in "
                           f"feature_defs/{ENTITIES_FILE}")
    entity = entities[entity_name]
    timestamp = reader.identifier("timestamp")
    created = reader.identifier("created_timestamp") if reader.get("created_timestamp") else None
    online = reader.get("online", True)
    if not isinstance(online, bool):
        raise reader.error("online", f"expected true or false, got {online!r}")
    tags = reader.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise reader.error("tags", "expected a list of words")
    for tag in tags:
        reader.clean(tag, "tags")
    raw_features = reader.get("features")
    if not isinstance(raw_features, list) or not raw_features:
        raise reader.error("features", "expected a non-empty list of features")
    features = []
    taken = set(entity.key_names) | {timestamp} | ({created} if created else set())
    for index, raw in enumerate(raw_features):
        line = raw.line if isinstance(raw, LineDict) else reader.line("features")
        feature = load_feature(display, raw, line, index)
        if feature.name in taken or feature.name in RESERVED_NAMES:
            raise ContractError(display, f"feature name `{feature.name}` is taken by a key, "
                                "a timestamp or featurestore's own bookkeeping; rename it",
                                line=line, field=f"features.{feature.name}.name")
        taken.add(feature.name)
        features.append(feature)
    compare = _load_compare(reader)
    base = FeatureView(
        name=name,
        version=version,
        entity=entity,
        source=reader.identifier("source"),
        timestamp=timestamp,
        created_timestamp=created,
        ttl_seconds=reader.duration("ttl"),
        freshness_slo_seconds=reader.duration("freshness_slo"),
        online=online,
        owner=reader.text("owner"),
        description=reader.text("description", multiline=True),
        tags=tuple(tags),
        features=tuple(features),
        path=display,
        lines=dict(reader.mapping.key_lines) if isinstance(reader.mapping, LineDict) else {},
        compare=compare,
    )
    reserved = set(entity.key_names) | {timestamp} | ({created} if created else set())
    return load_versions(reader, base, reserved)


def _load_compare(reader: FieldReader) -> CompareThresholds | None:
    raw = reader.get("compare")
    if raw is None:
        return None
    compare = FieldReader(reader.path, raw, "the compare thresholds", line=reader.line("compare"))
    compare.check_fields(COMPARE_FIELDS, prefix="compare.")
    max_psi = compare.number("max_psi", "compare.", 0, None)
    max_diff = compare.number("max_null_rate_diff", "compare.", 0, 1)
    return CompareThresholds(
        max_psi=DEFAULT_MAX_PSI if max_psi is None else max_psi,
        max_null_rate_diff=DEFAULT_MAX_NULL_RATE_DIFF if max_diff is None else max_diff,
        max_changed_share=compare.number("max_changed_share", "compare.", 0, 1))


def load_catalog(feature_defs: Path) -> Catalog:
    """Load every contract in ``feature_defs``; the first problem found is raised. The
    on-demand views are loaded last: they are checked against the stored ones."""
    from featurestore.contracts.on_demand import is_on_demand, load_on_demand

    entities = load_entities(feature_defs)
    views: dict[str, FeatureView] = {}
    versions: dict[str, dict[int, FeatureView]] = {}
    sources: dict[str, str] = {}
    on_demand_files = []
    for path in sorted(feature_defs.glob("*.yml")) + sorted(feature_defs.glob("*.yaml")):
        if path.name in (ENTITIES_FILE, "entities.yaml"):
            continue
        document = load_yaml(path, f"feature_defs/{path.name}")
        if is_on_demand(document):
            on_demand_files.append((path, document))
            continue
        found = load_view_versions(path, entities, document=document)
        view = found[0]
        if view.source in sources:
            raise ContractError(view.path, f"source `{view.source}` is already the source of "
                                f"view `{sources[view.source]}`; one model feeds one view",
                                line=view.line_of("source"), field="source")
        sources[view.source] = view.name
        views[view.name] = view
        if len(found) > 1:
            versions[view.name] = {v.version: v for v in found}
    catalog = Catalog(entities, views, versions)
    for path, document in on_demand_files:
        view = load_on_demand(path, document, catalog)
        catalog.on_demand[view.name] = view
    return catalog
