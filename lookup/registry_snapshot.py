"""The catalog as one JSON file, baked into the Lambda package at build time.

At cold start the handler must not parse YAML, validate contracts or call the warehouse:
it reads this snapshot (a few kB) and rebuilds the same ``Catalog`` dataclasses the rest
of featurestore uses, so serving and training read one definition of every view.
Only ``online: true`` views are served; the snapshot keeps the others out. A view with
several versions carries each of them (``versions``); which one is served is not in the
snapshot but in DynamoDB (``featurestore promote``), so it changes without a redeploy.
An on-demand view is served when every view it reads is (``on_demand``): its record
carries each expression's checked tree, which the lookup compiles without sqlglot.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from featurestore.contracts import (
    Catalog,
    Entity,
    Feature,
    FeatureView,
    JoinKey,
    OnDemandView,
)
from featurestore.errors import ProjectError

FORMAT = 1
BUNDLED_PATH = Path(__file__).resolve().parent / "registry.json"


def build_snapshot(catalog: Catalog, built_at: dt.datetime | None = None,
                   services: dict | None = None) -> dict:
    """The JSON-ready snapshot of the online views of ``catalog``; ``services``: the
    feature services' records (featurestore/feature_services/serving.py), with their
    frozen parameters (only when the project has services: other snapshots keep their
    shape)."""
    built_at = built_at or dt.datetime.now(dt.UTC)
    views = {}
    for name, view in sorted(catalog.views.items()):
        if not view.online:
            continue
        views[name] = _record(view)
        if name in catalog.versions:  # a view with several versions: each of them
            views[name]["versions"] = {str(number): _record(version) for number, version
                                       in sorted(catalog.versions[name].items())}
    on_demand = {name: view.to_record() for name, view in sorted(catalog.on_demand.items())
                 if all(i.view in views for i in view.inputs)}
    return {
        "format": FORMAT,
        "built_at": built_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **({"on_demand": on_demand} if on_demand else {}),
        "entities": {
            name: {
                "join_keys": [{"name": k.name, "dtype": k.dtype} for k in entity.join_keys],
                "description": entity.description,
            }
            for name, entity in sorted(catalog.entities.items())
        },
        "views": views,
        **({"services": services} if services else {}),
    }


def _record(view: FeatureView) -> dict:
    record = view.to_dict()
    record["ttl_seconds"] = view.ttl_seconds
    record["freshness_slo_seconds"] = view.freshness_slo_seconds
    record["contract_hash"] = view.contract_hash()
    if view.model_version is not None:
        record.update(model_version=view.model_version, is_base=view.is_base,
                      retired=view.retired, multi_version=view.multi_version)
    return record


def write_snapshot(catalog: Catalog, path: Path) -> dict:
    snapshot = build_snapshot(catalog)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    return snapshot


def _default(dtype: str, value: object) -> object:
    if dtype == "timestamp" and isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
        return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    return value


def catalog_from_snapshot(snapshot: dict, source: str = "registry snapshot") -> Catalog:
    """Rebuild the ``Catalog`` of a snapshot; a clear error for a foreign or old file."""
    if not isinstance(snapshot, dict) or snapshot.get("format") != FORMAT:
        raise ProjectError(
            f"{source}: not a featurestore registry snapshot of format {FORMAT}; rebuild it "
            "with `featurestore package-lambda`."
        )
    entities = {
        name: Entity(name, tuple(JoinKey(k["name"], k["dtype"]) for k in raw["join_keys"]),
                     raw.get("description", ""))
        for name, raw in snapshot["entities"].items()
    }
    views, versions = {}, {}
    for name, raw in snapshot["views"].items():
        views[name] = _view(name, raw, entities, source)
        if raw.get("versions"):
            versions[name] = {int(number): _view(name, record, entities, source)
                              for number, record in raw["versions"].items()}
    on_demand = {name: OnDemandView.from_record(record, entities, source)
                 for name, record in snapshot.get("on_demand", {}).items()}
    return Catalog(entities, views, versions, on_demand)


def _view(name: str, raw: dict, entities: dict, source: str) -> FeatureView:
    features = tuple(
        Feature(
            name=f["name"], dtype=f["dtype"], sensitivity=f["sensitivity"],
            description=f["description"], default=_default(f["dtype"], f["default"]),
            max_null_rate=f.get("max_null_rate"), min=f.get("min"), max=f.get("max"),
            allowed_values=tuple(f["allowed_values"]) if f.get("allowed_values") else None,
        )
        for f in raw["features"]
    )
    return FeatureView(
        name=name, version=raw["version"], entity=entities[raw["entity"]["name"]],
        source=raw["source"], timestamp=raw["timestamp"], owner=raw["owner"],
        description=raw["description"], features=features,
        created_timestamp=raw.get("created_timestamp"), ttl_seconds=raw["ttl_seconds"],
        freshness_slo_seconds=raw["freshness_slo_seconds"], online=True,
        tags=tuple(raw.get("tags", ())), path=f"{source}#{name}",
        model_version=raw.get("model_version"), changes=raw.get("changes", ""),
        retired=bool(raw.get("retired")), multi_version=bool(raw.get("multi_version")),
        is_base=raw.get("is_base", True),
    )


def load_snapshot(path: Path | str | None = None, *, with_services: bool = False) -> tuple:
    """``(catalog, built_at)`` from ``path`` (default: the snapshot bundled in the
    package); ``with_services``: and the feature services it carries, ready to serve."""
    path = Path(path) if path else BUNDLED_PATH
    try:
        snapshot = json.loads(path.read_text())
    except FileNotFoundError:
        raise ProjectError(
            f"{path}: no registry snapshot. Build the package with `featurestore "
            "package-lambda`, or point FEATURESTORE_REGISTRY at a snapshot file."
        ) from None
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{path}: the registry snapshot is not valid JSON ({exc})") from None
    catalog = catalog_from_snapshot(snapshot, str(path))
    if not with_services:
        return catalog, snapshot.get("built_at", "")
    from featurestore.lookup.service_vectors import services_from_snapshot

    return catalog, snapshot.get("built_at", ""), services_from_snapshot(snapshot)


# -- what deployed lookups know ---------------------------------------------------------------
PACKAGE = Path("dist") / "lookup-lambda.zip"  # `featurestore package-lambda`'s default output
PACKAGED = "featurestore/lookup/registry.json"  # the snapshot's name inside the zip


def snapshot_versions(snapshot: dict, view: str) -> list[int]:
    """The versions of ``view`` a snapshot holds (none: the view is not in it)."""
    record = (snapshot.get("views") or {}).get(view)
    if not isinstance(record, dict):
        return []
    if record.get("versions"):
        return sorted(int(number) for number in record["versions"])
    return [int(record["version"])]


def deployed_snapshots(root: Path, registry: Path | None) -> list[tuple[str, dict | None]]:
    """``(where, snapshot)`` of the registry snapshots lookups may have been deployed
    with: the project's Lambda package (``dist/lookup-lambda.zip``) and the file
    FEATURESTORE_REGISTRY names, those that exist (snapshot None: unreadable)."""
    import zipfile

    found: list[tuple[str, dict | None]] = []
    package = root / PACKAGE
    if package.is_file():
        try:
            with zipfile.ZipFile(package) as archive:
                found.append((f"the Lambda package {PACKAGE}",
                              json.loads(archive.read(PACKAGED))))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            found.append((f"the Lambda package {PACKAGE}", None))
    if registry is not None and Path(registry).is_file():
        try:
            found.append((f"the registry snapshot {registry} (FEATURESTORE_REGISTRY)",
                          json.loads(Path(registry).read_text())))
        except (OSError, ValueError):
            found.append((f"the registry snapshot {registry} (FEATURESTORE_REGISTRY)", None))
    return found


def reach_lines(root: Path, registry: Path | None, view: str, version: int,
                refresh_s: float) -> list[str]:
    """What ``promote`` and ``rollback`` say about the lookups that will serve
    ``view`` at ``version``: a local ``serve`` learns it (reloading its contracts if
    need be) within ``refresh_s``; a lookup deployed with a snapshot that lacks it cannot,
    and answers 503 ``version_unavailable`` until redeployed."""
    lines = [f"lookups read the new serving pointer within {refresh_s:g} s "
             "(FEATURESTORE_LOOKUP_VERSION_REFRESH_MS); a running `featurestore serve` "
             f"started before v{version} was declared reloads its contracts then and serves it"]
    snapshots = deployed_snapshots(root, registry)
    for where, snapshot in snapshots:
        known = snapshot_versions(snapshot, view) if snapshot else []
        if version in known:
            lines.append(f"{where} (built {snapshot.get('built_at', '?')}) knows "
                         f"{view} v{version}")
            continue
        held = (f"has {', '.join(f'v{v}' for v in known)} of {view} only" if known else
                "is unreadable" if snapshot is None else f"does not have {view}")
        lines.append(f"WARNING: {where} {held}: a lookup deployed from it cannot know "
                     f"v{version} and answers 503 version_unavailable for {view} until it "
                     "is rebuilt (`featurestore package-lambda`) and deployed again")
    if not snapshots:
        lines.append(f"no Lambda package found ({PACKAGE}): a deployed lookup whose "
                     f"registry snapshot predates v{version} answers 503 version_unavailable "
                     f"for {view} until it is redeployed")
    return lines
