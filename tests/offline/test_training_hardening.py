"""A training set never silently renames, overwrites, reads another file or leaves a half
file behind: spine columns that collide with output columns, --out pointing at an input,
glob characters in a spine path, SIGTERM in the middle of the join."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import duckdb
import pytest

from featurestore.errors import RequestError, SpineError
from featurestore.project import Project
from featurestore.training import build_training_set
from tests.offline.one_view import one_view_project
from tests.waiting import wait_until


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project over one generated view of 3M history rows."""
    return Project(one_view_project(
        tmp_path, monkeypatch, "hardening",
        "select (i % 50000) + 1 as user_id, timestamp '2026-01-01' + to_microseconds(i * 997) "
        "as feature_ts, i % 100 as f1 from range(3000000) as r(i)"))


def _spine(path, rows: int = 1000, extra: str = "") -> str:
    with duckdb.connect() as con:
        con.execute(f"copy (select (i % 50000) + 1 as user_id, timestamp '2026-01-02' "
                    f"+ to_microseconds(i * 1013) as event_ts{extra} from range({rows}) "
                    f"as r(i)) to '{path}' (format parquet)").fetchall()
    return str(path)


def test_a_spine_column_named_like_an_output_column_is_refused(project, tmp_path):
    spine = _spine(tmp_path / "spine.parquet", extra=", 7 as history__f1")
    with pytest.raises(SpineError) as error:
        build_training_set(project, spine, "history", out=tmp_path / "t.parquet")
    assert str(error.value) == (
        f"{spine}: column `history__f1` has the name of an output column of the training "
        "set (VIEW__FEATURE, VIEW__feature_ts); rename or drop it in the spine.")
    assert not (tmp_path / "t.parquet").exists()


@pytest.mark.parametrize("target", ["spine", "warehouse"])
def test_out_may_not_be_a_file_the_run_reads(project, tmp_path, target):
    spine = _spine(tmp_path / "spine.parquet")
    out = {"spine": spine, "warehouse": project.dbt_target.duckdb_path}[target]
    before = os.path.getsize(out)
    with pytest.raises(RequestError) as error:
        build_training_set(project, spine, "history", out=out)
    what = {"spine": "the spine", "warehouse": "the DuckDB warehouse"}[target]
    assert str(error.value) == (f"--out {out} is {what}; writing the training set there "
                                "would overwrite it. Choose another path.")
    assert os.path.getsize(out) == before


def test_a_spine_path_with_glob_characters_is_read_literally(project, tmp_path):
    literal = _spine(tmp_path / "spine[1].parquet", rows=10)
    _spine(tmp_path / "spine1.parquet", rows=25)  # what the pattern spine[1] would match
    built = build_training_set(project, literal, "history", out=tmp_path / "t.parquet")
    assert built.manifest["output"]["rows"] == 10
    assert built.manifest["spine"]["path"] == literal


@pytest.mark.slow
def test_sigterm_mid_join_leaves_no_partial_file(project, tmp_path):
    spine = _spine(tmp_path / "spine.parquet", rows=3_000_000)
    out = tmp_path / "out" / "train.parquet"
    process = subprocess.Popen(
        [sys.executable, "-c", "from featurestore.apps.cli import main; main()", "--project-dir",
         str(project.root), "training-set", "--spine", spine, "--features", "history",
         "--out", str(out)],
        stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    for line in process.stderr:  # the join starts right after this line
        if line.startswith("training-set: joining"):
            break
    # mid-join: the export has opened its partial file (it does so as the join starts)
    partial = out.parent / f".{out.name}.partial-{process.pid}"
    wait_until(lambda: partial.exists() or process.poll() is not None,
               f"{partial} to be opened by the join")
    assert process.poll() is None, "the join ended before it could be stopped"
    process.send_signal(signal.SIGTERM)
    rest = process.stderr.read()
    assert process.wait(timeout=60) == 143, rest
    assert rest.endswith("Error: stopped by SIGTERM; nothing half-written was left behind.\n")
    assert sorted(p.name for p in out.parent.iterdir()) == []
