"""Determinant and inverse of a small integer matrix, by cofactors: ``A⁻¹ = adj(A) / det A``.

The matrix is a product of a permutation and unit-triangular integer factors scaled by a small
determinant, so its inverse has small entries with denominators dividing ``det A``.
"""


import mpmath
import sympy

from derivbook.authoring import (
    AnswerPart,
    Math,
    Param,
    Problem,
    Step,
    Tex,
    derive_once,
    mp_matrix,
    prove_equal,
    symbol_matrix,
)

ID = "determinant-inverse"
TITLE = "Determinant and inverse"
TOPIC = "linear algebra"
PARAMS = (
    Param("size", int, 3, "rows and columns of A", choices=(2, 3)),
    Param("max_det", int, 3, "largest |det A| drawn", low=1, high=6),
)


@derive_once
def derive(size: int) -> dict:
    """The adjugate formula for a symbolic ``size``×``size`` matrix, proven against SymPy's inverse."""
    a = symbol_matrix("a", size, size)
    det = a.det(method="berkowitz")
    adjugate = a.adjugate()
    inverse = a.inv(method="LU")
    for entry_adj, entry_inv in zip(adjugate / det, inverse):
        prove_equal(sympy.cancel(entry_adj - entry_inv), 0, "inverse = adjugate / determinant")
    return {"a": a, "det": det}


def _draw(dice, size: int, max_det: int) -> sympy.Matrix:
    for _ in range(500):
        lower = sympy.eye(size)
        upper = sympy.eye(size)
        for r in range(size):
            for c in range(r):
                lower[r, c] = dice.integer(-2, 2)
                upper[c, r] = dice.integer(-2, 2)
        scale = sympy.diag(*([1] * (size - 1) + [dice.integer(1, max_det) * dice.sign()]))
        order = dice.shuffled(range(size))
        permutation = sympy.Matrix(size, size, lambda r, c, order=order: 1 if order[r] == c else 0)
        a = permutation * lower * scale * upper
        if max(abs(v) for v in a) <= 9 and sum(1 for v in a if v == 0) <= size:
            return a
    raise RuntimeError("no nice matrix found in 500 draws")


def generate(params: dict, dice) -> Problem:
    """An invertible integer matrix with small entries and a small determinant."""
    size = params["size"]
    a = _draw(dice, size, params["max_det"])
    general = derive(size)
    det = general["det"].xreplace(dict(zip(general["a"], a)))
    cofactors = a.cofactor_matrix()
    adjugate = cofactors.T
    inverse = adjugate / det
    expansion = Tex(" + ".join(f"({a[0, k]})({cofactors[0, k]})" for k in range(size)))
    steps = [
        "The general result",
        Step(Tex(r"\det A"), Tex(r"\sum_{j} a_{1j} C_{1j}, \quad C_{ij} = (-1)^{i+j} M_{ij}"), "cofactor expansion along row 1"),
        Step(Tex(r"A^{-1}"), Tex(r"\frac{1}{\det A}\operatorname{adj} A, \quad \operatorname{adj} A = C^{\top}"), "SymPy proves it equals the inverse"),
        "Your numbers",
        Step(Tex("C"), cofactors, "signed minors $(-1)^{i+j} M_{ij}$"),
        Step(Tex(r"\det A"), (expansion, det), "$\\sum_j a_{1j} C_{1j}$ along the first row"),
        Step(Tex(r"\operatorname{adj} A"), adjugate, "transpose of the cofactor matrix"),
        Step(Tex(r"A^{-1}"), inverse, f"divide by $\\det A = {det}$"),
    ]
    return Problem(
        inputs={"A": a},
        statement=[("Consider the matrix"), (Math((Tex("A"), a)), ".")],
        tasks=[
            ("Compute ", Math(Tex(r"\det A")), "."),
            ("Compute ", Math(Tex(r"A^{-1}")), " and check that ", Math(Tex(r"AA^{-1} = I")), "."),
        ],
        steps=steps,
        answer={"det": AnswerPart("det", Tex(r"\det A"), det), "inverse": AnswerPart("inverse", Tex(r"A^{-1}"), inverse)},
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """Bareiss elimination for the determinant, Gauss–Jordan for the inverse."""
    a = inputs["A"]
    return {"det": a.det(method="bareiss"), "inverse": a.inv(method="GE")}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """mpmath's LU determinant and inverse."""
    a = mpmath.matrix(mp_matrix(inputs["A"]))
    inverse = mpmath.inverse(a)
    return {"det": mpmath.det(a), "inverse": [[inverse[r, c] for c in range(a.cols)] for r in range(a.rows)]}
