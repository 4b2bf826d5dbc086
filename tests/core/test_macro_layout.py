"""The macros' layout rules (docs/architecture.md, "The dbt package"), and
featurestore/sql_render.py's dispatch against dbt's.

One macro per file, in folders by kind, none over 250 lines; every warehouse difference
reached through `adapter.dispatch(..., 'featurestore')` with a `default__` for any
other warehouse; no macro takes a dialect name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from featurestore import sql_render
from featurestore.errors import ProjectError
from tests.conftest import REPO_ROOT

MACROS = REPO_ROOT / "macros"
GENERIC_TESTS = REPO_ROOT / "tests" / "dbt" / "generic"
FOLDERS = {"point_in_time", "rolling_windows", "sql", "jinja_helpers", "versions", "generated",
           "dbt_overrides"}
DEFINED = re.compile(r"{%-?\s*(?:macro|test)\s+(\w+)\s*\(([^)]*)\)")
DISPATCHED = re.compile(r"adapter\.dispatch\(\s*'(\w+)'\s*,\s*'featurestore'\s*\)")
PREFIXES = ("default__", "duckdb__", "snowflake__", "spark__")


def _files() -> list[Path]:
    return sorted([*MACROS.rglob("*.sql"), *GENERIC_TESTS.glob("*.sql")])


def _defined(path: Path) -> list[tuple[str, str]]:
    return DEFINED.findall(path.read_text())


def test_macros_live_in_folders_by_kind():
    assert {p.parent.name for p in MACROS.rglob("*.sql")} == FOLDERS
    assert not list(MACROS.glob("*.sql"))


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_one_macro_per_file_named_after_it(path):
    """The file's macro, and only the warehouses' implementations of it beside it."""
    names = [name for name, _ in _defined(path)]
    assert path.stem in names, f"{path.name} defines {names}"
    others = {name for name in names if name != path.stem}
    assert others <= {prefix + path.stem for prefix in PREFIXES}, others
    assert len(path.read_text().splitlines()) <= 250


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_macro_takes_a_dialect_name(path):
    for name, parameters in _defined(path):
        assert "dialect" not in parameters, f"{name}({parameters})"
    assert not re.search(r"dialect\s*(==|!=|\bin\b)", path.read_text())


def test_every_dispatched_macro_has_a_default_implementation():
    dispatched = {name for path in _files() for name in DISPATCHED.findall(path.read_text())}
    defined = {name for path in _files() for name, _ in _defined(path)}
    assert {"featurestore_ident", "featurestore_utc_naive", "featurestore_add_seconds",
            "featurestore_epoch_us", "as_of_join_specs", "rolling_windows"} <= dispatched
    assert sorted(name for name in dispatched if f"default__{name}" not in defined) == []


@pytest.mark.parametrize(("dialect", "name", "expected"), [
    ("duckdb", "featurestore_utc_naive", "duckdb__featurestore_utc_naive"),
    ("snowflake", "featurestore_utc_naive", "snowflake__featurestore_utc_naive"),
    ("spark", "featurestore_utc_naive", "spark__featurestore_utc_naive"),
    ("default", "featurestore_utc_naive", "default__featurestore_utc_naive"),
    ("duckdb", "featurestore_add_seconds", "default__featurestore_add_seconds"),
    ("spark", "featurestore_add_seconds", "default__featurestore_add_seconds"),
    ("snowflake", "featurestore_add_seconds", "snowflake__featurestore_add_seconds"),
    ("snowflake", "featurestore_fail", "default__featurestore_fail"),
])
def test_sql_render_dispatches_as_dbt_does(dialect, name, expected):
    """The adapter's own implementation, else default__ (dbt's search order)."""
    assert sql_render.dispatch(dialect, name).macro is sql_render.macro(dialect, expected).macro


def test_sql_render_spellings_per_dialect():
    assert [sql_render.dispatch(d, "featurestore_ident")('a"b') for d in sql_render.DIALECTS] \
        == ['"a""b"', '"A""B"', "`a\"b`", '"a""b"']
    assert sql_render.dispatch("spark", "featurestore_add_seconds")("ts", 90) == (
        "(ts + interval '90 seconds')")
    assert sql_render.dispatch("snowflake", "featurestore_add_seconds")("ts", 90) == (
        "dateadd('second', 90, ts)")


def test_sql_render_returns_values_and_stops_like_dbt():
    """`return(...)` hands back a value (not text), and a compiler error is the sentence."""
    assert sql_render.dispatch("snowflake", "featurestore_literal")("it's") == "'it''s'"
    assert sql_render.dispatch("spark", "featurestore_literal")("a\\b") == "'a\\\\b'"
    with pytest.raises(ProjectError) as error:
        sql_render.dispatch("duckdb", "featurestore_literal")(None)
    assert str(error.value) == "featurestore_literal: None is not text, a number, true or false."


def test_sql_render_names_a_missing_implementation():
    with pytest.raises(ProjectError) as error:
        sql_render.dispatch("spark", "no_such_macro")
    assert str(error.value) == (
        "In dispatch: no macro named `no_such_macro` for the spark dialect; searched for "
        "spark__no_such_macro, default__no_such_macro.")


def test_sql_render_loads_every_folder_but_generated():
    assert sql_render.macro_files(MACROS) == sorted(
        str(p.relative_to(MACROS)) for p in MACROS.rglob("*.sql")
        if p.relative_to(MACROS).parts[0] != "generated")
