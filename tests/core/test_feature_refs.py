"""The one parser of feature references (featurestore/feature_refs.py): `view`,
`view:feature`, `view@v2` and `view@v2:feature`, over generated names, hostile text
included. The training sets, the lookup (its requests and its API keys' `shadow`) and
the catalog all parse with it, so what holds here holds for each of them."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from featurestore.contracts import MAX_VERSION
from featurestore.errors import RequestError
from featurestore.feature_refs import FeatureRef, parse_view_version
from tests.hostile_text import hostile_text

PROPERTY = settings(max_examples=300, deadline=None, database=None)
names = st.from_regex(r"[a-z][a-z0-9_]{0,40}", fullmatch=True)
versions = st.integers(1, MAX_VERSION)
# a part of a reference as a user may write it: no `:` (it ends the view part), no `@`
# in a view, and no space at its ends (spaces around the parts are not part of them)
view_text = hostile_text.filter(lambda t: ":" not in t and "@" not in t
                                and t == t.strip() and t != "")
feature_text = hostile_text.filter(lambda t: t == t.strip() and t != "")


@PROPERTY
@given(view=names, feature=st.none() | names, version=st.none() | versions,
       pad=st.sampled_from(["", " ", "\t", "  \n"]))
def test_a_written_reference_parses_back_to_its_parts(view, feature, version, pad):
    text = view + (f"@v{version}" if version is not None else "") + (
        f":{feature}" if feature is not None else "")
    expected = FeatureRef(view, feature, version)
    assert FeatureRef.parse(text) == expected
    assert FeatureRef.parse(f"{pad}{text}{pad}") == expected
    assert str(expected) == text


@PROPERTY
@given(view=view_text, feature=feature_text, version=st.none() | versions)
@example(view="user_transactions", feature="a:b@v2", version=2)
@example(view="'; drop table x; --", feature="{{ env_var('X') }}", version=None)
def test_hostile_names_stay_names(view, feature, version):
    """Whatever the names hold, the parts come back whole: the view up to `@` or the
    first `:`, the feature everything after that `:` (a `:` or `@` in it included)."""
    pin = f"@v{version}" if version is not None else ""
    ref = FeatureRef.parse(f"{view}{pin}:{feature}")
    assert (ref.view, ref.feature, ref.version) == (view, feature, version)


@PROPERTY
@given(text=hostile_text | st.from_regex(r"[ a-z]{0,3}@ ?v?[0-9 ]{0,12}(:.{0,3})?",
                                         fullmatch=True))
@example(text="view@v2147483648:f")
@example(text="view@v0:f")
@example(text="view@v02:f")
@example(text="view@2:f")
def test_any_text_is_a_reference_or_one_clear_error(text):
    """Parsing never fails otherwise than with a RequestError of one printable line that
    quotes at most 120 characters of the input; a reference parsed writes back to text
    that parses to it again."""
    try:
        ref = FeatureRef.parse(text)
    except RequestError as exc:
        message = str(exc)
        assert message.isprintable() and len(message) < 400
        assert "a version is written `@v` and a whole number from 1 to 2147483647" in message
        return
    assert FeatureRef.parse(str(ref)) == ref
    if ref.version is not None:
        assert 1 <= ref.version <= MAX_VERSION


def _is_view_version(text: str) -> bool:
    """The oracle: a lowercase ASCII name, `@v`, a whole number without a leading zero
    that fits a version; nothing else, no space."""
    found = re.fullmatch(r"[a-z][a-z0-9_]*@v([1-9][0-9]*)", text, flags=re.ASCII)
    return found is not None and int(found.group(1)) <= MAX_VERSION


@PROPERTY
@given(text=hostile_text | st.from_regex(r"[ a-zA-Z0-9_é]{0,6}@[ v]?[0-9]{0,11}(:[a-z]{0,2})?",
                                         fullmatch=True))
@example(text="user_transactions@v2")
@example(text="user_transactions@v2\n")
@example(text=" user_transactions@v2")
@example(text="user_transactions@v2:txn_count_7d")
@example(text="User_transactions@v2")
@example(text="1view@v2")
@example(text="view@v2147483647")
@example(text="view@v2147483648")
def test_a_view_version_is_exactly_view_at_vn(text):
    """What an API key may name as its `shadow` (lookup/access.py) and nothing else."""
    try:
        ref = parse_view_version(text)
    except RequestError as exc:
        assert not _is_view_version(text), text
        assert str(exc).endswith(": name a view version, like `user_transactions@v2`") or (
            "a version is written `@v`" in str(exc))
        return
    assert _is_view_version(text), text
    assert str(ref) == text and ref.feature is None


@pytest.mark.parametrize(("shadow", "loads"), [
    (["user_transactions@v2"], True),
    (["user_transactions@v2", "merchant_risk@v10"], True),
    (["user_transactions@v2 "], False),
    (["user_transactions"], False),
    (["user_transactions@v2:txn_count_7d"], False),
    (["user_transactions@v0"], False),
    (["User_Transactions@v2"], False),
    (["user_transactions@v2\u2028"], False),
    ([2], False),
])
def test_an_api_key_shadow_is_checked_by_the_parser(shadow, loads):
    import json

    from featurestore.errors import ProjectError
    from featurestore.lookup.access import AccessPolicy, hash_key

    config = json.dumps({"keys": [{"name": "k", "sha256": hash_key("k"),
                                   "sensitivities": ["public"], "shadow": shadow}]})
    if loads:
        policy = AccessPolicy.from_config(config, "api_keys.json")
        assert policy.grants[hash_key("k")].shadow == tuple(shadow)
        return
    with pytest.raises(ProjectError) as caught:
        AccessPolicy.from_config(config, "api_keys.json")
    assert str(caught.value) == ('api_keys.json, keys[0], field `shadow`: expected a list '
                                 'of view versions like ["user_transactions@v2"]')
