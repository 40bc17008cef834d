"""Printing a Problem as plain text for the terminal (``derivbook show``)."""

from __future__ import annotations

import sympy

from derivbook.model import Math, Problem, Step, Tex


def _math(value) -> str:
    if isinstance(value, Math):
        return _math(value.body)
    if isinstance(value, Tex):
        return value.source
    if isinstance(value, tuple):
        return " = ".join(_math(item) for item in value)
    if isinstance(value, sympy.MatrixBase):
        return str(value.tolist())
    return sympy.sstr(value)


def _paragraph(pieces) -> str:
    pieces = (pieces,) if isinstance(pieces, str) else pieces
    return "".join(_math(p) if isinstance(p, Math) else str(p).replace("$", "") for p in pieces)


def problem_text(problem: Problem) -> str:
    """The statement, the tasks, the worked steps and the answer, one per line."""
    lines = [f"{problem.title.replace('$', '')}  [{problem.derivation}, seed {problem.seed}]", ""]
    lines += [_paragraph(p) for p in problem.statement]
    lines += [f"  ({chr(97 + n)}) {_paragraph(t)}" for n, t in enumerate(problem.tasks)]
    lines += ["", "Solution"]
    for item in problem.steps:
        if isinstance(item, Step):
            lines.append(f"    {_math(item.lhs)} {_math(item.relation)} {_math(item.rhs)}    [{item.reason.replace('$', '')}]")
        else:
            lines.append(f"  {item}")
    lines += ["", "Answer"]
    for part in problem.answer.values():
        lines.append(f"    {part.name} = {_math(part.value)}")
    checks = ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in problem.verified.items())
    lines += ["", f"Verified: {checks}"]
    return "\n".join(lines)
