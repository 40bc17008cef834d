"""Builds a workbook: variants -> LaTeX documents -> PDFs and answers.json, written atomically."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from generator import answers, render
from generator.engine import Variant, make_variant
from generator.model import BuildError, UserError
from generator.spec import Workbook
from generator.texbuild import compile_pdf

FORMATS = ("pdf", "tex", "json")
DOCUMENTS = (("worksheet", "worksheet.tex.j2"), ("answer-key", "answer-key.tex.j2"))


@dataclass(frozen=True)
class Document:
    """One LaTeX document of the build and the file stem it is written under."""

    stem: str
    source: str


def variants_of(workbook: Workbook) -> list[Variant]:
    """Every variant's verified problems."""
    return [make_variant(workbook.requests, workbook.seed, index, student) for index, student in enumerate(workbook.students)]


def documents(workbook: Workbook, variants: list[Variant]) -> list[Document]:
    """The worksheet and the answer key of every variant, as LaTeX."""
    out = []
    for variant in variants:
        items = [
            {"number": n, "problem": p, "points": r.points, "space": f"{r.space:g}"}
            for n, (p, r) in enumerate(zip(variant.problems, workbook.requests), start=1)
        ]
        suffix = "" if len(variants) == 1 else f"-{variant.id}"
        for stem, template in DOCUMENTS:
            figures = [p.figure for p in variant.problems if p.figure is not None]
            plots = any(f.on_worksheet for f in figures) if stem == "worksheet" else bool(figures)
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
            out.append(Document(stem + suffix, source))
    return out


def write_atomically(files: dict[str, bytes], out_dir: Path) -> list[Path]:
    """Write every file to a temporary name in ``out_dir``, then rename each into place."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"{out_dir}: cannot create the output directory ({error.strerror})") from None
    if not os.access(out_dir, os.W_OK):
        raise UserError(f"{out_dir}: the output directory is not writable")
    staged = []
    try:
        for name, data in files.items():
            handle, temp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".part")
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            staged.append((Path(temp), out_dir / name))
    except BaseException:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise
    for temp, final in staged:
        os.replace(temp, final)
    return [final for _, final in staged]


def build(workbook: Workbook, out_dir: Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Generate, verify, render and compile a workbook; nothing is written unless everything succeeded."""
    variants = variants_of(workbook)
    docs = documents(workbook, variants)
    files: dict[str, bytes] = {}
    if "json" in formats:
        files["answers.json"] = answers.document(workbook, variants).encode()
    for doc in docs:
        if "tex" in formats:
            files[f"{doc.stem}.tex"] = doc.source.encode()
        if "pdf" in formats:
            files[f"{doc.stem}.pdf"] = compile_pdf(doc.source, f"{workbook.name}: {doc.stem}")
    if not files:
        raise BuildError("nothing to write")
    return write_atomically(files, out_dir)
