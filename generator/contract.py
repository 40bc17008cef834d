"""The answer contract of an answer part: how it may be written, its tolerance, and its freedom.

Every export (answers.json, Moodle, HTML, QTI) and the grader read the contract; none invents a
tolerance of its own. The rules:

- A part whose every entry is an integer (a count, a rank, integer eigenvalues) is typed exactly:
  tolerance zero.
- Any other part may be written exactly (a fraction, a root, a logarithm) or as a decimal rounded as the
  sheet asks: to ``DECIMAL_PLACES`` places, or to the places (or significant figures) the part itself
  asks for. A decimal is accepted within half a unit of that rounding, so the key's own rounded value and
  every correctly rounded answer pass.
- ``freedom`` (declared by the derivation) says which other answers are just as right: up to sign, up to
  scale, column by column, or in any order. The key prints the one answer the question's
  ``convention`` picks.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import sympy

from derivbook.model import FREEDOMS, AnswerPart

DECIMAL_PLACES = 4  # the sheet's own rounding: "where a decimal is asked for, round it to four places"
SLACK = 1e-9  # relative: a rounded value exactly half a unit away still passes in floating point


@dataclass(frozen=True)
class Contract:
    """How one answer part may be written and graded."""

    part: str
    integer: bool  # every entry is an integer: typed exactly, no tolerance
    places: int | None  # decimal places (or significant figures) a decimal answer is rounded to
    significant: bool
    freedom: str
    convention: str | None

    def tolerance(self, entry: Any) -> float:
        """The accepted distance of a decimal answer from ``entry``: half a unit of the rounding."""
        if self.integer or self.places is None:
            return 0.0
        if not self.significant:
            return float(f"5e-{self.places + 1}")
        number = abs(float(sympy.N(entry, 20)))
        if number == 0:  # no significant figure to round: zero is written as it is
            return 0.0
        exponent = math.floor(math.log10(number))
        return float(f"5e{exponent - self.places}")

    def rounding(self) -> dict | None:
        """The rounding a decimal answer is asked for, as answers.json records it."""
        if self.integer:
            return None
        return {"significant_figures" if self.significant else "decimal_places": self.places}

    def record(self, value: Any) -> dict:
        """The contract as answers.json holds it (``tolerance`` has the value's shape)."""
        return {
            "forms": ["exact"] if self.integer else ["exact", "decimal"],
            "rounding": self.rounding(),
            "tolerance": shaped(value, self.tolerance),
            "freedom": self.freedom,
            **({"convention": self.convention} if self.convention else {}),
        }


def of(part: AnswerPart) -> Contract:
    """The contract of an answer part, from its value and what the derivation declared."""
    # integers are typed exactly; but an eigenvector printed with integer entries may be given at any scale,
    # as a decimal unit vector too
    integer = part.freedom not in ("scale", "column-scale") and all(sympy.sympify(leaf).is_Integer for _, leaf in leaves(part.value))
    places = None if integer else (part.decimals if part.decimals is not None else DECIMAL_PLACES)
    return Contract(part.name, integer, places, bool(part.significant and not integer), part.freedom, part.convention)


def leaves(value: Any, path: tuple = ()):
    """(path, scalar) pairs of an answer value (scalar, list, Matrix, list of those, dict of those)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, sympy.MatrixBase):
        for r in range(value.rows):
            for c in range(value.cols):
                yield (*path, r, c), value[r, c]
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def shaped(value: Any, leaf) -> Any:
    """``leaf`` applied to every scalar, with the value's nesting as JSON (matrices as lists of rows)."""
    if isinstance(value, dict):
        return {k: shaped(v, leaf) for k, v in value.items()}
    if isinstance(value, sympy.MatrixBase):
        return [[leaf(value[r, c]) for c in range(value.cols)] for r in range(value.rows)]
    if isinstance(value, (list, tuple)):
        return [shaped(item, leaf) for item in value]
    return leaf(value)


def describe(freedom: str) -> str:
    """The freedom in words (for answers.json readers and feedback)."""
    return FREEDOMS[freedom]


def agrees(contract: Contract, right: Any, given: Any, exact_only: bool = False) -> bool:
    """Whether ``given`` is right under the contract: the same shape, each entry equal to the right one
    (exactly, or as a decimal within the tolerance), allowing the part's freedom.

    ``given`` holds SymPy numbers (exact, or Floats for decimals) in the value's nesting or as nested
    lists; with ``exact_only`` a decimal earns nothing where the entry is not an integer.
    """
    right, given = _nested(right), _nested(given)
    if _form(right) != _form(given):
        return False
    same = _same_entries(contract, exact_only)
    if contract.freedom == "sign":
        return same(right, given) or same(right, _scaled(given, -1))
    if contract.freedom == "scale":
        return _up_to_scale(contract, right, given, same, exact_only)
    if contract.freedom in ("column-sign", "column-scale"):
        columns = zip(_transpose(right), _transpose(given))
        if contract.freedom == "column-sign":
            return all(same(r, g) or same(r, _scaled(g, -1)) for r, g in columns)
        return all(_up_to_scale(contract, r, g, same, exact_only) for r, g in columns)
    if contract.freedom == "unordered":
        return same(sorted(right, key=_float), sorted(given, key=_float))
    return same(right, given)


def distinct(contract: Contract, right: Any, other: Any) -> bool:
    """Whether ``other`` can be told apart from the right answer: not even its decimals are accepted."""
    return not agrees(contract, right, shaped(other, lambda e: sympy.Float(_float(e), 30)))


def _nested(value: Any) -> Any:
    return shaped(value, sympy.sympify) if not isinstance(value, dict) else {k: _nested(v) for k, v in value.items()}


def _form(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_form(v) for v in value]
    return None


@functools.lru_cache(maxsize=1024)
def _float(entry: Any) -> float:
    """An entry as a float, evaluated once per process: the same right answers meet every mistake."""
    return float(sympy.N(entry, 30))


def _same_entries(contract: Contract, exact_only: bool):
    def same(right: Any, given: Any, slack: float = 1.0) -> bool:
        return all(_entry(contract, r, g, exact_only, slack) for (_, r), (_, g) in zip(leaves(right), leaves(given)))
    return same


def _entry(contract: Contract, right: Any, given: Any, exact_only: bool, slack: float) -> bool:
    if not given.has(sympy.Float):
        from derivbook.verify import is_zero

        if right.is_Rational and given.is_Rational:
            return right == given
        return not _apart(right, given) and is_zero(right - given)
    if exact_only and not right.is_Integer:
        return False
    return abs(_float(right) - _float(given)) <= contract.tolerance(right) * slack * (1 + SLACK)


APART = 1e-20  # relative: two exact values whose difference evaluates larger than this are not equal


def _apart(right: Any, given: Any) -> bool:
    """Whether two exact values differ for certain: their difference, evaluated to 30 digits (SymPy's evalf
    raises its precision through cancellation), is far from zero. Only a shortcut past ``is_zero``, whose
    rewrites and ``simplify`` are slow on a wrong answer; it decides nothing ``is_zero`` would not."""
    try:
        difference = abs(sympy.N(right - given, 30))
        scale = max(1, abs(sympy.N(right, 30)))
        return bool(difference.is_Number and difference > APART * scale)
    except (TypeError, ValueError, ArithmeticError):
        return False


def _scaled(value: Any, factor: Any) -> Any:
    return shaped(value, lambda e: factor * e) if not isinstance(value, dict) else {k: _scaled(v, factor) for k, v in value.items()}


def _up_to_scale(contract: Contract, right: list, given: list, same, exact_only: bool) -> bool:
    """``given`` is a nonzero multiple of ``right``, the ratio read at right's largest entry.

    Exactly, when every entry is exact. As decimals, the largest entry must be large enough to carry the
    rounding (to decimal places: at least a thousand half-units, since a vector of tiny decimals says nothing
    of its direction), and every entry must agree within twice the half-unit (the ratio carries its
    rounding). With ``exact_only``, decimals earn nothing here.
    """
    entries = [e for _, e in leaves(right)]
    offered = [e for _, e in leaves(given)]
    largest = max(range(len(entries)), key=lambda k: abs(_float(entries[k])))
    if entries[largest] == 0 or offered[largest] == 0:
        return False
    ratio = offered[largest] / entries[largest]
    if not any(e.has(sympy.Float) for e in offered):
        return same(_scaled(right, ratio), given)
    if exact_only or (contract.integer and not contract.places):
        return False
    if contract.significant:  # a fixed number of figures: the rounding is relative, any size carries it
        unit = contract.tolerance(offered[largest])
    else:
        unit = 0.5 * 10.0 ** -(contract.places or DECIMAL_PLACES)
        if abs(_float(offered[largest])) < 1000 * unit:
            return False
    return all(abs(_float(ratio * r) - _float(g)) <= 2 * unit * (1 + SLACK) for r, g in zip(entries, offered))


def _transpose(matrix: list) -> list:
    return [list(column) for column in zip(*matrix)] if matrix and isinstance(matrix[0], list) else [matrix]
