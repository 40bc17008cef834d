"""Runs pdflatex on a document in a private temporary directory, sandboxed and reproducible."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
import threading
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
    "microtype": "texlive-latex-recommended",
    "pgfplots": "texlive-pictures",
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


_format_locks: dict[str, threading.Lock] = {}
_format_locks_guard = threading.Lock()
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
    with _format_locks_guard:
        lock = _format_locks.setdefault(key, threading.Lock())
    with lock:
        if path.exists():
            return path
        with tempfile.TemporaryDirectory(prefix="derivbook-fmt-") as tmp:
            workdir = Path(tmp)
            (workdir / "doc.tex").write_text(preamble + "\\begin{document}\n\\end{document}\n", encoding="utf-8")
            command = ["pdflatex", "-ini", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
                       "-jobname=preamble", "&pdflatex", "mylatexformat.ltx", "doc.tex"]
            result = _run(command, workdir, TIME_LIMIT, "preamble format")
            built = workdir / "preamble.fmt"
            if result.returncode != 0 or not built.exists():
                return None
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
            os.close(handle)
            shutil.copyfile(built, temp)
            os.replace(temp, path)
        return path


def compile_pdf(source: str, name: str, passes: int = 2, time_limit: float = TIME_LIMIT) -> bytes:
    """Compile LaTeX ``source`` to PDF bytes; ``name`` names the document in errors.

    The first of two passes runs in draft mode (no PDF written) to record the page total. A PDF
    compiled before from the same bytes with the same pdflatex is taken from the cache.
    """
    require_tex()
    key = cache.digest("pdf", source, tex_version(), passes)
    cached = cache.load("pdf", key)
    if cached is not None:
        return cached
    fmt = preamble_format(source)
    try:
        pdf = _compile(source, name, passes, time_limit, fmt)
    except BuildError as error:
        if fmt is None or "format file" not in str(error).lower():
            raise
        fmt.unlink(missing_ok=True)  # a stale or broken format: drop it and compile without one
        pdf = _compile(source, name, passes, time_limit, None)
    cache.store("pdf", key, pdf)
    return pdf


def _compile(source: str, name: str, passes: int, time_limit: float, fmt: Path | None) -> bytes:
    with tempfile.TemporaryDirectory(prefix="derivbook-tex-") as tmp:
        workdir = Path(tmp)
        (workdir / "doc.tex").write_text(source, encoding="utf-8")
        if fmt is not None:
            shutil.copyfile(fmt, workdir / "preamble.fmt")
        for number in range(passes):
            command = [
                "pdflatex",
                *(["-fmt=preamble"] if fmt is not None else []),
                "-no-shell-escape",
                "-interaction=nonstopmode",
                "-halt-on-error",
                "-file-line-error",
                *(["-draftmode"] if number < passes - 1 else []),
                "doc.tex",
            ]
            result = _run(command, workdir, time_limit, name)
            if result.returncode != 0:
                log_path = workdir / "doc.log"
                log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
                raise BuildError(f"{name}: {first_error(log or result.stdout.decode(errors='replace'))}")
        return (workdir / "doc.pdf").read_bytes()
