"""Where a build's problems are derived: in this process and in helper processes beside it.

Light to import (no SymPy): the command line forks the helpers right after reading the spec and hands
them their work at once (``deriving``), so that they import SymPy side by side with this process instead
of inheriting it after it — on two cores, the 0.5 s of imports is paid once in wall time, not twice — and
start deriving while this process still imports what it needs to render and typeset.

The work is split by problem, not by variant: each process derives its own problems of the spec (with one
helper, problems 1, 4, 7 … here and the others there; see ``groups``) for every variant. A process's
first instance of a derivation costs several times the next ones (loading its general result, expanding
it for these sizes, warming SymPy's caches); split by problem, each process pays that only for its own
problems. Each helper works through the chunks in order and sends its part of each back as soon as it is
made; this process derives its own part, joins them, renders the chunk and hands it to TeX.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

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


def helpers_wanted(count: int, jobs: int, only: str | None, problems: int) -> int:
    """How many helper processes a build of ``count`` variants of ``problems`` problems uses beside this one."""
    if only is not None or count == 1:  # one chunk: typeset while deriving instead (build._typeset_while_deriving)
        return 0
    return max(0, min(jobs - 1, problems // 2))  # each helper gets a problem of its own (see groups)


def groups(problems: int, processes: int) -> list[list[int]]:
    """The problems' positions dealt out to the processes in turn: this process's first, then each helper's.

    This process also renders every chunk and hands it to TeX, so it takes one problem to each helper's
    two (with 14 problems and one helper: 5 here, 9 there). Against one to one, 8 variants with --jobs 2
    went from 1.57 to 1.63 times --jobs 1 (medians of 15 paired rounds); measured again after TeX got
    cheaper, with the same variants in every round, the two dealings were level (1.65 and 1.64).
    """
    cycle = [0] + [helper for helper in range(1, processes) for _ in range(2)]
    return [[q for q in range(problems) if cycle[q % len(cycle)] == p] for p in range(processes)]


@dataclass
class Helpers:
    """Forked helper processes, and the channel their results come back on."""

    pool: ProcessPoolExecutor
    count: int
    results: Any  # a multiprocessing queue: (helper, unit, succeeded, pickled result or error)
    stop: Any  # a multiprocessing event: once set, no helper starts another unit
    serving: list[Future] = field(default_factory=list)  # each helper's run through its units (``start``)

    def start(self, run: Callable, units: list[list]) -> None:
        """Helper h (1, 2 …) runs ``run`` on each of ``units[h - 1]`` in order (see ``serve``)."""
        self.serving = [self.pool.submit(serve, run, h, mine) for h, mine in enumerate(units, start=1)]

    def release(self) -> None:
        """Nothing more is wanted from the helpers: they exit while this process goes on."""
        self.stop.set()
        self.pool.shutdown(wait=False)


_inherited: tuple | None = None  # (results, stop) of the helpers forked last, as a helper inherits them


def _load() -> None:
    # Ctrl-C is this process's to handle: it ends the helpers (terminate, a plain SIGTERM), and neither
    # should print a helper's traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # the helpers run ahead of this process, which renders and feeds TeX: where both want a core, this
    # process and TeX go first (8 variants, --jobs 2, 15 paired rounds: 1.62 -> 1.67 times --jobs 1)
    os.nice(5)
    # what deriving needs, and no more (a helper neither renders nor typesets): 0.1 CPU-s less than all
    # of generator.build
    import derivbook.engine  # noqa: F401
    import derivbook.verify  # noqa: F401 - SymPy and mpmath


@contextlib.contextmanager
def helpers(count: int) -> Iterator[Helpers | None]:
    """``count`` helper processes, forked now (None when ``count`` is 0); stopped on leaving."""
    global _inherited
    if count < 1:
        yield None
        return
    context = multiprocessing.get_context("fork")
    _inherited = (context.Queue(), context.Event())  # before the fork: the helpers inherit them
    pool = ProcessPoolExecutor(count, mp_context=context, initializer=_load)
    try:
        pool.submit(os.getpid)  # a fork pool starts all its processes on the first task: start them now
        yield Helpers(pool, count, *_inherited)
    except BaseException:
        # a failure or Ctrl-C ends the build at once, not after the unit each helper is on (up to a second
        # of SymPy); ProcessPoolExecutor.terminate_workers() does this from Python 3.14
        for process in list((pool._processes or {}).values()):
            process.terminate()
        raise
    finally:
        _inherited[1].set()  # no helper starts another unit
        pool.shutdown(wait=True, cancel_futures=True)
        _inherited[0].close()


@contextlib.contextmanager
def deriving(workbook, count: int) -> Iterator[Helpers | None]:
    """``count`` helpers forked now and set to work at once, each on its problems (``groups``) of every chunk
    of ``workbook``; this process derives the first share (None when ``count`` is 0).

    Started before this process imports what it needs to render and typeset: the helpers' first results are
    there when it wants them.
    """
    with helpers(count) as forked:
        if forked is not None:
            from derivbook.engine import derive_part

            shares = groups(len(workbook.requests), count + 1)
            plan = chunks(len(workbook.students))
            forked.start(derive_part, [[(workbook, list(r), share) for r in plan] for share in shares[1:]])
        yield forked


def serve(run: Callable, helper: int, units: list) -> None:
    """In a helper: ``run`` on each unit in order, each result sent back as soon as it is made.

    Stops at the first exception (sent back in its place) or when told to. Results are pickled here, so
    that one that cannot be sent is reported instead of lost on the way.
    """
    results, stop = _inherited
    # a helper whose last results nobody reads (this process stopped after a failure) must still exit:
    # by default it would wait for them to be read (in the normal case all of them are read before)
    results.cancel_join_thread()
    for k, unit in enumerate(units):
        if stop.is_set():
            return
        try:
            results.put((helper, k, True, pickle.dumps(run(unit))))
        except Exception as error:
            results.put((helper, k, False, _sendable(error)))
            return


def _sendable(error: Exception) -> bytes:
    try:
        return pickle.dumps(error)
    except Exception:
        return pickle.dumps(RuntimeError(f"{type(error).__name__}: {error}"))


class Arrivals:
    """The helpers' results in this process, taken in any order; waits for one not here yet."""

    def __init__(self, helpers: Helpers) -> None:
        self._helpers = helpers
        self._here: dict[tuple[int, int], tuple[bool, bytes]] = {}

    def take(self, helper: int, k: int):
        """Helper ``helper``'s result for its unit ``k``, or the exception it raised there."""
        while (helper, k) not in self._here:
            try:
                who, unit, succeeded, data = self._helpers.results.get(timeout=0.1)
            except queue.Empty:  # a helper that crashed (killed, out of memory) sends nothing: say so
                crashed = next((f.exception() for f in self._helpers.serving if f.done() and f.exception()), None)
                if crashed is not None:
                    raise crashed from None
                continue
            self._here[who, unit] = (succeeded, data)
        succeeded, data = self._here.pop((helper, k))
        value = pickle.loads(data)
        if not succeeded:
            raise value
        return value
