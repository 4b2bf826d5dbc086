"""Contract text reaches SQL, Jinja and generated YAML as text, or not at all.

Hostile strings (tests/hostile_text.py) go into every string field of a contract: the
view's and each feature's description, the owner, a tag, an allowed value, a string
default and the entity's description. Loading either refuses them with a located error
(file:line, field) or keeps them, and then every generated form of them (dbt's rendering
of the schema YAML, the defaults in the contracts macro, the literals of the generic test
and of the quality gate, per warehouse) gives back exactly the same text, with nothing
run on the way: no env_var, no macro, no SQL statement. tests/core/test_contract_text_dbt.py
proves the same under a real `dbt build`.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from featurestore import sql_render
from featurestore.contracts import load_catalog, text_problem
from featurestore.dialects import for_target
from featurestore.dialects.base import Dialect
from featurestore.dtypes import sql_literal
from featurestore.errors import ContractError
from featurestore.generate import contracts_macro, contracts_schema, dbt_text
from tests.conftest import REPO_ROOT
from tests.hostile_text import (
    duckdb_string,
    fakesnow_string,
    hostile_text,
    kept_text,
    snowflake_string,
    yaml_quoted,
)

FIELDS = ("entity_description", "owner", "view_description", "tag", "default", "allowed",
          "feature_description")

ENTITIES = """\
entities:
  - name: user
    join_keys:
      - {{name: user_id, dtype: int64}}
    description: {entity_description}
"""

VIEW = """\
name: hostile
version: 1
entity: user
source: fs_user__hostile
timestamp: feature_ts
ttl: 30d
owner: {owner}
description: {view_description}
tags: [fraud, {tag}]
features:
  - name: channel
    dtype: string
    default: {default}
    sensitivity: internal
    allowed_values: [web, {allowed}]
    description: {feature_description}
