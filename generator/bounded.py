"""Work on untrusted input in helper processes, each task under a time limit, killed when it overruns.

Grading compares what students wrote with SymPy. The grammar bounds every size it reads, but a comparison
(``simplify`` on a strange expression) can still run long: each task runs in a forked worker process, and
a worker that is not done by its deadline is killed (SIGKILL) and replaced, its task reported as
:class:`Overrun`. A worker also dies with this process (``PR_SET_PDEATHSIG``), and is limited in memory.
Signal alarms inside the comparison are not used: SymPy code can swallow the exception they raise.
"""

from __future__ import annotations

import collections
import ctypes
import multiprocessing
import os
import resource
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

MEMORY = 2 << 30  # bytes of address space a worker may add to what it inherited


@dataclass(frozen=True)
class Overrun:
    """A task that was stopped: it ran past its time limit, or its worker died (out of memory)."""

    reason: str


@dataclass(frozen=True)
class Failed:
    """A task whose function raised: the exception's type and message."""

    reason: str


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent is already gone
        os._exit(0)


def _limit_memory() -> None:
    try:
        with open("/proc/self/statm") as stream:
            size = int(stream.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = size + MEMORY
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    except (OSError, ValueError):
        pass


def _serve(connection, parent) -> None:
    parent.close()
    _die_with_parent()
    _limit_memory()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the grader, which kills its workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            key, function, args = connection.recv()
        except (EOFError, OSError):
            os._exit(0)
        try:
            result = function(*args)
        except MemoryError:
            result = Overrun("it needed more memory than allowed")
        except BaseException as error:  # a task's failure is its result; the worker carries on
            result = Failed(f"{type(error).__name__}: {error}")
        try:
            connection.send((key, result))
        except (OSError, ValueError):
            os._exit(0)


class _Worker:
    def __init__(self, context):
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, self.connection), daemon=True)
        self.process.start()
        child.close()
        self.task: tuple | None = None  # (key, deadline) of the task it is working on

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.connection.close()


class Workers:
    """A few forked worker processes that run module-level functions, each call under a time limit.

    Fork copies this process: what it holds when the workers start (a build's answers, imported SymPy)
    is theirs without any copying. Use as a context manager; leaving it kills every worker.
    """

    def __init__(self, processes: int | None = None):
        self.size = max(1, processes or os.cpu_count() or 1)
        self._context = multiprocessing.get_context("fork")
        self._workers: list[_Worker] = []

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers = []

    def run(self, tasks: Iterable[tuple[Any, Callable, tuple]], seconds: float) -> Iterator[tuple[Any, Any]]:
        """(key, result) for each task (key, function, args), in the order they finish. A task that takes
        longer than ``seconds`` gives an :class:`Overrun`; one that raises gives a :class:`Failed`."""
        pending = collections.deque(tasks)
        while len(self._workers) < min(self.size, len(pending)):
            self._workers.append(_Worker(self._context))
        while True:
            for worker in self._workers:
                if worker.task is None and pending:
                    key, function, args = pending.popleft()
                    try:
                        worker.connection.send((key, function, args))
                    except (OSError, ValueError):
                        yield key, Overrun("its worker stopped")
                        self._replace(worker)
                        continue
                    worker.task = (key, time.monotonic() + seconds)
            busy = [w for w in self._workers if w.task is not None]
            if not busy:
                return
            timeout = max(0.0, min(w.task[1] for w in busy) - time.monotonic())
            ready = wait([w.connection for w in busy], timeout)
            now = time.monotonic()
            for worker in busy:
                if worker.connection in ready:
                    try:
                        key, result = worker.connection.recv()
                    except (EOFError, OSError):
                        key, result = worker.task[0], Overrun("its worker stopped (out of memory?)")
                        worker = self._replace(worker)
                    worker.task = None
                    yield key, result
                elif worker.task[1] <= now:
                    key = worker.task[0]
                    self._replace(worker)
                    yield key, Overrun(f"it took longer than {seconds:g} s")

    def _replace(self, worker: _Worker) -> _Worker:
        worker.stop()
        fresh = _Worker(self._context)
        self._workers[self._workers.index(worker)] = fresh
        return fresh
