"""Builds a workbook: variants -> LaTeX documents -> PDFs and answers.json, written atomically."""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from derivbook import answers, cache, parallel, render
from derivbook.build_options import DEFAULT_FORMATS, FORMATS  # noqa: F401 - FORMATS re-exported
from derivbook.engine import Variant, derive_part, derive_problems, make_variant, variant_id
from derivbook.model import BuildError, UserError
from derivbook.output import check_target, publish
from derivbook.parallel import MOST_PER_CHUNK, chunks  # noqa: F401 - MOST_PER_CHUNK re-exported
from derivbook.printfiles import duplex_merge
from derivbook.spec import Workbook
from derivbook.texbuild import Batch, Stream, compile_batch, require_tex, stop_typesetting

DOCUMENTS = (("worksheet", "worksheet.tex.j2"), ("answer-key", "answer-key.tex.j2"))
PRINT_FILES = {"worksheet": "print-worksheets.pdf", "answer-key": "answer-keys.pdf"}


@dataclass(frozen=True)
class Document:
    """One LaTeX document of the build: its kind, its variant, and the file stem it is written under."""

    stem: str
    kind: str
    variant: Variant
    source: str


@dataclass
class Chunk:
    """What one worker made of a chunk of variants: verified problems, LaTeX, and the compiled batches."""

    variants: list[Variant]
    docs: list[Document]
    records: list[dict]  # answers.json's entries
    batches: dict[str, Batch]  # document kind -> the chunk's documents of that kind, compiled together
    pdfs: dict[str, list[bytes]]  # document kind -> one PDF per variant, cut out of the batch


def _chunk(args) -> Chunk:
    """Derive, verify, render and compile one chunk (typesetting while deriving when ``overlap``)."""
    workbook, indices, single, pdf, overlap = args
    if pdf and overlap:
        return _typeset_while_deriving(workbook, indices, single)
    variants = [make_variant(workbook.requests, workbook.seed, i, workbook.students[i]) for i in indices]
    docs = documents(workbook, variants, single)
    typeset = {kind: _typeset(*_batch(workbook, docs, kind)) for kind, _ in DOCUMENTS} if pdf else {}
    return Chunk(variants, docs, [answers.variant_record(v) for v in variants],
                 {kind: batch for kind, (batch, _) in typeset.items()}, {kind: pdfs for kind, (_, pdfs) in typeset.items()})


def _batch(workbook: Workbook, docs: list[Document], kind: str) -> tuple[list[str], list[str]]:
    """The sources of a chunk's documents of one kind, and the names that errors give them."""
    chosen = [d for d in docs if d.kind == kind]
    return [d.source for d in chosen], [f"{workbook.name}: {d.stem}" for d in chosen]


def _typeset(sources: list[str], names: list[str]) -> tuple[Batch, list[bytes]]:
    """One batch compiled, and cut into one PDF per document."""
    batch = compile_batch(sources, names)
    return batch, batch.documents()


def build_chunks(workbook: Workbook, only: str | None = None, jobs: int = 1, pdf: bool = True, executor=None,
                 progress=None, helpers: parallel.Helpers | None = None) -> list[Chunk]:
    """Every chunk of variants derived, verified, rendered and (with ``pdf``) compiled, in order.

    The problems are split between this process and up to ``jobs`` - 1 helper processes (``helpers``, or
    forked here; see ``parallel``), or whole chunks run on ``executor`` (a ``concurrent.futures.Executor``,
    such as a Dask cluster's). With ``only`` (a variant id) just that variant's chunk is built: its PDFs
    are then byte for byte those of the whole class.
    """
    count = len(workbook.students)
    plan = chunks(count)
    single = count == 1 or only is not None
    if only is not None:
        index = next((i for i in range(count) if variant_id(workbook.seed, i) == only.upper()), None)
        if index is None:
            raise UserError(
                f"--variant {only}: no such variant for seed {workbook.seed} with {count} "
                "variant(s); use the same spec, --seed and --variants/--roster as the original build"
            )
        plan = [next(r for r in plan if index in r)]
    # a lone chunk (one sheet, or --variant) with cores to spare has TeX typeset while SymPy derives
    lone = len(plan) == 1 and jobs > 1
    tasks = [(workbook, list(r), single, pdf, lone) for r in plan]
    if executor is not None:
        results = _each(executor.map(_chunk, tasks), progress)
    elif wanted := parallel.helpers_wanted(count, jobs, only, len(workbook.requests)):
        with contextlib.ExitStack() as stack:
            if helpers is None:
                helpers = stack.enter_context(parallel.deriving(workbook, wanted))
            results = _divided(workbook, plan, single, pdf, helpers, jobs, progress)
    else:
        results = _each(map(_chunk, tasks), progress)
    if only is not None:
        results = [_select(results[0], only.upper())]
    return results