"""
REQUIRED = ("owner", "view_description", "feature_description")  # empty: missing
LINES = {"entity_description": 5, "owner": 7, "view_description": 8, "tag": 9,
         "default": 13, "allowed": 15, "feature_description": 16}


def write_contracts(folder: Path, values: dict[str, str], raw: str | None = None) -> Path:
    """feature_defs/ with ``values`` in their fields, double-quoted; the field ``raw`` is
    written as it is instead (its UTF-8 bytes; a lone surrogate as the invalid bytes
    that would encode it)."""
    texts = {name: (values[name] if name == raw else yaml_quoted(values[name])) for name in FIELDS}
    defs = folder / "feature_defs"
    defs.mkdir(parents=True, exist_ok=True)
    for name, template in (("entities.yml", ENTITIES), ("hostile.yml", VIEW)):
        (defs / name).write_bytes(template.format(**texts).encode("utf-8", "surrogatepass"))
    return defs


# -- what dbt does with the generated YAML, done with dbt's own functions -------------
class Canary:
    """A Jinja context whose every callable records that it was called."""

    def __init__(self):
        self.calls: list[str] = []

    def context(self) -> dict:
        def called(name):
            return lambda *args, **kwargs: self.calls.append(f"{name}{args}") or "CALLED"

        names = ("env_var", "var", "ref", "source", "doc", "run_query", "log", "return")
        return {name: called(name) for name in names}


def dbt_render(text: str, canary: Canary, *, native: bool) -> object:
    """``text`` as dbt renders a description (native=False) or a config value such as
    ``meta`` (native=True)."""
    from dbt.clients.jinja import get_rendered

    return get_rendered(text, canary.context(), native=native)


def dbt_test_arguments(arguments: dict, canary: Canary) -> dict:
    """A generic test's arguments as dbt renders them at compile time (it wraps a bare
    ``env_var(...)`` in ``{{ }}`` itself, then renders natively)."""
    from dbt.clients.jinja import GENERIC_TEST_KWARGS_NAME, add_rendered_test_kwargs

    context = canary.context()
    node = SimpleNamespace(test_metadata=SimpleNamespace(kwargs=arguments))
    add_rendered_test_kwargs(context, node)
    return context[GENERIC_TEST_KWARGS_NAME]


# -- the contracts macro and the Jinja literal macro, rendered with plain jinja2 -------
class _Returned(Exception):
    def __init__(self, value):
        self.value = value


def _return(value):
    raise _Returned(value)


@functools.lru_cache(maxsize=4)
def _module(source: str):
    env = jinja2.Environment(extensions=["jinja2.ext.do"], undefined=jinja2.StrictUndefined)
    namespace = SimpleNamespace()  # `featurestore.<macro>`: the module's own macros
    module = env.from_string(source).make_module({
        "return": _return, "fromjson": json.loads,
        "featurestore": namespace, "exceptions": SimpleNamespace(),
    })
    namespace.__dict__.update({name: getattr(module, name) for name in dir(module)
                               if not name.startswith("_")})
    return module


def call_macro(source: str, name: str, *args, **kwargs):
    """Call macro ``name`` of ``source`` as dbt would (``return`` hands its value back)."""
    try:
        output = getattr(_module(source), name)(*args, **kwargs)
    except _Returned as returned:
        return returned.value
    return str(output)


WAREHOUSES = ("duckdb", "snowflake", "spark")


def jinja_literal(value: object, dialect: str) -> str:
    """What the generic tests' ``featurestore_literal`` writes on ``dialect``'s adapter
    (dbt's dispatch, as featurestore/sql_render.py does it)."""
    return sql_render.dispatch(dialect, "featurestore_literal")(value)


# -- the properties ------------------------------------------------------------------
def assert_located(error: ContractError, line: int | None = None) -> None:
    assert error.path.startswith("feature_defs/") and error.path.endswith(".yml")
    assert error.line is not None, str(error)
    if line is not None:
        assert error.line == line, str(error)
    assert str(error).startswith(f"{error.path}:{error.line}")
    assert "\n" not in str(error) and str(error).isprintable(), repr(str(error))


def assert_generated_files_keep(catalog) -> None:
    """Every generated form of the contract's text is that text, and nothing ran."""
    view = catalog.views["hostile"]
    feature = view.feature("channel")
    canary = Canary()

    schema = yaml.safe_load(contracts_schema(catalog))
    (model,) = schema["models"]
    keys = ", ".join(view.keys)
    assert dbt_render(model["description"], canary, native=False) == (
        f"{view.description} One row per {keys} per {view.timestamp}.")
    owner = model["config"]["meta"]["featurestore"]["owner"]
    assert dbt_render(owner, canary, native=True) == view.owner
    (column,) = [c for c in model["columns"] if c["name"] == "channel"]
    assert dbt_render(column["description"], canary, native=False) == feature.description
    (test,) = [t for t in column["data_tests"] if "featurestore.allowed_values" in t]
    arguments = test["featurestore.allowed_values"]["arguments"]
    assert dbt_test_arguments(arguments, canary)["values"] == list(feature.allowed_values)
    assert canary.calls == []

    spec = call_macro(contracts_macro(catalog), "featurestore_contracts")["hostile"]
    (default_sql,) = [f["default_sql"] for f in spec["features"] if f["name"] == "channel"]
    assert duckdb_string(default_sql) == feature.default
    assert snowflake_string(default_sql) == feature.default

    for value in feature.allowed_values:
        for warehouse in WAREHOUSES:
            assert jinja_literal(value, warehouse) == for_target(warehouse).literal(
                "string", value)
        assert duckdb_string(jinja_literal(value, "duckdb")) == value
        assert snowflake_string(jinja_literal(value, "snowflake")) == value


@st.composite
def field_values(draw) -> dict[str, str]:
    """Text that every field keeps, except (half the time) one field with anything."""
    values = {name: draw(kept_text) for name in FIELDS}
    anything = draw(st.none() | st.sampled_from(FIELDS))
    if anything:
        values[anything] = draw(hostile_text)
    return values


@settings(max_examples=300, deadline=None)
@given(values=field_values())
def test_hostile_text_in_every_field_is_refused_where_it_is_or_kept_exactly(values):
    with tempfile.TemporaryDirectory() as folder:
        defs = write_contracts(Path(folder), values)
        try:
            catalog = load_catalog(defs)
        except ContractError as error:
            # the first field (in file order) whose text no warehouse, YAML and terminal
            # would read alike; an empty text is "missing" at the mapping's line
            bad = [name for name in sorted(FIELDS, key=LINES.get)
                   if text_problem(values[name], multiline=name.endswith("description"))
                   or (name in REQUIRED and values[name] == "")]
            assert bad, f"refused text that is fine: {error}"
            assert_located(error)
            event("refused")
            return
    event("kept")
    view = catalog.views["hostile"]
    assert view.owner == values["owner"].strip()
    assert view.description == values["view_description"].strip()
    assert view.tags == ("fraud", values["tag"])
    assert view.entity.description == values["entity_description"].strip()
    feature = view.feature("channel")
    assert feature.description == values["feature_description"].strip()
    assert feature.default == values["default"]
    assert feature.allowed_values == ("web", values["allowed"])
    assert_generated_files_keep(catalog)


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from(FIELDS), text=hostile_text)
def test_hostile_text_written_raw_is_a_located_error_or_loads(field, text):
    """The text unquoted, as someone would type it: it may break the YAML (a located
    error), change the file's structure, or load; never anything else."""
    values = {name: "plain" for name in FIELDS}
    values[field] = text
    with tempfile.TemporaryDirectory() as folder:
        defs = write_contracts(Path(folder), values, raw=field)
        try:
            catalog = load_catalog(defs)
        except ContractError as error:
            assert error.path.startswith("feature_defs/"), str(error)
            if error.line is None:  # only a missing field, found at no key of its own
                assert "missing the required field" in str(error), str(error)
            event("refused")
            return
    event("loaded")
    if "hostile" in catalog.views and catalog.views["hostile"].features:
        feature = catalog.views["hostile"].features[0]
        if isinstance(feature.default, str) and feature.allowed_values:
            assert_generated_files_keep(catalog)


