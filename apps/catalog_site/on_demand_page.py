"""The catalog's page of an on-demand view: its request fields, its inputs (each linking
to the page of the view it reads), and per feature its expression and dtype.

Rendered by the same autoescaping environment as every other page (pages.py), so the
expressions, descriptions and names a contract holds reach the HTML as text.
"""

from __future__ import annotations

from featurestore.apps.catalog_site import output, pages


def applied_state(view, registry: list[dict] | None) -> str:
    """Whether ``view`` is what the registry recorded (``registry``: its rows, oldest
    first; None: no warehouse was read)."""
    if registry is None:
        return "The registry was not read (no warehouse)."
    active = next((r for r in reversed(registry) if r["change"] != "remove"), None)
    if active is None:
        return "Not in the registry: run `featurestore apply`."
    if (active["version"], active["contract_hash"]) != (view.version, view.contract_hash()):
        return (f"The contract (v{view.version}) differs from the registry's active "
                f"v{active['version']}: run `featurestore plan`, then `featurestore apply`.")
    return f"Applied: the registry's active v{active['version']} is this contract."


def context(view, catalog, services: list[dict] = (),
            registry: list[dict] | None = None) -> dict:
    """What on_demand.html shows of ``view``; ``services``: the feature services' pages
    (service_pages.py), of which those that read one of its features are listed;
    ``registry``: the registry's rows of the view, oldest first (None: not read)."""
    inputs = [{"name": item.name, "ref": item.ref, "dtype": item.dtype,
               "file": pages.page_name(item.view) if item.view in catalog.views else None}
              for item in view.inputs]
    features = [{"name": f.name, "dtype": f.feature.dtype, "sensitivity": f.feature.sensitivity,
                 "sql": f.expression.text, "description": f.feature.description}
                for f in view.features]
    used_by = [{"name": s["name"], "file": s["file"], "version": s["version"],
                "features": [f["name"] for f in s["features"]
                             if f["name"].startswith(f"{view.name}:")]}
               for s in services if any(f["name"].startswith(f"{view.name}:")
                                        for f in s["features"])]
    return {"view": view, "inputs": inputs, "features": features,
            "contract_hash": view.contract_hash(),
            "entity_file": pages.page_name(view.entity.name), "services": used_by,
            "registry": list(reversed(registry or [])),
            "applied": applied_state(view, registry)}


def index_rows(catalog) -> list[dict]:
    """The index's list of on-demand views."""
    return [{"name": view.name, "file": pages.page_name(view.name), "version": view.version,
             "entity": view.entity.name, "entity_file": pages.page_name(view.entity.name),
             "description": view.description, "features": len(view.features),
             "inputs": sorted({item.view for item in view.inputs})}
            for _, view in sorted(catalog.on_demand.items())]


def write_pages(folder, env, site: dict, catalog, services: list[dict] = (),
                applied: dict[str, list[dict]] | None = None) -> int:
    """Write one page per on-demand view under ``views/``; how many were written.
    ``applied``: the registry's rows per on-demand view (None: no warehouse read)."""
    template = env.get_template("on_demand.html")
    for view in catalog.on_demand.values():
        rows = None if applied is None else applied.get(view.name, [])
        html = template.render(site=site, base="../",
                               **context(view, catalog, services, rows))
        output.write_page(folder, f"views/{pages.page_name(view.name)}", html)
    return len(catalog.on_demand)
