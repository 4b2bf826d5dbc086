"""The import rules of docs/architecture.md, read from the code itself.

Every import statement counts, also those inside functions (the lazy imports that keep
the CLI's help and the Lambda's cold start fast), and the CLI's command table counts as
imports of the modules it names.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import featurestore
from featurestore.apps.cli import COMMANDS

REPO = Path(__file__).resolve().parents[2]
FOLDERS = {"featurestore": REPO / "featurestore", "featurestore.sync": REPO / "sync",
           "featurestore.lookup": REPO / "lookup", "featurestore.gates": REPO / "gates",
           "featurestore.apps": REPO / "apps"}
# The top: the applications (the CLI, the SDK, the catalog site, the demo, the loop, the
# versions workflow), and the package's face, featurestore/__init__.py, which re-exports
# the SDK.
INTERFACES = ("featurestore.apps",)
FACE = "featurestore"
SERVICES = ("featurestore.sync", "featurestore.lookup", "featurestore.gates")


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            relative = path.relative_to(folder).with_suffix("")
            parts = [p for p in relative.parts if p != "__init__"]
            name = ".".join([package, *parts])
            if package == "featurestore" and parts and f"featurestore.{parts[0]}" in FOLDERS:
                continue
            found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The featurestore modules ``name`` imports, anywhere in its code."""
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & set(MODULES)
            # `from featurestore import registry` imports the module, not the package's face
            targets.update(submodules or {node.module})
    if name == "featurestore.apps.cli":
        targets.update(f"featurestore.apps.cli.{module}" for module, _ in COMMANDS.values())
    return {t for t in targets if t in MODULES and t != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_modules_are_found():
    assert {"featurestore.apps.cli", "featurestore.sync.worker", "featurestore.lookup.handler",
            "featurestore.gates.runner", "featurestore.online.items"} <= set(MODULES)
    assert Path(featurestore.__file__).parent == REPO / "featurestore"


def test_there_is_no_import_cycle():
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(GRAPH[name]):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if not state.get(target):
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(GRAPH):
        if not state.get(name):
            visit(name, [name])


@pytest.mark.parametrize("name", sorted(n for n in MODULES
                                        if not _within(n, INTERFACES) and n != FACE))
def test_only_the_interfaces_import_the_interfaces(name):
    assert not [t for t in GRAPH[name] if _within(t, INTERFACES)]


@pytest.mark.parametrize("name", sorted(n for n in MODULES
                                        if not _within(n, INTERFACES + SERVICES) and n != FACE))
def test_the_core_imports_no_service(name):
    assert not [t for t in GRAPH[name] if _within(t, SERVICES)]


def test_lookup_and_gates_do_not_import_each_other():
    for name, targets in GRAPH.items():
        if _within(name, ["featurestore.lookup"]):
            assert not [t for t in targets if _within(t, ["featurestore.gates"])], name
        if _within(name, ["featurestore.gates"]):
            assert not [t for t in targets if _within(t, ["featurestore.lookup"])], name


def test_only_the_cli_imports_the_catalog_site():
    """The catalog site reads every layer below it; nothing but its command reads it, so
    the lookup serves the site's folder without knowing how it is made."""
    importers = {name for name, targets in GRAPH.items()
                 if not _within(name, ["featurestore.apps.catalog_site"])
                 and any(_within(t, ["featurestore.apps.catalog_site"]) for t in targets)}
    assert importers == {"featurestore.apps.cli.catalog"}


def test_command_modules_do_not_import_the_cli_root():
    for name, targets in GRAPH.items():
        if name.startswith("featurestore.apps.cli."):
            assert "featurestore.apps.cli" not in targets, name


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not _within(n,
                                                                            ["featurestore.apps.cli"])))
def test_only_the_cli_knows_click(name):
    source = MODULES[name].read_text()
    assert "import click" not in source and "from click" not in source


