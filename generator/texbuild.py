"""Runs pdflatex on batches of documents in a private temporary directory, sandboxed and reproducible."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import gzip
import io
import os
import pickle
import re
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
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


_private_formats = tempfile.TemporaryDirectory(prefix="derivbook-formats-")  # when the cache is off


def _run(command: list[str], workdir: Path, time_limit: float, name: str) -> subprocess.CompletedProcess:
    """pdflatex run to its end; stopped (and waited for) past ``time_limit``, on Ctrl-C or SIGTERM."""
    process = _popen(command, workdir, subprocess.PIPE)
    try:
        output, _ = process.communicate(timeout=time_limit)
    except subprocess.TimeoutExpired:
        _stop(process)
        raise BuildError(f"{name}: pdflatex ran longer than {time_limit:g} s and was stopped") from None
    except BaseException:
        _stop(process)
        raise
    _RUNNING.discard(process)
    return subprocess.CompletedProcess(command, process.returncode, output)


def preamble_format(source: str) -> Path | None:
    """A precompiled format (mylatexformat) of the document's preamble, built once per preamble text.

    It saves pdflatex from reading the packages on every run; the .tex itself stays standard LaTeX. None
    when the preamble cannot be dumped (then documents are compiled the ordinary way).
    """
    marker = "\n\\begin{document}\n"  # mylatexformat skips the preamble line by line
    if marker not in source:
        return None
    preamble = source[: source.index(marker) + 1]
    key = cache.digest("format, uncompressed", preamble, tex_version()) + ".fmt"
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
        with open(handle, "wb") as out, open(built, "rb") as raw:
            # stored uncompressed: pdflatex reads a format through zlib, which also takes plain bytes, and
            # loads this 18 MB one in 0.03 s instead of 0.09 s for its gzip (measured; every run pays it)
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            source = gzip.open(raw) if compressed else raw
            shutil.copyfileobj(source, out, 1 << 20)
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


MARKER = "\n\\begin{document}\n"
END = "\\end{document}"
HOLD_BACK = 256  # characters of a document not yet passed on: its closing \end{document} may be among them


def _parts(source: str) -> tuple[str, str]:
    start, end = source.find(MARKER), source.rfind(END)
    if start < 0 or end < start:
        raise BuildError("a batched document needs \\begin{document} and \\end{document} on lines of their own")
    return source[: start + 1], source[start + len(MARKER) : end]


class Combiner:
    """The combined document of a batch, made as its documents arrive: whole, or piece by piece.

    Each call returns the combined text that is final so far; a document's last ``HOLD_BACK`` characters
    wait for its end, where its own ``\\end{document}`` is replaced by the batch's.
    """

    def __init__(self) -> None:
        self.preamble: str | None = None
        self.starts: list[int] = []  # the combined file's line where each document's body starts
        self.sources: list[str] = []  # the documents completed so far
        self._lines = 0
        self._document: list[str] = []  # the current document's pieces
        self._pending: list[str] = []  # its text not passed on yet
        self._waiting = 0  # characters in _pending
        self._in_body = False

    def _emit(self, text: str) -> str:
        self._lines += text.count("\n")
        return text

    def feed(self, piece: str) -> str:
        """Another piece of the current document; returns the combined text that is now final."""
        self._document.append(piece)
        self._pending.append(piece)
        self._waiting += len(piece)
        out = ""
        if not self._in_body:
            text = "".join(self._pending)
            start = text.find(MARKER)
            if start < 0:
                return ""
            preamble = text[: start + 1]
            if self.preamble is None:
                self.preamble = preamble
                out += self._emit(preamble + "\\begin{document}\n" + BATCH_MACROS % {"hold": HOLD})
            elif preamble != self.preamble:
                raise BuildError("documents batched together must share one preamble")
            out += self._emit("\\derivbookdocument\n")
            self.starts.append(self._lines + 1)
            self._in_body = True
            rest = text[start + len(MARKER) :]
            self._pending, self._waiting = [rest], len(rest)
        if self._waiting > 2 * HOLD_BACK:
            text = "".join(self._pending)
            out += self._emit(text[:-HOLD_BACK])
            self._pending, self._waiting = [text[-HOLD_BACK:]], HOLD_BACK
        return out

    def end(self) -> str:
        """The current document is complete; returns the rest of its body."""
        source, rest = "".join(self._document), "".join(self._pending)
        in_body, end = self._in_body, rest.rfind(END)
        self._document, self._pending, self._waiting, self._in_body = [], [], 0, False
        if not in_body:
            _parts(source)  # names what is missing
        if end < 0 or source.rfind(END) != len(source) - len(rest) + end:
            raise BuildError("a batched document must end with \\end{document} on a line of its own")
        self.sources.append(source)
        return self._emit(rest[:end])

    def close(self) -> str:
        """The batch's own ending, after the last document."""
        return self._emit("\\derivbookdocument\n\\end{document}\n")


