"""answers.json: every variant's inputs, answers and answer contracts, machine-readable.

The format is documented in docs/answers-json.md and docs/answers.schema.json; ``SCHEMA`` is its version.
"""

from __future__ import annotations

import functools
import json
from typing import Any

SCHEMA = 2  # 2: seeds as strings (exact in every JSON reader), each part's contract and mistakes


def exact_text(value: Any) -> str:
    """The exact value as a string ``sympy.sympify`` parses back to the same value (a matrix on one line:
    ``Matrix([[3/16, -3/16], [-3/16, 3/16]])``)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {exact_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(exact_text(item) for item in value) + "]"
    if hasattr(value, "tolist") and hasattr(value, "rows"):  # a SymPy matrix
        return f"Matrix({exact_text(value.tolist())})"
    return _scalar_text(value)


@functools.lru_cache(maxsize=1024)
def _scalar_text(value: Any) -> str:
    import sympy  # here, not at the top: joining a class's answers.json needs no SymPy

    return sympy.sstr(value)


def float_value(value: Any) -> Any:
    """The same quantity as floats, with the same shape (scalar, list, list of lists, or object)."""
    from derivbook.contract import shaped

    return shaped(value, _scalar_float)


@functools.lru_cache(maxsize=1024)
def _scalar_float(value: Any) -> float:
    import sympy

    return float(sympy.N(value, 20))


def input_value(value: Any) -> Any:
    """An input as printed: integers and floats as numbers, exact non-integers as SymPy strings."""
    from derivbook.contract import shaped

    return shaped(value, _input_scalar)


def _input_scalar(value: Any) -> Any:
    import sympy

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    value = sympy.sympify(value)
    if value.is_Integer:
        return int(value)
    if value.is_Float:
        return float(value)
    return sympy.sstr(value)


def problem_record(number: int, problem) -> dict:
    """One problem's entry in answers.json."""
    return {
        "number": number,
        "derivation": problem.derivation,
        "params": dict(problem.params),
        "seed": str(problem.seed),
        "inputs": {name: input_value(v) for name, v in problem.inputs.items()},
        "answer": {name: answer_record(part, problem) for name, part in problem.answer.items()},
        "verified": dict(problem.verified),
    }


def answer_record(part, problem) -> dict:
    """One answer part: exact, LaTeX and floats, its contract, and the diagnosed mistakes for it."""
    from derivbook import contract, mathtex

    return {
        "exact": exact_text(part.value),
        "latex": mathtex.tex(part.value),
        "value": float_value(part.value),
        "contract": contract.of(part).record(part.value),
        "mistakes": [
            {"name": m.name, "exact": exact_text(m.value), "value": float_value(m.value), "explanation": m.explanation}
            for m in problem.mistakes if m.part == part.name
        ],
    }


def variant_record(variant) -> dict:
    """One variant's entry in answers.json (plain JSON data, so a worker process can make it)."""
    return {
        "id": variant.id,
        "student": variant.student.name if variant.student else None,
        **({"student_id": variant.student.id} if variant.student and variant.student.id else {}),
        "problems": [problem_record(n, p) for n, p in enumerate(variant.problems, start=1)],
    }


def document(workbook, records: list[dict]) -> str:
    """answers.json's text from the variants' records: deterministic key order and formatting, so one seed
    gives the same bytes."""
    data = {"schema": SCHEMA, "title": workbook.title, "seed": str(workbook.seed),
            "points": [request.points for request in workbook.requests], "variants": records}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
