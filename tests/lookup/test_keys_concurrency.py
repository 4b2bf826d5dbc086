"""`featurestore keys create` run several times at once keeps every key (issue 17, item
12): the read-modify-write of api_keys.json happens under a lock, and the file is
replaced whole."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

from featurestore.lookup.access import AccessPolicy, create_key, hash_key
from tests.lookup.test_lookup_access import project_dir  # noqa: F401  (the fixture)

ROUNDS, AT_ONCE = 8, 6


def test_six_keys_create_at_once_keep_six_keys(project_dir):  # noqa: F811
    command = [str(Path(sys.executable).parent / "featurestore"), "--project-dir",
               str(project_dir), "keys", "create", "--grant", "public"]
    running = [subprocess.Popen([*command, "--name", f"model-{i}"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for i in range(AT_ONCE)]
    printed = {}
    for i, process in enumerate(running):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        printed[f"model-{i}"] = out.strip()
    path = project_dir / "api_keys.json"
    document = json.loads(path.read_text())
    assert sorted(entry["name"] for entry in document["keys"]) == sorted(printed)
    policy = AccessPolicy.from_config(path.read_text(), str(path))
    for name, key in printed.items():
        assert policy.authenticate(key, "r", "/").name == name
    assert sorted(p.name for p in project_dir.iterdir() if p.name.startswith(".api_keys")) \
        == [".api_keys.json.lock"]  # no scratch file left behind


def _create_at_the_barrier(path: str, name: str, barrier, keys) -> None:
    barrier.wait(timeout=120)
    keys.put((name, create_key(Path(path), name, ["public"])))


def test_processes_released_together_keep_every_key(tmp_path):
    """Processes released by one barrier, round after round: the window a lost update
    needs is the few microseconds between a read and a rename, so it is forced."""
    context = multiprocessing.get_context("fork")
    path = tmp_path / "api_keys.json"
    keys = context.Queue()
    made = {}
    for round_ in range(ROUNDS):
        barrier = context.Barrier(AT_ONCE)
        workers = [context.Process(target=_create_at_the_barrier,
                                   args=(str(path), f"k{round_}-{i}", barrier, keys))
                   for i in range(AT_ONCE)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=300)
            assert worker.exitcode == 0
        for _ in workers:
            name, key = keys.get(timeout=60)
            made[name] = key
    stored = {entry["name"]: entry["sha256"] for entry in
              json.loads(path.read_text())["keys"]}
    assert len(stored) == ROUNDS * AT_ONCE
    assert stored == {name: hash_key(key) for name, key in made.items()}
