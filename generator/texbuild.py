"""Runs pdflatex on batches of documents, sandboxed and reproducible.

A chunk's worksheets are typeset in one single-pass pdflatex run and its answer keys in another, the two
side by side; each combined PDF is then cut into one PDF per document (``Batch``). Every run happens in a
fresh directory inside the build's temporary folder, with no file access outside it, no shell escape, a
time limit, and a parent-death signal: no pdflatex outlives the process that started it, even one killed
with SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import gzip
import io
import os
import pickle
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from derivbook import cache
from derivbook.model import BuildError

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
    """pdflatex's version line: part of every key for formats and compiled PDFs.

    Remembered for the binary it came from (path, inode, size and time: an upgrade replaces it), since
    asking pdflatex took 10 ms of every build, unchanged rebuilds included.
    """
    binary = shutil.which("pdflatex")
    if binary is None:
        return "unknown"
    found = os.stat(binary)
    key = cache.digest("pdflatex --version", binary, found.st_ino, found.st_size, found.st_mtime_ns)
    if (stored := cache.load("tex-version", key)) is not None:
        return stored.decode()
    result = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    version = result.stdout.splitlines()[0] if result.stdout else "unknown"
    cache.store("tex-version", key, version.encode())
    return version


def _die_with_parent() -> None:
    """In a new pdflatex, before it starts: die with the process that started it (Linux), so that not even
    a SIGKILL of the build leaves TeX running. Only a C call here: this runs between fork and exec."""
    if _PRCTL is not None:
        _PRCTL(1, 9)  # PR_SET_PDEATHSIG, SIGKILL


try:
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux: a killed build's pdflatex ends at its own pace
    _PRCTL = None


def _start(command: list[str], workdir: Path) -> subprocess.Popen:
    """pdflatex in ``workdir`` with TeX's environment; its console output goes to ``workdir``/doc.out."""
    with open(workdir / "doc.out", "wb") as console:
        return subprocess.Popen(command, cwd=workdir, env=tex_environment(workdir), stdin=subprocess.DEVNULL,
                                stdout=console, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)


def _finish(process: subprocess.Popen, seconds: float) -> bool:
    """Wait for pdflatex; False if it ran past ``seconds`` (a TeX loop). Killed, never left running, on
    the time limit, an error or Ctrl-C."""
    try:
        process.wait(timeout=max(seconds, 0))
        return True
    except subprocess.TimeoutExpired:
        return False
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def preamble_format(source: str, temp: Path) -> Path | None:
    """A precompiled format (mylatexformat) of the document's preamble, built once per preamble text.

    It saves pdflatex from reading the packages on every run; the .tex itself stays standard LaTeX. Kept in
    the cache (in ``temp`` when there is none). None when the preamble cannot be dumped (then documents are
    compiled the ordinary way).
    """
    marker = "\n\\begin{document}\n"  # mylatexformat skips the preamble line by line
    if marker not in source:
        return None
    preamble = source[: source.index(marker) + 1]
    key = cache.digest("format, uncompressed", preamble, tex_version()) + ".fmt"
    path = cache.path_of("formats", key) or temp / key
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as guard:  # one process builds it; the others wait
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not path.exists():
            _dump_format(preamble, path, temp)
    return path if path.exists() else None


def _dump_format(preamble: str, path: Path, temp: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="fmt-", dir=temp) as tmp:
        workdir = Path(tmp)
        (workdir / "doc.tex").write_text(preamble + "\\begin{document}\n\\end{document}\n", encoding="utf-8")
        command = ["pdflatex", "-ini", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
                   "-jobname=preamble", "&pdflatex", "mylatexformat.ltx", "doc.tex"]
        in_time = _finish(_start(command, workdir), TIME_LIMIT)
        built = workdir / "preamble.fmt"
        if not in_time or not built.exists():
            return
        handle, part = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        with open(handle, "wb") as out, open(built, "rb") as raw:
            # stored uncompressed: pdflatex reads a format through zlib, which also takes plain bytes, and
            # every run loads it; unpacking it once is far cheaper than at every run (docs/performance.md)
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            source = gzip.open(raw) if compressed else raw
            shutil.copyfileobj(source, out, 1 << 20)
        os.replace(part, path)


# --- Many documents in one pdflatex run -------------------------------------------------------------------
#
# Compiled one by one, each answer key needs two passes for "Page x of y", each loading the format; many
# keys in one document share one run (docs/performance.md). The combined document needs a single pass: it holds each document's pages
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


MARKER = "\n\\begin{document}\n"
END = "\n\\end{document}"


def combine(sources: list[str]) -> tuple[str, list[int]]:
    """One LaTeX document typesetting ``sources`` (same preamble) one after another, each from page 1.

    Also returns the line of the combined file where each document's body starts (to name errors).
    """
    preamble = _parts(sources[0])[0]
    text = [preamble, "\\begin{document}\n", BATCH_MACROS % {"hold": HOLD}]
    lines, starts = sum(part.count("\n") for part in text), []
    for source in sources:
        own_preamble, body = _parts(source)
        if own_preamble != preamble:
            raise BuildError("documents batched together must share one preamble")
        text.append("\\derivbookdocument\n")
        starts.append(lines + 2)
        text.append(body)
        lines += 1 + body.count("\n")
    text.append("\\derivbookdocument\n\\end{document}\n")
    return "".join(text), starts


