"""``derivbook practice``: fresh problems in the terminal, each answer graded as it is typed.

The answers are judged by the same engine as ``derivbook grade`` (the answer grammar, the answer contract,
the declared mistakes, a worker stopped at its time limit); after each problem the worked solution is shown
as plain-text mathematics (``derivbook.plaintext``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from derivbook.model import Problem

QUIT = ("q", "quit", "exit")
HELP = ("?", "help", "h")


@dataclass
class Score:
    right: int = 0  # parts fully right
    asked: int = 0  # parts asked
    points: float = 0.0
    max: float = 0.0


def fresh_problems(what: str | None, seed: int | None, resolve_spec: Callable[[str | None], Path]) -> tuple[list[Problem], list, int]:
    """(problems, their points, seed): one problem of a derivation id, or a variant of a spec (a path or a
    bundled workbook's name; none: the default workbook). A fresh seed unless one is given."""
    from derivbook.engine import derive_variant, make_problem, plan_variants
    from derivbook.params import resolve
    from derivbook.registry import catalog

    seed = secrets.randbelow(2**53) if seed is None else seed
    if what and what in catalog():
        derivation = catalog()[what]
        return [make_problem(derivation, resolve(derivation.params, {}, what), seed)], [None], seed
    from derivbook import spec

    path = resolve_spec(what)
    if what and not path.exists() and "/" not in what and not what.endswith(".toml"):
        import difflib

        from derivbook.model import UserError

        near = difflib.get_close_matches(what, list(catalog()), n=1)
        raise UserError(f"{what!r} is neither a derivation id nor a spec file"
                        + (f"; did you mean {near[0]}?" if near else " (derivbook list shows the ids)"))
    workbook = spec.load(path, seed=seed, variants=1)
    variant = derive_variant(workbook.requests, workbook.seed, plan_variants(workbook.seed, workbook.students)[0])
    return variant.problems, [r.points for r in workbook.requests], seed


def _hint(part, terms) -> str:
    from derivbook.grading import describe

    if terms.integer:
        form = "exact"
    elif terms.significant:
        form = f"exact, or a decimal to {terms.places} significant figures"
    else:
        form = f"exact, or a decimal to {terms.places} places"
    return f"{describe(part.value)}, {form}"


def session(problems: list[Problem], ask: Callable[[str], str | None], say: Callable[[str], None],
            points: list | None = None) -> Score:
    """Ask every answer part of ``problems`` in turn, judge each answer, explain, and show the solution.

    ``ask(prompt)`` returns what was typed, or None when the input ends. Enter skips a part, ``help`` shows
    what may be typed, ``quit`` stops.
    """
    from derivbook import grading, plaintext
    from derivbook.answer_syntax import GRAMMAR
    from derivbook.bounded import Workers

    key = grading.key_from_problems("practice", problems, points)
    variant = key.variants[0]
    score = Score()
    say("Type each answer (for example 3/7, -0.4286, 2 ln 2, [1/2, 1/3], [[1, 2], [3, 4]]); "
        "Enter skips, 'help' shows what may be typed, 'quit' stops.\n")
    grading._KEY = key
    grading._PARSED.clear()
    with Workers(1) as workers:
        for number, problem in enumerate(problems, start=1):
            say(f"Problem {number} · {plaintext.prose_text(problem.title)}\n")
            for paragraph in problem.statement:
                say(plaintext.paragraph(paragraph))
            for index, task in enumerate(problem.tasks):
                say(plaintext.paragraph(task).replace("\n", "\n      ").join((f"  ({chr(97 + index)}) ", "")))
            say("")
            for name, part in problem.answer.items():
                column = f"{number}.{name}"
                terms = grading.contract_of(name, variant.parts[column].record)
                prompt = f"{plaintext.inline(part.label)}  ({_hint(part, terms)}) ="
                while True:
                    text = ask(prompt)
                    if text is None or text.strip().lower() in QUIT:
                        _summary(score, say)
                        return score
                    if text.strip().lower() in HELP:
                        say(GRAMMAR)
                        continue
                    mark = _judge(key, variant, column, text, workers)
                    if mark.why == "unreadable" or mark.misshapen:
                        say(f"  ? {mark.note}. Try again, or press Enter to skip.")
                        continue
                    break
                score.asked += 1
                score.points += mark.points
                score.max += mark.max
                score.right += mark.why == ""
                say(_verdict(mark))
            say("\nWorked solution")
            say(plaintext.steps_text(problem.steps))
            say("\nAnswer")
            say(plaintext.answer_text(problem))
            say("")
    _summary(score, say)
    return score


def _judge(key, variant, column: str, text: str, workers):
    from derivbook import grading

    response = grading.Response(0, variant, "", "", {column: text})
    return grading.grade(key, [response], workers=workers)[0].marks[column]


def _verdict(mark) -> str:
    from derivbook.plaintext import prose_text

    if mark.why == "":
        return "  ✓ right"
    if mark.why == "blank":
        return "  – skipped"
    note = f" ({mark.note})" if mark.note else ""
    if mark.why == "wrong":
        return f"  ✗ not right{note}" if mark.points == 0 else f"  ◐ partly right{note}"
    lead = "◐ partly right" if mark.points > 0 else "✗ not right"
    return f"  {lead}: {mark.why}{note}. {prose_text(mark.explanation or '')}".rstrip(". ") + "."


def _summary(score: Score, say) -> None:
    if score.asked:
        say(f"You answered {score.right} of {score.asked} parts right "
            f"({score.points:.2f} of {score.max:.2f} points).".replace(".00 ", " ").replace(".00)", ")"))


def run(what: str | None, seed: int | None, resolve_spec, ask, say) -> Score:
    """``derivbook practice``: fresh problems (a derivation id, a spec, or the default workbook), asked in turn."""
    problems, points, seed = fresh_problems(what, seed, resolve_spec)
    say(f"derivbook practice: {len(problems)} problem(s), seed {seed} (--seed {seed} gives the same again).")
    return session(problems, ask, say, points)
