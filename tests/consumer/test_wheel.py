"""A wheel of featurestore works outside the source tree.

The wheel is built from a clean copy of the repository (an in-place build would leave
build/ and *.egg-info in the working tree, and setuptools' build/lib can carry a deleted
module into the wheel), installed into a fresh virtualenv in a temporary folder with
the dependencies pinned by constraints.txt, and its console script runs a copy of the
consumer project: nothing of the repository is importable there, the SQL macros the
CLI renders come from the installed package data, and only dbt reads the repository
(as the dbt package that the consumer's packages.yml installs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

from .conftest import DUCKDB_FILE, FOREIGN_ENV, copy_consumer_project

pytestmark = pytest.mark.slow

# What a source checkout holds that a build does not read.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "build", "dist", "*.egg-info", "__pycache__", "target",
    "warehouse", "dbt_packages", "logs", ".hypothesis", ".ruff_cache", ".pytest_cache",
    "gx", "out", "*.duckdb", "*.duckdb.wal")


def _run(args: list, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, (f"{' '.join(map(str, args))} exited {done.returncode}:\n"
                                  f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def _clean_env(venv: Path) -> dict[str, str]:
    """This process's environment minus anything pointing at the repository or its venv."""
    env = {name: value for name, value in os.environ.items()
           if name not in FOREIGN_ENV and name not in ("VIRTUAL_ENV", "PYTHONPATH",
                                                       "PYTHONHOME")}
    path = [p for p in env.get("PATH", "").split(os.pathsep)
            if p and not p.startswith(str(REPO_ROOT))]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="false", GX_ANALYTICS_ENABLED="false")
    return env


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> tuple[Path, dict[str, float]]:
    """(the venv, seconds per step): featurestore's wheel installed in a fresh venv."""
    base = tmp_path_factory.mktemp("wheel")
    seconds: dict[str, float] = {}
    started = time.monotonic()
    source = base / "source"
    shutil.copytree(REPO_ROOT, source, ignore=NOT_SOURCES)
    wheels = base / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source],
         cwd=base)
    [wheel] = wheels.glob("featurestore-*.whl")
    seconds["wheel"] = time.monotonic() - started

    started = time.monotonic()
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=base)
    seconds["venv"] = time.monotonic() - started
    started = time.monotonic()
    _run([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel,
          "-c", REPO_ROOT / "constraints.txt"], cwd=base, env=_clean_env(venv))
    seconds["install"] = time.monotonic() - started
    print(f"\nwheel {seconds['wheel']:.1f} s, venv {seconds['venv']:.1f} s, "
          f"pip install -c constraints.txt {seconds['install']:.1f} s")
    return venv, seconds


def test_wheel_dependencies_are_consistent_in_a_fresh_venv(wheel_venv, tmp_path):
    """What pip installed for the wheel under constraints.txt fits together (`pip check`).

    How long pip took is printed by the fixture, not asserted: on a loaded machine it is
    a figure of the machine, not of the wheel."""
    venv, _ = wheel_venv
    done = _run([venv / "bin" / "python", "-m", "pip", "check"], cwd=tmp_path,
                env=_clean_env(venv))
    assert done.stdout == "No broken requirements found.\n"


def test_wheel_metadata_names_its_license_authors_and_extras(wheel_venv, tmp_path):
    venv, _ = wheel_venv
    probe = ("import importlib.metadata as m, json\n"
             "meta = m.metadata('featurestore')\n"
             "files = [str(f) for f in m.files('featurestore') if f.name == 'LICENSE']\n"
             "print(json.dumps({k: meta.get_all(k) for k in ('License-Expression', "
             "'License-File', 'Author', 'Keywords', 'Provides-Extra', 'Classifier')} | "
             "{'files': files}))\n")
    found = json.loads(_run([venv / "bin" / "python", "-c", probe], cwd=tmp_path,
                            env=_clean_env(venv)).stdout)
    assert (found["License-Expression"], found["License-File"]) == (["Apache-2.0"],
                                                                    ["LICENSE"])
    assert found["files"] == ["featurestore-0.1.0.dist-info/licenses/LICENSE"]
    assert found["Author"] == ["The featurestore authors"]
    assert "feature store" in found["Keywords"][0].split(",")
    assert "all" in found["Provides-Extra"]
    assert "Typing :: Typed" in found["Classifier"]


