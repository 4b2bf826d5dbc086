"""Pre-forked lookup workers: one listening socket, N processes answering on it.

One ``featurestore serve`` process answers with one Python interpreter: its threads share
one GIL, so it uses about one core however many connections it holds. ``serve --workers
N`` binds the port once, then forks N workers that accept on the same socket (the kernel
hands each new connection to one of them). Each worker builds its own app, and so its
own DynamoDB client and connection pool (a client is not shared across a fork), its own
cache and its own metrics; the serving log is shared, each line appended under a file lock.

The parent only supervises:

- **SIGTERM or SIGINT** (Ctrl-C) stops every worker (SIGTERM, then SIGKILL for one that
  has not exited after ``STOP_GRACE_S``) and reaps them all. Requests in flight are cut
  off: the lookup keeps no state a request could leave half-done. The CLI then exits as
  every command does: 143 after SIGTERM, 0 after Ctrl-C.
- **A worker that dies after it started serving is replaced** (by a signal such as the
  OOM killer's SIGKILL, or a crash), and the parent says so on stderr. A worker that
  dies **before** it is ready (its app could not be built) stops the whole server with
  exit status 1: a start-up that fails once fails every time, and replacing it would
  loop.
- **A worker never outlives the parent**: each asks the kernel for SIGTERM when its
  parent dies (``PR_SET_PDEATHSIG``, Linux), so even a SIGKILLed parent leaves no worker
  serving behind it.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from featurestore.errors import FeatureStoreError

STOP_GRACE_S = 10.0  # from SIGTERM to SIGKILL, for a worker that does not exit
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_PR_SET_PDEATHSIG = 1


class _Stop(Exception):  # noqa: N818 - a signal, not an error
    """Raised by the signal handlers of the parent and of a worker."""


def _raise_stop(signum, frame) -> None:
    raise _Stop(signum)


def listen(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """The one listening socket every worker accepts on (``port`` 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(backlog)
    except OSError:
        listener.close()
        raise
    return listener


@dataclass
class _Worker:
    pid: int
    ready: int  # the read end of the pipe the worker writes one byte to once it serves


class Fleet:
    """The parent of ``count`` workers on ``listener``.

    ``serve``: listener -> a server with ``serve_forever()`` and ``server_close()``, called
    in each worker after the fork (so every client it makes is the worker's own).
    ``note``: where the parent's lines go (stderr in the CLI).
    """

    def __init__(self, listener: socket.socket, count: int,
                 serve: Callable[[socket.socket], object], note: Callable[[str], None]):
        if count < 1:
            raise ValueError(f"a fleet needs at least one worker, got {count}")
        self.listener = listener
        self.count = count
        self.serve = serve
        self.note = note
        self.workers: dict[int, _Worker] = {}
        self.stopped_by: int | None = None  # the signal that stopped the fleet, if one did

    def run(self) -> int:
        """Start the workers, replace those that die, stop them all on SIGTERM or SIGINT
        (``stopped_by`` then names it); the exit status: 0 when stopped, 1 when a worker
        failed to start."""
        previous = {signum: signal.signal(signum, _raise_stop) for signum in _STOP_SIGNALS}
        status = 0
        try:
            for _ in range(self.count):
                self._start()
            self.note(f"{self.count} workers started (pids "
                      f"{', '.join(str(pid) for pid in self.workers)}); SIGTERM stops them all")
            while True:
                pid, wait_status = os.waitpid(-1, 0)
                worker = self.workers.pop(pid, None)
                if worker is None:
                    continue
                if not self._was_ready(worker):
                    self.note(f"worker pid {pid} {_describe(wait_status)} before it was "
                              "ready (its error is above): stopping the server")
                    status = 1
                    break
                replacement = self._start()
                self.note(f"worker pid {pid} {_describe(wait_status)}; started pid "
                          f"{replacement} in its place")
        except _Stop as stop:
            self.stopped_by = stop.args[0]
        finally:
            self._stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return status

    def _start(self) -> int:
        read_end, write_end = os.pipe()
        # no stop signal may reach the child before it has its own handlers, nor the
        # parent before it knows the child's pid
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            try:
                pid = os.fork()
            except OSError:
                os.close(read_end)
                os.close(write_end)
                raise
            if pid == 0:  # the worker: never returns
                for other in [read_end, *(w.ready for w in self.workers.values())]:
                    os.close(other)
                _work(self.listener, self.serve, write_end, os.getppid(), blocked)
            os.close(write_end)
            self.workers[pid] = _Worker(pid, read_end)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        return pid

    @staticmethod
    def _was_ready(worker: _Worker) -> bool:
        try:
            return os.read(worker.ready, 1) == b"1"  # the writer is gone: never blocks
        finally:
            os.close(worker.ready)

    def _stop_all(self) -> None:
        """SIGTERM to every worker, SIGKILL past the grace, then reap each one (a second
        SIGTERM or Ctrl-C meanwhile changes nothing)."""
        for signum in _STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        for pid in self.workers:
            _signal(pid, signal.SIGTERM)
        give_up = time.monotonic() + STOP_GRACE_S
        while self.workers:
            for pid in list(self.workers):
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done:
                    os.close(self.workers.pop(pid).ready)
            if self.workers and time.monotonic() > give_up:
                for pid in self.workers:
                    _signal(pid, signal.SIGKILL)
                give_up = float("inf")
            if self.workers:
                time.sleep(0.02)
        self.listener.close()


def _work(listener: socket.socket, serve, ready: int, parent: int, mask) -> None:
    """A worker's whole life, in the forked child: serve until SIGTERM or SIGINT, then
    ``os._exit`` (the parent's ``atexit`` handlers and buffers are not the worker's)."""
    code = 1
    try:
        for signum in _STOP_SIGNALS:
            signal.signal(signum, _raise_stop)
        _die_with(parent)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        import random

        random.seed()  # not the parent's sequence: each worker samples the serving log
        server = serve(listener)
        os.write(ready, b"1")
        os.close(ready)
        try:
            server.serve_forever(poll_interval=0.5)
        finally:
            server.server_close()
    except (_Stop, KeyboardInterrupt):
        code = 0
    except FeatureStoreError as exc:  # a sentence with its fix, as the CLI prints one
        print(f"Error: worker pid {os.getpid()}: {exc}", file=sys.stderr)
    except BaseException:  # noqa: BLE001 - printed, then the exit status says it
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


def _die_with(parent: int) -> None:
    """SIGTERM to this process when its parent dies (Linux); if the parent is already
    gone, stop now."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the worker lives until stopped
        pass
    if os.getppid() != parent:
        raise _Stop(signal.SIGTERM)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _describe(wait_status: int) -> str:
    if os.WIFSIGNALED(wait_status):
        return f"was killed by {signal.Signals(os.WTERMSIG(wait_status)).name}"
    return f"exited with status {os.waitstatus_to_exitcode(wait_status)}"
