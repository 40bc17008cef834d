"""Small SymPy tools the derivations share: instantiating general results and proving claims."""

from __future__ import annotations

from typing import Any, Sequence

import mpmath
import sympy

from generator.verify import DIGITS, is_zero, to_mp


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
    concrete = sympy.sympify(expr).subs(indices).doit()
    values = {base[k + 1]: sympy.sympify(v) for base, entries in arrays.items() for k, v in enumerate(entries)}
    return sympy.sympify(concrete.xreplace(values)).doit()


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


def vector(values: Sequence[Any]) -> list:
    """A list of SymPy numbers (how vectors are held in inputs and answers)."""
    return [sympy.nsimplify(v) if isinstance(v, float) else sympy.sympify(v) for v in values]