def _each(outcomes, progress) -> list[Chunk]:
    results = []
    for result in outcomes:
        results.append(result)
        if progress:
            progress(len(result.variants))
    return results


def _divided(workbook: Workbook, plan: list[range], single: bool, pdf: bool, helpers: parallel.Helpers, jobs: int,
             progress) -> list[Chunk]:
    """Every chunk, its problems derived part here and part on the helpers (``parallel``); each chunk's TeX
    runs here, in threads, as soon as it is rendered, while the processes derive the next chunks."""
    shares = parallel.groups(len(workbook.requests), helpers.count + 1)  # as parallel.deriving dealt them
    arrivals = parallel.Arrivals(helpers)
    results, typesetting = [], {}
    # one thread more than --jobs: while a thread does its Python part of a run (writing the batch, cutting
    # the PDF apart), the next pdflatex already has the core (8 variants, --jobs 2, 16 paired rounds with
    # the same variants: 2.49 -> 2.42 s)
    with ThreadPoolExecutor(max_workers=jobs + 1, thread_name_prefix="derivbook-tex") as tex:
        try:
            for k, indices in enumerate(plan):
                last = pdf and k == len(plan) - 1
                theirs = [arrivals.take(h, k) for h in range(1, len(shares))] if last else []
                if last and all(failure is None for _, failure in theirs):
                    # its TeX would end the build alone: it typesets while this process derives its part, as a
                    # lone chunk does, and ends soon after the last problem (the helpers are ahead by now)
                    results.append(_streamed(workbook, indices, shares, theirs, typesetting, k))
                    break
                parts = [derive_part((workbook, list(indices), shares[0]))]
                parts += theirs or [arrivals.take(h, k) for h in range(1, len(shares))]
                failures = [failure for _, failure in parts if failure is not None]
                if failures:  # the first that --jobs 1 would meet, after any TeX error of the chunks before
                    _earlier_typesetting(typesetting, k)
                    raise min(failures, key=lambda failure: failure[:2])[2]
                variants = _joined(workbook, indices, shares, [made for made, _ in parts])
                docs = documents(workbook, variants, single)
                results.append(Chunk(variants, docs, [answers.variant_record(v) for v in variants], {}, {}))
                for kind, _ in reversed(DOCUMENTS) if pdf else ():  # the answer key, the longer run, first
                    typesetting[k, kind] = tex.submit(_typeset, *_batch(workbook, docs, kind))
                if progress:
                    progress(len(variants))
            helpers.release()
            for k, chunk in enumerate(results):  # errors come in the order --jobs 1 would meet them
                for kind, _ in DOCUMENTS if pdf and not chunk.batches else ():
                    chunk.batches[kind], chunk.pdfs[kind] = typesetting[k, kind].result()
        except BaseException:
            tex.shutdown(wait=False, cancel_futures=True)
            stop_typesetting()
            raise
    return results


def _streamed(workbook: Workbook, indices: range, shares: list[list[int]], theirs: list, typesetting: dict,
              k: int) -> Chunk:
    """A divided build's last chunk, typeset while this process derives its part (the helpers' are here)."""
    given = [{position: problem for share, (made, _) in zip(shares[1:], theirs) for position, problem in zip(share, made[place])}
             for place in range(len(indices))]
    try:
        return _typeset_while_deriving(workbook, list(indices), False, given)
    except Exception:  # (not Ctrl-C: that stops at once)
        _earlier_typesetting(typesetting, k)  # the chunks before fail first, as with --jobs 1
        raise


def _earlier_typesetting(typesetting: dict, k: int) -> None:
    """Wait for the TeX runs of the chunks before chunk ``k``, raising the first error --jobs 1 would meet."""
    for j in range(k):
        for kind, _ in DOCUMENTS:
            if (j, kind) in typesetting:
                typesetting[j, kind].result()


def _joined(workbook: Workbook, indices: range, shares: list[list[int]], made: list[list[list]]) -> list[Variant]:
    """The variants of a chunk from each process's part: ``made[p][place]`` holds the problems at positions
    ``shares[p]`` of the variant at ``place``."""
    variants = []
    for place, index in enumerate(indices):
        by_position = {}
        for share, rows in zip(shares, made):
            by_position.update(zip(share, rows[place]))
        variant = Variant(index, variant_id(workbook.seed, index), workbook.students[index])
        variant.problems.extend(by_position[position] for position in range(len(workbook.requests)))
        variants.append(variant)
    return variants