BYTES = [bytes([b]) for b in [*range(0x00, 0x20), 0x7f, *range(0x80, 0x100)]] + [
    "\x85".encode(), "\u2028".encode(), "\u2029".encode(), b"\xed\xa0\x80",  # a surrogate
]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_control_characters_and_bad_bytes_anywhere_are_located_errors(data):
    """Any byte a file may hold by accident, anywhere in a real contract: a ContractError
    naming the file and the byte's line (tab and line ends are YAML's own business)."""
    original = (REPO_ROOT / "feature_defs" / "user_transactions.yml").read_bytes()
    position = data.draw(st.integers(0, len(original)), label="position")
    inserted = data.draw(st.sampled_from(BYTES), label="inserted")
    with tempfile.TemporaryDirectory() as folder:
        defs = Path(folder) / "feature_defs"
        defs.mkdir()
        shutil.copy(REPO_ROOT / "feature_defs" / "entities.yml", defs)
        (defs / "user_transactions.yml").write_bytes(
            original[:position] + inserted + original[position:])
        try:
            load_catalog(defs)
        except ContractError as error:
            assert error.path == "feature_defs/user_transactions.yml", str(error)
            if inserted not in (b"\t", b"\n", b"\r"):
                assert_located(error, line=original.count(b"\n", 0, position) + 1)
            return
    assert inserted in (b"\t", b"\n", b"\r", b" "), f"{inserted!r} at {position} loaded"


def test_invalid_utf8_names_the_file_line_and_fix(project):
    path = project.feature_defs / "merchant_risk.yml"
    path.write_bytes(path.read_bytes().replace(b"risk-ml", b"risk-\xffml"))
    with pytest.raises(ContractError) as error:
        load_catalog(project.feature_defs)
    assert str(error.value) == ("feature_defs/merchant_risk.yml:10: byte 0xFF is not UTF-8; "
                                "save the file as UTF-8")


def test_a_control_character_names_the_file_line_and_fix(project):
    path = project.feature_defs / "merchant_risk.yml"
    path.write_text(path.read_text().replace("owner: risk-ml", "owner: risk-\x1bml"))
    with pytest.raises(ContractError) as error:
        load_catalog(project.feature_defs)
    assert str(error.value) == ("feature_defs/merchant_risk.yml:10: the control character "
                                "U+001B is not allowed in a contract; remove it")


@pytest.mark.parametrize(("text", "problem"), [
    (r'"risk\tml"', "this field is one line, but it holds a tab (U+0009); remove it"),
    (r'"risk\nml"', "this field is one line, but it holds a line break (U+000A); remove it"),
    (r'"risk\x07ml"', "the control character U+0007 is not allowed in contract text; "
                      "remove it"),
    (r'"risk\ud800"', "U+D800 is a lone surrogate, not Unicode text; remove it"),
])
def test_escaped_control_characters_in_one_line_text_are_refused(project, text, problem):
    path = project.feature_defs / "merchant_risk.yml"
    path.write_text(path.read_text().replace("owner: risk-ml", f"owner: {text}"))
    with pytest.raises(ContractError) as error:
        load_catalog(project.feature_defs)
    assert str(error.value) == f"feature_defs/merchant_risk.yml:10, field `owner`: {problem}"


def test_a_description_may_span_lines(project):
    path = project.feature_defs / "merchant_risk.yml"
    path.write_text(path.read_text().replace(
        "description: Merchant volume and chargeback experience, in event time.",
        "description: |\n  Merchant volume\n  \tand chargebacks."))
    view = load_catalog(project.feature_defs).views["merchant_risk"]
    assert view.description == "Merchant volume\n\tand chargebacks."


