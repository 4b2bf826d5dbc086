"""`featurestore training-set` runs one large join and ends: it gives its DuckDB allocator a
short decay (featurestore/dialects/duckdb.py, ALLOCATOR_FOR_JOINS) before DuckDB is
imported, leaves a user's own setting alone, and the installed DuckDB reads it. The
memory it saves is measured in bench/pit_join.py, never here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from featurestore.dialects.duckdb import ALLOCATOR_FOR_JOINS, ALLOCATOR_VARIABLE
from tests.conftest import REPO_ROOT

ENV = {name: value for name, value in os.environ.items() if name != ALLOCATOR_VARIABLE}

# the training-set command, run to the point where it would build: what it set, and
# whether DuckDB was imported by then
AT_BUILD = textwrap.dedent("""
    import json, os, sys
    import featurestore.training

    def seen(*args, **kwargs):
        print(json.dumps({"conf": os.environ.get("DUCKDB_JE_MALLOC_CONF"),
                          "duckdb_imported": "duckdb" in sys.modules}))
        raise SystemExit(0)

    featurestore.training.build_training_set = seen
    from featurestore.apps.cli import main
    sys.argv = ["featurestore", "--project-dir", sys.argv[1], "training-set",
                "--spine", "spine.parquet", "--features", "user_profile", "--out", "x.parquet"]
    main()
""")


def _python(code: str, *args: str,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``code`` run to its end in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, env=env or ENV, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def _at_build(env: dict[str, str] | None = None) -> dict:
    """What AT_BUILD saw when the command came to build."""
    return json.loads(_python(AT_BUILD, str(REPO_ROOT), env=env).stdout.splitlines()[-1])


def test_training_set_sets_the_allocator_before_duckdb_is_imported():
    assert ALLOCATOR_VARIABLE == "DUCKDB_JE_MALLOC_CONF"  # the name AT_BUILD reads
    assert _at_build() == {"conf": ALLOCATOR_FOR_JOINS, "duckdb_imported": False}


def test_a_users_own_allocator_setting_is_kept():
    assert _at_build({**ENV, ALLOCATOR_VARIABLE: "narenas:1"}) == {
        "conf": "narenas:1", "duckdb_imported": False}


def test_after_duckdb_is_imported_nothing_is_set():
    """Its allocator may have read its settings already: setting them then would claim
    an effect there is none of (the SDK in a notebook)."""
    out = _python("import os, duckdb\n"
                  "from featurestore.dialects.duckdb import allocator_for_joins\n"
                  f"print(allocator_for_joins(), os.environ.get({ALLOCATOR_VARIABLE!r}))")
    assert out.stdout.strip() == "False None"


def test_the_installed_duckdb_reads_the_setting():
    """jemalloc prints its options at exit when asked to: the decay given is the one it
    runs with (a DuckDB that stopped reading the variable would fail here)."""
    code = ("import duckdb\n"
            "duckdb.connect().execute('select sum(i) from range(100000) t(i)').fetchall()")
    done = _python(code, env={**ENV, ALLOCATOR_VARIABLE: f"{ALLOCATOR_FOR_JOINS},"
                                                        "stats_print:true"})
    options = done.stdout + done.stderr
    assert "opt.dirty_decay_ms: 50 " in options
    assert "opt.muzzy_decay_ms: 0 " in options
