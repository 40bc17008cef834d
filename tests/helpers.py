"""Shared test helpers: verified instances of a derivation over many seeds; the processes a build starts."""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

import pytest
import sympy

from derivbook.engine import make_problem
from derivbook.params import resolve
from derivbook.registry import get
from derivbook.seeding import problem_seed


def instances(derivation_id: str, seeds: int = 25, **params):
    """Verified Problems of one derivation over ``seeds`` seeds (make_problem raises on any failed check)."""
    derivation = get(derivation_id)
    resolved = resolve(derivation.params, params, derivation_id)
    return [make_problem(derivation, resolved, problem_seed(s, 0, f"test/{derivation_id}")) for s in range(seeds)]


def leaves(value):
    """The scalar entries of a nested answer value."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, sympy.MatrixBase):
        yield from value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from leaves(item)
    else:
        yield sympy.sympify(value)


def small_fraction(value, denominator: int = 10_000, numerator: int = 10_000) -> bool:
    """A rational a student can carry by hand."""
    value = sympy.nsimplify(value)
    return value.is_Rational and abs(value.q) <= denominator and abs(value.p) <= numerator


def derived(workbook):
    """Every variant of a workbook with its verified problems (no rendering, no TeX)."""
    from derivbook.engine import derive_variant, plan_variants

    return [derive_variant(workbook.requests, workbook.seed, v) for v in plan_variants(workbook.seed, workbook.students)]


def children(pid: int) -> list[int]:
    """Every process whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def descendants(pid: int) -> list[int]:
    """``pid``'s children, their children, and so on."""
    found = children(pid)
    return found + [grandchild for child in found for grandchild in descendants(child)]


def tex_children(pid: int) -> list[int]:
    """pdflatex runs on a document (typesetting, or building a format) started by ``pid``; not the
    short-lived ``pdflatex --version`` that reads TeX's version."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split()
            command = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if fields[1] == "(pdflatex)" and int(fields[3]) == pid and b"doc.tex" in command:
            found.append(int(fields[0]))
    return found


def typesetting(process: subprocess.Popen, seconds: float = 60) -> list[int]:
    """The pdflatex runs of a build (``process``, started with its stderr piped), or of its worker
    processes, seen in the same look that finds them: a run lasts well under a second, so a second look
    may find it gone. Fails the test, with the build's error, when the build ends or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while not (tex := [t for p in [process.pid, *children(process.pid)] for t in tex_children(p)]):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, err = process.communicate(timeout=30)
            pytest.fail(f"the build never started pdflatex (exit {process.returncode}): {err}")
        time.sleep(0.02)
    return tex
