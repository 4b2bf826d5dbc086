"""The README's tutorial and SDK example run exactly as written, in a fresh copy.

The copy holds what a clone would (the files git tracks or would track), with this
repository's `.venv` linked in, as `make setup` would have made it. The blocks are read
from the README itself, so the text a user follows is the text that is tested.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow
README = (REPO_ROOT / "README.md").read_text()


def block(marker: str, language: str) -> str:
    """The fenced code block that follows ``<!-- marker ...-->`` in the README."""
    found = re.search(rf"<!-- {re.escape(marker)}[^>]*-->\s*```{language}\n(.*?)```",
                      README, re.S)
    assert found, f"README has no {language} block after <!-- {marker} -->"
    return found.group(1)


@pytest.fixture
def fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=REPO_ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    (clone / ".venv").symlink_to(REPO_ROOT / ".venv")
    return clone


def _environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("FEATURESTORE_", "DBT_", "SNOWFLAKE_"))}


def test_the_tutorial_then_the_sdk_example_run_as_written(fresh_clone):
    done = subprocess.run(["bash", "-e", "-c", block("tutorial", "bash")], cwd=fresh_clone,
                          capture_output=True, text=True, env=_environment(), timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    manifest = json.loads((fresh_clone / "train.parquet.manifest.json").read_text())
    assert [view["name"] for view in manifest["views"]] == ["user_refunds",
                                                            "user_transactions"]
    assert manifest["output"]["rows"] == manifest["spine"]["rows"] > 0
    assert "+ user_refunds v1 (create)" in done.stdout

    sdk = subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "python"), "-c",
                          block("sdk", "python")], cwd=fresh_clone, capture_output=True,
                         text=True, env=_environment(), timeout=300)
    assert sdk.returncode == 0, sdk.stderr[-3000:]
    assert sdk.stdout.splitlines()[0] == ("['device_seen_before', 'merchant_risk', "
                                          "'user_profile', 'user_refunds', "
                                          "'user_transactions']")
    assert "user_transactions__txn_count_7d" in sdk.stdout