def _select(chunk: Chunk, variant: str) -> Chunk:
    """The part of a chunk that belongs to one variant (its PDFs cut out of the chunk's batches)."""
    position = next(k for k, v in enumerate(chunk.variants) if v.id == variant)
    return Chunk([chunk.variants[position]], [d for d in chunk.docs if d.variant.id == variant], [chunk.records[position]],
                 {kind: Batch(chunk.pdfs[kind][position], (batch.counts[position],)) for kind, batch in chunk.batches.items()},
                 {kind: [pdfs[position]] for kind, pdfs in chunk.pdfs.items()})


def variants_of(workbook: Workbook, only: str | None = None, jobs: int = 1, executor=None) -> list[Variant]:
    """Every variant's verified problems (or just the variant ``only``), without compiling anything."""
    return [v for chunk in build_chunks(workbook, only, jobs, False, executor) for v in chunk.variants]


def documents(workbook: Workbook, variants: list[Variant], single: bool) -> list[Document]:
    """The worksheet and the answer key of every variant, as LaTeX."""
    out = []
    for variant in variants:
        items = [_item(n, p, r) for n, (p, r) in enumerate(zip(variant.problems, workbook.requests), start=1)]
        for kind, template in DOCUMENTS:
            source = render.render(template, **_context(workbook, variant, items))
            out.append(Document(_stem(kind, variant, single), kind, variant, source))
    return out


def _item(number: int, problem, request) -> dict:
    return {"number": number, "problem": problem, "points": request.points, "space": f"{request.space:g}"}


def _context(workbook: Workbook, variant: Variant, items) -> dict:
    return {"title": workbook.title, "course": workbook.course, "instructions": workbook.instructions,
            "paper": workbook.paper, "variant": variant, "items": items}


def _stem(kind: str, variant: Variant, single: bool) -> str:
    return kind if single else f"{kind}-{variant.id}"


class _Arriving:
    """A variant's items for both of its documents, each problem derived when a template first reaches it
    (but for those ``given``, by position: derived by a helper)."""

    def __init__(self, workbook: Workbook, variant: Variant, before_deriving, given: dict | None = None) -> None:
        self._requests, self._given = workbook.requests, given or {}
        here = [request for position, request in enumerate(workbook.requests) if position not in self._given]
        self._problems = derive_problems(here, workbook.seed, variant.index)
        self._variant, self._before = variant, before_deriving
        self.items: list[dict] = []

    def __len__(self) -> int:
        return len(self._requests)

    def reader(self) -> _Reader:
        return _Reader(self)

    def item(self, k: int) -> dict:
        if k == len(self.items):
            if k in self._given:
                problem = self._given[k]
            else:
                self._before()
                problem = next(self._problems)
            self._variant.problems.append(problem)
            self.items.append(_item(k + 1, problem, self._requests[k]))
        return self.items[k]


class _Reader:
    """One template's way through the items; ``taken`` counts the items it has been given."""

    def __init__(self, arriving: _Arriving) -> None:
        self.arriving, self.taken = arriving, 0

    def __iter__(self):
        for k in range(len(self.arriving)):
            item = self.arriving.item(k)
            self.taken = k + 1
            yield item


