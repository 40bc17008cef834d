"""Builds a workbook: plan → derive and verify → render → typeset → export → publish.

``build`` is the whole path, and every step in it is a call you can open:

- plan: the variants (each with its id and what seeds its numbers), cut into chunks of up to eight;
- derive and verify, render, typeset: ``make_chunk`` runs on each chunk — SymPy derives and checks each
  problem (``engine``), Jinja renders each variant's worksheet and answer key (``render``), pdflatex typesets
  the chunk's worksheets in one run and its answer keys in another (``texbuild``);
- export: every chosen writer turns the chunk into files (``writers``), staged beside the output as soon
  as they arrive; whole-class files are joined from the staged pieces at the end;
- publish: the staging folder is swapped in whole (``output``).

``make_chunk`` runs in this process, in a pool of worker processes (``--jobs``), or on a Dask cluster
(``--executor dask``): the same function on the same chunks, so the same bytes by construction. Chunks
depend only on the number of variants: a chunk's PDFs share font subsets, so the chunks decide the bytes.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import os
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from derivbook import cache, output, texbuild, writers
from derivbook.engine import Variant, derive_variant, plan_variants
from derivbook.model import BuildError, UserError
from derivbook.spec import Workbook

MOST_PER_CHUNK = 8  # variants typeset in one pdflatex run per document kind
FEWEST_CHUNKS = 4  # small classes still spread over cores
IN_FLIGHT = 2  # chunks handed to each worker ahead of the one it is on: enough to keep it busy, and no more in memory


@dataclass
class Plan:
    """What a build makes, decided once: the variants, their chunks, the formats and where it all goes."""

    workbook: Workbook
    variants: list[Variant]  # every variant of the build, with its id (problems not derived yet)
    chunks: list[list[int]]  # the variant indices of each chunk to build
    keep: frozenset[int]  # the variants to write: all, or the one asked for with --variant
    single: bool  # one variant written: worksheet.pdf, answer-key.pdf (no ids in the names, no print files)
    formats: tuple[str, ...]
    out_dir: Path
    key: str  # the build's inputs (not its formats): same key, same files
    only: str | None


@dataclass(frozen=True)
class ChunkJob:
    """One chunk's work, sent to whatever runs it: everything it needs, and no process state."""

    workbook: Workbook
    number: int
    variants: list[Variant]
    keep: frozenset[int]
    single: bool
    formats: tuple[str, ...]
    cache_folder: Path | None
    scratch: Path | None  # this build's scratch folder (None on another machine: a private one there)
    tex_side_by_side: bool  # the worksheet's and the key's pdflatex at once: a lone chunk with a core to spare


@dataclass
class Result:
    """What a build wrote (or found already written)."""

    plan: Plan
    written: list[Path]
    unchanged: bool = False


def build(workbook: Workbook, out_dir: Path | None = None, formats: tuple[str, ...] = writers.DEFAULT_FORMATS,
          jobs: int | None = None, only: str | None = None, progress: Callable[[int], None] | None = None,
          notice: Callable[[str], None] | None = None, use_cache: bool = True, executor: str = "local",
          scheduler: str | None = None) -> Result:
    """Build a workbook's files into ``out_dir``; nothing is changed there unless everything succeeded."""
    cores = jobs or os.cpu_count() or 1
    with cache.using(cache.open_cache(use_cache, notice)) as store:
        plan = make_plan(workbook, out_dir, formats, only)
        if "pdf" in formats:
            texbuild.require_tex()
        if use_cache and output.unchanged(plan.out_dir, plan.key, plan.formats):  # --no-cache: everything afresh
            return Result(plan, [], unchanged=True)
        with output.Staging(plan.out_dir, notice) as staging, output.scratch() as scratch, \
                workers(executor, cores, len(plan.chunks), scheduler) as pool:
            spare = pool is None and cores > 1
            jobs_ = [ChunkJob(workbook, k, [plan.variants[i] for i in indices], plan.keep, plan.single, formats,
                              store.folder, scratch if executor == "local" else None, spare)
                     for k, indices in enumerate(plan.chunks)]
            for job, files in zip(jobs_, in_order(pool, make_chunk, jobs_)):  # derive, render, typeset, export
                for kind, named in files.items():
                    staging.add(kind, named)
                if progress:
                    progress(len(job.keep.intersection(v.index for v in job.variants)))
            for kind in formats:  # export: the whole-class files, from the staged pieces
                writers.WRITERS[kind].finish(plan, staging)
            summary = {"title": workbook.title, "seed": str(workbook.seed), "variants": len(plan.variants), "variant": only}
            written = staging.publish(plan.key, formats, summary)  # publish
        store.prune()
    return Result(plan, written)


