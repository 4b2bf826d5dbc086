"""Hostile text for the property tests of contract strings: pieces that mean something to
SQL, Jinja, YAML, a terminal or an encoder, mixed with arbitrary characters.

Shared by tests/core (loading, generation, dbt) and tests/gates (the quality gate's SQL).
Two canaries stand for "something ran": a file that a `copy ... to` would create, and an
environment variable whose value must never reach dbt's output.
"""

from __future__ import annotations

import functools
import re
import tempfile
import unicodedata
from pathlib import Path

import sqlglot
import yaml
from hypothesis import strategies as st
from sqlglot import exp

CANARY_DIR = Path(tempfile.mkdtemp(prefix="featurestore-canary-"))
CANARY_FILE = CANARY_DIR / "pwned.csv"
CANARY_VAR = "FEATURESTORE_TEST_CANARY"
CANARY_VALUE = "canary-value-8c1f0e"

FRAGMENTS = [
    # SQL: quotes, escapes, comments, statement ends, a payload that writes a file
    "'", "''", '"', "\\", "\\'", "\\\\", "--", "/*", "*/", ";", "$$", "%", "_",
    "x') or true or ('", f"'); copy (select 42) to '{CANARY_FILE}'; --",
    f"\\'); copy (select 42) to '{CANARY_FILE}'; --",
    # Jinja: every delimiter, and calls dbt would run (with and without braces)
    "{{", "}}", "{%", "%}", "{#", "#}", "{", "}", f"{{{{ env_var('{CANARY_VAR}') }}}}",
    f"env_var('{CANARY_VAR}')", f"{{% do env_var('{CANARY_VAR}') %}}", "{% raw %}",
    "{% endraw %}",
    # YAML: indicators, tags, anchors, and words it would read as other types
    ": ", "- ", "# ", "&a ", "*a", "!!python/object:os.system", "? ", "|", ">", "null",
    "~", "yes", "1e3", "0x1F", "@", "`",
    # terminal and encoding: control characters, line separators, lone surrogates,
    # a byte-order mark, right-to-left override, non-ASCII
    "\n", "\r", "\r\n", "\t", "\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\u2028",
    "\ud800", "\udcff", "\ufeff", "\u202e", "é", "日本", "😀",
]

hostile_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), min_size=1, max_size=6,
).map("".join)

# The same without what contracts refuse in one-line text (control characters, line
# and paragraph separators, lone surrogates): text a contract keeps, to the letter.
_REFUSED = ("Cc", "Cs", "Zl", "Zp")
kept_text = st.lists(
    st.one_of(
        st.sampled_from([f for f in FRAGMENTS
                         if not any(unicodedata.category(c) in _REFUSED for c in f)]),
        st.text(st.characters(blacklist_categories=_REFUSED), max_size=3)),
    min_size=1, max_size=6,
).map("".join)


def yaml_quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (escapes for what cannot be written raw)."""
    return yaml.safe_dump(text, default_style='"', width=10**9, allow_unicode=True).strip()


def snowflake_string(sql: str) -> str:
    """The string value sqlglot's Snowflake dialect reads from ``sql`` (a literal, or
    literals and chr() joined by ||); AssertionError for anything else."""
    statements = sqlglot.parse(f"select {sql}", read="snowflake")
    assert len(statements) == 1, f"{sql!r} is more than one statement"
    (expression,) = statements[0].expressions
    return _string_of(expression)


def _string_of(node: exp.Expression) -> str:
    if isinstance(node, exp.Paren):
        return _string_of(node.this)
    if isinstance(node, exp.Literal) and node.is_string:
        return node.this
    if isinstance(node, exp.DPipe):
        return _string_of(node.this) + _string_of(node.expression)
    if isinstance(node, exp.Chr):
        (code,) = node.expressions
        return chr(int(code.this))
    raise AssertionError(f"not a string expression: {node!r}")


@functools.cache
def _duckdb():
    import duckdb

    return duckdb.connect()  # in memory; one for the session (a connection costs 15 ms)


@functools.cache
def _fakesnow():
    """A fakesnow connection (Snowflake's connector over an in-memory DuckDB: statements
    read by sqlglot's Snowflake dialect), made without patching the connector."""
    from fakesnow.instance import FakeSnow

    return FakeSnow().connect(database="DB", schema="S")


# fakesnow replaces Snowflake session variables ($name) anywhere in a statement's text,
# string literals included, which Snowflake does not: such text is not run there
FAKESNOW_VARIABLE = re.compile(r"(?<![\$\w])\$(?!\d+)\w+")


def fakesnow_string(sql: str) -> str | None:
    """The value fakesnow computes for ``sql`` (a string expression, Snowflake's way);
    None when fakesnow would read a ``$name`` in it as a session variable."""
    if FAKESNOW_VARIABLE.search(sql):
        return None
    import warnings

    with warnings.catch_warnings():  # fakesnow's note on Arrow copies
        warnings.simplefilter("ignore", UserWarning)
        (value,) = _fakesnow().cursor().execute(f"select {sql}").fetchone()
    assert not CANARY_FILE.exists(), f"{sql!r} wrote {CANARY_FILE}"
    return value


def duckdb_string(sql: str) -> str:
    """The value DuckDB computes for ``sql`` (a string expression); the canary file must
    not exist afterwards."""
    (value,) = _duckdb().execute(f"select {sql}").fetchone()
    assert not CANARY_FILE.exists(), f"{sql!r} wrote {CANARY_FILE}"
    return value
