"""derivbook's benchmark (``make bench``): build times against TeX alone, caches, parallelism, a class.

Benchmarks, not tests: nothing here fails because a machine is slow. Every number is measured in this
one run, on this machine; compare them as ratios. Run it on an idle machine (a busy second core hides any
parallel speed-up).
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# as on a user's machine, Python caches the bytecode of derivbook's modules (a sandbox may switch it off)
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
ROUNDS = 3
JOBS_ROUNDS = 11  # the jobs ratio moves most with this machine's drift (and stalls): more rounds


def run(args: list[str], cache: Path) -> float:
    """Wall time of one ``derivbook`` command in a fresh process."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "derivbook", *args], cwd=ROOT, check=True, capture_output=True,
                   env=dict(ENV, DERIVBOOK_CACHE=str(cache)))
    return time.perf_counter() - started


def latexmk(tex_files: list[Path]) -> float:
    """Plain ``latexmk -pdf`` on each file, one after another, each from a clean directory."""
    total = 0.0
    for tex in tex_files:
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(tex, tmp)
            started = time.perf_counter()
            subprocess.run(["latexmk", "-pdf", "-quiet", tex.name], cwd=tmp, check=True, capture_output=True,
                           stdin=subprocess.DEVNULL)
            total += time.perf_counter() - started
    return total


def shares(cache: Path) -> dict[str, float]:
    """Seconds in SymPy (generate and verify), rendering and TeX for the default workbook, in process."""
    os.environ["DERIVBOOK_CACHE"] = str(cache)
    sys.path.insert(0, str(ROOT))
    from derivbook import spec
    from derivbook.build import documents
    from derivbook.cli import bundled_spec
    from derivbook.engine import make_variant
    from derivbook.texbuild import compile_batch

    workbook = spec.load(bundled_spec("llm-foundations"), seed=987654)
    t0 = time.perf_counter()
    variants = [make_variant(workbook.requests, workbook.seed, 0, workbook.students[0])]
    t1 = time.perf_counter()
    docs = documents(workbook, variants, True)
    t2 = time.perf_counter()
    for doc in docs:
        compile_batch([doc.source], [doc.stem])
    t3 = time.perf_counter()
    return {"SymPy": t1 - t0, "rendering": t2 - t1, "TeX": t3 - t2}


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="derivbook-bench-"))
    cache = work / "cache"
    rows: list[tuple[str, str]] = []

    cold = run(["build", "--seed", "1", "--out", str(work / "cold")], cache)  # empty cache: derive, formats
    # new numbers each round (tool caches warm), then latexmk on the very .tex files that build wrote;
    # alternated, medians: a shared virtual machine's speed drifts by ±10 % from one run to the next
    fulls, texs = [], []
    for attempt in range(ROUNDS):
        out = work / f"full-{attempt}"
        fulls.append(run(["build", "--seed", str(2 + attempt), "--out", str(out)], cache))
        texs.append(latexmk(sorted(out.glob("*.tex"))))
    full, tex = statistics.median(fulls), statistics.median(texs)
    unchanged = run(["build", "--seed", "2", "--out", str(work / "full-0")], cache)
    rows += [
        ("default workbook, first build ever (empty cache)", f"{cold:.2f} s"),
        (f"default workbook, full build with new numbers, SymPy included (median of {ROUNDS})", f"{full:.2f} s"),
        (f"TeX alone: latexmk -pdf on the same .tex files (median of {ROUNDS})", f"{tex:.2f} s"),
        ("full build / latexmk", f"{full / tex:.2f}"),
        ("unchanged rebuild", f"{unchanged:.2f} s"),
    ]

    # the same 8 variants with --jobs 1 and --jobs 2 in each round (new numbers every round), each run on its
    # own copy of the warm cache: the same work, nothing from the PDF or build caches; the order alternates
    times: dict[int, list[float]] = {1: [], 2: []}
    for attempt in range(JOBS_ROUNDS):
        seed = str(100 + attempt)
        for jobs in (1, 2) if attempt % 2 == 0 else (2, 1):
            copy = work / f"cache-j{jobs}-{attempt}"
            shutil.copytree(cache, copy)
            out = work / f"j{jobs}-{attempt}"
            times[jobs].append(run(["build", "--seed", seed, "--variants", "8", "--jobs", str(jobs), "--out", str(out)], copy))
            shutil.rmtree(copy)
    jobs1, jobs2 = statistics.median(times[1]), statistics.median(times[2])
    rows += [
        (f"8 variants, --jobs 1 (median of {JOBS_ROUNDS})", f"{jobs1:.2f} s"),
        (f"8 variants, --jobs 2 (median of {JOBS_ROUNDS})", f"{jobs2:.2f} s"),
        ("jobs 1 / jobs 2", f"{jobs1 / jobs2:.2f}"),
    ]

    roster = work / "class.csv"
    roster.write_text("name\n" + "".join(f"Student {i:03d}\n" for i in range(200)), encoding="utf-8")
    class_time = run(["build", "--seed", "5", "--roster", str(roster), "--out", str(work / "class")], cache)
    rows.append(("200-name roster (400 PDFs and two print files)", f"{class_time:.2f} s"))

    split = shares(cache)
    total = sum(split.values())
    rows += [(f"share in {name} (default workbook, jobs 1)", f"{seconds:.2f} s ({100 * seconds / total:.0f} %)")
             for name, seconds in split.items()]

    from derivbook.grading import bench_grading  # after shares(): the same cache, derivbook importable

    rows.append(("grading 200 students, every answer part of the default workbook (feedback pages and report)",
                 f"{bench_grading(work):.2f} s"))

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    tex_version = subprocess.run(["pdflatex", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"Machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; {tex_version}\n")
    print("| measurement | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
