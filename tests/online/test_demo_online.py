"""`featurestore demo`, online part included, in a fresh copy of the repository: it says
DynamoDB Local listens on every interface (never "started on loopback" before that
warning), and its last lines say, in one line, what it left running and how to stop it
(issue 18, item 6)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture
def clone(tmp_path):
    """The files git tracks or would track, with this repository's venv and npm packages
    linked in, as `make setup` would have made them; DynamoDB Local stopped at the end."""
    root = tmp_path / "clone"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=REPO_ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (REPO_ROOT / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, root / name)
    (root / "node_modules").symlink_to(REPO_ROOT / "node_modules")
    yield root
    state = root / "warehouse" / "dynamodb-local.json"
    if state.exists():  # the test failed before it stopped it
        featurestore(root, "online", "stop")


def featurestore(root, *args: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("FEATURESTORE_", "DBT_", "SNOWFLAKE_"))}
    return subprocess.run([sys.executable, "-c", "from featurestore.apps.cli import main; main()",
                           *args], cwd=root, capture_output=True, text=True, env=env,
                          timeout=1200)


def test_the_demo_says_what_it_left_running_and_how_to_stop_it(clone):
    done = featurestore(clone, "demo", "--users", "100", "--days", "7")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    state = json.loads((clone / "warehouse" / "dynamodb-local.json").read_text())
    lines = done.stderr.splitlines()
    step = lines.index("[5/8] DynamoDB Local: started, a fresh feature table")
    assert "loopback" not in lines[step]
    assert lines[step + 1] == (
        f"note: DynamoDB Local listens on port {state['port']} of every network interface, "
        "not only loopback (its launcher has no option to choose the address); other "
        "machines that can reach this one can read and write its tables. Close the port to "
        "them (a firewall) on a network you do not trust.")
    assert not [line for line in lines if line.startswith("WARNING:")]
    summary = done.stdout.splitlines()
    left = [line for line in summary if line.lstrip().startswith("left running")]
    assert left == [f"  left running   DynamoDB Local at {state['endpoint']} (pid "
                    f"{state['pid']}); stop it: featurestore online stop"]
    assert re.fullmatch(r"  took {11}[0-9.]+ s", summary[-1])
    stopped = featurestore(clone, "online", "stop")  # the command the line gives
    assert stopped.stdout == "DynamoDB Local stopped; its data stays in warehouse/dynamodb.\n"
    assert not (clone / "warehouse" / "dynamodb-local.json").exists()
