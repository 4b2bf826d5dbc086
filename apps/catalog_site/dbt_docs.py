"""What dbt knows about a view's model: its SQL, its lineage, its columns, its consumers.

Read from ``target/manifest.json`` (any dbt parse or build writes it) and, when ``dbt docs
generate`` wrote one, ``target/catalog.json`` (the warehouse's column types). dbt knows
models, not feature views: the view's ``source`` names its model, and the lineage is
walked from there, upstream to the raw sources and downstream to the models and exposures
that use it. A missing or unreadable manifest is not an error: the pages say what is left
out and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

SHOWN = ("model", "source", "seed", "snapshot", "exposure")


@dataclass
class Node:
    uid: str
    name: str
    kind: str  # model | source | seed | snapshot | exposure | view (the page's own)
    description: str = ""
    parents: list[str] = field(default_factory=list)  # names, for the edges
    layer: int = 0
    view: str | None = None  # the feature view this model computes, if any


@dataclass
class Lineage:
    """Layers left to right: raw sources, ..., the view's model, ..., its consumers."""

    layers: list[list[Node]]
    exposures: list[dict]


@dataclass
class DbtDocs:
    manifest: dict | None
    catalog: dict | None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, target_dir: Path) -> DbtDocs:
        notes = []
        manifest = _read(target_dir / "manifest.json", notes,
                         "the views' SQL, lineage and dbt exposures are left out. Run "
                         "`featurestore build` (or `dbt parse`) first")
        catalog = _read(target_dir / "catalog.json", notes, None)
        return cls(manifest, catalog, notes)

    # -- one model ----------------------------------------------------------------------
    def model(self, name: str) -> dict | None:
        if not self.manifest:
            return None
        index = self._models()
        return index.get(name)

    def _models(self) -> dict[str, dict]:
        if not hasattr(self, "_model_index"):
            self._model_index = {
                node.get("name"): node for node in (self.manifest or {}).get(
                    "nodes", {}).values()
                if isinstance(node, dict) and node.get("resource_type") == "model"}
        return self._model_index

    def sql(self, name: str) -> tuple[str | None, str | None]:
        """(raw SQL, compiled SQL) of the model, each None when dbt has none."""
        node = self.model(name) or {}
        raw, compiled = node.get("raw_code"), node.get("compiled_code")
        return (raw if isinstance(raw, str) else None,
                compiled if isinstance(compiled, str) else None)

    def column_types(self, name: str) -> dict[str, str]:
        """Column -> type from catalog.json (``dbt docs generate``), lower-cased names."""
        node = self.model(name)
        if not node or not self.catalog:
            return {}
        entry = self.catalog.get("nodes", {}).get(node.get("unique_id"), {})
        columns = entry.get("columns", {}) if isinstance(entry, dict) else {}
        return {str(c).lower(): str(v.get("type", "")) for c, v in columns.items()
                if isinstance(v, dict)}

    def lineage(self, name: str, views_by_model: dict[str, str]) -> Lineage | None:
        """The model's upstream (to its sources) and downstream (models, exposures)."""
        node = self.model(name)
        if node is None:
            return None
        uid = node["unique_id"]
        parents = self.manifest.get("parent_map") or {}
        children = self.manifest.get("child_map") or {}
        upstream = _walk(uid, parents, self._shown)
        downstream = _walk(uid, children, self._shown)
        layer: dict[str, int] = {}

        def depth(item: str) -> int:  # sources at 0; a node one past its deepest parent
            if item not in layer:
                layer[item] = 0
                ups = [p for p in parents.get(item, []) if p in upstream]
                layer[item] = 1 + max((depth(p) for p in ups), default=-1)
            return layer[item]

        own = depth(uid)
        nodes = {item: self._node(item, views_by_model) for item in upstream | {uid}}
        for item, node_ in nodes.items():
            node_.layer = depth(item) if item != uid else own
            node_.parents = [self._name(p) for p in parents.get(item, []) if p in upstream]
        nodes[uid].kind = "view"
        after: dict[str, int] = {}
        frontier, distance = [uid], 0
        while frontier:
            distance += 1
            following = []
            for item in frontier:
                for child in children.get(item, []):
                    if child in downstream and child not in after:
                        after[child] = distance
                        following.append(child)
            frontier = following
        for item, hops in after.items():
            found = self._node(item, views_by_model)
            found.layer = own + hops
            found.parents = [self._name(p) for p in parents.get(item, [])
                             if p in downstream or p == uid]
            nodes[item] = found
        width = max(n.layer for n in nodes.values()) + 1
        layers: list[list[Node]] = [[] for _ in range(width)]
        for found in sorted(nodes.values(), key=lambda n: (n.kind, n.name)):
            layers[found.layer].append(found)
        exposures = [self._exposure(item) for item in sorted(after)
                     if item.startswith("exposure.")]
        return Lineage([layer_ for layer_ in layers if layer_], exposures)

    # -- helpers ------------------------------------------------------------------------
    def _lookup(self, uid: str) -> dict:
        manifest = self.manifest or {}
        for section in ("nodes", "sources", "exposures"):
            found = manifest.get(section, {}).get(uid)
            if isinstance(found, dict):
                return found
        return {}

    def _shown(self, uid: str) -> bool:
        return uid.split(".", 1)[0] in SHOWN

    def _name(self, uid: str) -> str:
        entry = self._lookup(uid)
        if entry.get("resource_type") == "source":
            return f"{entry.get('source_name')}.{entry.get('name')}"
        return str(entry.get("label") or entry.get("name") or uid)

    def _node(self, uid: str, views_by_model: dict[str, str]) -> Node:
        entry = self._lookup(uid)
        kind = str(entry.get("resource_type") or uid.split(".", 1)[0])
        name = self._name(uid)
        return Node(uid, name, kind, str(entry.get("description") or ""),
                    view=views_by_model.get(entry.get("name")) if kind == "model" else None)

    def _exposure(self, uid: str) -> dict:
        entry = self._lookup(uid)
        owner = entry.get("owner") or {}
        return {"name": str(entry.get("name") or uid),
                "label": str(entry.get("label") or entry.get("name") or uid),
                "type": str(entry.get("type") or ""),
                "maturity": str(entry.get("maturity") or ""),
                "url": str(entry.get("url") or ""),
                "owner": str(owner.get("name") or owner.get("email") or ""),
                "description": str(entry.get("description") or ""),
                "depends_on": [self._name(p) for p in
                               (entry.get("depends_on") or {}).get("nodes", [])]}


def _walk(start: str, edges: dict, keep) -> set[str]:
    """Every node reachable from ``start`` along ``edges`` (tests and the like left out)."""
    seen: set[str] = set()
    stack = [start]
    while stack:
        for following in edges.get(stack.pop(), []):
            if following not in seen and keep(following):
                seen.add(following)
                stack.append(following)
    return seen


def _read(path: Path, notes: list[str], missing: str | None) -> dict | None:
    if not path.exists():
        if missing:
            notes.append(f"{path}: not found; {missing}.")
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except ValueError as exc:
        notes.append(f"{path}: not valid JSON ({exc}); what it holds is left out. Rebuild it "
                     "with `featurestore build`.")
        return None
    if not isinstance(document, dict):
        notes.append(f"{path}: not a dbt artifact (a JSON object); left out.")
        return None
    return document
