"""Printing SymPy values as LaTeX math: the one place where derivations' mathematics becomes TeX."""

from __future__ import annotations

import functools
from typing import Any

import sympy
from sympy.printing.latex import LatexPrinter

from derivbook.model import Math, Tex

SHORT_NUMERATOR = 12  # characters of LaTeX: a numerator this short is never broken off its denominator
GROUPED = 5  # digits on one side of the decimal point from which they are grouped in threes (12\,345; 1234)
FACTORED_ENTRIES = 4  # a matrix this large or larger may have a common denominator factored out


def group_digits(digits: str, from_left: bool = False) -> str:
    """A run of digits in groups of three separated by thin spaces, when it has ``GROUPED`` or more.

    The rule of ISO 80000-1 and most textbooks, applied wherever a number is printed (integers,
    numerators, denominators, matrix entries, decimals): 40 000 and 11/20 000, but 4000 and 1/2000.
    Integer digits are grouped from the right; a decimal's fractional digits (``from_left``) from the point.
    """
    if len(digits) < GROUPED:
        return digits
    if from_left:
        return r"\,".join(digits[start : start + 3] for start in range(0, len(digits), 3))
    return r"\,".join(digits[max(0, end - 3) : end] for end in range(len(digits), 0, -3)[::-1])


def _integer(value: int) -> str:
    return ("-" if value < 0 else "") + group_digits(str(abs(value)))


def _digits(value: sympy.Rational) -> int:
    """Digits a reader reads in a printed rational: a fraction's numerator and denominator, no signs."""
    return len(str(abs(value.p))) + (len(str(value.q)) if value.q != 1 else 0)


def common_denominator(matrix: sympy.MatrixBase) -> tuple[int, sympy.Matrix] | None:
    """``(d, N)`` with ``matrix == N/d``, N an integer matrix, when printing ``(1/d) N`` reads better.

    Only for a matrix of at least ``FACTORED_ENTRIES`` rational entries, not all integers, whose fractions
    share one denominator d (every denominator divides the largest, d), and only when ``1/d`` and the
    integers of N save at least a sixth of the digits a reader reads in the fractions they replace. A
    textbook writes (1/64)(7 -4; -4 16) for (7/64 -1/16; -1/16 1/4), and (1/169)(22 -8 …) for 36
    fractions over 169, but keeps (8/19 1/19; 2/15 4/15) rather than (1/285)(120 15; 38 76), and
    (1/2 1/3; 1/5 1/7) rather than (1/210)(105 70; 42 30).
    """
    entries = list(matrix)
    if len(entries) < FACTORED_ENTRIES or not all(isinstance(e, sympy.Rational) for e in entries):
        return None
    d = max(e.q for e in entries)
    if d == 1 or any(d % e.q for e in entries):
        return None
    integers = matrix.applyfunc(lambda e: e * d)
    factored = len(str(d)) + 1 + sum(_digits(e) for e in integers)
    return (int(d), integers) if 6 * factored <= 5 * sum(_digits(e) for e in entries) else None


class WorkbookPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the conventions of a printed workbook."""

    def __init__(self):
        super().__init__(
            {"ln_notation": True, "mat_str": "pmatrix", "mat_delim": "", "fold_short_frac": False, "long_frac_ratio": 1}
        )

    def _print_Mul(self, expr):
        # a long numerator over a short denominator is broken off (long_frac_ratio: \frac{1}{5}(a + b + …)),
        # but a short one stays one fraction: \frac{2 \sqrt{5}}{5}, not \frac{2}{5} \sqrt{5}
        numerator, denominator = sympy.fraction(expr, exact=True)
        if denominator == 1 or len(super()._print(numerator)) > SHORT_NUMERATOR:
            return super()._print_Mul(expr)
        ratio = self._settings["long_frac_ratio"]
        self._settings["long_frac_ratio"] = None
        try:
            return super()._print_Mul(expr)
        finally:
            self._settings["long_frac_ratio"] = ratio

    def _print_Indexed(self, expr):
        base = self._print(expr.base.label)
        indices = ",".join(self._print(i) for i in expr.indices)
        return f"{base}_{{{indices}}}"

    def _print_Exp1(self, expr):
        return "e"

    def _print_Integer(self, expr):
        return _integer(int(expr))

    def _print_Rational(self, expr):
        # SymPy's own prints numerator and denominator with %d: they would escape the digit grouping
        if expr.q == 1:
            return _integer(expr.p)
        return ("- " if expr.p < 0 else "") + rf"\frac{{{_integer(abs(expr.p))}}}{{{_integer(expr.q)}}}"

    def _print_MatrixBase(self, expr):
        factored = common_denominator(expr)
        if factored is None:
            return super()._print_MatrixBase(expr)
        d, integers = factored
        return rf"\frac{{1}}{{{_integer(d)}}} " + super()._print_MatrixBase(integers)

    def _print_Float(self, expr):
        return decimal(expr, 4)

    def _print_log(self, expr, exp=None):
        arg = expr.args[0]
        body = self._print(arg)
        if arg.is_Integer and arg > 0 or arg.is_Rational and arg > 0:
            body = " " + body if arg.is_Integer else body  # \ln 2, \ln\frac{3}{2}
        elif arg.is_Symbol or arg.is_Indexed:
            body = "{" + body + "}"
        else:
            body = r"\left(" + body + r"\right)"
        return r"\ln" + (f"^{{{exp}}}" if exp else "") + body


_PRINTER = WorkbookPrinter()


def decimal(value: Any, places: int) -> str:
    """A value rounded to ``places`` decimals, trailing zeros kept (0.2500), digits grouped as everywhere
    (12 345.6789, 0.123 46), minus sign typeset."""
    number = float(sympy.N(value, 30))
    text = f"{number:.{places}f}"
    if text.lstrip("-").strip("0.") == "":
        text = text.lstrip("-")
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, fraction = text.partition(".")
    return sign + group_digits(whole) + ("." + group_digits(fraction, from_left=True) if fraction else "")


def scientific(value: Any, digits: int) -> str:
    """LaTeX for a number in scientific notation with ``digits`` significant figures: 3.450 \\times 10^{-4}."""
    number = float(sympy.N(value, 30))
    if number == 0:
        return "0"
    mantissa, exponent = f"{number:.{digits - 1}e}".split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def tex(value: Any, inline: bool = False) -> str:
    """LaTeX math for a SymPy expression, a matrix, a vector (list), a Tex snippet or a relation chain.

    ``inline`` vectors use ``\\bigl( … \\bigr)`` with break points after commas, so a long one can wrap
    in running text (``\\left … \\right`` would make it one unbreakable box).
    """
    if isinstance(value, Tex):
        return value.source
    if isinstance(value, Math):
        return tex(value.body, inline)
    if isinstance(value, tuple):
        return " = ".join(tex(item, inline) for item in value)
    if isinstance(value, list):
        if value and isinstance(value[0], (list, sympy.MatrixBase)):
            return r",\quad ".join(tex(item, inline) for item in value)
        if inline:
            return r"\bigl(" + r",\allowbreak\ ".join(tex(item) for item in value) + r"\bigr)"
        return r"\left(" + ",\\ ".join(tex(item) for item in value) + r"\right)"
    if isinstance(value, dict):
        return r",\quad ".join(f"{tex(Tex(k))} = {tex(v)}" for k, v in value.items())
    if isinstance(value, sympy.MatrixBase):
        return _PRINTER.doprint(value)
    return _print(sympy.sympify(value))


@functools.lru_cache(maxsize=2048)
def _print(expr: sympy.Basic) -> str:
    """LaTeX of an immutable expression, printed once per process: every variant shows the same general
    results, and equal SymPy expressions (same structure, same assumptions) print the same."""
    return _PRINTER.doprint(expr)


def approx(value: Any, places: int, significant: bool = False) -> str:
    """LaTeX for the rounded decimals of a value of any answer shape (scalar, vector, matrix).

    With ``significant``, ``places`` counts significant figures in scientific notation instead.
    """
    if significant and not isinstance(value, (list, tuple, dict, sympy.MatrixBase)):
        return scientific(value, places)
    if significant:
        return r",\ ".join(scientific(item, places) for item in value)
    if isinstance(value, sympy.MatrixBase):
        rows = [r" & ".join(decimal(value[r, c], places) for c in range(value.cols)) for r in range(value.rows)]
        return r"\begin{pmatrix}" + r" \\ ".join(rows) + r"\end{pmatrix}"
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], (list, sympy.MatrixBase)):
            return r",\quad ".join(approx(item, places) for item in value)
        return r"\left(" + ",\\ ".join(decimal(item, places) for item in value) + r"\right)"
    if isinstance(value, dict):
        return r",\quad ".join(f"{k} \\approx {approx(v, places)}" for k, v in value.items())
    return decimal(value, places)