# The few other touches of the environment, each for a reason of its own.
ENVIRONMENT_USES = {
    "featurestore.apps.cli": "os.environ.setdefault(",  # dbt's and GX's telemetry off
    "featurestore.gates.gx": "os.environ.setdefault(",  # GX's telemetry off
    "featurestore.dbt_runner": "os.environ",  # sets dbt's env_var() values for one run
    "featurestore.project": "os.environ.get(PROJECT_DIR_VARIABLE)",  # which project
    "featurestore.lookup.handler": 'os.environ.get("AWS_LAMBDA_FUNCTION_NAME")',  # cold start
    # DuckDB's allocator reads its settings when DuckDB loads, before any SQL can set them
    "featurestore.dialects.duckdb": "os.environ.setdefault(ALLOCATOR_VARIABLE",
}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n != "featurestore.settings"))
def test_only_settings_read_the_environment(name):
    reads = [line.strip() for line in MODULES[name].read_text().splitlines()
             if "os.environ" in line or "os.getenv" in line]
    allowed = ENVIRONMENT_USES.get(name)
    assert [r for r in reads if allowed is None or allowed not in r] == [], (
        f"{name} reads the environment itself; take the value from Settings")


# -- the document's table ----------------------------------------------------------------
def _outside_parentheses(text: str) -> str:
    kept, depth = [], 0
    for char in text:
        depth += char == "("
        if not depth:
            kept.append(char)
        depth -= char == ")" and depth > 0
    return "".join(kept)


def _table() -> list[tuple[str, list[str], list[str]]]:
    """(layer, folders, entries) per row of docs/architecture.md's layer table, top
    first; entries are the files and packages named outside parentheses."""
    lines = (REPO / "docs" / "architecture.md").read_text().splitlines()
    start = lines.index("| layer | folders | modules |") + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        layer, folders, modules = (cell.strip() for cell in line.strip("|").split("|"))
        rows.append((layer, re.findall(r"`([\w/]+/)`", folders),
                     re.findall(r"`([\w./]+(?:\.py|/))`", _outside_parentheses(modules))))
    return rows


TABLE = _table()


def _row_of(path: Path) -> int:
    """The table row a source file belongs to: its folder's, or, in a folder several rows
    share, the row that names its top-level file or package."""
    relative = path.relative_to(REPO)
    folder = relative.parts[0] + "/"
    rows = [i for i, (_, folders, _) in enumerate(TABLE) if folder in folders]
    if len(rows) == 1:
        return rows[0]
    inner = "/".join(relative.parts[1:])  # a file a row names inside a package goes there
    entry = inner if any(inner in TABLE[i][2] for i in rows) else (
        relative.parts[1] + ("/" if len(relative.parts) > 2 else ""))
    named = [i for i in rows if entry in TABLE[i][2]]
    assert len(named) == 1, (f"{relative}: docs/architecture.md's layer table names "
                             f"`{entry}` in {len(named)} rows of `{folder}`; name it in one")
    return named[0]


def test_the_table_names_what_the_tree_holds():
    for layer, folders, entries in TABLE:
        assert folders, f"row {layer}: no folder"
        for folder in folders:
            assert (REPO / folder).is_dir(), f"row {layer}: no folder {folder}"
        shared = [f for f in folders if sum(f in row[1] for row in TABLE) > 1]
        for entry in entries:
            if shared:
                assert any((REPO / f / entry).exists() for f in shared), (
                    f"row {layer}: `{entry}` is not in {shared}")
    rows = {name: _row_of(path) for name, path in MODULES.items()}
    assert [layer for layer, _, _ in TABLE] == ["applications", "services", "core",
                                                "warehouse", "online layer", "foundations"]
    assert rows["featurestore.apps.cli"] == 0 and rows["featurestore.settings"] == 5


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n != FACE))
def test_imports_follow_the_rows_of_the_table(name):
    """A module imports its own row or rows below it (the face alone reaches up, for
    ``FeatureStore``)."""
    row = _row_of(MODULES[name])
    above = sorted(f"{target} ({TABLE[_row_of(MODULES[target])][0]})"
                   for target in GRAPH[name] if _row_of(MODULES[target]) < row)
    assert not above, f"{name} ({TABLE[row][0]}) imports a layer above it: {above}"