def combine(sources: list[str]) -> tuple[str, list[int]]:
    """One LaTeX document typesetting ``sources`` (same preamble) one after another, each from page 1.

    Also returns the line of the combined file where each document's body starts (to name errors).
    """
    combiner = Combiner()
    text = "".join(combiner.feed(source) + combiner.end() for source in sources) + combiner.close()
    return text, combiner.starts


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


def compile_batch(sources: list[str], names: list[str], time_limit: float = TIME_LIMIT) -> Batch:
    """Compile documents that share a preamble in one single-pass pdflatex run.

    ``names`` name the documents in errors. A batch compiled before from the same documents with the same
    pdflatex is taken from the cache.
    """
    require_tex()
    if (cached := _cached(sources)) is not None:
        return cached
    combined, starts = combine(sources)
    return _typeset(combined, preamble_format(sources[0]), starts, sources, names, time_limit)


def _typeset(combined: str, fmt: Path | None, starts: list[int], sources: list[str], names: list[str],
             time_limit: float) -> Batch:
    with tempfile.TemporaryDirectory(prefix="derivbook-tex-") as tmp:
        workdir = Path(tmp)
        (workdir / "doc.tex").write_text(combined, encoding="utf-8")
        process = _start(workdir, fmt)
        in_time = _wait(process, time_limit)
        return _result(in_time, process, workdir, fmt, combined, starts, sources, names, time_limit)


def _batch_key(sources: list[str]) -> str:
    return cache.digest("batch, with its overfull lines", *sources, tex_version())


def _cached(sources: list[str]) -> Batch | None:
    """The batch these documents made before with this pdflatex, or None."""
    cached = cache.load("pdf", _batch_key(sources))
    if cached is None:
        return None
    counts, pdf, overfull = pickle.loads(cached)
    return Batch(pdf, counts, overfull)


_RUNNING: set[subprocess.Popen] = set()  # pdflatex processes started and not yet waited for


def stop_typesetting() -> None:
    """Stop every pdflatex this process is running (a failed or interrupted build, from any thread)."""
    for process in list(_RUNNING):
        _stop(process)


def _start(workdir: Path, fmt: Path | None) -> subprocess.Popen:
    """pdflatex on ``workdir``/doc.tex (a file, or a pipe it reads as the document is written)."""
    # the format is read where it is kept, by its absolute path: nothing TeX writes (in ``workdir`` only) can
    # reach it, and no 18 MB copy per run
    # -no-parse-first-line: TeX would open doc.tex twice (a %& line names a format), which a pipe cannot do
    command = ["pdflatex", *([f"-fmt={fmt.resolve()}"] if fmt is not None else []), "-no-parse-first-line",
               "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", "doc.tex"]
    with open(workdir / "doc.out", "wb") as console:
        return _popen(command, workdir, console)


def _popen(command: list[str], workdir: Path, stdout) -> subprocess.Popen:
    """pdflatex started and remembered (stop_typesetting), with TeX's environment, its output to ``stdout``."""
    # Ctrl-C or SIGTERM (KeyboardInterrupt, main thread only) waits until pdflatex is remembered: raised
    # inside Popen, it would leave a pdflatex nobody stops
    held = threading.current_thread() is threading.main_thread()
    if held:
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        process = subprocess.Popen(command, cwd=workdir, env=tex_environment(workdir), stdin=subprocess.DEVNULL,
                                   stdout=stdout, stderr=subprocess.STDOUT)
        _RUNNING.add(process)
    finally:
        if held:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return process


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    _RUNNING.discard(process)


def _wait(process: subprocess.Popen, seconds: float) -> bool:
    """Wait for pdflatex to end; False if it ran past ``seconds`` (a TeX loop) and was stopped."""
    try:
        process.wait(timeout=max(seconds, 0))
        _RUNNING.discard(process)
        return True
    except subprocess.TimeoutExpired:
        _stop(process)
        return False
    except BaseException:  # Ctrl-C, SIGTERM: pdflatex does not outlive the build
        _stop(process)
        raise


def _result(in_time: bool, process: subprocess.Popen, workdir: Path, fmt: Path | None, combined: str,
            starts: list[int], sources: list[str], names: list[str], time_limit: float) -> Batch:
    """The batch a finished pdflatex run made, cached; or the error, traced to the document it came from."""
    if not in_time:
        message = f"typesetting: pdflatex ran longer than {time_limit:g} s and was stopped"
        raise BuildError(_locate(message, starts, sources, names))
    if process.returncode != 0:
        log_path = workdir / "doc.log"
        log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
        error = first_error(log or (workdir / "doc.out").read_text(encoding="utf-8", errors="replace"))
        if fmt is None or "format file" not in error.lower():
            raise BuildError(_locate(error, starts, sources, names))
        fmt.unlink(missing_ok=True)  # a stale or broken format: drop it and compile without one
        return _typeset(combined, None, starts, sources, names, time_limit)
    counts = [int(line) for line in (workdir / "doc.pages").read_text().split()][1:]  # the first flush holds no page
    if len(counts) != len(sources):
        raise BuildError(f"{names[0]}: the batched run recorded {len(counts)} documents, not {len(sources)}")
    log = (workdir / "doc.log").read_text(encoding="utf-8", errors="replace")
    batch = Batch((workdir / "doc.pdf").read_bytes(), tuple(counts), overfull_lines(log, starts, sources, names))
    cache.store("pdf", _batch_key(sources), pickle.dumps((batch.counts, batch.pdf, batch.overfull)))
    return batch


