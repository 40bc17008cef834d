"""Where a build's chunks of variants are made: in this process and in helper processes beside it.

Light to import (no SymPy): the command line forks the helpers right after reading the spec, so that
they import SymPy and the templates side by side with this process instead of inheriting them after it
— on two cores, the 0.5 s of imports is paid once in wall time, not twice. The chunks are then handed
out one at a time to whichever process is free: this one included, so ``--jobs N`` is N processes.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

MOST_PER_CHUNK = 8  # variants typeset in one pdflatex run per document kind
FEWEST_CHUNKS = 4  # small classes still spread over cores


def chunks(count: int) -> list[range]:
    """The variants' indices cut into consecutive chunks, each built by one worker in one TeX run per kind.

    Depends on the number of variants only, never on --jobs or the machine: a chunk's PDFs share font
    subsets, so the same chunks are what make every build of a spec and seed byte-identical.
    """
    number = max(-(-count // MOST_PER_CHUNK), min(count, FEWEST_CHUNKS))
    size, extra = divmod(count, number)
    bounds = [0]
    for k in range(number):
        bounds.append(bounds[-1] + size + (k < extra))
    return [range(a, b) for a, b in zip(bounds, bounds[1:])]


def helpers_wanted(count: int, jobs: int, only: str | None) -> int:
    """How many helper processes a build of ``count`` variants uses beside this one."""
    if only is not None:  # one chunk: typeset while deriving instead (build._typeset_while_deriving)
        return 0
    return max(0, min(jobs, len(chunks(count))) - 1)


@dataclass(frozen=True)
class Helpers:
    """Forked helper processes, each taking one chunk at a time."""

    pool: ProcessPoolExecutor
    count: int


def _load() -> None:
    import generator.build  # noqa: F401 - SymPy, the derivations' helpers, Jinja: what every chunk needs


@contextlib.contextmanager
def helpers(count: int) -> Iterator[Helpers | None]:
    """``count`` helper processes, forked now (None when ``count`` is 0); stopped on leaving."""
    if count < 1:
        yield None
        return
    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork"), initializer=_load)
    try:
        pool.submit(os.getpid)  # a fork pool starts its processes on the first task: start them now
        yield Helpers(pool, count)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def share(run: Callable, tasks: list, helpers: Helpers, arrived: Callable[[int, object], None]) -> list:
    """``run`` on every task, here and on the helpers; each task goes to whichever process is free next.

    ``arrived(k, result)`` is called once per task as soon as its result is here (from one thread at a
    time; from a helper's result thread for theirs). Returns the results in the tasks' order. If tasks
    fail, no further task starts, and the failure of the first of them (in the tasks' order) is raised.
    """
    claimed = iter(range(len(tasks)))
    results: list = [None] * len(tasks)
    failures: dict[int, BaseException] = {}
    away = 0  # tasks on a helper whose result has not been handled yet
    state = threading.Condition()
    handing = threading.Lock()

    def claim() -> int | None:
        with state:
            return None if failures else next(claimed, None)

    def fail(k: int, error: BaseException) -> None:
        with state:
            failures[k] = error

    def handle(k: int, result) -> None:
        with handing:
            results[k] = result
            arrived(k, result)

    def send() -> None:
        nonlocal away
        k = claim()
        if k is None:
            return
        with state:
            away += 1
        try:
            future = helpers.pool.submit(run, tasks[k])
        except Exception as error:  # a broken pool (a helper was killed)
            fail(k, error)
            back()
            return
        future.add_done_callback(functools.partial(returned, k))

    def back() -> None:
        nonlocal away
        with state:
            away -= 1
            state.notify_all()

    def returned(k: int, future) -> None:
        try:
            handle(k, future.result())
        except BaseException as error:
            fail(k, error)
        send()  # before back(): the count of tasks away never passes through 0 while some are left
        back()

    for _ in range(helpers.count):
        send()
    try:
        while (k := claim()) is not None:
            try:
                result = run(tasks[k])
            except Exception as error:
                fail(k, error)
                break
            handle(k, result)
    finally:
        with state:
            for _ in claimed:  # nothing more starts (after Ctrl-C too); the helpers finish what they have
                pass
            state.wait_for(lambda: away == 0)
    if failures:
        raise failures[min(failures)]
    return results
