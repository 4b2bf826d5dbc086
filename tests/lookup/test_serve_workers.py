"""`featurestore serve --workers N`: N pre-forked processes on one port, each answering
from DynamoDB with its own client; SIGTERM stops them all; a dead worker is replaced; a
worker that cannot start stops the server with exit 1; no worker outlives the server."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import psutil
import pytest

from tests.lookup.lookup_testkit import REPO_ROOT, seed
from tests.waiting import wait_until

FEATURESTORE = str(Path(sys.executable).parent / "featurestore")
STARTED = re.compile(r"^(\d+) workers started \(pids ([\d, ]+)\); SIGTERM stops them all$")


class Served:
    """A ``featurestore serve --workers N`` process, its stderr read line by line."""

    def __init__(self, project_dir: Path, env: dict, workers: int):
        self.process = subprocess.Popen(
            [FEATURESTORE, "--project-dir", str(project_dir), "serve", "--port", "0",
             "--workers", str(workers), "--deadline-ms", "60000", "--log-sample", "0"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        started = wait_until(lambda: next((STARTED.match(line) for line in self.lines
                                           if STARTED.match(line)), None),
                             "the workers-started line")
        self.pids = {int(pid) for pid in started.group(2).split(", ")}
        assert len(self.pids) == int(started.group(1)) == workers
        url = next(line for line in self.lines if line.startswith("serving "))
        self.port = int(re.search(r"http://127\.0\.0\.1:(\d+) ", url).group(1))

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def ask(self, user_id: int) -> tuple[int, dict]:
        """(pid of the worker that answered, the answer) of one GET on a new connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request("GET", f"/v1/features/user/{user_id}"
                                      "?features=user_transactions:txn_count_7d")
            answer = connection.getresponse()
            body = json.loads(answer.read())
            assert answer.status == 200, body
            # the connection is still open (keep-alive): the worker holding it answered
            return holder_of(connection.sock.getsockname(), self.workers()), body
        finally:
            connection.close()

    def answers_from_each(self) -> dict[int, dict]:
        """An answer from each worker (pid -> answer), asking until every one has answered
        (a connection goes to whichever worker accepts it first)."""
        answered: dict[int, dict] = {}

        def every_worker_answered():
            pid, body = self.ask(42)
            answered[pid] = body
            return set(answered) == self.pids

        wait_until(every_worker_answered, f"an answer from each of the workers {self.pids}")
        return answered

    def workers(self) -> set[int]:
        return {child.pid for child in psutil.Process(self.process.pid).children()}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def holder_of(client_address, pids) -> int | None:
    """The process among ``pids`` holding the server side of the client's connection."""
    for pid in pids:
        try:
            connections = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            continue
        if any(c.raddr and tuple(c.raddr) == tuple(client_address) for c in connections):
            return pid
    return None


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie waiting to be reaped is not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def served(tmp_path, dynamodb_local, dynamodb_table, catalog):
    """``served(workers) -> Served`` over a table where user 42 has txn_count_7d 14, written
    ten minutes ago (so served as it is, PRESENT)."""
    client, table = dynamodb_table
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    seed(client, table, catalog.views["user_transactions"], [{
        "user_id": 42, "feature_ts": now - dt.timedelta(minutes=10), "txn_count_7d": 14}],
        written_at=now)
    shutil.copytree(REPO_ROOT / "feature_defs", tmp_path / "feature_defs")
    shutil.copy(REPO_ROOT / "dbt_project.yml", tmp_path)
    env = {**os.environ, "FEATURESTORE_DYNAMODB_ENDPOINT": dynamodb_local,
           "FEATURESTORE_ONLINE_TABLE": table}
    started = []

    def start(workers: int) -> Served:
        started.append(Served(tmp_path, env, workers))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def test_every_worker_answers_from_dynamodb(served):
    server = served(3)
    assert server.workers() == server.pids
    answered = server.answers_from_each()
    assert set(answered) == server.pids
    for body in answered.values():
        assert body["degraded"] is False
        (result,) = body["results"]
        answer = result["features"]["user_transactions:txn_count_7d"]
        assert (answer["value"], answer["status"]) == (14, "PRESENT")


def test_sigterm_stops_every_worker_and_leaves_none(served):
    server = served(3)
    server.ask(42)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=120) == 143  # as every command stopped by SIGTERM
    wait_until(lambda: "Error: stopped by SIGTERM; nothing half-written was left behind."
               in server.lines, "the CLI's line about SIGTERM")
    assert [pid for pid in server.pids if alive(pid)] == []
    with pytest.raises(ConnectionRefusedError):
        http.client.HTTPConnection("127.0.0.1", server.port, timeout=60).connect()


def test_ctrl_c_stops_every_worker_and_exits_0(served):
    server = served(2)
    server.answers_from_each()
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=120) == 0
    assert [pid for pid in server.pids if alive(pid)] == []


def test_a_killed_worker_is_replaced(served):
    server = served(2)
    server.answers_from_each()  # both serve: a worker killed before that stops the server
    victim = min(server.pids)
    os.kill(victim, signal.SIGKILL)
    line = wait_until(lambda: next((text for text in server.lines
                                    if text.startswith(f"worker pid {victim} ")), None),
                      "the parent's line about the killed worker")
    replacement = int(re.fullmatch(rf"worker pid {victim} was killed by SIGKILL; started "
                                   r"pid (\d+) in its place", line).group(1))
    assert server.workers() == server.pids - {victim} | {replacement}
    wait_until(lambda: server.ask(42)[0] == replacement, "an answer from the new worker")
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=120) == 143
    assert not alive(replacement)


def test_workers_do_not_outlive_a_killed_parent(served):
    server = served(2)
    server.answers_from_each()  # both serve
    server.process.kill()  # SIGKILL: the parent cannot stop them itself
    server.process.wait()
    wait_until(lambda: not any(alive(pid) for pid in server.pids),
               "the workers to exit after their parent")


def test_a_worker_whose_app_is_refused_says_why_in_one_line(tmp_path):
    script = textwrap.dedent("""
        import sys
        from featurestore.errors import ProjectError
        from featurestore.lookup.workers import Fleet, listen

        def serve(listener):
            raise ProjectError("feature_defs/user.yml: no such file; write it again")

        sys.exit(Fleet(listen("127.0.0.1", 0), 1, serve, print).run())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 1
    assert re.fullmatch(r"Error: worker pid \d+: feature_defs/user.yml: no such file; write "
                        r"it again\n", done.stderr)


def test_a_worker_that_cannot_start_stops_the_server_with_exit_1(tmp_path):
    script = textwrap.dedent("""
        import sys
        from featurestore.lookup.workers import Fleet, listen

        def serve(listener):
            raise RuntimeError("no store here")

        sys.exit(Fleet(listen("127.0.0.1", 0), 2, serve, print).run())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 1
    assert "RuntimeError: no store here" in done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"2 workers started \(pids \d+, \d+\); SIGTERM stops them all",
                        lines[0])
    assert re.fullmatch(r"worker pid \d+ exited with status 1 before it was ready \(its "
                        r"error is above\): stopping the server", lines[1])
    assert len(lines) == 2
