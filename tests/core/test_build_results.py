"""What the loop reads of a dbt build (run_results.json and the manifest), and the exit
code a cycle leaves with. A small hand-written manifest: one source table, a staging
model, two feature models, their tests."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from featurestore.cycle_log import Cycle
from featurestore.dbt_results import read_run_results
from featurestore.errors import (
    CHECK_FAILED,
    UNREACHABLE,
    USAGE,
    ProjectError,
    StoreUnavailable,
    ValidationFailed,
)
from featurestore.pending_work import reached_nodes, table_built

SRC, OTHER = "source.demo.demo.events", "source.demo.demo.other"
STG, A, B = "model.demo.stg_events", "model.demo.fs_a", "model.demo.fs_b"
TEST_A, TEST_B, TEST_STG = "test.demo.range_fs_a_x.1", "test.demo.rel_fs_b.2", \
    "test.demo.not_null_stg.3"
MANIFEST = {
    "sources": {SRC: {"source_name": "demo", "name": "events"},
                OTHER: {"source_name": "demo", "name": "other"}},
    "nodes": {
        STG: {"resource_type": "model", "name": "stg_events"},
        A: {"resource_type": "model", "name": "fs_a"},
        B: {"resource_type": "model", "name": "fs_b"},
        TEST_A: {"resource_type": "test", "name": "range_fs_a_x", "attached_node": A},
        # a test without attached_node (a singular test): the models it depends on
        TEST_B: {"resource_type": "test", "name": "rel_fs_b",
                 "depends_on": {"nodes": [B, SRC]}},
        TEST_STG: {"resource_type": "test", "name": "not_null_stg", "attached_node": STG},
    },
    "parent_map": {STG: [SRC], A: [STG], B: [STG, OTHER], TEST_A: [A], TEST_B: [B, SRC],
                   TEST_STG: [STG]},
}
AT = dt.datetime(2026, 5, 1, 12, 0, 0)


class _Project:
    def __init__(self, target):
        self.target_dir = target


def _results(tmp_path, statuses: dict[str, str], generated_at: str = "2026-05-01T12:00:05Z",
             **extra):
    results = [{"unique_id": uid, "status": status, "message": extra.get(uid, ""),
                "failures": 1 if status == "fail" else None}
               for uid, status in statuses.items()]
    (tmp_path / "run_results.json").write_text(json.dumps(
        {"metadata": {"generated_at": generated_at}, "results": results}))
    return read_run_results(_Project(tmp_path), MANIFEST, since=AT)


def test_the_models_a_table_reaches():
    assert reached_nodes(MANIFEST, "demo.events", ["fs_a", "fs_b"]) == {STG, A, B}
    assert reached_nodes(MANIFEST, "demo.events", ["fs_a"]) == {STG, A}
    assert reached_nodes(MANIFEST, "demo.other", ["fs_a", "fs_b"]) == {B}
    assert reached_nodes(MANIFEST, "demo.nothing", ["fs_a"]) == set()


def test_a_failing_test_is_mapped_to_its_model_and_keeps_the_table_pending(tmp_path):
    results = _results(tmp_path, {STG: "success", A: "success", B: "success",
                                  TEST_STG: "pass", TEST_A: "fail", TEST_B: "pass"},
                       **{TEST_A: "Got 1 result,\nconfigured to fail if != 0"})
    assert results.failing_tests(A) == [
        "dbt test range_fs_a_x failed: Got 1 result, configured to fail if != 0 "
        "(1 failing row(s))"]
    assert results.failing_tests(B) == []
    assert results.built(A) and results.built(B)
    assert not table_built(results, MANIFEST, "demo.events", ["fs_a", "fs_b"])
    assert table_built(results, MANIFEST, "demo.other", ["fs_a", "fs_b"])
    assert results.only_tests_of({A})
    assert not results.only_tests_of({B})


def test_a_model_error_skips_what_follows(tmp_path):
    results = _results(tmp_path, {STG: "success", TEST_STG: "pass", A: "error",
                                  TEST_A: "skipped", B: "success", TEST_B: "error"})
    assert not results.built(A)
    assert results.failing_tests(B) == ["dbt test rel_fs_b errored: error"]
    assert not table_built(results, MANIFEST, "demo.events", ["fs_b"])
    assert not results.only_tests_of({A, B})  # a model failed, not only tests


def test_a_build_that_passed_clears_its_tables(tmp_path):
    results = _results(tmp_path, {STG: "success", A: "success", TEST_STG: "warn",
                                  TEST_A: "pass"})
    assert table_built(results, MANIFEST, "demo.events", ["fs_a"])
    assert results.failed() == []


def test_results_older_than_the_build_or_unreadable_stand_for_nothing(tmp_path):
    assert _results(tmp_path, {A: "success"}, generated_at="2026-05-01T11:59:59") is None
    assert read_run_results(_Project(tmp_path / "none"), MANIFEST) is None
    (tmp_path / "run_results.json").write_text('{"metadata": {"generated_at"')  # cut short
    assert read_run_results(_Project(tmp_path), MANIFEST) is None
    assert not table_built(None, MANIFEST, "demo.events", ["fs_a"])
    assert table_built(None, MANIFEST, "demo.nothing", ["fs_a"])  # nothing to build


@pytest.mark.parametrize(("build_error", "refused", "sync_failed", "code"), [
    (None, {}, {}, None),
    (ProjectError("model fs_a failed"), {}, {}, USAGE),
    (ValidationFailed("test not_null_stg failed"), {}, {}, CHECK_FAILED),
    (None, {"fs_a": ["dbt test range_fs_a_x failed"]}, {}, CHECK_FAILED),
    (ProjectError("model fs_b failed"), {"fs_a": ["freshness"]}, {}, CHECK_FAILED),
    (None, {"fs_a": ["freshness"]}, {"fs_b": StoreUnavailable("down")}, UNREACHABLE),
])
def test_a_cycle_leaves_with_the_highest_code_of_its_causes(build_error, refused,
                                                             sync_failed, code):
    cycle = Cycle("c1", AT, build_error=build_error, refused=refused,
                  held_since={view: "2026-05-01 11:00:00" for view in refused},
                  sync_failed=sync_failed)
    problem = cycle.problem()
    if code is None:
        assert problem is None
        return
    assert problem.exit_code == code
    assert str(problem).startswith("cycle c1: ")
    for view, reasons in refused.items():
        assert (f"{view} held back (refused since 2026-05-01 11:00:00 UTC): "
                f"{'; '.join(reasons)}") in str(problem)