def _typeset_while_deriving(workbook: Workbook, indices: list[int], single: bool,
                            given: list[dict] | None = None) -> Chunk:
    """A lone chunk with a core to spare, or a divided build's last chunk (with ``given``: each variant's
    problems from the helpers, by position): pdflatex typesets each problem while SymPy derives the next.

    Both documents are rendered piece by piece (Jinja's generate) into one pdflatex pipe per kind
    (texbuild.Stream). The answer key, the longer document, leads: it reaches each new problem first, and
    what has been written goes to TeX just before SymPy derives it; the worksheet follows one problem
    behind. Everything Python does stays in this one thread (SymPy is not thread-safe). TeX reads the very
    bytes compile_batch would give it, so the PDFs are the same.
    """
    variants = [Variant(i, variant_id(workbook.seed, i), workbook.students[i]) for i in indices]
    docs = []
    with contextlib.ExitStack() as stack:
        streams = {kind: stack.enter_context(Stream([f"{workbook.name}: {_stem(kind, v, single)}" for v in variants]))
                   for kind, _ in DOCUMENTS}

        def flush() -> None:
            for stream in streams.values():
                stream.flush()

        leader, follower = "answer-key", "worksheet"
        for place, variant in enumerate(variants):
            arriving = _Arriving(workbook, variant, flush, given[place] if given else None)
            readers = {kind: arriving.reader() for kind, _ in DOCUMENTS}
            pieces = {kind: render.generate(template, **_context(workbook, variant, readers[kind]))
                      for kind, template in DOCUMENTS}
            while pieces:
                behind = follower in pieces and (leader not in pieces or readers[follower].taken < readers[leader].taken)
                kind = follower if behind else leader
                piece = next(pieces[kind], None)
                if piece is None:
                    del pieces[kind]
                    streams[kind].end()
                else:
                    streams[kind].feed(piece)
            docs += [Document(_stem(kind, variant, single), kind, variant, streams[kind].combiner.sources[-1])
                     for kind, _ in DOCUMENTS]
        for stream in streams.values():
            stream.close()
        # the rest is done while TeX ends: the records, then each kind's PDFs as soon as its run ends (the
        # worksheet's first: it is the shorter run)
        records = [answers.variant_record(v) for v in variants]
        batches, pdfs = {}, {}
        for kind, stream in streams.items():
            batches[kind] = stream.finish()
            pdfs[kind] = batches[kind].documents()
    return Chunk(variants, docs, records, batches, pdfs)


def web_pages(workbook: Workbook, variants: list[Variant]) -> dict[str, bytes]:
    """One self-contained HTML page per variant (MathML, inline SVG, the key behind a disclosure) and an index."""
    env = render.html_environment()
    pages, listed = {}, []
    for variant in variants:
        name = f"variant-{variant.id}.html"
        items = [{"number": n, "problem": p, "points": r.points} for n, (p, r) in enumerate(zip(variant.problems, workbook.requests), start=1)]
        pages[name] = env.get_template("html/variant.html.j2").render(
            title=workbook.title, course=workbook.course, instructions=workbook.instructions, variant=variant, items=items,
        ).encode()
        listed.append((variant, name))
    pages["index.html"] = env.get_template("html/index.html.j2").render(
        title=workbook.title, course=workbook.course, seed=workbook.seed, variants=listed,
    ).encode()
    return pages


def build(
    workbook: Workbook,
    out_dir: Path,
    formats: tuple[str, ...] = DEFAULT_FORMATS,
    jobs: int | None = None,
    only: str | None = None,
    progress=None,
    notice=None,
    remember: str | None = None,
    executor=None,
    helpers: parallel.Helpers | None = None,
) -> list[Path]:
    """Generate, verify, render and compile a workbook; nothing is written unless everything succeeded.

    One variant gives ``worksheet.pdf`` and ``answer-key.pdf``; several give one of each per variant,
    named by variant id, and the duplex-safe ``print-worksheets.pdf`` and ``answer-keys.pdf``.
    """
    check_target(out_dir)
    if "pdf" in formats:
        require_tex()
    jobs = jobs or os.cpu_count() or 1
    built = build_chunks(workbook, only, jobs, "pdf" in formats, executor, progress, helpers)
    variants = [v for chunk in built for v in chunk.variants]
    docs = [d for chunk in built for d in chunk.docs]
    single = len(workbook.students) == 1 or only is not None
    files: dict[str, bytes] = {}
    if "json" in formats:
        files["answers.json"] = answers.document(workbook, [r for chunk in built for r in chunk.records]).encode()
    if "tex" in formats:
        files.update({f"{doc.stem}.tex": doc.source.encode() for doc in docs})
    if "html" in formats:
        files.update(web_pages(workbook, variants))
    if "moodle" in formats:
        from derivbook import moodle  # its XML escaping pulls in urllib and ssl: 20 ms a build without it would pay

        files[f"{workbook.name}-moodle.xml"] = moodle.document(workbook, variants).encode()
    if "pdf" in formats:
        for kind, _ in DOCUMENTS:
            pdfs = [pdf for chunk in built for pdf in chunk.pdfs[kind]]
            stems = [doc.stem for doc in docs if doc.kind == kind]
            files.update({f"{stem}.pdf": data for stem, data in zip(stems, pdfs)})
            if not single:
                files[PRINT_FILES[kind]] = duplex_merge([chunk.batches[kind] for chunk in built])
    if not files:
        raise BuildError("nothing to write")
    written = publish(files, out_dir, notice)
    if remember:
        cache.store_build(remember, {"title": workbook.title, "seed": workbook.seed, "variants": len(variants)}, files)
    return written
