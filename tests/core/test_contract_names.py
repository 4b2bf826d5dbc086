"""Names and numbers a contract may hold: what the warehouse cannot take is refused at
load, with the file, the line, the field and the bound, not later by `training-set`."""

from __future__ import annotations

import datetime as dt
import shutil
from types import SimpleNamespace

import duckdb
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from featurestore.contracts import MAX_VERSION, RESERVED_WORDS, load_catalog
from featurestore.errors import ContractError
from featurestore.generate import view_spec
from featurestore.sql_render import render_as_of_join
from tests.conftest import REPO_ROOT
from tests.core.conftest import edit

KEYWORDS = duckdb.sql("select keyword_name, keyword_category from duckdb_keywords()").fetchall()
ALLOWED_KEYWORDS = sorted(name for name, _ in KEYWORDS if name not in RESERVED_WORDS)
# the reserved words YAML reads as text (`on`, `null`, `true` are no names to begin with)
TEXT_WORDS = sorted(word for word in RESERVED_WORDS if yaml.safe_load(word) == word)

# (file, text to replace, its replacement with {name}, line, field)
NAME_FIELDS = {
    "feature": ("user_transactions.yml", "name: txn_count_1h", "name: {name}", 14,
                "features.{name}.name"),
    "timestamp": ("user_transactions.yml", "timestamp: feature_ts", "timestamp: {name}", 5,
                  "timestamp"),
    "created_timestamp": ("user_transactions.yml", "created_timestamp: loaded_at",
                          "created_timestamp: {name}", 6, "created_timestamp"),
    "source": ("user_transactions.yml", "source: fs_user__transactions", "source: {name}", 4,
               "source"),
    "join key": ("entities.yml", "{name: merchant_id, dtype: int64}",
                 "{{name: {name}, dtype: int64}}", 10, "join_keys.name"),
}


def _set_name(project, where: str, name: str) -> ContractError:
    file, old, new, _, _ = NAME_FIELDS[where]
    edit(project, file, old, new.format(name=name))
    with pytest.raises(ContractError) as error:
        load_catalog(project.feature_defs)
    return error.value


def test_the_duckdb_words_are_those_duckdb_cannot_take_as_a_bare_column_name():
    refused_by_duckdb = {name for name, category in KEYWORDS
                         if category in ("reserved", "type_function")}
    assert refused_by_duckdb <= RESERVED_WORDS
    assert {"order", "select", "true", "null", "left", "asof", "qualify", "minus", "regexp",
            "current_date", "values"} <= RESERVED_WORDS


@settings(max_examples=60, deadline=None)
@given(word=st.sampled_from(TEXT_WORDS), where=st.sampled_from(sorted(NAME_FIELDS)))
def test_a_reserved_word_as_a_name_is_refused_at_its_line(tmp_path_factory, word, where):
    root = tmp_path_factory.mktemp("names")
    shutil.copytree(REPO_ROOT / "feature_defs", root / "feature_defs")
    error = _set_name(SimpleNamespace(feature_defs=root / "feature_defs"), where, word)
    file, _, _, line, field = NAME_FIELDS[where]
    assert str(error) == (
        f"feature_defs/{file}:{line}, field `{field.format(name=word)}`: `{word}` is a "
        f"reserved word of DuckDB or Snowflake SQL, which the generated SQL cannot use as a "
        f"name; rename it, e.g. `{word}_value`")


def test_a_reserved_view_name_is_refused(project):
    path = project.feature_defs / "merchant_risk.yml"
    path.write_text(path.read_text().replace("name: merchant_risk", "name: order"))
    path.rename(project.feature_defs / "order.yml")
    with pytest.raises(ContractError) as error:
        load_catalog(project.feature_defs)
    assert str(error.value).startswith(
        "feature_defs/order.yml:1, field `name`: `order` is a reserved word")


def test_a_view_named_spine_is_refused(project):
    """The as-of join aliases the spine `spine` and each view by its name: they would clash."""
    path = project.feature_defs / "merchant_risk.yml"
    path.write_text(path.read_text().replace("name: merchant_risk", "name: spine"))
    path.rename(project.feature_defs / "spine.yml")
    with pytest.raises(ContractError) as error:
        load_catalog(project.feature_defs)
    assert str(error.value) == (
        "feature_defs/spine.yml:1, field `name`: `spine` is what the training-set join calls "
        "the spine; rename the view (and its file)")


@pytest.mark.parametrize("where", sorted(NAME_FIELDS))
@pytest.mark.parametrize("suffix", ["\n", "\r\n", " \n", "\t"])
def test_a_name_with_a_trailing_newline_or_blank_is_refused(project, where, suffix):
    file, old, new, line, field = NAME_FIELDS[where]
    name = old.split(": ", 1)[1].split(",")[0]
    escaped = (name + suffix).encode("unicode_escape").decode()
    error = _set_name(project, where, f'"{escaped}"')
    field = "features[0].name" if where == "feature" else field
    assert str(error) == (
        f"feature_defs/{file}:{line}, field `{field}`: {name + suffix!r} is not a valid "
        "name: use lowercase letters, digits and underscores, starting with a letter")


