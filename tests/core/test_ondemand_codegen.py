"""The lookup's generated function per expression (featurestore/ondemand/codegen.py):
the same value as evaluate.py's closures for every drawn expression and row (the
closures are the reference tests/core/test_ondemand_parity.py holds against every
warehouse), and no text of the expression ever reaches the generated source: hostile
input names and string literals are data, and nothing they spell runs."""

from __future__ import annotations

import datetime as dt
import io
import re
import tokenize

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from featurestore.errors import ContractError, RequestError
from featurestore.ondemand import compile_expression, from_tree
from featurestore.ondemand.codegen import compile_function, compile_functions, source_of
from featurestore.ondemand.evaluate import compile_node
from featurestore.ondemand.nodes import Node
from tests.ondemand_cases import INPUTS, expressions, rows

# every name the generated source may hold: its own, k<n> constants, t<n> temporaries, c<n> inputs
OWN_NAMES = {"def", "evaluate", "row", "get", "return", "None", "True", "False", "if", "else",
             "is", "not", "or", "and", "in", "isfinite", "float", "UTC", "replace", "tzinfo",
             "astimezone", "abs", "trunc", "copysign", "sqrt", "log", "log10", "zone", "year",
             "month", "day", "hour", "minute", "second", "isoweekday"}
OWN_NUMBERS = {"0", "0.0", "0.5", "1.0"}
GENERATED = re.compile(r"[ktc][0-9]+")
CANARY: list = []  # a payload that ran would append here


def _assert_only_generated_text(source: str) -> None:
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        assert token.type != tokenize.STRING, source
        assert token.type != tokenize.COMMENT, source
        if token.type == tokenize.NAME:
            assert token.string in OWN_NAMES or GENERATED.fullmatch(token.string), token
        if token.type == tokenize.NUMBER:
            assert token.string in OWN_NUMBERS, token


def _outcome(fn, row):
    try:
        return "value", repr(fn(row))
    except (RequestError, ValueError, OverflowError, TypeError) as exc:
        return "error", type(exc).__name__


# the zone input: IANA names, NULL, and text that is not a zone (a RequestError, raised
# where and only where the closures raise it)
zones = st.one_of(st.none(), st.sampled_from(["Europe/Paris", "Asia/Kolkata", "UTC"]),
                  st.sampled_from(["Mars/Olympus", "../etc/passwd", "", "Europe//Paris"]))


