"""Great Expectations imports pyspark when it is installed, and pyspark ends a
``python -c`` process with exit 0 on import: a gate run from such a script stopped
half-way and reported success (the loop under bench/freshness.py did)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

SCRIPT = ("import sys\n"
          "from featurestore.gates.gx import great_expectations\n"
          "gx = great_expectations()\n"
          "print('still running', gx.ExpectationSuite.__name__, "
          "hasattr(sys.modules['__main__'], '__file__'))\n")


@pytest.mark.skipif(importlib.util.find_spec("pyspark") is None,
                    reason="pyspark (the spark extra) is what ends the process")
def test_a_python_c_process_lives_on_after_importing_gx():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=300, env={"GX_ANALYTICS_ENABLED": "false",
                                            "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "still running ExpectationSuite False"


NEEDS_PYSPARK = pytest.mark.skipif(importlib.util.find_spec("pyspark") is None,
                                   reason="only an installed pyspark can be imported")


@NEEDS_PYSPARK
def test_gx_does_not_import_pyspark_off_the_spark_target():
    """Its import costs seconds and printed pyspark's FutureWarning about pandas on every
    gate run (issue 18, item 6)."""
    script = ("import sys\n"
              "from featurestore.gates.gx import great_expectations\n"
              "great_expectations()\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pyspark'))\n"
              "import pyspark\n"  # hidden only while GX was imported
              "print(pyspark.__name__)\n")
    done = subprocess.run([sys.executable, "-W", "default", "-c", script],
                          capture_output=True, text=True, timeout=300,
                          env={"GX_ANALYTICS_ENABLED": "false", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-2:] == ["[]", "pyspark"]
    assert "FutureWarning" not in done.stderr and "pyspark" not in done.stderr


@NEEDS_PYSPARK
def test_gx_keeps_a_pyspark_that_is_already_loaded():
    """On the Spark target, pyspark is loaded before the gates: GX sees it as it is."""
    script = ("import pyspark\n"
              "from featurestore.gates.gx import great_expectations\n"
              "great_expectations()\n"
              "from great_expectations.compatibility import pyspark as compat\n"
              "print(compat.pyspark is pyspark)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env={"GX_ANALYTICS_ENABLED": "false",
                                            "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "True"


@NEEDS_PYSPARK
def test_a_gate_run_prints_no_pyspark_warning(gate_project):
    import os

    from tests.gates.conftest import AS_OF

    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", "from featurestore.apps.cli import main; main()",
         "--project-dir", str(gate_project.root), "gate", "--suite", "freshness",
         "--suite", "quality", "--view", "merchant_risk", "--as-of", AS_OF],
        capture_output=True, text=True, timeout=300, env={**os.environ})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FutureWarning" not in done.stderr and "pyspark" not in done.stderr
