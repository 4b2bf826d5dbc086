"""Every block of the README a user would run runs exactly as written, in order, in one
fresh copy of the repository; so does step 6 of docs/dbt-package.md, in a copy of the
example consumer project.

The copy holds what a clone would (the files git tracks or would track), with this
repository's `.venv` and `node_modules/` linked in, as `make setup` would have made them.
The blocks are read from the README itself, so the text a user follows is the text that
is tested. A marker before a block says what to do with it:

- `<!-- run: ... -->`: run it (bash with `-e`, or the venv's python), with the venv's
  `bin/` first on the PATH, as after the tutorial's `source .venv/bin/activate`;
- `<!-- write: ... -->` / `<!-- append: ... -->`: write it to (or append it to) the file
  its first line names, as a user following the text would.

Every other bash or python block is named in NOT_RUN with the reason it is not run here
(and where it is tested instead); a block that is neither fails the test, so a new block
is either runnable or says why not. One test runs them all: the blocks depend on one
another, and pytest-xdist would split separate tests of a module between workers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow
README = (REPO_ROOT / "README.md").read_text()
PACKAGE_GUIDE = (REPO_ROOT / "docs" / "dbt-package.md").read_text()
COMMAND_LANGUAGES = ("bash", "sh", "shell", "console", "python")
FENCE = re.compile(r"(?:<!-- (run|write|append):[^>]*-->\s*\n)?^[ \t]*```(\w*)\n(.*?)^[ \t]*```",
                   re.S | re.M)
# The first line of each command block that is not run here -> why, and what tests it.
NOT_RUN = {
    ".venv/bin/pytest tests/soak                        # 20 cycles; part of make test":
        "the soak is tests/soak/test_soak.py itself, in `make test`; bench/soak.py is the "
        "same soak, run for as long as asked",
    "make demo   # the whole pipeline: demo data -> dbt build -> training set -> DynamoDB "
    "Local -> gates -> sync -> lookups":
        "`make test` is this suite; `make demo` is `featurestore demo`, whose steps are the "
        "tutorial's and the online section's blocks, run here",
    "pip install '/path/to/featurestore[aws,gates]'   # or a wheel: pip wheel --no-deps "
    "/path/to/featurestore":
        "a path to fill in; tests/consumer/test_wheel.py builds and installs the wheel",
    "featurestore ingest                          # every new landed file, each exactly once":
        "`run --every` and `demo-data --stream --for 10m` run until stopped; "
        "tests/online/test_loop.py and tests/offline/test_ingest.py run them",
    "featurestore serve --local    # the Lambda handler behind a local HTTP server, on :8080":
        "a server that runs until stopped; tests/lookup/ serve the same handler over HTTP",
    "featurestore serve --local --port 8080 --workers 4":
        "a server that runs until stopped; tests/lookup/test_serve_workers.py runs `serve "
        "--workers` and stops it",
    "featurestore gate --suite skew --training-set warehouse/demo/training_set.parquet":
        "needs a serving log of lookup traffic; tests/gates/test_parity_skew.py runs it",
}


@dataclass(frozen=True)
class Block:
    action: str | None  # run | write | append | None (not marked)
    language: str
    text: str

    @property
    def first_line(self) -> str:
        return self.text.splitlines()[0].strip() if self.text.strip() else ""

    @property
    def path(self) -> str:
        """The file a write or append block names on its first line (its last word)."""
        return self.first_line.split()[-1]


def blocks(document: str) -> list[Block]:
    return [Block(action or None, language, text)
            for action, language, text in FENCE.findall(document)]


def _copy_files(source: Path, dest: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=source, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (source / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, dest / name)
    return dest


@pytest.fixture
def fresh_clone(tmp_path):
    clone = _copy_files(REPO_ROOT, tmp_path / "clone")
    (clone / ".venv").symlink_to(REPO_ROOT / ".venv")
    (clone / "node_modules").symlink_to(REPO_ROOT / "node_modules")
    return clone


@pytest.fixture
def browser(tmp_path) -> tuple[Path, Path]:
    """A BROWSER program that records what it was asked to open: (program, record)."""
    record = tmp_path / "opened.txt"
    program = tmp_path / "record-browser"
    program.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> {record}\n')
    program.chmod(0o755)
    return program, record


def _environment(clone: Path, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("FEATURESTORE_", "DBT_", "SNOWFLAKE_", "VIRTUAL_ENV"))}
    venv = clone / ".venv"
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return {**env, **extra}


def _perform(block: Block, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run, write or append one block in ``cwd``; a failed run names the block."""
    if block.action in ("write", "append"):
        target = cwd / block.path
        with target.open("w" if block.action == "write" else "a") as out:
            out.write(block.text)
        return subprocess.CompletedProcess([], 0, "", "")
    command = (["bash", "-e", "-c", block.text] if block.language in ("bash", "sh")
               else [str(cwd / ".venv" / "bin" / "python"), "-c", block.text])
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=900)
    assert done.returncode == 0, (f"README block `{block.first_line}` exited "
                                  f"{done.returncode}:\n{done.stdout[-4000:]}\n"
                                  f"{done.stderr[-4000:]}")
    return done


