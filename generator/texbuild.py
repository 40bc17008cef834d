"""Runs pdflatex on batches of documents in a private temporary directory, sandboxed and reproducible."""

from __future__ import annotations

import fcntl
import functools
import io
import os
import pickle
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from generator import cache
from generator.model import BuildError

SOURCE_DATE_EPOCH = "1767225600"  # 2026-01-01: fixed, so one seed gives byte-identical PDFs
TIME_LIMIT = 120  # seconds per pdflatex run: a TeX loop must not hang the build
INSTALL_HINT = (
    "pdflatex not found: install TeX Live, e.g. `sudo apt-get install --no-install-recommends "
    "texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-pictures lmodern latexmk` "
    "(or run `make pdf`, which does it)"
)
PACKAGE_HINTS = {  # LaTeX package -> the Debian package that provides it
    "lastpage": "texlive-latex-extra",
    "needspace": "texlive-latex-extra",
    "enumitem": "texlive-latex-extra",
    "fancyhdr": "texlive-latex-extra",
    "mathtools": "texlive-latex-recommended",
    "pgfplots": "texlive-pictures",
    "pict2e": "texlive-pictures",
    "lmodern": "lmodern",
}


def tex_environment(workdir: Path) -> dict:
    """The environment pdflatex runs in: no file access outside ``workdir``, fixed dates, no home writes."""
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "LANG", "LC_ALL", "TEXMFHOME")}
    env.update(
        openin_any="p",
        openout_any="p",
        shell_escape="f",
        SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH,
        FORCE_SOURCE_DATE="1",
        HOME=str(workdir),
        TEXMFVAR=str(workdir / ".texmf-var"),
        max_print_line="1000",
        # never start font generators (mktexpk and friends): TeX runs no process of its own
        MKTEXPK="0",
        MKTEXTFM="0",
        MKTEXMF="0",
        MKTEXFMT="0",
    )
    return env


def first_error(log: str) -> str:
    """The line of a LaTeX log worth showing: the first error with its ``l.N`` context."""
    missing = re.search(r"File `([^']+)\.sty' not found", log)
    if missing:
        package = missing.group(1)
        debian = PACKAGE_HINTS.get(package, "the TeX Live package that provides it")
        return f"LaTeX package {package} is missing (Debian: apt-get install {debian})"
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("! ") or re.match(r"^[^:\s]+\.tex:\d+: ", line):
            context = next((s.strip() for s in lines[index + 1 : index + 12] if s.startswith("l.")), "")
            return " ".join(part for part in (line.strip(), context) if part)
    return "pdflatex failed without an error line (see the .log)"


def require_tex() -> None:
    """Fail early, before any derivation work, when pdflatex is not installed."""
    if shutil.which("pdflatex") is None:
        raise BuildError(INSTALL_HINT)


@functools.lru_cache(maxsize=1)
def tex_version() -> str:
    """pdflatex's version line: part of every key for formats and compiled PDFs."""
    result = subprocess.run(["pdflatex", "--version"], capture_output=True, text=True, check=False)
    return result.stdout.splitlines()[0] if result.stdout else "unknown"


_private_formats = tempfile.TemporaryDirectory(prefix="derivbook-formats-")  # when the cache is off


def _run(command: list[str], workdir: Path, time_limit: float, name: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            command, cwd=workdir, env=tex_environment(workdir), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=time_limit, check=False,
        )
    except subprocess.TimeoutExpired:
        raise BuildError(f"{name}: pdflatex ran longer than {time_limit:g} s and was stopped") from None


def preamble_format(source: str) -> Path | None:
    """A precompiled format (mylatexformat) of the document's preamble, built once per preamble text.

    It saves pdflatex from reading the packages on every run; the .tex itself stays standard LaTeX. None
    when the preamble cannot be dumped (then documents are compiled the ordinary way).
    """
    marker = "\n\\begin{document}\n"  # mylatexformat skips the preamble line by line
    if marker not in source:
        return None
    preamble = source[: source.index(marker) + 1]
    key = cache.digest("format", preamble, tex_version()) + ".fmt"
    path = cache.path_of("formats", key) or Path(_private_formats.name) / key
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as guard:  # one thread or process builds it; the others wait
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not path.exists():
            _dump_format(preamble, path)
    return path if path.exists() else None


