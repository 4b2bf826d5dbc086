"""Which raw tables ingest loads: the dbt sources whose meta names a landing folder.

The tables, their columns, types and tests come from the dbt manifest. The landing
folder does not: dbt renders ``{{ env_var(...) }}`` once, at parse time, into the
manifest, so a manifest copied with the project, or parsed before a variable changed,
or parsed by featurestore (which hands dbt its own default for
``FEATURESTORE_LANDING_DIR``), would name a folder that is not today's. So the
landing is read from the source's own YAML (as written, not rendered) and rendered here,
with dbt's own Jinja context and the environment of this run; a relative folder is
under the project that runs, never the one that parsed.
"""

from __future__ import annotations

import contextvars
import re
from dataclasses import dataclass, field
from pathlib import Path

from featurestore.errors import ProjectError
from featurestore.ingest.messages import excerpt, printable
from featurestore.project import Project

ENV_VAR = re.compile(r"""env_var\(\s*['"]([^'"]+)['"]""")


@dataclass(frozen=True)
class RawTable:
    """A dbt source table that featurestore loads from a landing folder."""

    source: str
    table: str
    relation: str
    landing: str  # folder (local path or s3://bucket/prefix) of this table's files
    columns: dict[str, str]  # name -> declared data_type, in order
    loaded_at: str | None  # the loader's column (the source's loaded_at_field), if declared
    required: frozenset[str] = frozenset()  # columns with a not_null test: never empty
    root: str = ""  # the source's landing folder (the table's is root/<table>)
    declared: str = ""  # `models/x.yml, source `s``: where to fix the declaration
    variables: tuple[str, ...] = field(default=())  # env_var() names in the landing text

    @property
    def label(self) -> str:
        return f"{self.source}.{self.table}"


def raw_tables(project: Project, manifest: dict | None = None) -> list[RawTable]:
    """Every dbt source table with a landing folder, from the project's dbt manifest
    (parsed first when the project has none yet, a fresh clone ingesting before any
    build, or when a kill left it half-written)."""
    manifest = manifest or project.dbt_manifest()
    if manifest is None:
        from featurestore.dbt_runner import run_dbt

        run_dbt(project, ["parse", "--quiet"])
        manifest = project.dbt_manifest()
    if manifest is None:
        raise ProjectError(f"{project.target_dir / 'manifest.json'}: no dbt manifest to read "
                           "the sources from. Run `dbt parse` or `featurestore build` first.")
    required = _not_null_columns(manifest)
    documents: dict[Path, dict | None] = {}
    tables = []
    for uid, node in manifest.get("sources", {}).items():
        parsed = ((node.get("meta") or {}).get("featurestore") or {}).get("landing")
        if not parsed:
            continue
        where = f"{node.get('original_file_path', 'models/')}, source `{node['source_name']}`"
        text = _written_landing(project, node, documents) or str(parsed)
        root = _resolve(project, _render(text, project.settings.environment, where))
        columns = {}
        for name, column in (node.get("columns") or {}).items():
            if not column.get("data_type"):
                raise ProjectError(f"{where}, table `{node['name']}`, column `{name}`: declare "
                                   "its `data_type`; featurestore creates the raw table from "
                                   "the declared columns.")
            columns[name] = column["data_type"]
        if not columns:
            raise ProjectError(f"{where}, table `{node['name']}`: declare its columns with "
                               "`data_type`; featurestore creates the raw table from them.")
        loaded_at = (node.get("loaded_at_field")
                     or (node.get("config") or {}).get("loaded_at_field"))
        tables.append(RawTable(
            node["source_name"], node["name"], node["relation_name"],
            join(root, node["name"]), columns, loaded_at if loaded_at in columns else None,
            frozenset(name for name in columns if name.lower() in required.get(uid, ())),
            root, where, tuple(dict.fromkeys(ENV_VAR.findall(text)))))
    return sorted(tables, key=lambda t: t.label)


