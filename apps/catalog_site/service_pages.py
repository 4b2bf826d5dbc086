"""The catalog's pages of feature services: the features in the model's order, each
transformation with the parameters frozen for it, and every parameter set with the
training set it was computed on (``services/<name>.html``, listed on the index).

Read once, like the rest of the catalog: the services' files, and the registry's
``service_parameters`` (a registry that cannot be read is a build note, not a failure).
"""

from __future__ import annotations

from featurestore.apps.catalog_site.pages import page_name


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return "null" if value is None else str(value)


def _parameters(params: dict) -> list[str]:
    """One ``name value`` per frozen parameter, the frequencies and ranks left out (the
    file keeps them; the page shows what is applied)."""
    return [f"{name} {_shown(value)}" for name, value in params.items()
            if name not in ("frequencies", "ranks", "lower_rank", "upper_rank")]


def gather(project, catalog, notes: list[str]) -> list[dict]:
    """The context of each service's page, by name."""
    from featurestore.errors import FeatureStoreError
    from featurestore.feature_services.load import load_services
    from featurestore.feature_services.param_registry import parameter_sets
    from featurestore.feature_services.serving import service_records
    from featurestore.warehouse import Warehouse

    try:
        services = load_services(project.root, catalog)
    except FeatureStoreError as exc:
        notes.append(f"feature services: not shown ({exc})")
        return []
    if not services:
        return []
    try:
        with Warehouse(project, read_only=True) as warehouse:
            sets = parameter_sets(warehouse)
        records = service_records(services, sets)
    except FeatureStoreError as exc:
        notes.append(f"feature services: their frozen parameters could not be read ({exc})")
        sets, records = [], service_records(services, None, unreadable=str(exc))
    out = []
    for name, service in sorted(services.items()):
        served = records[name]["parameters"]
        document = served["document"] if served else None
        versions = {f["name"]: f["version"] for f in document["features"]} if document else {}
        frozen = {t["feature"] + "/" + t["kind"]: t for t in document["transformations"]} \
            if document else {}
        out.append({
            "name": name, "file": page_name(name), "version": service.version,
            "entity": service.entity, "entity_file": page_name(service.entity),
            "owner": service.owner, "description": service.description,
            "problem": records[name]["problem"], "served": served,
            "features": [{"name": f.name, "ref": str(f.ref), "dtype": f.dtype,
                          "column": f.column, "view_file": page_name(f.view),
                          "version": versions.get(f.name)} for f in service.features],
            "transformations": [
                {"feature": t.feature.name, "kind": t.kind,
                 "options": ", ".join(f"{k} {_shown(v)}" for k, v in t.to_dict().items()
                                      if k not in ("feature", "kind")),
                 "columns": frozen.get(f"{t.feature.name}/{t.kind}", {}).get("columns", []),
                 "parameters": _parameters(frozen[f"{t.feature.name}/{t.kind}"]["params"])
                 if f"{t.feature.name}/{t.kind}" in frozen else []}
                for t in service.transformations],
            "sets": [{"version": s.version, "service_version": s.service_version,
                      "sha256": s.sha256, "training_set": s.training_set or "(in memory)",
                      "rows": s.document.get("training_set", {}).get("rows"),
                      "frozen_at": str(s.frozen_at)[:19], "frozen_by": s.frozen_by,
                      "served": bool(served) and s.version == served["version"]
                      and s.service_version == served["service_version"]}
                     for s in reversed(sets) if s.service == name]})
    return out


def write(env, folder, site: dict, services: list[dict]) -> int:
    """Write each service's page; how many were written."""
    from featurestore.apps.catalog_site import output

    for service in services:
        output.write_page(folder, f"services/{service['file']}",
                          env.get_template("service.html").render(site=site, base="../",
                                                                  service=service))
    return len(services)