def make_plan(workbook: Workbook, out_dir: Path | None, formats: tuple[str, ...], only: str | None) -> Plan:
    """The variants and chunks of a build, its output folder and its key; bad requests refused here."""
    unknown = [f for f in formats if f not in writers.WRITERS]
    if unknown or not formats:
        raise UserError(f"--format: {unknown[0] if unknown else 'nothing'} is not a format (allowed: {', '.join(writers.FORMATS)})")
    variants = plan_variants(workbook.seed, workbook.students)
    chunks = chunk_indices(len(variants))
    keep = frozenset(range(len(variants)))
    if only is not None:
        found = next((v for v in variants if v.id == only.strip().upper()), None)
        if found is None:
            raise UserError(f"--variant {only}: no such variant for seed {workbook.seed} with {len(variants)} variant(s); "
                            "use the same spec, --seed and --variants/--roster as the original build")
        chunks, keep = [next(c for c in chunks if found.index in c)], frozenset({found.index})
    default = Path("build") / (workbook.name if only is None else f"{workbook.name}-{only.strip().upper()}")
    # the real folder: a symlink's target, `.` by its name (the output is swapped whole beside it)
    out_dir = (Path(out_dir) if out_dir is not None else default).resolve()
    previous = output.manifest(out_dir) if out_dir.is_dir() else None
    if only is not None and previous and not previous.get("variant") and (previous.get("variants") or 2) > 1:
        held = f"the class build of {previous['variants']} variants" if previous.get("variants") else "an earlier build"
        raise UserError(f"{out_dir}: holds {held}; a regenerated sheet goes to its own folder (leave out --out: {default})")
    key = cache.digest(cache.code_version(), texbuild.tex_version(), _inputs(workbook), only)
    return Plan(workbook, variants, chunks, keep, len(variants) == 1 or only is not None, tuple(formats), out_dir, key, only)


def _inputs(workbook: Workbook) -> str:
    """Everything a build's files depend on besides the code: the validated spec, roster and options."""
    requests = [(r.derivation.id, r.derivation.module_name, sorted(r.params.items()), r.key, r.points, r.space,
                 "" if r.derivation.builtin else cache.source_digest(Path(r.derivation.path).parent))
                for r in workbook.requests]
    return repr((workbook.name, workbook.title, workbook.course, workbook.instructions, workbook.seed, workbook.paper,
                 [(s.name, s.id, s.key) if s else None for s in workbook.students], requests))


def chunk_indices(count: int) -> list[list[int]]:
    """The variants' indices cut into consecutive chunks, each typeset in one TeX run per kind.

    Depends on the number of variants only, never on --jobs or the machine: a chunk's PDFs share font
    subsets, so the same chunks are what make every build of a spec and seed byte-identical.
    """
    number = max(-(-count // MOST_PER_CHUNK), min(count, FEWEST_CHUNKS))
    size, extra = divmod(count, number)
    bounds = list(itertools.accumulate((size + (k < extra) for k in range(number)), initial=0))
    return [list(range(a, b)) for a, b in zip(bounds, bounds[1:])]


def make_chunk(job: ChunkJob) -> dict[str, dict[str, bytes]]:
    """One chunk: its problems derived and verified, its documents rendered and typeset, its files exported."""
    from derivbook import render  # with SymPy: an unchanged rebuild never gets here

    with cache.using(cache.Cache(job.cache_folder)), _scratch(job.scratch) as scratch:
        requests = job.workbook.requests
        variants = [derive_variant(requests, job.workbook.seed, Variant(v.index, v.id, v.student)) for v in job.variants]
        docs = render.documents(job.workbook, variants, job.single)
        batches = {}
        if any(writers.WRITERS[kind].needs_pdf for kind in job.formats):
            batches = texbuild.typeset({kind: ([d.source for d in docs if d.kind == kind],
                                               [f"{job.workbook.name}: {d.stem}" for d in docs if d.kind == kind])
                                        for kind in writers.KINDS}, scratch, job.tex_side_by_side)
        part = writers.ChunkPart(job.workbook, job.number, variants, docs, batches, job.keep, job.single)
        return writers.chunk_files(part, job.formats)


def _scratch(folder: Path | None):
    return contextlib.nullcontext(folder) if folder is not None else output.scratch()


@contextlib.contextmanager
def workers(kind: str, cores: int, chunks: int, scheduler: str | None) -> Iterator[Executor | None]:
    """What runs the chunks: None (this process), a pool of worker processes, or a Dask cluster."""
    if kind == "dask":
        with _dask(scheduler) as pool:
            yield pool
        return
    if scheduler:
        raise UserError("--scheduler needs --executor dask")
    count = min(cores, chunks)
    if count < 2:
        yield None
        return
    import multiprocessing

    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork"), initializer=_worker_start,
                               initargs=(os.getpid(),))
    try:
        yield pool
    except BaseException:
        for process in list((pool._processes or {}).values()):  # at once, not after the chunk each is on
            process.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_start(parent: int) -> None:
    """A worker process dies with the build: by the kernel's parent-death signal (even when the build is
    killed with SIGKILL), and Ctrl-C is the build's to handle, not each worker's."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the build died before the signal was armed
        os._exit(1)


@contextlib.contextmanager
def _dask(scheduler: str | None) -> Iterator[Executor]:
    if not scheduler:
        raise UserError("--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    try:
        from distributed import Client
    except ImportError:
        raise UserError("--executor dask needs Dask: pip install 'derivbook[distributed]'") from None
    try:
        client = Client(scheduler, timeout=15)
    except (OSError, TimeoutError, ValueError) as error:
        raise BuildError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({error})") from None
    try:
        yield client.get_executor()
    finally:
        client.close()


def in_order(pool: Executor | None, function: Callable, items: list) -> Iterator:
    """``function`` over ``items``, results in order; on a pool, only a few run ahead of the one awaited,
    so finished chunks never pile up in memory."""
    if pool is None:
        yield from map(function, items)
        return
    ahead = IN_FLIGHT * (getattr(pool, "_max_workers", None) or 4)
    pending: collections.deque = collections.deque()
    queue = iter(items)
    for item in itertools.islice(queue, ahead):
        pending.append(pool.submit(function, item))
    while pending:
        try:
            result = pending.popleft().result()
        except BrokenExecutor:
            raise BuildError("a worker process stopped unexpectedly (killed, or out of memory)") from None
        for item in itertools.islice(queue, 1):
            pending.append(pool.submit(function, item))
        yield result
