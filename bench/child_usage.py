"""A command's own wall time, CPU time and peak RSS, which the benchmark's memory cannot inflate.

Linux starts a child's peak RSS (``ru_maxrss``, what ``wait4`` reports) from the peak of
the process it was forked from: fork copies the parent's high-water mark, and exec keeps
it. So a benchmark that generated gigabytes of data in its own process, and then timed
``featurestore training-set``, reported its own peak as the command's (measured here: a
``python -c pass`` started after the parent held 3 GiB reported 3,083 MiB; before, 11 MiB).
Every measured command is therefore started by a launcher: a small process that the
benchmark starts first thing (``start()``), while it is itself still small, and which
forks each command from its own few MiB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

_LAUNCHER = r"""
import json, os, subprocess, sys, tempfile, time
for line in sys.stdin:
    job = json.loads(line)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(job["argv"], env=job["env"], stdout=out,
                                   stderr=out if job["merge"] else err)
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        texts = []
        for stream in (out, err):
            stream.seek(0)
            texts.append(stream.read().decode(errors="replace"))
    print(json.dumps({"returncode": os.waitstatus_to_exitcode(status), "stdout": texts[0],
                      "stderr": texts[1], "seconds": seconds,
                      "cpu_seconds": usage.ru_utime + usage.ru_stime,
                      "peak_rss_bytes": usage.ru_maxrss * 1024}), flush=True)
"""
_launcher: subprocess.Popen | None = None


def start() -> None:
    """Start the launcher: call it before the benchmark allocates anything large."""
    global _launcher
    if _launcher is None:
        _launcher = subprocess.Popen([sys.executable, "-c", _LAUNCHER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)


def run(argv: list[str], env: dict[str, str] | None = None, merge: bool = False) -> dict:
    """Run ``argv`` to its end (``env`` on top of this process's environment; ``merge``:
    stderr into stdout): returncode, stdout, stderr, seconds (start to exit),
    cpu_seconds (user + system, all threads) and peak_rss_bytes."""
    start()
    _launcher.stdin.write(json.dumps({"argv": argv, "env": {**os.environ, **(env or {})},
                                      "merge": merge}) + "\n")
    _launcher.stdin.flush()
    line = _launcher.stdout.readline()
    if not line:
        raise SystemExit("bench/child_usage.py: the launcher process ended; rerun the benchmark")
    return json.loads(line)
