"""Builds a workbook: variants -> LaTeX documents -> PDFs and answers.json, written atomically."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from generator import answers, cache, moodle, render
from generator.build_options import DEFAULT_FORMATS, FORMATS  # noqa: F401 - FORMATS re-exported
from generator.engine import Variant, make_variant, variant_id
from generator.model import BuildError, UserError
from generator.output import check_target, publish
from generator.printfiles import duplex_merge
from generator.spec import Workbook
from generator.texbuild import compile_pdf, require_tex

DOCUMENTS = (("worksheet", "worksheet.tex.j2"), ("answer-key", "answer-key.tex.j2"))
PRINT_FILES = {"worksheet": "print-worksheets.pdf", "answer-key": "answer-keys.pdf"}


@dataclass(frozen=True)
class Document:
    """One LaTeX document of the build: its kind, its variant, and the file stem it is written under."""

    stem: str
    kind: str
    variant: Variant
    source: str


def _variant(args) -> Variant:
    workbook, index = args
    return make_variant(workbook.requests, workbook.seed, index, workbook.students[index])


def variants_of(workbook: Workbook, only: str | None = None, jobs: int = 1, executor=None) -> list[Variant]:
    """Every variant's verified problems (``jobs`` processes at a time), or just the variant ``only``.

    Each variant depends only on the seed and its index, so the result is the same for any ``jobs`` and
    on any ``executor`` (a ``concurrent.futures.Executor``, such as a Dask cluster's).
    """
    indices = range(len(workbook.students))
    if only is not None:
        matches = [i for i in indices if variant_id(workbook.seed, i) == only.upper()]
        if not matches:
            raise UserError(
                f"--variant {only}: no such variant for seed {workbook.seed} with {len(workbook.students)} "
                "variant(s); use the same spec, --seed and --variants/--roster as the original build"
            )
        indices = matches
    if executor is not None:
        return list(executor.map(_variant, [(workbook, i) for i in indices]))
    if jobs <= 1 or len(indices) <= 1:
        return [_variant((workbook, i)) for i in indices]
    # the first variant in this process imports every derivation and derives every general result, so the
    # forked workers start with all of it in memory instead of each loading it again
    first = _variant((workbook, indices[0]))
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(jobs, len(indices) - 1), mp_context=context) as pool:
        return [first, *pool.map(_variant, [(workbook, i) for i in indices[1:]])]


def documents(workbook: Workbook, variants: list[Variant], single: bool) -> list[Document]:
    """The worksheet and the answer key of every variant, as LaTeX."""
    out = []
    for variant in variants:
        items = [
            {"number": n, "problem": p, "points": r.points, "space": f"{r.space:g}"}
            for n, (p, r) in enumerate(zip(variant.problems, workbook.requests), start=1)
        ]
        suffix = "" if single else f"-{variant.id}"
        for kind, template in DOCUMENTS:
            figures = [p.figure for p in variant.problems if p.figure is not None]
            plots = any(f.on_worksheet for f in figures) if kind == "worksheet" else bool(figures)
            source = render.render(
                template,
                title=workbook.title,
                course=workbook.course,
                instructions=workbook.instructions,
                paper=workbook.paper,
                variant=variant,
                items=items,
                plots=plots,
            )
            out.append(Document(kind + suffix, kind, variant, source))
    return out


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


def compile_all(workbook: Workbook, docs: list[Document], jobs: int, progress=None, executor=None) -> list[bytes]:
    """Compile every document, ``jobs`` at a time (or on ``executor``); the result is in the order of ``docs``."""
    pool = executor or ThreadPoolExecutor(max_workers=max(1, jobs))
    futures = [pool.submit(compile_pdf, doc.source, f"{workbook.name}: {doc.stem}") for doc in docs]
    results: list[bytes] = []
    try:
        for future in futures:
            results.append(future.result())
            if progress:
                progress(1)
    except BaseException:  # a failure or Ctrl-C: start no further TeX run
        for future in futures:
            future.cancel()
        raise
    finally:
        if executor is None:
            pool.shutdown(wait=True)
    return results


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
) -> list[Path]:
    """Generate, verify, render and compile a workbook; nothing is written unless everything succeeded.

    One variant gives ``worksheet.pdf`` and ``answer-key.pdf``; several give one of each per variant,
    named by variant id, and the duplex-safe ``print-worksheets.pdf`` and ``answer-keys.pdf``.
    """
    check_target(out_dir)
    if "pdf" in formats:
        require_tex()
    jobs = jobs or os.cpu_count() or 1
    variants = variants_of(workbook, only, jobs, executor)
    single = len(workbook.students) == 1 or only is not None
    docs = documents(workbook, variants, single)
    files: dict[str, bytes] = {}
    if "json" in formats:
        files["answers.json"] = answers.document(workbook, variants).encode()
    if "tex" in formats:
        files.update({f"{doc.stem}.tex": doc.source.encode() for doc in docs})
    if "html" in formats:
        files.update(web_pages(workbook, variants))
    if "moodle" in formats:
        files[f"{workbook.name}-moodle.xml"] = moodle.document(workbook, variants).encode()
    if "pdf" in formats:
        pdfs = compile_all(workbook, docs, jobs, progress, executor)
        files.update({f"{doc.stem}.pdf": data for doc, data in zip(docs, pdfs)})
        if not single:
            for kind, name in PRINT_FILES.items():
                files[name] = duplex_merge([data for doc, data in zip(docs, pdfs) if doc.kind == kind])
    if not files:
        raise BuildError("nothing to write")
    written = publish(files, out_dir, notice)
    if remember:
        cache.store_build(remember, {"title": workbook.title, "seed": workbook.seed, "variants": len(variants)}, files)
    return written
