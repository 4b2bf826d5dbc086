"""On-demand views: request fields and stored features in, SQL expressions out.

A contract of ``kind: on_demand`` (docs/request-time.md) declares the fields a caller
sends with each request (a training spine carries them as columns), the stored features
it reads (``view:feature``, pins allowed, ``as`` renaming one for the SQL) and its
features, each one expression of the on-demand subset (featurestore/ondemand/). Loading
is as strict as for a stored view: an unknown input view, feature or version, an input
keyed by another entity, a request field named like an input, a written dtype that is
not the expression's, or an expression outside the subset stops here with the file, the
line and the field.

The loader needs the stored views first (``load_on_demand(path, catalog)``); the
expressions are checked with sqlglot there only. The Lambda rebuilds a view from its
registry snapshot (``OnDemandView.from_record``) without sqlglot, through each
feature's checked tree.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from featurestore.contracts.model import Catalog, Entity, Feature, FeatureView
from featurestore.contracts.reader import FieldReader
from featurestore.contracts.rules import (
    IDENTIFIER,
    MAX_VERSION,
    RESERVED_NAMES,
    SENSITIVITIES,
    suggest,
)
from featurestore.dtypes import DTYPES
from featurestore.errors import ContractError
from featurestore.ondemand import Expression, compile_expression, from_tree
from featurestore.yaml_lines import LineDict

KIND = "on_demand"
ON_DEMAND_FIELDS = {
    "name": True, "kind": True, "version": True, "entity": True, "owner": True,
    "description": True, "request": False, "inputs": False, "features": True, "tags": False,
}
REQUEST_FIELDS = {"name": True, "dtype": True, "nullable": False, "description": False}
INPUT_FIELDS = {"ref": True, "as": False}
EXPRESSION_FIELDS = {"name": True, "sql": True, "sensitivity": True, "description": True,
                     "dtype": False}
# view[@vN]:feature, as featurestore/feature_refs.py reads references
_INPUT_REF = re.compile(r"([a-z][a-z0-9_]*)(?:@v([1-9][0-9]{0,9}))?:([a-z][a-z0-9_]*)")


@dataclass(frozen=True)
class RequestField:
    """A value the caller sends with each request (a spine column in training)."""

    name: str
    dtype: str
    nullable: bool = True
    description: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "nullable": self.nullable,
                "description": self.description}


@dataclass(frozen=True)
class OnDemandInput:
    """A stored feature an on-demand view reads: ``view[@vN]:feature``, named ``name``
    in its expressions. ``version`` None: the version the view serves."""

    view: str
    feature: str
    version: int | None
    name: str
    dtype: str

    @property
    def ref(self) -> str:
        pin = f"@v{self.version}" if self.version is not None else ""
        return f"{self.view}{pin}:{self.feature}"

    def to_dict(self) -> dict:
        return {"ref": self.ref, "as": self.name, "dtype": self.dtype}


@dataclass(frozen=True)
class OnDemandFeature:
    """One feature: its contract (name, dtype, sensitivity, description) and the checked
    expression that computes it."""

    feature: Feature
    expression: Expression

    @property
    def name(self) -> str:
        return self.feature.name

    def to_dict(self) -> dict:
        return {"name": self.name, "dtype": self.feature.dtype, "sql": self.expression.text,
                "sensitivity": self.feature.sensitivity,
                "description": self.feature.description}


@dataclass(frozen=True)
class OnDemandView:
    name: str
    version: int
    entity: Entity
    owner: str
    description: str
    request: tuple[RequestField, ...]
    inputs: tuple[OnDemandInput, ...]
    features: tuple[OnDemandFeature, ...]
    tags: tuple[str, ...] = ()
    path: str = ""
    lines: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def feature(self, name: str) -> OnDemandFeature:
        for found in self.features:
            if found.name == name:
                return found
        raise KeyError(name)

    def request_field(self, name: str) -> RequestField:
        for found in self.request:
            if found.name == name:
                return found
        raise KeyError(name)

    def input(self, name: str) -> OnDemandInput:
        for found in self.inputs:
            if found.name == name:
                return found
        raise KeyError(name)

    def line_of(self, field_name: str) -> int | None:
        return self.lines.get(field_name)

    def to_dict(self) -> dict:
        """The canonical form: what is hashed and recorded in a training set's manifest."""
        return {
            "name": self.name, "kind": KIND, "version": self.version,
            "entity": self.entity.name, "owner": self.owner,
            "description": self.description, "tags": list(self.tags),
            "request": [r.to_dict() for r in self.request],
            "inputs": [i.to_dict() for i in self.inputs],
            "features": [f.to_dict() for f in self.features],
        }

    def contract_hash(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def to_record(self) -> dict:
        """The registry snapshot's form: the canonical one plus each checked tree, so a
        lookup compiles the expressions without sqlglot."""
        record = self.to_dict()
        for out, found in zip(record["features"], self.features, strict=True):
            out["tree"] = found.expression.tree.to_dict()
        record["contract_hash"] = self.contract_hash()
        return record

    @classmethod
    def from_record(cls, record: dict, entities: dict[str, Entity],
                    source: str) -> OnDemandView:
        """A view of a registry snapshot (``to_record``), rebuilt without sqlglot."""
        features = tuple(
            OnDemandFeature(Feature(f["name"], f["dtype"], f["sensitivity"],
                                    f["description"]), from_tree(f["sql"], f["tree"]))
            for f in record["features"])
        inputs = []
        for raw in record["inputs"]:
            found = _INPUT_REF.fullmatch(raw["ref"])
            inputs.append(OnDemandInput(found.group(1), found.group(3),
                                        int(found.group(2)) if found.group(2) else None,
                                        raw["as"], raw["dtype"]))
        return cls(record["name"], record["version"], entities[record["entity"]],
                   record["owner"], record["description"],
                   tuple(RequestField(**r) for r in record["request"]), tuple(inputs),
                   features, tuple(record.get("tags", ())), f"{source}#{record['name']}")


def is_on_demand(document: object) -> bool:
    """Whether a contract document declares ``kind: on_demand``."""
    return isinstance(document, dict) and document.get("kind") == KIND


def load_on_demand(path: Path, document: dict, catalog: Catalog,
                   display: str | None = None) -> OnDemandView:
    """Validate one on-demand contract (already read as ``document``) against the stored
    views of ``catalog``."""
    display = display or f"feature_defs/{path.name}"
    reader = FieldReader(display, document, "an on-demand view")
    reader.check_fields(ON_DEMAND_FIELDS)
    name = reader.identifier("name")
    if name != path.stem:
        raise reader.error("name", f"the view is named `{name}` but its file is "
                           f"`{path.name}`: rename one so they match")
    if name in catalog.views:
        raise reader.error("name", f"`{name}` is already a stored feature view; views and "
                           "on-demand views share one namespace")
    version = reader.get("version")
    if (isinstance(version, bool) or not isinstance(version, int)
            or not 1 <= version <= MAX_VERSION):
        raise reader.error("version", f"expected a whole number from 1 to {MAX_VERSION}, got "
                           f"{version!r}")
    entity_name = reader.get("entity")
    if entity_name not in catalog.entities:
        raise reader.error("entity", f"unknown entity {entity_name!r}"
                           f"{suggest(entity_name, catalog.entities)}")
    entity = catalog.entities[entity_name]
    request = _request_fields(reader, entity)
    inputs = _inputs(reader, catalog, entity, {r.name for r in request})
    names = {r.name: r.dtype for r in request} | {i.name: i.dtype for i in inputs}
    tags = reader.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise reader.error("tags", "expected a list of words")
    for tag in tags:
        reader.clean(tag, "tags")
    return OnDemandView(
        name=name, version=version, entity=entity, owner=reader.text("owner"),
        description=reader.text("description", multiline=True), request=request,
        inputs=inputs, features=_features(reader, names), tags=tuple(tags), path=display,
        lines=dict(reader.mapping.key_lines) if isinstance(reader.mapping, LineDict) else {})


def _items(reader: FieldReader, key: str, required: bool) -> list:
    raw = reader.get(key)
    if raw is None and not required:
        return []
    if not isinstance(raw, list) or (required and not raw):
        raise reader.error(key, f"expected a {'non-empty ' if required else ''}list")
    return raw


def _line(raw: object, reader: FieldReader, key: str) -> int | None:
    return raw.line if isinstance(raw, LineDict) else reader.line(key)


def _request_fields(reader: FieldReader, entity: Entity) -> tuple[RequestField, ...]:
    fields: list[RequestField] = []
    for index, raw in enumerate(_items(reader, "request", False)):
        item = FieldReader(reader.path, raw, "a request field", line=_line(raw, reader,
                                                                          "request"))
        prefix = f"request[{index}]."
        item.check_fields(REQUEST_FIELDS, prefix=prefix)
        name = item.identifier("name", prefix=prefix)
        prefix = f"request.{name}."
        dtype = item.get("dtype")
        if dtype not in DTYPES:
            raise ContractError(reader.path, f"unknown dtype {dtype!r}{suggest(dtype, DTYPES)}; "
                                f"use one of {', '.join(DTYPES)}", line=item.line("dtype"),
                                field=f"{prefix}dtype")
        nullable = item.get("nullable", True)
        if not isinstance(nullable, bool):
            raise ContractError(reader.path, f"expected true or false, got {nullable!r}",
                                line=item.line("nullable"), field=f"{prefix}nullable")
        taken = set(entity.key_names) | RESERVED_NAMES | {f.name for f in fields}
        if name in taken:
            raise ContractError(reader.path, f"request field `{name}` is taken by a key of "
                                f"`{entity.name}`, featurestore's own bookkeeping or another "
                                "request field; rename it", line=item.line("name"),
                                field=f"{prefix}name")
        fields.append(RequestField(name, dtype, nullable,
                                   item.text("description", prefix, multiline=True)))
    return tuple(fields)


def _inputs(reader: FieldReader, catalog: Catalog, entity: Entity,
            request: set[str]) -> tuple[OnDemandInput, ...]:
    found: list[OnDemandInput] = []
    for index, raw in enumerate(_items(reader, "inputs", False)):
        line = _line(raw, reader, "inputs")
        where = f"inputs[{index}]"
        if isinstance(raw, dict):
            item = FieldReader(reader.path, raw, "an input", line=line)
            item.check_fields(INPUT_FIELDS, prefix=f"{where}.")
            text, alias = item.get("ref"), item.get("as")
        else:
            text, alias = raw, None
        if not isinstance(text, str) or not _INPUT_REF.fullmatch(text.strip()):
            raise ContractError(reader.path, f"input {text!r} is not a stored feature "
                                "reference: write `view:feature` or `view@v2:feature`",
                                line=line, field=where)
        view_name, pin, feature_name = _INPUT_REF.fullmatch(text.strip()).groups()
        version = int(pin) if pin else None
        stored = _input_feature(reader.path, catalog, entity, view_name, version,
                                feature_name, line, where)
        name = feature_name if alias is None else alias
        if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
            raise ContractError(reader.path, f"`as` {name!r} is not a valid name: use "
                                "lowercase letters, digits and underscores", line=line,
                                field=f"{where}.as")
        if name in request:
            raise ContractError(reader.path, f"input `{text}` is named `{name}`, the name of a "
                                "request field; rename one (`as: other_name` renames the "
                                "input)", line=line, field=where)
        if name in {i.name for i in found}:
            raise ContractError(reader.path, f"two inputs are named `{name}`; rename one with "
                                "`as: other_name`", line=line, field=where)
        found.append(OnDemandInput(view_name, feature_name, version, name, stored.dtype))
    return tuple(found)


def _input_feature(path: str, catalog: Catalog, entity: Entity, view_name: str,
                   version: int | None, feature_name: str, line: int | None,
                   where: str) -> Feature:
    """The stored feature an input names, checked in every version it may be read at."""
    if view_name not in catalog.views:
        raise ContractError(path, f"unknown feature view `{view_name}`"
                            f"{suggest(view_name, catalog.views)}; known views: "
                            f"{', '.join(sorted(catalog.views))}", line=line, field=where)
    view = catalog.views[view_name]
    if view.entity.name != entity.name:
        raise ContractError(path, f"feature view `{view_name}` is keyed by entity "
                            f"`{view.entity.name}`, not `{entity.name}`: an on-demand view "
                            "reads the views of its own entity", line=line, field=where)
    versions = catalog.versions_of(view_name)
    if version is not None and version not in versions:
        raise ContractError(path, f"feature view `{view_name}` has no version {version}; its "
                            f"versions: {', '.join(f'v{v}' for v in sorted(versions))}",
                            line=line, field=where)
    readable: list[FeatureView] = ([versions[version]] if version is not None else
                                   [v for v in catalog.live_versions(view_name)])
    dtypes = set()
    for candidate in readable:
        if feature_name not in candidate.feature_names:
            known = candidate.feature_names
            raise ContractError(path, f"feature view `{view_name}` (version "
                                f"{candidate.version}) has no feature `{feature_name}`"
                                f"{suggest(feature_name, known)}; its features: "
                                f"{', '.join(known)}" + ("" if version is not None else
                                "; pin a version that has it (`view@vN:feature`)"),
                                line=line, field=where)
        dtypes.add(candidate.feature(feature_name).dtype)
    if len(dtypes) > 1:
        raise ContractError(path, f"`{view_name}:{feature_name}` has dtypes "
                            f"{' and '.join(sorted(dtypes))} in its versions; pin one "
                            f"(`{view_name}@vN:{feature_name}`)", line=line, field=where)
    return readable[0].feature(feature_name)


def _features(reader: FieldReader, names: dict[str, str]) -> tuple[OnDemandFeature, ...]:
    out: list[OnDemandFeature] = []
    raw_features = _items(reader, "features", True)
    for index, raw in enumerate(raw_features):
        item = FieldReader(reader.path, raw, "a feature", line=_line(raw, reader, "features"))
        name = raw.get("name") if isinstance(raw, dict) else None
        prefix = (f"features.{name}." if isinstance(name, str) and IDENTIFIER.fullmatch(name)
                  else f"features[{index}].")
        item.check_fields(EXPRESSION_FIELDS, prefix=prefix)
        name = item.identifier("name", prefix=prefix)
        if name in {f.name for f in out} or name in RESERVED_NAMES:
            raise item.error("name", f"feature `{name}` is declared twice or is one of "
                             "featurestore's own names; rename it")
        sensitivity = item.get("sensitivity")
        if sensitivity not in SENSITIVITIES:
            raise ContractError(reader.path, f"sensitivity {sensitivity!r} is not one of "
                                f"{', '.join(SENSITIVITIES)}", line=item.line("sensitivity"),
                                field=f"{prefix}sensitivity")
        text = item.get("sql")
        if not isinstance(text, str) or not text.strip():
            raise ContractError(reader.path, "expected the feature's SQL expression as text",
                                line=item.line("sql"), field=f"{prefix}sql")
        expression = compile_expression(text.strip(), names, path=reader.path,
                                        line=item.line("sql"), field=f"{prefix}sql")
        written = item.get("dtype")
        if written is not None and written != expression.dtype:
            raise ContractError(reader.path, f"dtype is written {written!r} but the expression "
                                f"gives {expression.dtype}; write `dtype: "
                                f"{expression.dtype}` or change the expression",
                                line=item.line("dtype"), field=f"{prefix}dtype")
        if expression.dtype == "null":
            raise ContractError(reader.path, "the expression is always NULL; give it a value",
                                line=item.line("sql"), field=f"{prefix}sql")
        feature = Feature(name, expression.dtype, sensitivity,
                          item.text("description", prefix, multiline=True))
        out.append(OnDemandFeature(feature, expression))
    return tuple(out)