def test_a_null_allowed_value_is_refused(project):
    path = project.feature_defs / "user_profile.yml"
    path.write_text(path.read_text().replace("[web, ios, android, partner]",
                                             "[web, ios, null]"))
    with pytest.raises(ContractError) as error:
        load_catalog(project.feature_defs)
    assert str(error.value) == (
        "feature_defs/user_profile.yml:21, field `features.signup_channel.allowed_values`: "
        "allowed value null is not a value: nulls are checked by `max_null_rate`; remove it")


# -- the escaping functions on their own, with many more examples ----------------------
any_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"))


# text a warehouse can hold in a string (no NUL, no lone surrogate), and Spark's variables
sql_text = st.one_of(
    hostile_text.filter(lambda t: not re.search("[\x00\ud800-\udfff]", t)), any_text,
    st.lists(st.sampled_from(["${env:FEATURESTORE_TEST_CANARY}", "${X}", "$", "{", "}",
                              "\\", "'", "\n", "é"]), min_size=1, max_size=6).map("".join))


@settings(max_examples=500, deadline=None)
@given(text=sql_text)
def test_string_literals_mean_the_text_on_every_warehouse(text):
    """Each dialect's literal reads back as the text: DuckDB runs it; Snowflake's is read
    by sqlglot's Snowflake dialect and run by fakesnow. (Spark runs Spark's:
    tests/spark/test_spark_text.py.)"""
    assert duckdb_string(for_target("duckdb").literal("string", text)) == text
    assert duckdb_string(Dialect().literal("string", text)) == text  # the portable bodies
    snowflake = for_target("snowflake").literal("string", text)
    assert snowflake_string(snowflake) == text
    assert fakesnow_string(snowflake) in (text, None)
    # no dialect: one spelling that every warehouse reads alike (generated files serve any
    # target): no backslash (an escape on two of them), no `${` (Spark's variables)
    portable = sql_literal("string", text)
    assert duckdb_string(portable) == text
    assert snowflake_string(portable) == text
    assert fakesnow_string(portable) in (text, None)
    assert "\\" not in portable and "${" not in portable
    assert "${" not in for_target("spark").literal("string", text)


@pytest.mark.parametrize(("dialect", "text", "literal"), [
    ("snowflake", "a\\'b", "'a\\\\''b'"),
    ("duckdb", "a\\'b", "'a\\''b'"),
    ("duckdb", "it's", "'it''s'"),
    ("spark", "a\\'b", "'a\\\\\\'b'"),
    ("spark", "x${env:SECRET}", "'x$\\{env:SECRET}'"),
    (None, "a\\'b", "('a' || chr(92) || '''b')"),
    (None, "x${env:SECRET}", "('x$' || '{env:SECRET}')"),
    (None, "plain", "'plain'"),
])
def test_each_warehouse_escapes_its_own_way(dialect, text, literal):
    assert sql_literal("string", text, dialect and for_target(dialect)) == literal


def test_without_the_doubling_snowflake_reads_an_escape_sequence():
    assert snowflake_string("'a\\nb'") == "a\nb"
    assert fakesnow_string("'a\\nb'") == "a\nb"

@settings(max_examples=1000, deadline=None)
@given(text=st.one_of(hostile_text, st.text()))
def test_dbt_renders_dbt_text_back_to_the_text_and_runs_nothing(text):
    canary = Canary()
    written = dbt_text(text)
    assert dbt_render(written, canary, native=False) == text
    assert dbt_render(written, canary, native=True) == text
    assert dbt_test_arguments({"values": [written]}, canary)["values"] == [text]
    assert canary.calls == []


def test_dbt_text_leaves_plain_text_alone():
    assert dbt_text("Transactions in the 7 days up to feature_ts.") == (
        "Transactions in the 7 days up to feature_ts.")
    assert dbt_text("{{ env_var('X') }}") == "{{ '\\x7b\\x7b env_var(\\x27X\\x27) \\x7d\\x7d' }}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.one_of(kept_text, st.booleans(),
                       st.integers(-(2**63), 2**63 - 1),
                       st.floats(allow_nan=False, allow_infinity=False)))
def test_the_generic_tests_literal_macro_writes_what_sql_literal_writes(value):
    dtype = ("bool" if isinstance(value, bool) else "int64" if isinstance(value, int)
             else "float64" if isinstance(value, float) else "string")
    for dialect in WAREHOUSES:
        assert jinja_literal(value, dialect) == for_target(dialect).literal(dtype, value)