@settings(max_examples=400, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(drawn=st.lists(expressions(), min_size=1, max_size=3),
       batch=st.lists(rows, min_size=5, max_size=5),
       zone_values=st.lists(zones, min_size=5, max_size=5))
def test_the_generated_functions_equal_the_closures(drawn, batch, zone_values):
    """Each expression's function, and the one function of all of them (the lookup's,
    per on-demand view), give what the closures give, or raise what they raise."""
    trees = [compile_expression(text, INPUTS).tree for _, text in drawn]
    source, _ = source_of(*trees)
    _assert_only_generated_text(source)
    together = compile_functions(trees)
    for row, zone in zip(batch, zone_values, strict=True):
        row = {**row, "z": zone}
        expected = [_outcome(compile_node(tree), row) for tree in trees]
        assert [_outcome(compile_function(tree), row) for tree in trees] == expected, (
            drawn, row)
        assert _outcome(together, row) == _together(expected), (drawn, row, source)


def _together(expected: list) -> tuple:
    """What the one function of several expressions gives: the first error, or the
    tuple of the values (as ``repr`` shows it)."""
    for kind, shown in expected:
        if kind == "error":
            return kind, shown
    shown = [value for _, value in expected]
    return "value", f"({shown[0]},)" if len(shown) == 1 else f"({', '.join(shown)})"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


PAYLOADS = ["__import__('tests.core.test_ondemand_codegen').core.test_ondemand_codegen"
            ".CANARY.append(1)", "'); CANARY.append(1); ('", '"); CANARY.append(1) #',
            "\n    CANARY.append(1)\n", "k0", "t1", "get", "row", "None", "__builtins__",
            "\\", "'''", '"""', "{0}", "%s", "\x00", "é\u2028\u0085"]
hostile = st.one_of(st.sampled_from(PAYLOADS), st.text(min_size=1, max_size=30))


@settings(max_examples=300, deadline=None, database=None)
@given(name=hostile.filter(lambda n: n.strip() and "\x00" not in n),
       other=hostile.filter(lambda n: n.strip() and "\x00" not in n),
       literal=hostile.filter(lambda n: "\x00" not in n), value=st.text(max_size=5))
def test_hostile_names_and_literals_are_data(name, other, literal, value):
    """Input names and string literals full of Python are read as data: the values come
    out right, the generated source holds only its own names, and no payload runs."""
    if name == other:
        other += "_"
    inputs = {name: "string", other: "float64"}
    text = (f"case when {_ident(name)} = {_literal(literal)} then {_literal(literal)} "
            f"else concat({_ident(name)}, {_literal(literal)}) end")
    try:
        expression = compile_expression(text, inputs)
        amount = compile_expression(f"{_ident(other)} * 2", inputs)
    except ContractError:  # a name the checker refuses (none seen so far)
        assume(False)
    for checked in (expression, amount):
        _assert_only_generated_text(source_of(checked.tree)[0])
    assert expression.evaluate({name: value}) == (
        literal if value == literal else value + literal)
    assert expression.evaluate({name: literal}) == literal
    assert expression.evaluate({}) is None
    assert amount.evaluate({other: 1.5}) == 3.0
    rebuilt = from_tree(text, expression.tree.to_dict())  # as a registry snapshot holds it
    assert rebuilt.evaluate({name: value}) == expression.evaluate({name: value})
    assert CANARY == []


def test_a_snapshot_tree_with_an_unknown_operation_or_unit_is_refused_not_run():
    """A registry snapshot is read back without the checker: an operation or a date part
    outside the vocabulary is a KeyError on load (as the closures give), never source."""
    column = {"op": "col", "dtype": "string", "value": "s"}
    for tree in ({"op": "__import__('os')", "dtype": "string", "args": [column]},
                 {"op": "date_part", "dtype": "int64", "value": ["hour; CANARY.append(1)"],
                  "args": [{"op": "col", "dtype": "timestamp", "value": "t"}]}):
        with pytest.raises(KeyError):
            compile_function(Node.from_dict(tree))
        with pytest.raises(KeyError):
            compile_node(Node.from_dict(tree))
    assert CANARY == []


def test_a_tree_too_deep_to_compile_falls_back_to_the_closures():
    text = "f1" + " + 1" * 300  # a left-deep sum: too many parentheses for the parser
    expression = compile_expression(text, {"f1": "float64"})
    assert expression.evaluate({"f1": 0.5}) == 300.5
    assert expression.evaluate({"f1": None}) is None


def test_the_generated_function_reads_each_kind_of_input():
    paris = dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    hour = compile_expression("date_part('hour', t1, z)", INPUTS)
    assert hour.evaluate({"t1": paris, "z": "Asia/Kolkata"}) == 13
    assert hour.evaluate({"t1": dt.datetime(2026, 7, 1, 8, 0), "z": "UTC"}) == 8
    with pytest.raises(RequestError, match="unknown time zone"):
        hour.evaluate({"t1": paris, "z": "Mars/Olympus"})
    rounded = compile_expression("round(ln(f1 + 1), 3) + sqrt(f2) + log10(f1)", INPUTS)
    assert rounded.evaluate({"f1": 100.0, "f2": 4.0}) == 4.615 + 2.0 + 2.0
    assert rounded.evaluate({"f1": -0.5, "f2": 4.0}) is None  # log10 of a negative


def test_a_date_part_in_a_literal_zone_keeps_the_last_instant_and_nothing_else():
    """The part of the last instant is kept (the keys of a batch often share one): the
    same object again reads it, any other instant (equal or not, naive or aware) is
    converted, and the values are the closures' whatever the order."""
    text = "date_part('hour', t1, 'Europe/Paris') + date_part('minute', t1, 'Asia/Kolkata')"
    expression = compile_expression(text, INPUTS)
    reference = compile_node(expression.tree)
    noon = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)
    same_instant = noon.astimezone(dt.timezone(dt.timedelta(hours=-3)))
    winter = dt.datetime(2026, 1, 15, 23, 45)  # naive: UTC
    rows = [noon, noon, same_instant, winter, noon, winter, winter, None, noon]
    assert [expression.evaluate({"t1": t}) for t in rows] == [
        reference({"t1": t}) for t in rows] == [44, 44, 44, 15, 44, 15, 15, None, 44]
