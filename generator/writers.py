"""The outputs of a build, one writer per ``--format``: what each writes, and nothing else.

A writer has two steps, like R/exams' drivers:

- ``chunk(part)`` runs where a chunk of variants was derived (this process, a worker process, a Dask
  worker): it returns that chunk's files as bytes — per-variant files under their final names, and pieces
  of whole-class files under ``.parts/<format>/`` (a chunk's records, its compiled batch);
- ``finish(plan, staging)`` runs once, in the build's process, after every chunk is staged: it joins the
  pieces into the whole-class files (answers.json, the print files, the Moodle quiz, the index page),
  reading them from disk, so no process ever holds a whole class in memory.

The build does not know what a writer writes; a new format is a new writer in ``WRITERS``.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # SymPy is imported by what writes a chunk, not by every command that names a format
    from derivbook.batch import Batch
    from derivbook.engine import Variant
    from derivbook.render import Document
    from derivbook.spec import Workbook

KINDS = ("worksheet", "answer-key")  # the documents of a variant, in the order they are typeset

PRINT_FILES = {"worksheet": "print-worksheets.pdf", "answer-key": "answer-keys.pdf"}


@dataclass
class ChunkPart:
    """What a writer gets of one chunk: its variants (with their verified problems), their LaTeX documents,
    the compiled batches (with ``pdf``), and which of the variants to write (all, or one with --variant)."""

    workbook: Workbook
    number: int  # the chunk's place in the build: pieces are joined in this order
    variants: list[Variant]
    docs: list[Document]
    batches: dict[str, Batch]
    keep: frozenset[int]  # variant indices to write
    single: bool  # one variant written: files without ids (worksheet.pdf), no whole-class print files

    def kept(self) -> list[tuple[int, Variant]]:
        """(place in the chunk, variant) of every variant to write."""
        return [(place, v) for place, v in enumerate(self.variants) if v.index in self.keep]

    def piece(self, kind: str, suffix: str = "") -> str:
        """The name of this chunk's piece of a whole-class file."""
        return f".parts/{kind}/{self.number:05d}{suffix}"


class Writer:
    """One output format. ``chunk`` returns files as bytes; ``finish`` joins pieces in the staging folder."""

    format = ""
    needs_pdf = False  # the chunk must be typeset first

    def chunk(self, part: ChunkPart) -> dict[str, bytes]:
        return {}

    def finish(self, plan, staging) -> None:
        """Write the whole-class files from the staged pieces (``staging.parts(self.format)``)."""


class PdfWriter(Writer):
    """Each variant's worksheet and answer key, cut from the chunk's batches, and the duplex print files."""

    format, needs_pdf = "pdf", True

    def chunk(self, part: ChunkPart) -> dict[str, bytes]:
        files = {}
        for kind in KINDS:
            batch = part.batches[kind]
            pdfs = batch.documents()
            stems = [d.stem for d in part.docs if d.kind == kind]
            files.update({f"{stems[place]}.pdf": pdfs[place] for place, _ in part.kept()})
            if not part.single:
                files[part.piece(self.format, f".{kind}.pdf")] = batch.pdf
                files[part.piece(self.format, f".{kind}.pages")] = " ".join(map(str, batch.counts)).encode()
        return files

    def finish(self, plan, staging) -> None:
        from derivbook.printfiles import duplex_merge

        if plan.single:
            return
        pieces = staging.parts(self.format)
        for kind in KINDS:
            batches = [(path, [int(n) for n in path.with_suffix(".pages").read_text().split()])
                       for path in sorted(pieces.glob(f"*.{kind}.pdf"))]
            duplex_merge(batches, staging.folder / PRINT_FILES[kind])
            staging.record(self.format, PRINT_FILES[kind])


class TexWriter(Writer):
    """The LaTeX source of every document: standard LaTeX, compiled as it is with ``latexmk -pdf``."""

    format = "tex"

    def chunk(self, part: ChunkPart) -> dict[str, bytes]:
        return {f"{d.stem}.tex": d.source.encode() for d in part.docs if d.variant.index in part.keep}


