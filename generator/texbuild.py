"""Runs pdflatex on batches of documents, sandboxed and reproducible.

A chunk's worksheets are typeset in one single-pass pdflatex run and its answer keys in another, the two
side by side; each combined PDF is then cut into one PDF per document (``batch``). Every run happens in a
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
import os
import pickle
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from derivbook import cache
from derivbook.batch import Batch, combine, locate, overfull_lines
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
    asking pdflatex would cost every command that needs it, unchanged rebuilds included.
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


def typeset(batches: dict[str, tuple[list[str], list[str]]], temp: Path, side_by_side: bool = True) -> dict[str, Batch]:
    """Each kind's documents (sources, and the names errors give them) typeset in one single-pass pdflatex
    run; the runs side by side when the build has a core to spare for it, else one after the other. A
    batch typeset before (the same bytes, the same pdflatex) comes from the cache. Errors are raised in the
    order of ``batches``.
    """
    require_tex()
    done = {kind: _cached(sources) for kind, (sources, _) in batches.items()}
    runs = {}
    try:
        for kind, (sources, names) in batches.items():
            if done[kind] is None:
                runs[kind] = _Run(sources, names, temp)
                if not side_by_side:
                    done[kind] = runs[kind].result()
        for kind, run in runs.items():
            done[kind] = done[kind] or run.result()
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
            raise BuildError(locate(f"typesetting: pdflatex ran longer than {TIME_LIMIT:g} s and was stopped",
                                     self.starts, self.sources, self.names))
        if self.process.returncode != 0:
            log = _read(self.workdir / "doc.log") or _read(self.workdir / "doc.out")
            error = first_error(log)
            if self.fmt is None or "format file" not in error.lower():
                raise BuildError(locate(error, self.starts, self.sources, self.names))
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