def _dump_format(preamble: str, path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="derivbook-fmt-") as tmp:
        workdir = Path(tmp)
        (workdir / "doc.tex").write_text(preamble + "\\begin{document}\n\\end{document}\n", encoding="utf-8")
        command = ["pdflatex", "-ini", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
                   "-jobname=preamble", "&pdflatex", "mylatexformat.ltx", "doc.tex"]
        result = _run(command, workdir, TIME_LIMIT, "preamble format")
        built = workdir / "preamble.fmt"
        if result.returncode != 0 or not built.exists():
            return
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        os.close(handle)
        shutil.copyfile(built, temp)
        os.replace(temp, path)


# --- Many documents in one pdflatex run -------------------------------------------------------------------
#
# Measured on the default workbook (2 cores): compiled one by one, a 12-page answer key costs 0.5 s of
# pdflatex (two passes for "Page x of y", each loading the format); sixteen keys in one document cost
# 0.11 s each per pass. The combined document below needs a single pass: it holds each document's pages
# back until the document ends, so its page total is known before a footer is typeset. The documents'
# own .tex files stay standard LaTeX (lastpage, two passes with latexmk); this wrapper exists only here.
# It relies on what our templates do not use: running heads from marks (\markboth) and \thispagestyle,
# which would be read when the held pages are shipped rather than when they were made.

BATCH_MACROS = r"""\makeatletter
\newwrite\derivbook@pages \immediate\openout\derivbook@pages=doc.pages
\newcount\derivbook@held \newcount\derivbook@k \newcount\derivbook@first
\newbox\derivbook@box \derivbook@first=\allocationnumber
\derivbook@k=1 \loop\ifnum\derivbook@k<%(hold)d \newbox\derivbook@box \advance\derivbook@k by 1 \repeat
\def\@elt#1{\noexpand\setcounter{#1}{\the\value{#1}}}
\xdef\derivbook@counters{\cl@@ckpt}\let\@elt\relax
\let\derivbook@outputpage\@outputpage
\def\@outputpage{%% hold the page body; headers and footers wait until the page total is known
  \ifnum\derivbook@held=%(hold)d \errmessage{more than %(hold)d pages in one document}\fi
  \global\setbox\numexpr\derivbook@first+\derivbook@held\relax\box\@outputbox
  \global\advance\derivbook@held by 1
  \global\@colht\textheight \stepcounter{page}\let\firstmark\botmark}
\def\derivbook@flush{\clearpage
  \immediate\write\derivbook@pages{\the\derivbook@held}%%
  \expandafter\xdef\csname r@LastPage\endcsname{{}{\the\derivbook@held}{}{}{}}%%
  \setcounter{page}{1}\global\derivbook@k=0
  \loop\ifnum\derivbook@k<\derivbook@held
    \global\setbox\@outputbox\box\numexpr\derivbook@first+\derivbook@k\relax
    \global\advance\derivbook@k by 1 \derivbook@outputpage
  \repeat
  \global\derivbook@held=0 }
\def\derivbookdocument{\derivbook@flush\derivbook@counters}
\makeatother
"""
HOLD = 400  # pages one document may have


def _parts(source: str) -> tuple[str, str]:
    marker = "\n\\begin{document}\n"
    start, end = source.find(marker), source.rfind("\\end{document}")
    if start < 0 or end < start:
        raise BuildError("a batched document needs \\begin{document} and \\end{document} on lines of their own")
    return source[: start + 1], source[start + len(marker) : end]


def combine(sources: list[str]) -> tuple[str, list[int]]:
    """One LaTeX document typesetting ``sources`` (same preamble) one after another, each from page 1.

    Also returns the line of the combined file where each document's body starts (to name errors).
    """
    preamble = _parts(sources[0])[0]
    text = [preamble, "\\begin{document}\n", BATCH_MACROS % {"hold": HOLD}]
    starts = []
    for source in sources:
        own, body = _parts(source)
        if own != preamble:
            raise BuildError("documents batched together must share one preamble")
        text.append("\\derivbookdocument\n")
        starts.append("".join(text).count("\n") + 1)
        text.append(body)
    text.append("\\derivbookdocument\n\\end{document}\n")
    return "".join(text), starts