class JsonWriter(Writer):
    """answers.json: every variant's inputs, answers and contracts (docs/answers-json.md)."""

    format = "json"
    INDENT = " " * 4  # a record's depth in the document: {"variants": [ … ]}

    def chunk(self, part: ChunkPart) -> dict[str, bytes]:
        from derivbook import answers

        records = [answers.variant_record(v) for _, v in part.kept()]
        text = ",\n".join(textwrap.indent(json.dumps(r, indent=2, ensure_ascii=False), self.INDENT) for r in records)
        return {part.piece(self.format, ".json"): text.encode()}

    def finish(self, plan, staging) -> None:
        from derivbook import answers

        head = answers.document(plan.workbook, [])  # the document around the records, as json.dumps lays it out
        before, after = head.split('"variants": []')
        with open(staging.folder / "answers.json", "wb") as out:
            out.write(f'{before}"variants": [\n'.encode())
            for k, piece in enumerate(sorted(staging.parts(self.format).glob("*.json"))):
                out.write(b",\n" * (k > 0) + piece.read_bytes())
            out.write(f"\n  ]{after}".encode())
        staging.record(self.format, "answers.json")


class HtmlWriter(Writer):
    """Two self-contained pages per variant (MathML, inline SVG): the student's sheet ``sheet-<id>.html``, with
    no answer anywhere in it, and the teacher's key ``key-<id>.html``; and the teacher's index page."""

    format = "html"

    def chunk(self, part: ChunkPart) -> dict[str, bytes]:
        from derivbook import web

        files, listed = {}, []
        for _, variant in part.kept():
            files.update(web.variant_pages(part.workbook, variant))
            listed.append(web.index_entry(variant))
        files[part.piece(self.format, ".json")] = json.dumps(listed).encode()
        return files

    def finish(self, plan, staging) -> None:
        from derivbook import web

        listed = [entry for piece in sorted(staging.parts(self.format).glob("*.json")) for entry in json.loads(piece.read_text())]
        staging.add(self.format, {"index.html": web.index_page(plan.workbook, listed)})


class MoodleWriter(Writer):
    """A Moodle XML quiz: one category per problem of the workbook, holding every variant of it."""

    format = "moodle"

    def chunk(self, part: ChunkPart) -> dict[str, bytes]:
        from derivbook import moodle

        files = {}
        for number in range(1, len(part.workbook.requests) + 1):
            questions = [moodle.question(part.workbook, number, variant) for _, variant in part.kept()]
            files[part.piece(self.format, f".{number:03d}.xml")] = "".join(questions).encode()
        return files

    def finish(self, plan, staging) -> None:
        from derivbook import moodle

        name = f"{plan.workbook.name}-moodle.xml"
        pieces = staging.parts(self.format)
        with open(staging.folder / name, "wb") as out:
            out.write(moodle.HEAD.encode())
            for number in range(1, len(plan.workbook.requests) + 1):
                out.write(moodle.category(plan.workbook, number).encode())
                for piece in sorted(pieces.glob(f"*.{number:03d}.xml")):
                    out.write(piece.read_bytes())
            out.write(moodle.TAIL.encode())
        staging.record(self.format, name)


class QtiWriter(Writer):
    """A QTI 1.2 package for Canvas and other LMSs: one question group per problem (derivbook.qti)."""

    format = "qti"

    def chunk(self, part: ChunkPart) -> dict[str, bytes]:
        from derivbook import qti

        return qti.chunk_files(part, self.format)

    def finish(self, plan, staging) -> None:
        from derivbook import qti

        name = f"{plan.workbook.name}-qti.zip"
        qti.write_package(plan.workbook, staging.parts(self.format), staging.folder / name)
        staging.record(self.format, name)


WRITERS = {writer.format: writer for writer in (PdfWriter(), TexWriter(), JsonWriter(), HtmlWriter(), MoodleWriter(), QtiWriter())}
FORMATS = tuple(WRITERS)
DEFAULT_FORMATS = ("pdf", "tex", "json")


def chunk_files(part: ChunkPart, formats: tuple[str, ...]) -> dict[str, dict[str, bytes]]:
    """Every chosen writer's files for one chunk, by format."""
    return {name: WRITERS[name].chunk(part) for name in formats}