def _not_null_columns(manifest: dict) -> dict[str, set[str]]:
    """source uid -> its columns (lower case) with an unconditional ``not_null`` data test:
    how a source declares the columns a row must fill (keys, event times)."""
    found: dict[str, set[str]] = {}
    for node in manifest.get("nodes", {}).values():
        test = node.get("test_metadata") or {}
        parents = (node.get("depends_on") or {}).get("nodes") or []
        if (node.get("resource_type") != "test" or test.get("name") != "not_null"
                or len(parents) != 1 or not parents[0].startswith("source.")
                or (node.get("config") or {}).get("where")):
            continue
        column = node.get("column_name") or (test.get("kwargs") or {}).get("column_name")
        if column:
            found.setdefault(parents[0], set()).add(str(column).strip('"`').lower())
    return found


def _written_landing(project: Project, node: dict, documents: dict) -> str | None:
    """``meta.featurestore.landing`` as written in the source's YAML (the table's own
    meta first, then the source's; ``meta:`` or ``config: {meta:}``), unrendered."""
    import yaml

    folder = project.root
    if node.get("package_name") not in (None, project.dbt_project.get("name")):
        install = project.dbt_project.get("packages-install-path") or "dbt_packages"
        folder = project.root / str(install) / node["package_name"]
    path = folder / node.get("original_file_path", "")
    if path not in documents:
        try:
            documents[path] = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError, ValueError):
            documents[path] = None
    document = documents[path]
    if not isinstance(document, dict):
        return None
    for source in document.get("sources") or []:
        if not isinstance(source, dict) or source.get("name") != node["source_name"]:
            continue
        tables = [t for t in source.get("tables") or []
                  if isinstance(t, dict) and t.get("name") == node["name"]]
        for holder in [*tables, source]:
            for meta in (holder.get("meta"), (holder.get("config") or {}).get("meta")):
                landing = ((meta or {}).get("featurestore") or {}).get("landing") \
                    if isinstance(meta, dict) else None
                if isinstance(landing, str) and landing:
                    return landing
    return None


def _render(text: str, environ, where: str) -> str:
    """The landing text rendered as dbt renders YAML (its base context: ``env_var``,
    ``var``), with this run's environment."""
    if "{{" not in text and "{%" not in text:
        return text
    from dbt.clients.jinja import get_rendered
    from dbt.context.base import generate_base_context
    from dbt_common.context import set_invocation_context

    def render() -> str:
        set_invocation_context(dict(environ))
        return str(get_rendered(text, generate_base_context({}))).strip()

    try:  # a copied context: dbt's invocation context stays as it was for dbt's own runs
        rendered = contextvars.copy_context().run(render)
    except Exception as exc:  # dbt's Jinja errors have no common base
        reason = " ".join(str(exc).split())
        raise ProjectError(f"{where}: meta.featurestore.landing {excerpt(text)} does not "
                           f"render ({excerpt(reason)}); featurestore renders it at run "
                           "time with env_var() and var() defaults.") from None
    if not rendered:
        raise ProjectError(f"{where}: meta.featurestore.landing {excerpt(text)} renders "
                           "empty; set the variable it reads, or give env_var() a default.")
    return rendered


def _resolve(project: Project, landing: str) -> str:
    if "://" in landing or Path(landing).is_absolute():
        return landing
    return str(project.root / landing)


def join(folder: str, name: str) -> str:
    """``folder/name``; an s3:// folder keeps its options (``?endpoint_override=...``)."""
    base, question, options = folder.partition("?")
    return base.rstrip("/") + "/" + name + question + options


def missing_landings(tables: list[RawTable]) -> list[str]:
    """One sentence per source whose local landing folder does not exist: nothing can be
    loaded from it, and a silent 0 would look like a quiet day."""
    said, lines = set(), []
    for table in tables:
        if "://" in table.root or table.root in said or Path(table.root).is_dir():
            continue
        said.add(table.root)
        fix = (f"set {' or '.join(table.variables)}" if table.variables
               else "change meta.featurestore.landing")
        lines.append(f"{table.declared}: landing folder {printable(table.root)} does not exist, "
                     f"so nothing was loaded from it; {fix}, or create the folder.")
    return lines
