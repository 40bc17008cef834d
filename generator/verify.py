"""The two independent checks every instance passes before it can be printed: exact and numeric."""

from __future__ import annotations

from typing import Any

import mpmath
import sympy

DIGITS = 40  # working precision of the numeric checks
TOLERANCE = mpmath.mpf(10) ** -25  # relative (absolute near zero) agreement required


FACTORED_BELOW = 10**12  # ln r is split into primes only for r's numerator and denominator below this: fast


def is_zero(expr: sympy.Expr) -> bool:
    """Decide ``expr == 0`` with cheap rewrites first and ``simplify`` only as a last resort.

    Two quick tests come first, each only able to say "zero" (and right when it does): the difference over
    one common denominator, and the logarithms of rationals written over their primes. When neither settles
    it, the rewrites run in turn on the expanded difference, each on the last one's result.
    """
    expr = sympy.expand(sympy.sympify(expr))
    if expr == 0 or _numerator(expr) == 0 or sympy.expand(prime_logs(expr)) == 0:
        return True
    rewrites = (lambda e: sympy.cancel(sympy.expand(e)), sympy.expand_log, lambda e: sympy.expand(prime_logs(e)),
                sympy.simplify)
    for rewrite in rewrites:
        expr = rewrite(expr)
        if expr == 0:
            return True
    return bool(expr.equals(0))


def _numerator(expr: sympy.Expr) -> sympy.Expr:
    """The expanded numerator of ``expr`` written over one common denominator: zero exactly when ``expr``
    is (the denominators of a value that can be printed are not zero), and far cheaper than ``cancel``."""
    return sympy.expand(sympy.numer(sympy.together(expr)))


def prime_logs(expr: sympy.Expr) -> sympy.Expr:
    """Write each ``ln r`` of a positive rational as ``Σ k ln p`` over its primes (exact, and cheap).

    Sums of logarithms of rationals (losses, entropies) then cancel by ``expand`` alone, without
    ``simplify``: ``ln 32 − 5 ln 2`` becomes ``5 ln 2 − 5 ln 2``. A rational with a numerator or denominator
    of ``FACTORED_BELOW`` or more is left as it is: factoring a product of two large primes (a student may
    type one) would take minutes.
    """
    def split(term):
        return sympy.Add(*[k * sympy.log(p) for p, k in sympy.factorrat(term.args[0]).items()])

    def splittable(e):
        return (isinstance(e, sympy.log) and e.args[0].is_Rational and e.args[0] > 0
                and max(e.args[0].p, e.args[0].q) < FACTORED_BELOW)

    return expr.replace(splittable, split)


def _leaves(value: Any, path: str = ""):
    """Yield (path, scalar) pairs of a nested answer value: scalar, list, Matrix, or dict."""
    if isinstance(value, dict):
        for key in value:
            yield from _leaves(value[key], f"{path}.{key}")
    elif isinstance(value, sympy.MatrixBase):
        for r in range(value.rows):
            for c in range(value.cols):
                yield f"{path}[{r}][{c}]", value[r, c]
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def _shape(value: Any) -> list[str]:
    return [path for path, _ in _leaves(value)]


def exact_mismatch(claimed: Any, expected: Any) -> str | None:
    """Where ``claimed`` and ``expected`` differ exactly (a path), or None when they agree everywhere."""
    if _shape(claimed) != _shape(expected):
        return "shape"
    for (path, a), (_, b) in zip(_leaves(claimed), _leaves(expected)):
        if not is_zero(sympy.sympify(a) - sympy.sympify(b)):
            return path or "value"
    return None


def inexact_part(claimed: dict) -> str | None:
    """The first answer part holding a floating-point number: answers must be exact."""
    for name, value in claimed.items():
        for path, leaf in _leaves(value):
            if isinstance(leaf, float) or sympy.sympify(leaf).has(sympy.Float):
                return name + path
    return None


def to_mp(value: Any) -> mpmath.mpf:
    """A SymPy (or plain) number as an mpmath float at the checks' precision."""
    value = sympy.sympify(value)
    with mpmath.workdps(DIGITS + 10):
        if value.is_Rational:  # most entries: one division, no decimal string
            return mpmath.mpf(value.p) / value.q
        return mpmath.mpf(str(sympy.N(value, DIGITS + 10)))


def numeric_mismatch(claimed: Any, expected: Any) -> str | None:
    """Where the exact ``claimed`` value, evaluated to high precision, differs from the numeric recomputation."""
    if _shape(claimed) != _shape(expected):
        return "shape"
    with mpmath.workdps(DIGITS):
        for (path, a), (_, b) in zip(_leaves(claimed), _leaves(expected)):
            a, b = to_mp(a), mpmath.mpf(b)
            if abs(a - b) > TOLERANCE * max(1, abs(a), abs(b)):
                return path or "value"
    return None


def check_answers(claimed: dict, recomputed: dict, compare) -> str | None:
    """The first answer part (and position) where ``compare`` finds a difference, or None."""
    if set(claimed) != set(recomputed):
        return f"parts {sorted(set(claimed) ^ set(recomputed))}"
    for name in claimed:
        where = compare(claimed[name], recomputed[name])
        if where == "shape":
            return f"{name} (shape)"
        if where is not None:
            return name if where == "value" else name + where
    return None