def test_wheel_installs_one_package_with_its_macros(wheel_venv, tmp_path):
    venv, _ = wheel_venv
    probe = (
        "import importlib.resources, importlib.util, json, sysconfig, featurestore\n"
        "macros = importlib.resources.files('featurestore.macros')\n"
        "def sql(d, at=''):\n"
        "  for p in d.iterdir():\n"
        "    yield from sql(p, at + p.name + '/') if p.is_dir() else (\n"
        "      [at + p.name] if p.name.endswith('.sql') else [])\n"
        "print(json.dumps({'site': sysconfig.get_paths()['purelib'],\n"
        "  'featurestore': featurestore.__file__, 'macros': str(macros),\n"
        "  'sql': sorted(sql(macros)),\n"
        "  'top': {n: importlib.util.find_spec(n) is not None\n"
        "          for n in ('sync', 'lookup', 'gates', 'macros')}}))\n"
    )
    done = _run([venv / "bin" / "python", "-c", probe], cwd=tmp_path, env=_clean_env(venv))
    found = json.loads(done.stdout)
    site = Path(found["site"])
    assert site.is_relative_to(venv)
    assert Path(found["featurestore"]) == site / "featurestore" / "__init__.py"
    assert Path(found["macros"]) == site / "featurestore" / "macros"
    # every macro file of the tree, in its folder, but the demo's generated contracts
    tree = REPO_ROOT / "macros"
    assert found["sql"] == sorted(
        str(path.relative_to(tree)) for path in tree.rglob("*.sql")
        if path.relative_to(tree).parts[0] != "generated")
    assert {"point_in_time/as_of_join.sql", "point_in_time/feature_timeline.sql",
            "rolling_windows/rolling_windows.sql", "sql/featurestore_utc_naive.sql"} <= set(
        found["sql"])
    assert found["top"] == {"sync": False, "lookup": False, "gates": False, "macros": False}
    top_level = {path.name for path in site.iterdir()}
    assert not top_level & {"sync", "lookup", "gates", "macros", "sync.py", "lookup.py",
                            "gates.py"}
    for name in ("sync", "lookup", "gates"):
        assert (site / "featurestore" / name / "__init__.py").is_file()


def test_wheel_console_script_validates_builds_and_trains_a_consumer_project(
        wheel_venv, tmp_path):
    import duckdb
    import pyarrow.parquet as pq

    venv, _ = wheel_venv
    project = copy_consumer_project(tmp_path / "shop")
    env = _clean_env(venv)
    featurestore = venv / "bin" / "featurestore"

    validate = _run([featurestore, "validate"], cwd=project, env=env)
    assert validate.stdout == "OK: 1 feature views, 1 entities.\n"
    build = _run([featurestore, "build"], cwd=project, env=env)
    assert build.stdout.endswith("Build OK: models match their contracts.\n")
    assert build.stderr.splitlines()[-2:] == [
        "packages.yml lists 1 dbt package(s) and dbt_packages/ holds 0: running `dbt deps`",
        "dbt build"]
    out = tmp_path / "train.parquet"
    features = ("customer_orders:order_count_7d,customer_orders:order_amount_sum_30d,"
                "customer_orders:last_order_amount")
    train = _run([featurestore, "training-set", "--spine", "seeds/raw_churn_labels.csv",
                  "--features", features, "--out", out], cwd=project, env=env)
    assert train.stdout == f"11 rows written to {out} (manifest: {out}.manifest.json)\n"

    # The wheel's SQL (rendered from its package data) gives dbt's as_of_join rows.
    with duckdb.connect(str(project / DUCKDB_FILE), read_only=True) as con:
        by_dbt = con.execute("select * from main.churn_training_set").fetchall()
    by_wheel = [tuple(row.values()) for row in pq.read_table(out).to_pylist()]

    def key(row):
        return tuple((value is not None, value if value is not None else 0) for value in row)

    assert sorted(by_wheel, key=key) == sorted(by_dbt, key=key)
