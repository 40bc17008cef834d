"""The stress test behind ``derivbook check``: many seeds, every edge of every parameter range.

Three kinds of failure: an instance that fails a verification; a line that runs into the margin when the
worksheet or the answer key is typeset (an "Overfull \\hbox" in pdflatex's log); and an answer part that
is degenerate over the seeds checked (zero in every instance, or the same in every instance).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from derivbook import contract
from derivbook.engine import make_problem
from derivbook.model import Problem
from derivbook.params import resolve
from derivbook.registry import Derivation
from derivbook.seeding import problem_seed

TYPESET_SEEDS = 3  # seeds per parameter set typeset (worksheet and answer key) by default
# An overfull line is reported from this many points into the margin. TeX's own \hfuzz (0.1pt) already
# hides less; up to 1 pt (a third of a millimetre, against a 22 mm margin) nothing shows on paper; a real
# overrun is an entry or a word (the catalog's smallest was 2.4 pt, its largest 40 pt).
OVERFULL_PT = 1.0
# Answers are compared across seeds from this many instances of a parameter set: a part with two equally
# likely values (a ReLU slope, 0 or 1) is the same in all of n instances with probability 2^(1-n), a
# quarter at 3 seeds (activation-derivatives' ReLU slope was 0 in all 3), under 1% at 8.
DEGENERATE_SEEDS = 8
POINTS = 10  # the points printed in a checked problem's heading (its width counts)
_WIDTH = re.compile(r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\)")
_LINE = re.compile(r": (?:problem \d+, )?line (\d+): ")


@dataclass
class Report:
    """What checking one derivation found."""

    instances: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)  # instances that failed to generate or verify
    overfull: list[str] = field(default_factory=list)  # lines into the margin, with where and by how much
    degenerate: list[str] = field(default_factory=list)  # answer parts that do not vary or are always zero

    def problems(self) -> list[str]:
        return self.failures + self.overfull + self.degenerate


def parameter_sets(derivation: Derivation) -> list[dict]:
    """The defaults, then each ranged or enumerated parameter at each of its edges, the others at default,
    then the two corners: every parameter at its first edge, and every one at its last (the largest
    sizes together make the widest lines)."""
    edges = {p.name: (p.choices[0], p.choices[-1]) if p.choices else (p.low, p.high) for p in derivation.params}
    edges = {name: pair for name, pair in edges.items() if None not in pair}
    wanted = [{}]
    for param in derivation.params:
        wanted += [{param.name: edge} for edge in edges.get(param.name, ()) if edge != param.default]
    if len(edges) > 1:
        wanted += [{name: pair[0] for name, pair in edges.items()}, {name: pair[1] for name, pair in edges.items()}]
    sets = []
    for given in wanted:
        params = resolve(derivation.params, given, derivation.id)
        if params not in sets:
            sets.append(params)
    return sets


def describe(params: dict) -> str:
    """Parameters as a spec sets them: ``n=4, d=9``."""
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "no parameters"


def check_derivation(derivation: Derivation, seeds: int, typeset_seeds: int = TYPESET_SEEDS) -> Report:
    """Generate and verify ``seeds`` instances for every parameter set; look for degenerate answers among
    them; typeset the first ``typeset_seeds`` of each set; collect every failure."""
    report = Report()
    started = time.perf_counter()
    to_typeset: list[Problem] = []
    for params in parameter_sets(derivation):
        made = []
        for index in range(seeds):
            seed = problem_seed(index, 0, f"check/{derivation.id}/{sorted(params.items())}")
            report.instances += 1
            try:
                made.append(make_problem(derivation, params, seed))
            except Exception as error:  # every failure is reported, none stops the run
                report.failures.append(f"{describe(params)}, seed {seed}: {type(error).__name__}: {error}")
        report.degenerate += degenerate_parts(derivation, params, made)
        to_typeset += made[:typeset_seeds]
    if to_typeset:
        report.overfull += overfull(derivation, to_typeset)
    report.seconds = time.perf_counter() - started
    return report


def chosen(only: tuple[str, ...], folders: tuple = ()) -> list[Derivation]:
    """The derivations ``derivbook check`` looks at: those named, or all (with those in ``folders``)."""
    from derivbook.registry import Catalog

    catalog = Catalog(folders)
    return [catalog.lookup(i, "--only") for i in only] if only else list(catalog.values())


SHOWN = 8  # failures of one kind listed per derivation
KINDS = {"failures": "failed verification", "overfull": f"overfull line(s) of {OVERFULL_PT:g} pt or more",
         "degenerate": "degenerate answer part(s)"}


def check(only: tuple[str, ...], seeds: int, typeset_seeds: int, echo, notice, folders: tuple = ()) -> None:
    """``derivbook check``: a line per derivation (``echo``), its failures listed below it; BuildError
    summing them up if there are any."""
    from derivbook.model import BuildError
    from derivbook.texbuild import require_tex

    if typeset_seeds:
        require_tex()
    if seeds < DEGENERATE_SEEDS:
        notice(f"answers are compared across seeds from --seeds {DEGENERATE_SEEDS}: degenerate answers not checked")
    totals = dict.fromkeys(KINDS, 0)
    echo(f"{'derivation':<28} {'instances':>9} {'failures':>8} {'seconds':>8}")
    for derivation in chosen(only, folders):
        report = check_derivation(derivation, seeds, min(typeset_seeds, seeds))
        echo(f"{derivation.id:<28} {report.instances:>9} {len(report.problems()):>8} {report.seconds:>8.2f}")
        for kind in KINDS:
            listed = getattr(report, kind)
            totals[kind] += len(listed)
            for failure in listed[:SHOWN]:
                echo(f"    {derivation.id}: {kind}: {failure}")
            if len(listed) > SHOWN:
                echo(f"    {derivation.id}: {kind}: ... and {len(listed) - SHOWN} more")
    if sum(totals.values()):
        raise BuildError(f"{sum(totals.values())} failure(s): " + ", ".join(f"{n} {KINDS[k]}" for k, n in totals.items() if n))


def degenerate_parts(derivation: Derivation, params: dict, problems: list[Problem]) -> list[str]:
    """The answer parts that are zero in every one of ``problems`` (one parameter set, ``DEGENERATE_SEEDS``
    seeds or more), or the same in every one: a question whose answer does not depend on its numbers.

    A derivation may declare a part constant on purpose, with the reason, in its module:
    ``CONSTANT_PARTS = {"mean": "E[q·k] = 0 for any q, k: the point of the part"}``.
    """
    if len(problems) < DEGENERATE_SEEDS:
        return []
    from derivbook.verify import is_zero

    allowed = getattr(derivation.module, "CONSTANT_PARTS", {})
    found = []
    for name in problems[0].answer:
        if name in allowed or any(name not in p.answer for p in problems):
            continue
        values = [tuple(leaf for _, leaf in contract.leaves(p.answer[name].value)) for p in problems]
        if all(is_zero(leaf) for value in values for leaf in value):
            found.append(f"{describe(params)}: answer part {name!r} is zero in all {len(problems)} instances")
        elif all(value == values[0] for value in values[1:]):
            shown = " ".join(str(problems[0].answer[name].value).split())
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            found.append(f"{describe(params)}: answer part {name!r} is the same in all {len(problems)} instances: {shown}")
    return found


def overfull(derivation: Derivation, problems: list[Problem]) -> list[str]:
    """The lines that run ``OVERFULL_PT`` or more into the margin when each problem is typeset alone on a
    worksheet and in an answer key, as ``derivbook build`` renders them; all in one pdflatex run.

    Each is named by parameters, seed, document, problem and line of the document's .tex, with that
    line's beginning.
    """
    from derivbook.engine import Request, Variant, variant_id
    from derivbook.render import documents
    from derivbook.spec import DEFAULT_INSTRUCTIONS, DEFAULT_SPACE, Workbook
    from derivbook.texbuild import compile_batch

    request = Request(derivation, problems[0].params, f"{derivation.id}#0", points=POINTS, space=DEFAULT_SPACE)
    workbook = Workbook(derivation.id, "derivbook check", None, (DEFAULT_INSTRUCTIONS,), 0, "a4",
                        [None] * len(problems), [request])
    variants = [Variant(k, variant_id(0, k), None, [problem]) for k, problem in enumerate(problems)]
    docs = documents(workbook, variants, single=False)
    by_variant = {v.id: p for v, p in zip(variants, problems)}
    names = [f"{describe(by_variant[d.variant.id].params)}, seed {by_variant[d.variant.id].seed}, {d.kind}" for d in docs]
    batch = compile_batch([d.source for d in docs], names)
    sources = dict(zip(names, (d.source for d in docs)))
    found = []
    for line in batch.overfull:
        width = _WIDTH.search(line)
        if width is None or float(width.group(1)) < OVERFULL_PT:
            continue
        found.append(line + _excerpt(line, sources))
    return found


def _excerpt(message: str, sources: dict[str, str]) -> str:
    """The beginning of the .tex line a located message points at: `` at: \\boxed{J = …``."""
    name = next((n for n in sources if message.startswith(n + ": ")), None)
    where = _LINE.search(message)
    if name is None or where is None:
        return ""
    lines = sources[name].splitlines()
    number = int(where.group(1))
    text = lines[number - 1].strip() if 0 < number <= len(lines) else ""
    label = "the line"
    ending = re.fullmatch(r"\\end\{([a-z]+\*?)\}", text)
    if ending:  # TeX names a display's last line: show its longest row instead
        begin = "\\begin{" + ending.group(1) + "}"
        start = max((k for k in range(number - 1) if lines[k].strip().startswith(begin)), default=number - 1)
        text = max((line.strip() for line in lines[start + 1 : number - 1]), key=len, default=text)
        label = f"in the {ending.group(1)} that ends there, its longest row"
    return f"; {label}: {text[:70]}{'...' if len(text) > 70 else ''}" if text else ""
