"""Runs pdflatex on a document in a private temporary directory, sandboxed and reproducible."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

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
            context = next((l.strip() for l in lines[index + 1 : index + 12] if l.startswith("l.")), "")
            return " ".join(part for part in (line.strip(), context) if part)
    return "pdflatex failed without an error line (see the .log)"


def require_tex() -> None:
    """Fail early, before any derivation work, when pdflatex is not installed."""
    if shutil.which("pdflatex") is None:
        raise BuildError(INSTALL_HINT)


def compile_pdf(source: str, name: str, passes: int = 2, time_limit: float = TIME_LIMIT) -> bytes:
    """Compile LaTeX ``source`` to PDF bytes; ``name`` names the document in errors.

    The first of two passes runs in draft mode (no PDF written) to record the page total.
    """
    require_tex()
    with tempfile.TemporaryDirectory(prefix="derivbook-tex-") as tmp:
        workdir = Path(tmp)
        (workdir / "doc.tex").write_text(source, encoding="utf-8")
        for number in range(passes):
            command = [
                "pdflatex",
                "-no-shell-escape",
                "-interaction=nonstopmode",
                "-halt-on-error",
                "-file-line-error",
                *(["-draftmode"] if number < passes - 1 else []),
                "doc.tex",
            ]
            try:
                result = subprocess.run(
                    command, cwd=workdir, env=tex_environment(workdir), stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=time_limit, check=False,
                )
            except subprocess.TimeoutExpired:
                raise BuildError(f"{name}: pdflatex ran longer than {time_limit:g} s and was stopped") from None
            if result.returncode != 0:
                log_path = workdir / "doc.log"
                log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
                raise BuildError(f"{name}: {first_error(log or result.stdout.decode(errors='replace'))}")
        return (workdir / "doc.pdf").read_bytes()
