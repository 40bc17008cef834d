"""Small SymPy tools the derivations share: instantiating general results and proving claims."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import mpmath
import sympy

from derivbook.verify import DIGITS, is_zero, to_mp


class ClaimError(AssertionError):
    """A textbook closed form that SymPy could not prove equal to what it derived."""


def prove_equal(derived: sympy.Expr, claimed: sympy.Expr, what: str) -> None:
    """Raise ClaimError unless SymPy shows ``derived - claimed`` is zero."""
    if not is_zero(derived - claimed):
        raise ClaimError(f"{what}: derived {derived} is not the claimed {claimed}")


def at(expr: sympy.Expr, indices: dict, arrays: dict[sympy.IndexedBase, Sequence]) -> sympy.Expr:
    """Evaluate a general result written with 1-based ``IndexedBase`` arrays at concrete sizes and values.

    ``indices`` fixes the integer symbols (sizes and free indices); ``arrays`` gives each base's entries.
    """
    concrete = _structural(sympy.sympify(expr), tuple(indices.items()))
    values = {base[k + 1]: sympy.sympify(v) for base, entries in arrays.items() for k, v in enumerate(entries)}
    return sympy.sympify(concrete.xreplace(values)).doit()


@functools.lru_cache(maxsize=4096)
def _structural(expr: sympy.Expr, indices: tuple) -> sympy.Expr:
    """A general result at concrete sizes and free indices, before any values: the same for every variant
    with these sizes, so it is expanded once per process (derive once, instantiate many)."""
    return expr.subs(dict(indices)).doit()


def mp_vector(values: Sequence[Any]) -> list:
    """Exact inputs as mpmath floats at the checks' precision."""
    return [to_mp(v) for v in values]


def mp_gradient(function, point: Sequence) -> list:
    """The gradient of a scalar mpmath function by high-precision numerical differentiation."""
    point = list(point)
    with mpmath.workdps(DIGITS + 10):

        def partial(j):
            return mpmath.diff(lambda t: function(point[:j] + [t] + point[j + 1 :]), point[j])

        return [partial(j) for j in range(len(point))]


def mp_softmax(z: Sequence) -> list:
    """Softmax computed directly in mpmath (with the max shifted out)."""
    top = max(z)
    exps = [mpmath.exp(v - top) for v in z]
    total = mpmath.fsum(exps)
    return [e / total for e in exps]



def int_matrix(dice, rows: int, cols: int, low: int, high: int) -> sympy.Matrix:
    """A matrix of uniform random integers in ``[low, high]``."""
    return sympy.Matrix(rows, cols, lambda r, c: dice.integer(low, high))


def symbol_matrix(name: str, rows: int, cols: int) -> sympy.Matrix:
    """A matrix of distinct real symbols ``name_{rc}`` (1-based), for deriving general results."""
    return sympy.Matrix(rows, cols, lambda r, c: sympy.Symbol(f"{name}_{{{r + 1}{c + 1}}}", real=True))


def symbol_vector(name: str, size: int) -> sympy.Matrix:
    """A column vector of distinct real symbols ``name_i`` (1-based)."""
    return sympy.Matrix(size, 1, lambda r, c: sympy.Symbol(f"{name}_{{{r + 1}}}", real=True))



def mp_matrix(value) -> list:
    """A SymPy matrix (or nested list) as nested lists of mpmath floats."""
    if isinstance(value, sympy.MatrixBase):
        value = value.tolist()
    return [mp_matrix(v) if isinstance(v, (list, tuple)) else to_mp(v) for v in value]


def mp_matmul(a: list, b: list) -> list:
    """A plain triple-loop matrix product of nested lists, in mpmath."""
    return [[mpmath.fsum(a[r][k] * b[k][c] for k in range(len(b))) for c in range(len(b[0]))] for r in range(len(a))]


def transpose(a: list) -> list:
    """The transpose of a nested-list matrix."""
    return [list(row) for row in zip(*a)]



def canonical_direction(vector) -> sympy.Matrix:
    """A direction with a fixed sign: the first nonzero entry positive (for 'any sign' answers)."""
    vector = sympy.Matrix(vector)
    first = next(v for v in vector if v != 0)
    return vector if first > 0 else -vector


def primitive_integer(vector) -> sympy.Matrix:
    """An integer vector along a rational direction: coprime entries, first nonzero positive."""
    vector = canonical_direction(vector)
    denominators = sympy.ilcm(*[sympy.nsimplify(v).q for v in vector])
    scaled = vector * denominators
    divisor = sympy.igcd(*[int(v) for v in scaled])
    return scaled / divisor
