"""Printing SymPy values as LaTeX math: the one place where derivations' mathematics becomes TeX."""

from __future__ import annotations

import functools
from typing import Any

import sympy
from sympy.printing.latex import LatexPrinter

from derivbook.model import Math, Tex

SHORT_NUMERATOR = 12  # characters of LaTeX: a numerator this short is never broken off its denominator


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
        digits = str(abs(int(expr)))
        if len(digits) > 4:
            groups = [digits[max(0, end - 3) : end] for end in range(len(digits), 0, -3)][::-1]
            digits = r"\,".join(groups)
        return ("-" if expr < 0 else "") + digits

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
    """A value rounded to ``places`` decimals, trailing zeros kept (0.2500), minus sign typeset."""
    number = float(sympy.N(value, 30))
    text = f"{number:.{places}f}"
    if text.lstrip("-").strip("0.") == "":
        text = text.lstrip("-")
    return text


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


@functools.lru_cache(maxsize=8192)
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