def _parts(source: str) -> tuple[str, str]:
    """A document's preamble and its body (between \\begin{document} and \\end{document})."""
    start, end = source.find(MARKER), source.rfind(END)
    if start < 0 or end < start:
        raise BuildError("a batched document needs \\begin{document} and \\end{document} on lines of their own")
    return source[: start + 1], source[start + len(MARKER) : end + 1]


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


OVERFULL = re.compile(r"^Overfull \\hbox \((\d+(?:\.\d+)?pt) too wide\) (in paragraph|in alignment|detected) at lines? (\d+)",
                      re.MULTILINE)


def overfull_lines(log: str, starts: list[int], sources: list[str], names: list[str]) -> tuple[str, ...]:
    """Every overfull line in a batch's log, located to its document, problem and line (``_locate``):
    ``"<name>: problem 2, line 40: Overfull \\hbox (28.1pt too wide) in paragraph"``."""
    return tuple(_locate(f"./doc.tex:{line}: Overfull \\hbox ({width} too wide) {where}", starts, sources, names)
                 for width, where, line in OVERFULL.findall(log))


@dataclass(frozen=True)
class Batch:
    """Documents compiled together: the combined PDF and each document's number of pages, in order, and
    the overfull lines TeX reported (``overfull_lines``)."""

    pdf: bytes
    counts: tuple[int, ...]
    overfull: tuple[str, ...] = ()

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




def typeset(batches: dict[str, tuple[list[str], list[str]]], temp: Path) -> dict[str, Batch]:
    """Each kind's documents (sources, and the names errors give them) typeset in one single-pass pdflatex
    run, the runs side by side; a batch typeset before (the same bytes, the same pdflatex) comes from the
    cache. Errors are raised in the order of ``batches``.
    """
    require_tex()
    done = {kind: _cached(sources) for kind, (sources, _) in batches.items()}
    runs = {}
    try:
        for kind, (sources, names) in batches.items():
            if done[kind] is None:
                runs[kind] = _Run(sources, names, temp)
        for kind, run in runs.items():
            done[kind] = run.result()
    finally:
        for run in runs.values():
            run.close()
    return done


def compile_batch(sources: list[str], names: list[str], temp: Path | None = None) -> Batch:
    """One batch of documents typeset in one single-pass pdflatex run (see ``typeset``)."""
    with tempfile.TemporaryDirectory(prefix="derivbook-tex-") if temp is None else contextlib.nullcontext(temp) as folder:
        return typeset({"documents": (sources, names)}, Path(folder))["documents"]


class _Run:
    """One pdflatex run on a combined document, started at once; ``result`` waits for it."""

    def __init__(self, sources: list[str], names: list[str], temp: Path) -> None:
        self.sources, self.names = sources, names
        self.combined, self.starts = combine(sources)
        self.workdir = Path(tempfile.mkdtemp(prefix="tex-", dir=temp))
        self.fmt = preamble_format(sources[0], temp)
        (self.workdir / "doc.tex").write_text(self.combined, encoding="utf-8")
        self.process = _start(_command(self.fmt), self.workdir)

    def result(self) -> Batch:
        """The batch the run made, cached; or its error, traced to the document and problem it came from."""
        if not _finish(self.process, TIME_LIMIT):
            raise BuildError(_locate(f"typesetting: pdflatex ran longer than {TIME_LIMIT:g} s and was stopped",
                                     self.starts, self.sources, self.names))
        if self.process.returncode != 0:
            log = _read(self.workdir / "doc.log") or _read(self.workdir / "doc.out")
            error = first_error(log)
            if self.fmt is None or "format file" not in error.lower():
                raise BuildError(_locate(error, self.starts, self.sources, self.names))
            self.fmt.unlink(missing_ok=True)  # a stale or broken format: drop it and compile without one
            self.fmt, self.process = None, _start(_command(None), self.workdir)
            return self.result()
        counts = [int(line) for line in (self.workdir / "doc.pages").read_text().split()][1:]  # the first flush holds no page
        if len(counts) != len(self.sources):
            raise BuildError(f"{self.names[0]}: the batched run recorded {len(counts)} documents, not {len(self.sources)}")
        overfull = overfull_lines(_read(self.workdir / "doc.log"), self.starts, self.sources, self.names)
        batch = Batch((self.workdir / "doc.pdf").read_bytes(), tuple(counts), overfull)
        cache.store("pdf", _batch_key(self.sources), pickle.dumps((batch.counts, batch.pdf, batch.overfull)))
        return batch

    def close(self) -> None:
        """Stop pdflatex if it still runs, and remove its directory."""
        _finish(self.process, 0) if self.process.poll() is None else None
        shutil.rmtree(self.workdir, ignore_errors=True)


def _command(fmt: Path | None) -> list[str]:
    # the format is read where it is kept, by its absolute path: nothing TeX writes (in its own directory
    # only) can reach it, and no 18 MB copy per run
    return ["pdflatex", *([f"-fmt={fmt.resolve()}"] if fmt is not None else []), "-no-shell-escape",
            "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", "doc.tex"]


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _batch_key(sources: list[str]) -> str:
    return cache.digest("batch, with its overfull lines", *sources, tex_version())


def _cached(sources: list[str]) -> Batch | None:
    """The batch these documents made before with this pdflatex, or None."""
    cached = cache.load("pdf", _batch_key(sources))
    if cached is None:
        return None
    counts, pdf, overfull = pickle.loads(cached)
    return Batch(pdf, counts, overfull)
