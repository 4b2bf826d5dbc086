"""What differs between warehouses lives on the dialect classes (featurestore/dialects/),
as sqlglot keeps it: no module outside them compares a target's name or keeps a list of
the warehouses, and the facts the classes hold agree with the dtypes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from featurestore.dialects import NAMES, for_target
from featurestore.dtypes import DTYPES, accepts

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("featurestore", "sync", "lookup", "gates", "apps")
DIALECTS = REPO / "featurestore" / "dialects"
# Files still allowed a list of dialect names, each with the reason.
ALLOWED_LISTS = {
    # the macro bodies' prefixes (duckdb__, snowflake__, spark__, default__) it renders;
    # its macros are being rewritten to dispatch all the way down this session
    "featurestore/sql_render.py",
}


def _is_name(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value in NAMES


def _names_in(node: ast.AST) -> int:
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return sum(_is_name(element) for element in node.elts)
    if isinstance(node, ast.Dict):
        return sum(key is not None and _is_name(key) for key in node.keys)
    return 0


def dialect_branches(source: str) -> list[tuple[int, str]]:
    """(line, what) of every place ``source`` tells warehouses apart by their names: a
    comparison with a name (``==``, ``!=``, ``in``; also a name within a tuple compared
    against), a ``case "snowflake":``, or a literal list (tuple, set, dict keys) of
    two or more names."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_is_name(op) or _names_in(op) for op in operands):
                found.append((node.lineno, "compares a dialect name"))
        elif isinstance(node, ast.MatchValue) and _is_name(node.value):
            found.append((node.lineno, "matches a dialect name"))
        elif _names_in(node) >= 2:
            found.append((node.lineno, "lists dialect names"))
    return found


def _product_files() -> list[Path]:
    files = []
    for folder in PRODUCT:
        files += [p for p in sorted((REPO / folder).rglob("*.py"))
                  if DIALECTS not in p.parents and ".venv" not in p.parts]
    return files


def test_no_module_outside_the_dialects_tells_warehouses_apart_by_name():
    found = []
    for path in _product_files():
        relative = path.relative_to(REPO).as_posix()
        for line, what in dialect_branches(path.read_text()):
            if what == "lists dialect names" and relative in ALLOWED_LISTS:
                continue
            found.append(f"{relative}:{line}: {what}")
    assert found == [], ("ask the dialect object (featurestore/dialects/) instead:\n"
                         + "\n".join(found))


@pytest.mark.parametrize("source, expected", [
    ('if target.type == "snowflake":\n    pass\n', [(1, "compares a dialect name")]),
    ('ok = kind in ("duckdb", "spark")\n',
     [(1, "compares a dialect name"), (1, "lists dialect names")]),
    ('match kind:\n    case "spark":\n        pass\n', [(2, "matches a dialect name")]),
    ('EXTRAS = {"snowflake": 1, "spark": 2}\n', [(1, "lists dialect names")]),
    ('name = "spark"  # one name, not compared: a value\n', []),
    ('if dialect.name == other.name:\n    pass\n', []),
])
def test_the_check_finds_a_branch_on_a_dialect_name(source, expected):
    assert dialect_branches(source) == expected


@pytest.mark.parametrize("name", NAMES)
def test_each_dialect_names_a_type_for_every_dtype_that_holds_it(name):
    dialect = for_target(name)
    assert dialect.name == name
    for dtype in DTYPES:
        assert accepts(dtype, dialect.type_name(dtype)), (name, dtype)
        assert accepts(dtype, DTYPES[dtype].portable), dtype


@pytest.mark.parametrize("name", NAMES)
def test_each_dialects_timezone_aware_types_are_timestamps(name):
    assert for_target(name).tz_timestamp_types <= DTYPES["timestamp"].accepts


def test_type_names_as_each_warehouse_stores_them():
    assert {name: [for_target(name).type_name(d) for d in DTYPES] for name in NAMES} == {
        "duckdb": ["BIGINT", "DOUBLE", "VARCHAR", "BOOLEAN", "TIMESTAMP"],
        "snowflake": ["NUMBER(38,0)", "FLOAT", "VARCHAR", "BOOLEAN", "TIMESTAMP_NTZ"],
        "spark": ["BIGINT", "DOUBLE", "STRING", "BOOLEAN", "TIMESTAMP_NTZ"],
    }


def test_an_unknown_target_names_the_ones_featurestore_runs_on():
    from featurestore.errors import ProjectError

    with pytest.raises(ProjectError) as error:
        for_target("postgres")
    assert str(error.value) == ("no warehouse dialect for target 'postgres'; use duckdb, "
                                "snowflake or spark.")