def _spec(view: str, key: str, ts: str, features: list[str]) -> dict:
    return {"name": view, "keys": [key], "timestamp": ts, "created_timestamp": None,
            "ttl_seconds": 3 * 86400, "relation": "view_rows",
            "features": [{"name": f, "dtype": "int64", "default_sql": "-1"} for f in features]}


@settings(max_examples=15, deadline=None)
@given(view=st.sampled_from(ALLOWED_KEYWORDS),
       key_and_ts=st.lists(st.sampled_from(ALLOWED_KEYWORDS), min_size=2, max_size=2,
                           unique=True))
def test_every_other_duckdb_keyword_works_as_a_name_in_the_as_of_join(view, key_and_ts):
    """What is not refused is no problem: every DuckDB keyword left as a feature name at
    once, and keywords as the view, the key and the timestamp, in both bodies DuckDB runs."""
    key, ts = key_and_ts
    features = [k for k in ALLOWED_KEYWORDS if k not in (key, ts)]
    columns = ", ".join(f'{i} as "{name}"' for i, name in enumerate(features))
    with duckdb.connect() as con:
        con.execute(f'create table view_rows as select 7 as "{key}", '
                    f'timestamp \'2024-01-01\' as "{ts}", {columns}')
        con.execute(f'create table spine as select 7 as "{key}", '
                    "timestamp '2024-01-02' as event_ts union all select 8, "
                    "timestamp '2024-01-02'")
        for body in ("duckdb", "default"):
            sql = render_as_of_join(body, "spine", [_spec(view, key, ts, features)])
            rows = sorted(con.execute(sql).fetchall(), key=lambda r: r[0])
            assert rows[0][2:-1] == tuple(range(len(features)))  # key 7: its values
            assert rows[1][2:-1] == (-1,) * len(features)  # key 8: the defaults


@pytest.mark.parametrize(("field", "old"), [("ttl", "ttl: 30d"),
                                            ("freshness_slo", "freshness_slo: 1h")])
def test_durations_longer_than_a_timestamp_can_take_are_refused(project, field, old):
    edit(project, "user_transactions.yml", old, f"{field}: 365000d")
    view = load_catalog(project.feature_defs).views["user_transactions"]
    assert getattr(view, f"{field}_seconds") == 365_000 * 86400
    for too_long in ("365001d", "52144w", "99999999999999999999d"):
        edit(project, "user_transactions.yml", f"{field}: 365000d", f"{field}: {too_long}")
        with pytest.raises(ContractError) as error:
            load_catalog(project.feature_defs)
        fix = "leave `ttl` out for no expiry" if field == "ttl" else "shorten it"
        line = 7 if field == "ttl" else 8
        assert str(error.value) == (
            f"feature_defs/user_transactions.yml:{line}, field `{field}`: {too_long} is "
            f"longer than 365000d (1000 years), the most a warehouse timestamp can take "
            f"here; {fix}")
        edit(project, "user_transactions.yml", f"{field}: {too_long}", f"{field}: 365000d")


def test_the_longest_ttl_runs_in_the_as_of_join(project):
    edit(project, "user_transactions.yml", "ttl: 30d", "ttl: 365000d")
    spec = view_spec(load_catalog(project.feature_defs).views["user_transactions"])
    spec["relation"] = "view_rows"
    spec["features"] = spec["features"][:1]
    spec["created_timestamp"] = None
    with duckdb.connect() as con:
        con.execute("create table view_rows as select 1::bigint as user_id, "
                    "timestamp '2026-01-01' as feature_ts, 5::bigint as txn_count_1h")
        con.execute("create table spine as select 1::bigint as user_id, "
                    "timestamp '3025-01-01' as event_ts")
        rows = con.execute(render_as_of_join("duckdb", "spine", [spec])).fetchall()
    assert rows == [(1, dt.datetime(3025, 1, 1), 5, dt.datetime(2026, 1, 1))]


def test_a_version_beyond_the_registry_column_is_refused(project):
    edit(project, "user_transactions.yml", "version: 1", f"version: {MAX_VERSION}")
    assert load_catalog(project.feature_defs).views["user_transactions"].version == 2**31 - 1
    edit(project, "user_transactions.yml", f"version: {MAX_VERSION}",
         f"version: {MAX_VERSION + 1}")
    with pytest.raises(ContractError) as error:
        load_catalog(project.feature_defs)
    assert str(error.value) == (
        "feature_defs/user_transactions.yml:2, field `version`: expected a whole number "
        "from 1 to 2147483647, got 2147483648")