def _locate(message: str, starts: list[int], sources: list[str], names: list[str]) -> str:
    """Rewrite ``./doc.tex:LINE: …`` of the combined file to the document, problem and line it came from."""
    found = re.match(r"\./doc\.tex:(\d+): (.*)", message)
    context = re.search(r"\bl\.(\d+)", message)  # errors without a file:line prefix still give their l.N
    line = int(found.group(1)) if found else int(context.group(1)) if context else 0
    if line < starts[0]:  # not in any document's body: the preamble, a missing package, a time limit
        others = f" (and {len(names) - 1} more in its batch)" if len(names) > 1 else ""
        return f"{names[0]}{others}: {message}"
    index = max(i for i, start in enumerate(starts) if start <= line)
    detail = found.group(2) if found else message.removeprefix("! ")
    # the body's line in the document's own .tex (as written by --format tex)
    own = line - starts[index] + _parts(sources[index])[0].count("\n") + 2
    before = "\n".join(sources[index].splitlines()[:own])
    problem = re.findall(r"\\problemheading\{(\d+)\}", before)
    where = f"problem {problem[-1]}, " if problem else ""
    detail = re.sub(r"\bl\.\d+", f"l.{own}", detail)
    return f"{names[index]}: {where}line {own}: {detail}"


@dataclass(frozen=True)
class Batch:
    """Documents compiled together: the combined PDF and each document's number of pages, in order."""

    pdf: bytes
    counts: tuple[int, ...]

    def ranges(self) -> list[range]:
        """Each document's pages (0-based) in the combined PDF."""
        starts = [sum(self.counts[:k]) for k in range(len(self.counts))]
        return [range(start, start + count) for start, count in zip(starts, self.counts)]

    def documents(self) -> list[bytes]:
        """One PDF per document, cut out of the combined one (which is the document, when it is alone)."""
        if len(self.counts) == 1:
            return [self.pdf]
        import pikepdf  # only here and for print files: a one-sheet build does without it

        with pikepdf.open(io.BytesIO(self.pdf)) as combined:
            return [save(combined, pages) for pages in self.ranges()]


def save(source, pages) -> bytes:
    """A new PDF of ``pages`` of ``source`` (a pikepdf.Pdf), written reproducibly (a fixed /ID)."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.pages.extend(source.pages[k] for k in pages)
    buffer = io.BytesIO()
    pdf.save(buffer, static_id=True)
    return buffer.getvalue()


def compile_batch(sources: list[str], names: list[str], time_limit: float = TIME_LIMIT) -> Batch:
    """Compile documents that share a preamble in one single-pass pdflatex run.

    ``names`` name the documents in errors. A batch compiled before from the same documents with the same
    pdflatex is taken from the cache.
    """
    require_tex()
    key = cache.digest("batch", *sources, tex_version())
    cached = cache.load("pdf", key)
    if cached is not None:
        counts, pdf = pickle.loads(cached)
        return Batch(pdf, counts)
    combined, starts = combine(sources)
    fmt = preamble_format(sources[0])
    try:
        pdf, counts = _compile_combined(combined, fmt, time_limit)
    except BuildError as error:
        if fmt is not None and "format file" in str(error).lower():
            fmt.unlink(missing_ok=True)  # a stale or broken format: drop it and compile without one
            pdf, counts = _compile_combined(combined, None, time_limit)
        else:
            raise BuildError(_locate(str(error), starts, sources, names)) from None
    counts = counts[1:]  # the first flush, before the first document, holds no page
    if len(counts) != len(sources):
        raise BuildError(f"{names[0]}: the batched run recorded {len(counts)} documents, not {len(sources)}")
    cache.store("pdf", key, pickle.dumps((tuple(counts), pdf)))
    return Batch(pdf, tuple(counts))


def _compile_combined(source: str, fmt: Path | None, time_limit: float) -> tuple[bytes, list[int]]:
    with tempfile.TemporaryDirectory(prefix="derivbook-tex-") as tmp:
        workdir = Path(tmp)
        (workdir / "doc.tex").write_text(source, encoding="utf-8")
        if fmt is not None:
            shutil.copyfile(fmt, workdir / "preamble.fmt")
        command = ["pdflatex", *(["-fmt=preamble"] if fmt is not None else []), "-no-shell-escape",
                   "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", "doc.tex"]
        result = _run(command, workdir, time_limit, "typesetting")
        if result.returncode != 0:
            log_path = workdir / "doc.log"
            log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
            raise BuildError(first_error(log or result.stdout.decode(errors="replace")))
        counts = [int(line) for line in (workdir / "doc.pages").read_text().split()]
        return (workdir / "doc.pdf").read_bytes(), counts
