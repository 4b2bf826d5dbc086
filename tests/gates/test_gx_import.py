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
