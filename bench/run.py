"""derivbook's benchmark (``make bench``): build times against TeX alone, caches, parallelism, memory, grading.

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
JOBS_ROUNDS = 7
PAGE = os.sysconf("SC_PAGE_SIZE")


def command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "derivbook", *args]


def run(args: list[str], cache: Path) -> float:
    """Wall time of one ``derivbook`` command in a fresh process."""
    started = time.perf_counter()
    subprocess.run(command(args), cwd=ROOT, check=True, capture_output=True, env=dict(ENV, DERIVBOOK_CACHE=str(cache)))
    return time.perf_counter() - started


def tree_memory(pid: int) -> int:
    """The memory of a process and all its descendants now: the sum of their proportional set sizes (shared
    pages counted once), in bytes."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, grown = {pid}, True
    while grown:
        grown = False
        for child, parent in parents.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grown = True
    total = 0
    for member in tree:
        try:
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def measured(args: list[str], cache: Path) -> tuple[float, int, int]:
    """(seconds, peak memory of the whole process tree, GNU time's largest single process) of a command."""
    started = time.perf_counter()
    timing = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
    process = subprocess.Popen([*timing, *command(args)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, env=dict(ENV, DERIVBOOK_CACHE=str(cache)))
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_memory(process.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    report = process.stderr.read()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {report[-2000:]}")
    single = next((int(line.split(":")[1]) * 1024 for line in report.splitlines() if "Maximum resident set size" in line), 0)
    return seconds, peak, single


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
    """Seconds in SymPy (derive and verify), rendering and TeX for the default workbook, in this process."""
    os.environ["DERIVBOOK_CACHE"] = str(cache)
    sys.path.insert(0, str(ROOT))
    from derivbook import cache as caches
    from derivbook import spec
    from derivbook.engine import derive_variant, plan_variants
    from derivbook.render import documents
    from derivbook.texbuild import compile_batch

    with caches.using(caches.open_cache()):
        workbook = spec.load(spec.resolve_spec(None), seed=987654)
        t0 = time.perf_counter()
        variants = [derive_variant(workbook.requests, workbook.seed, v) for v in plan_variants(workbook.seed, workbook.students)]
        t1 = time.perf_counter()
        docs = documents(workbook, variants, True)
        t2 = time.perf_counter()
        for doc in docs:
            compile_batch([doc.source], [doc.stem])
        t3 = time.perf_counter()
    return {"SymPy": t1 - t0, "rendering": t2 - t1, "TeX": t3 - t2}


def roster(path: Path, size: int) -> Path:
    path.write_text("name\n" + "".join(f"Student {i:04d}\n" for i in range(size)), encoding="utf-8")
    return path


def grading(work: Path, cache: Path) -> tuple[float, int, int]:
    """Grading 200 students' responses to every answer part of the default workbook: a third exact, a third
    decimals rounded as the sheet asks, a third off by one (feedback pages and the report included)."""
    os.environ["DERIVBOOK_CACHE"] = str(cache)
    sys.path.insert(0, str(ROOT))
    from derivbook import cache as caches
    from derivbook import grading as grader

    with caches.using(caches.open_cache()):
        build = grader.class_answers(work / "graded", 200)
    responses = work / "responses.csv"
    responses.write_text(grader.simulated_responses(grader.load_key(build), ("exact", "decimal", "off-by-one")),
                         encoding="utf-8")
    return measured(["grade", str(build), str(responses), "--out", str(work / "grades")], cache)


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
    # own copy of the warm cache: the same work, nothing from the PDF cache; the order alternates
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

    # the 200-name roster is the class the README promises a time for: timed as a teacher runs it, with
    # nothing reading its memory (reading every process's memory every 50 ms slows a build by about 5 %);
    # the smallest and the largest class show how memory grows with the class
    memory = {}
    for size, formats in ((50, "pdf,json"), (200, "pdf,tex,json"), (1000, "pdf,json")):
        args = ["build", "--seed", "5", "--roster", str(roster(work / f"class{size}.csv", size)), "--format", formats,
                "--out", str(work / f"class{size}")]
        if size == 200:
            seconds = run(args, cache)
            rows.append((f"{size}-name roster ({formats}): time, per student", f"{seconds:.1f} s, {seconds / size:.3f} s"))
            continue
        seconds, memory[size], single = measured(args, cache)
        rows.append((f"{size}-name roster ({formats}), its memory read every 50 ms: time, per student",
                     f"{seconds:.1f} s, {seconds / size:.3f} s"))
        rows.append((f"{size}-name roster: peak memory of all its processes (largest one alone)",
                     f"{memory[size] / 1024**2:.0f} MB ({single / 1024**2:.0f} MB)"))
    rows.append(("peak memory, 1000 names / 50 names", f"{memory[1000] / memory[50]:.2f}"))

    seconds, peak, _ = grading(work, cache)
    rows.append(("grading 200 students, every part of the default workbook: time, peak memory",
                 f"{seconds:.1f} s, {peak / 1024**2:.0f} MB"))

    split = shares(cache)
    total = sum(split.values())
    rows += [(f"share in {name} (default workbook, jobs 1)", f"{seconds:.2f} s ({100 * seconds / total:.0f} %)")
             for name, seconds in split.items()]

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
