"""Templates to pages: the Jinja environment, and the index's and entities' rows.

Every page is rendered by Jinja2 with autoescape on, so every string a user wrote
(descriptions, owners, tags, SQL, values from the serving log) reaches the HTML as text,
in element content and in attributes alike. The two places a value is not escaped by
Jinja are plots, whose SVG leather builds through ElementTree (which escapes), and the
``data-tags``/``data-sensitivity`` attributes, written with ``tojson`` inside single quotes
(Jinja's ``tojson`` escapes ``<``, ``>``, ``&`` and ``'`` for exactly that place).
"""

from __future__ import annotations

import re

from featurestore.apps.catalog_site.text import human_seconds, when

SAFE_NAME = re.compile(r"[a-z0-9_]+")


def environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("featurestore.apps.catalog_site", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True)
    env.filters["when"] = when
    env.filters["seconds"] = human_seconds
    env.filters["count"] = lambda n: f"{n:,}"
    return env


def page_name(name: str) -> str:
    """The file of a view or an entity: its name when it is a plain identifier (contracts
    make them so), else a hex spelling that no file system or URL can misread."""
    if SAFE_NAME.fullmatch(name):
        return f"{name}.html"
    return "x-" + name.encode("utf-8", "replace").hex() + ".html"


def index_row(view, health) -> dict:
    sensitivities = sorted({f.sensitivity for f in view.features},
                           key=("public", "internal", "pii").index)
    words = [view.name, view.description, view.owner, view.entity.name, *view.tags,
             *(f"{f.name} {f.description}" for f in view.features)]
    return {"name": view.name, "file": page_name(view.name), "version": view.version,
            "entity": view.entity.name, "entity_file": page_name(view.entity.name),
            "owner": view.owner, "tags": list(view.tags), "online": view.online,
            "features": len(view.features), "sensitivities": sensitivities,
            "description": view.description, "health": health, "key_names": view.keys,
            "search": " ".join(words).lower()}


def index_filters(rows: list[dict]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The index's filters: (name, label, [(value, text)])."""
    def distinct(values) -> list[tuple[str, str]]:
        return [(v, v) for v in sorted(set(values))]

    return [
        ("entity", "Entity", distinct(r["entity"] for r in rows)),
        ("owner", "Owner", distinct(r["owner"] for r in rows)),
        ("tag", "Tag", distinct(t for r in rows for t in r["tags"])),
        ("sensitivity", "Sensitivity", [(s, s) for s in ("public", "internal", "pii")
                                        if any(s in r["sensitivities"] for r in rows)]),
        ("online", "Serving", [("online", "online"), ("offline", "offline only")]),
        ("health", "Health", [("ready", "production-ready"),
                              ("not-ready", "not production-ready")]),
    ]


def entity_rows(catalog, rows: list[dict]) -> list[dict]:
    entities = []
    for name, entity in sorted(catalog.entities.items()):
        entities.append({"name": name, "file": page_name(name), "entity": entity,
                         "key_names": entity.key_names,
                         "view_count": sum(1 for r in rows if r["entity"] == name)})
    return entities
