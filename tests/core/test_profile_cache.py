"""A DuckDB target resolved once is read back by later processes without importing dbt,
while nothing that decides it changed; anything that does is resolved through dbt again.
Other warehouses are never kept (their credentials hold secrets)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from featurestore import dbt_profile
from featurestore.profile_cache import FILE_NAME
from featurestore.project import Project
from tests.core.test_dbt_profile import SNOWFLAKE, VARIABLES, _project

PROBE = textwrap.dedent("""
    import json, sys
    from featurestore.project import Project
    target = Project(sys.argv[1]).dbt_target
    print(json.dumps({"path": str(target.duckdb_path), "schema": target.schema,
                      "notes": target.notes, "where": target.where,
                      "dbt_imported": "dbt.config" in sys.modules}))
""")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def resolutions(monkeypatch):
    """The resolutions through dbt from here on, in this process (its cache emptied)."""
    monkeypatch.setattr(dbt_profile, "_CACHE", {})
    calls = []
    real = dbt_profile._resolve

    def counted(*args):
        calls.append(args[0])
        return real(*args)

    monkeypatch.setattr(dbt_profile, "_resolve", counted)
    return calls


def _again(root: Path):
    """The target as a new process finds it: this process's own cache emptied first."""
    dbt_profile._CACHE.clear()
    return Project(root).dbt_target


def test_a_second_process_reads_the_duckdb_target_without_importing_dbt(tmp_path,
                                                                          monkeypatch):
    root = _project(tmp_path / "shop")
    monkeypatch.setenv("FEATURESTORE_DUCKDB_PATH", str(tmp_path / "x.duckdb"))
    runs = [json.loads(subprocess.run([sys.executable, "-c", PROBE, str(root)], check=True,
                                      capture_output=True, text=True, timeout=600).stdout)
            for _ in range(2)]
    assert [run.pop("dbt_imported") for run in runs] == [True, False]
    assert runs[0] == runs[1] == {
        "path": str(tmp_path / "x.duckdb"), "schema": "main",
        "where": f"target `dev` of profile `shop` ({root}/profiles.yml)",
        "notes": [f"FEATURESTORE_DUCKDB_PATH overrides `path: acme.duckdb` of target `dev` "
                  f"of profile `shop` ({root}/profiles.yml); dbt and featurestore both use "
                  f"{tmp_path / 'x.duckdb'}."]}


def test_what_decides_the_target_changing_resolves_it_again(tmp_path, monkeypatch,
                                                            resolutions):
    root = _project(tmp_path / "shop")
    assert _again(root).duckdb_path == root / "acme.duckdb"
    assert _again(root).duckdb_path == root / "acme.duckdb"
    assert len(resolutions) == 1  # the second read the kept file
    # the profile's bytes, same size: a new resolution
    profiles = root / "profiles.yml"
    profiles.write_text(profiles.read_text().replace("acme.duckdb", "acmf.duckdb"))
    assert _again(root).duckdb_path == root / "acmf.duckdb"
    # a variable the profile reads (any variable: the environment is hashed whole)
    monkeypatch.setenv("SHOP_TARGET", "qa")
    monkeypatch.setenv("QA_PATH", str(tmp_path / "q.duckdb"))
    assert (_again(root).target_name, _again(root).duckdb_path) == ("qa", tmp_path / "q.duckdb")
    monkeypatch.setenv("QA_PATH", str(tmp_path / "r.duckdb"))
    assert _again(root).duckdb_path == tmp_path / "r.duckdb"
    # featurestore's own override
    monkeypatch.setenv("FEATURESTORE_DUCKDB_PATH", str(tmp_path / "s.duckdb"))
    assert _again(root).duckdb_path == tmp_path / "s.duckdb"
    assert len(resolutions) == 5


def test_the_kept_file_holds_no_environment_and_a_bad_one_is_rewritten(tmp_path, monkeypatch,
                                                                       resolutions):
    root = _project(tmp_path / "shop")
    monkeypatch.setenv("MY_PASSWORD", "hunter2-not-kept")
    first = _again(root)
    kept = root / "target" / FILE_NAME
    text = kept.read_text()
    assert "hunter2-not-kept" not in text
    assert kept.stat().st_mode & 0o777 == 0o600
    kept.write_text(text[: len(text) // 2])  # cut short: not read back, resolved again
    assert _again(root) == first
    assert len(resolutions) == 2
    assert kept.read_text() == text


def test_another_warehouse_is_never_kept(tmp_path, monkeypatch, resolutions):
    pytest.importorskip("dbt.adapters.snowflake")
    root = _project(tmp_path / "shop", SNOWFLAKE)
    monkeypatch.setenv("MY_PASSWORD", "s3cret-pw")
    assert _again(root).type == "snowflake"
    assert _again(root).type == "snowflake"
    assert len(resolutions) == 2
    assert not (root / "target" / FILE_NAME).exists()


def test_the_allocator_setting_of_a_training_set_keeps_the_kept_target(tmp_path, monkeypatch,
                                                                       resolutions):
    """`featurestore training-set` sets DuckDB's allocator variable for its own process
    (dialects/duckdb.py): a build before it and a training set after it share one kept
    target, instead of each resolving through dbt again."""
    from featurestore.dialects.duckdb import ALLOCATOR_FOR_JOINS, ALLOCATOR_VARIABLE

    root = _project(tmp_path / "shop")
    monkeypatch.delenv(ALLOCATOR_VARIABLE, raising=False)
    assert _again(root).duckdb_path == root / "acme.duckdb"
    monkeypatch.setenv(ALLOCATOR_VARIABLE, ALLOCATOR_FOR_JOINS)
    assert _again(root).duckdb_path == root / "acme.duckdb"
    assert len(resolutions) == 1  # the second read the kept file