PIPE_SIZE = 1 << 20  # bytes the pipe to pdflatex holds, so that writing it never waits for TeX


class Stream:
    """A batch typeset while its documents are still being written: pdflatex reads them through a pipe.

    TeX typesets the first problems on one core while SymPy derives the next ones on the other. TeX reads
    exactly the bytes ``compile_batch`` would give it (both go through ``Combiner``), so the PDF is the same
    to the byte; only the order in which the work happens changes. Use it as a context manager: leaving it
    before ``finish`` (an error, Ctrl-C) stops pdflatex and removes its directory.
    """

    def __init__(self, names: list[str], time_limit: float = TIME_LIMIT) -> None:
        require_tex()
        self.names, self.time_limit = names, time_limit
        self.combiner = Combiner()
        self._text: list[str] = []  # the combined document, as written
        self._unsent = b""
        self._fmt: Path | None = None
        self._process: subprocess.Popen | None = None
        self._pipe: int | None = None
        self._deadline: float | None = None  # set when the document is complete: TeX must end by then
        self._directory = tempfile.TemporaryDirectory(prefix="derivbook-tex-")
        self._workdir = Path(self._directory.name)

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc) -> None:
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None
        if self._process is not None:
            _stop(self._process)
        self._directory.cleanup()

    def feed(self, piece: str) -> None:
        """Another piece of the current document (its end is marked by ``end``)."""
        self._add(self.combiner.feed(piece))

    def end(self) -> None:
        """The current document is complete."""
        self._add(self.combiner.end())

    def _add(self, text: str) -> None:
        if text:
            self._text.append(text)
            self._unsent += text.encode("utf-8")
        if self._process is None and self.combiner.preamble is not None:
            self._fmt = preamble_format(self.combiner.preamble + "\\begin{document}\n")
            os.mkfifo(self._workdir / "doc.tex")
            self._process = _start(self._workdir, self._fmt)

    def flush(self) -> None:
        """Pass on what is written so far, as far as the pipe takes it without waiting."""
        if self._process is None or not self._unsent:
            return
        if self._pipe is None:
            try:  # a pipe opens for writing only once pdflatex (past loading its format) opened it for reading
                self._pipe = os.open(self._workdir / "doc.tex", os.O_WRONLY | os.O_NONBLOCK)
            except OSError as error:
                if error.errno != errno.ENXIO:
                    raise
                return
            if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux; elsewhere the pipe keeps its size
                with contextlib.suppress(OSError):
                    fcntl.fcntl(self._pipe, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        try:
            written = os.write(self._pipe, self._unsent)
        except BlockingIOError:
            return
        except BrokenPipeError:  # pdflatex stopped at an error: finish() reports it
            written = len(self._unsent)
        self._unsent = self._unsent[written:]

    def close(self) -> None:
        """Write the batch's ending and pass everything on: TeX has the whole document (waits for TeX to
        read it, at most the time limit). Closing every stream before finishing any lets their TeX runs end
        side by side."""
        if self._process is None:
            raise BuildError(f"{', '.join(self.names) or 'a batch'}: no document to typeset")
        if self._deadline is not None:
            return
        self._add(self.combiner.close())
        self._deadline = time.monotonic() + self.time_limit
        while self._unsent and self._process.poll() is None and time.monotonic() < self._deadline:
            self.flush()
            if self._unsent:
                select.select([], [self._pipe] if self._pipe is not None else [], [], 0.005)
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None

    def finish(self) -> Batch:
        """Close the stream if it is not, wait for pdflatex, and return what it made (or raise its error).

        Documents typeset before (the same bytes, the same pdflatex) are taken from the cache, as
        ``compile_batch`` takes them, and pdflatex is stopped: only the documents' end tells which they are.
        """
        self.close()
        if (cached := _cached(self.combiner.sources)) is not None:
            _stop(self._process)
            return cached
        in_time = _wait(self._process, self._deadline - time.monotonic())
        combined = "".join(self._text)
        return _result(in_time, self._process, self._workdir, self._fmt, combined, self.combiner.starts,
                       self.combiner.sources, self.names, self.time_limit)