def test_every_command_block_is_run_or_says_why_not():
    found = {block.first_line for block in blocks(README)
             if block.action is None and block.language in COMMAND_LANGUAGES}
    assert found == set(NOT_RUN), ("a command block of the README is neither marked "
                                   "<!-- run: ... --> nor named in NOT_RUN with a reason")
    assert [b.path for b in blocks(README) if b.action in ("write", "append")] == [
        "models/features/user/fs_user__user_refunds.sql", "feature_defs/user_refunds.yml",
        "feature_defs/user_transactions.yml"]


def test_every_readme_block_runs_as_written_in_order(fresh_clone, browser):
    program, opened = browser
    env = _environment(fresh_clone, BROWSER=str(program))
    done = {}
    try:
        for block in blocks(README):
            if block.action:
                done[block.first_line] = _perform(block, fresh_clone, env)
    finally:
        subprocess.run(["featurestore", "online", "stop"], cwd=fresh_clone, env=env,
                       capture_output=True, timeout=120)

    def output(first_line: str) -> subprocess.CompletedProcess:
        return next(run for line, run in done.items() if line.startswith(first_line))

    # the tutorial: the scaffold recorded as it came, then the real feature in place
    assert "+ user_refunds v1 (create)" in output("source .venv/bin/activate").stdout
    edited = output("featurestore build     # the model's columns changed")
    assert ("fs_user__user_refunds: its columns changed, and nothing has consumed view "
            "`user_refunds` yet (no sync, training set or promotion): rebuilding it from "
            "scratch, as `--full-refresh` would\n") in edited.stderr
    assert ("~ user_refunds v1 (not yet published, changed in place)\n"
            "    feature `example_count`: removed\n") in edited.stdout
    manifest = json.loads((fresh_clone / "train.parquet.manifest.json").read_text())
    assert [view["name"] for view in manifest["views"]] == ["user_refunds",
                                                            "user_transactions"]
    assert manifest["output"]["rows"] == manifest["spine"]["rows"] == 65_291
    import pyarrow.parquet as pq

    counts = pq.read_table(fresh_clone / "train.parquet",
                           columns=["user_refunds__refund_count_30d"]).column(0).to_pylist()
    refunded = sum(1 for count in counts if count)
    assert refunded == REFUND_ROWS, refunded  # the README's figure
    assert f"{REFUND_ROWS:,} of the rows" in README

    # the SDK example
    sdk = output("import pandas as pd")
    assert sdk.stdout.splitlines()[0] == ("['device_seen_before', 'merchant_risk', "
                                          "'user_profile', 'user_refunds', "
                                          "'user_transactions']")
    assert "user_transactions__txn_count_7d" in sdk.stdout

    # online, lookup and versions, all against the DynamoDB Local `online start` started
    assert "user_transactions:txn_count_7d" in output("featurestore lookup --local").stdout
    versions = output("sed -e").stdout
    assert "+ user_transactions v2, beside v1 (new-version)" in versions
    assert "verdict: PASS" in versions  # compare: v2's common features are v1's
    assert "user_transactions v1 retired: 1,970 online item(s) deleted." in versions

    # the gates passed and were recorded, so the catalog shows them; --open opened it
    catalog = output("featurestore gate --local             # the catalog")
    index = (fresh_clone / "target" / "catalog" / "index.html").resolve()
    assert opened.read_text() == f"{index.as_uri()}\n"
    assert "0 failed" in catalog.stdout
    page = (fresh_clone / "target" / "catalog" / "views" / "user_refunds.html").read_text()
    assert "no gate result recorded yet" not in page


# Rows of the tutorial's training set whose user had a refund in the 30 days before: the
# demo's data is seeded and its times are relative to its end, so the figure is exact.
REFUND_ROWS = 31_454


def test_the_dbt_package_guide_runs_in_the_example_project(tmp_path):
    """docs/dbt-package.md step 6, in a copy of tests/consumer_project/ (the guide's
    example), with DynamoDB Local from npm as the guide says."""
    from tests.consumer.conftest import copy_consumer_project

    project = copy_consumer_project(tmp_path / "shop")
    (project / "node_modules").symlink_to(REPO_ROOT / "node_modules")
    env = _environment(REPO_ROOT)
    runnable = [b for b in blocks(PACKAGE_GUIDE) if b.action == "run"]
    assert runnable, "docs/dbt-package.md marks no block to run"
    try:
        results = [_perform(block, project, env) for block in runnable]
    finally:
        subprocess.run(["featurestore", "online", "stop"], cwd=project, env=env,
                       capture_output=True, timeout=120)
    assert (project / "train.parquet.manifest.json").is_file()
    assert "customer_orders:order_count_7d" in results[-1].stdout
