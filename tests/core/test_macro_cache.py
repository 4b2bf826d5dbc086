"""The compiled macros' cache on disk: one file per macro source, so that two checkouts
(or two installed versions) with other macros do not recompile over each other's file,
which made every other process pay the ~0.3 s compile (bench/pit_join.py's before/after
runs alternated two checkouts and saw it)."""

from __future__ import annotations

import shutil
from importlib import resources

import jinja2
import pytest

from featurestore import sql_render


def _copy_macros(target):
    source = resources.files("featurestore.macros")
    shutil.copytree(str(source), target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture
def loads(monkeypatch):
    """Each cache read: whether it found compiled code for the template."""
    seen: list[bool] = []
    original = jinja2.FileSystemBytecodeCache.load_bytecode

    def recorded(self, bucket):
        original(self, bucket)
        seen.append(bucket.code is not None)

    monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "load_bytecode", recorded)
    sql_render._template.cache_clear()
    yield seen
    sql_render._template.cache_clear()


def test_two_macro_sources_keep_their_own_compiled_file(tmp_path, loads):
    first = _copy_macros(tmp_path / "first")
    second = _copy_macros(tmp_path / "second")
    edited = second / "point_in_time" / "as_of_join.sql"
    edited.write_text(edited.read_text() + "\n{#- an edit of this checkout's -#}\n")
    for folder in (first, second, first, second):
        sql_render._template.cache_clear()  # a new process, as far as the cache goes
        sql_render._template(str(folder))
    # the third and fourth compiles are read back whole, though the other source was
    # compiled in between (one cache file per template name held only the last one)
    assert loads[2:] == [True, True]
