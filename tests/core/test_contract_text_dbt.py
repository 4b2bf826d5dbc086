"""Hostile contract text under a real `featurestore build` (dbt on DuckDB), once.

Hypothesis generates a few cases (tests/hostile_text.py), next to four fixed ones that
stand for dbt's known ways in; all go into one copy of the
consumer project (tests/consumer_project), so the test pays for one `dbt build`: each case
is a string feature with that text as its description, its default and its allowed value;
the view's owner and description and the entity's description are cases too. Every text
must come back exactly: in dbt's manifest (rendered descriptions and meta), in the
warehouse (the model's values pass `featurestore.allowed_values`, the training set holds
the defaults), and nothing in it may run: no file written by a `copy ... to`, no value of
an environment variable anywhere dbt writes. A second view whose rows hold its allowed
value plus one letter proves the generic test still fails when it should.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from featurestore.dialects import for_target
from featurestore.generate import dbt_text
from tests.consumer.conftest import (
    DUCKDB_FILE,
    FOREIGN_ENV,
    copy_consumer_project,
    featurestore,
)
from tests.hostile_text import (
    CANARY_FILE,
    CANARY_VALUE,
    CANARY_VAR,
    kept_text,
    yaml_quoted,
)

pytestmark = pytest.mark.slow

CASES = 8
description_text = st.lists(
    st.one_of(kept_text, st.sampled_from(["\n", "\t", "\n\n  "])), min_size=1, max_size=3,
).map("".join).filter(lambda text: text.strip() != "")


# Always there, whatever Hypothesis draws: dbt's own ways in (an owner is `meta`, rendered
# when dbt parses; a bare env_var(...) test argument is wrapped and run), a statement after
# a closed quote, and a backslash before a quote.
FIXED_CASES = [
    {"text": f"{{{{ env_var('{CANARY_VAR}') }}}}", "description": f"env_var('{CANARY_VAR}')"},
    {"text": f"env_var('{CANARY_VAR}')", "description": "x') or true or ('"},
    {"text": f"x'); copy (select 42) to '{CANARY_FILE}'; --", "description": "{# {% raw %}"},
    {"text": "it's a \\' backslash \\", "description": "-- /* a comment? */"},
]


def generated_cases() -> list[dict[str, str]]:
    """The fixed cases, then CASES examples of (text, description) from Hypothesis."""
    cases = []

    @settings(max_examples=CASES, database=None, deadline=None, phases=[Phase.generate])
    @given(st.fixed_dictionaries({"text": kept_text.filter(lambda t: t.strip() != ""),
                                  "description": description_text}))
    def collect(case):
        cases.append(case)

    collect()
    return FIXED_CASES + cases


def _feature(index: int, case: dict) -> str:
    return (f"  - name: channel_{index}\n"
            f"    dtype: string\n"
            f"    default: {yaml_quoted(case['text'] + ' (default)')}\n"
            f"    sensitivity: internal\n"
            f"    allowed_values: [{yaml_quoted(case['text'])}, web]\n"
            f"    description: {yaml_quoted(case['description'])}\n")


def _hostile_project(root: Path, cases: list[dict]) -> None:
    """The consumer project with one hostile string feature per case, a hostile owner,
    view and entity description, and a second view that must fail its allowed values."""
    defs = root / "feature_defs"
    entities = defs / "entities.yml"
    entities.write_text(entities.read_text().replace(
        "description: A shop customer.", f"description: {yaml_quoted(cases[0]['description'])}"))
    orders = defs / "customer_orders.yml"
    text = orders.read_text()
    text = text.replace("owner: growth", f"owner: {yaml_quoted(cases[0]['text'])}")
    text = text.replace("description: Rolling order activity per customer, in event time.",
                        f"description: {yaml_quoted(cases[1]['description'])}\n"
                        f"tags: [{yaml_quoted(cases[3]['text'])}]")
    orders.write_text(text + "".join(_feature(i, case) for i, case in enumerate(cases)))
    (defs / "customer_flags.yml").write_text(
        "name: customer_flags\nversion: 1\nentity: customer\nsource: fs_customer__flags\n"
        "timestamp: feature_ts\nowner: growth\ndescription: Must fail its allowed values.\n"
        "features:\n" + _feature(0, cases[0]))

    def constant(text: str) -> str:  # a model is Jinja too: the literal as a Jinja string
        return dbt_text(for_target("duckdb").literal("string", text))

    model = root / "models/features/customer/fs_customer__orders.sql"
    constants = "".join(f",\n        cast({constant(case['text'])} as varchar) as channel_{i}"
                        for i, case in enumerate(cases))
    model.write_text(model.read_text().replace(
        "cast(last_order_amount as double) as last_order_amount",
        "cast(last_order_amount as double) as last_order_amount" + constants))
    (model.parent / "fs_customer__flags.sql").write_text(
        "select distinct customer_id, ordered_at as feature_ts, "
        f"cast({constant(cases[0]['text'] + 'x')} as varchar) "
        "as channel_0 from {{ ref('stg_shop__orders') }}")
    training = root / "models/training/churn_training_set.sql"
    refs = "".join(f", 'customer_orders:channel_{i}'" for i in range(len(cases)))
    training.write_text(training.read_text().replace(
        "'customer_orders:last_order_amount'", f"'customer_orders:last_order_amount'{refs}"))


def test_a_build_keeps_hostile_text_exactly_and_runs_none_of_it(tmp_path, monkeypatch):
    for name in FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(CANARY_VAR, CANARY_VALUE)
    cases = generated_cases()
    root = copy_consumer_project(tmp_path / "shop")
    _hostile_project(root, cases)

    assert featurestore(root, "generate").exit_code == 0
    validate = featurestore(root, "validate")
    assert validate.exit_code == 0, validate.stdout + validate.stderr
    build = featurestore(root, "build")
    # exactly one dbt test fails: the flags view's allowed values (value + "x")
    assert build.exit_code == 2, build.stdout + build.stderr
    results = json.loads((root / "target/run_results.json").read_text())["results"]
    failed = [(r["unique_id"].split(".")[2], r["failures"]) for r in results
              if r["status"] != "success" and r["status"] != "pass"]
    assert len(failed) == 1, failed
    assert failed[0][0].startswith("featurestore_allowed_values_fs_customer__flags_channel_0")
    assert failed[0][1] == 1

    catalog = featurestore_catalog(root)
    view = catalog.views["customer_orders"]
    manifest = json.loads((root / "target/manifest.json").read_text())
    node = manifest["nodes"]["model.shop.fs_customer__orders"]
    assert node["description"] == (
        f"{cases[1]['description'].strip()} One row per customer_id per feature_ts.")
    assert node["config"]["meta"]["featurestore"]["owner"] == cases[0]["text"]
    assert view.owner == cases[0]["text"]
    assert view.tags == (cases[3]["text"],)
    assert catalog.entities["customer"].description == cases[0]["description"].strip()
    for i, case in enumerate(cases):
        assert node["columns"][f"channel_{i}"]["description"] == case["description"].strip()
        assert view.feature(f"channel_{i}").allowed_values == (case["text"], "web")

    import duckdb

    columns = ", ".join(f"channel_{i}" for i in range(len(cases)))
    with duckdb.connect(str(root / DUCKDB_FILE), read_only=True) as con:
        model_rows = set(con.execute(f"select {columns} from fs_customer__orders").fetchall())
        joined = ", ".join(f"customer_orders__channel_{i}" for i in range(len(cases)))
        training = con.execute(f"select customer_orders__feature_ts is null, {joined} "
                               "from churn_training_set").fetchall()
    assert model_rows == {tuple(case["text"] for case in cases)}
    assert {row[0] for row in training} == {True, False}  # both defaults and values
    for missing, *values in training:
        suffix = " (default)" if missing else ""
        assert values == [case["text"] + suffix for case in cases]

    assert not CANARY_FILE.exists()
    for path in [*(root / "target").rglob("*"), *(root / "logs").rglob("*")]:
        if path.is_file():
            assert CANARY_VALUE.encode() not in path.read_bytes(), path


def featurestore_catalog(root: Path):
    from featurestore.contracts import load_catalog

    return load_catalog(root / "feature_defs")
