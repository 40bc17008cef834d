"""Determinant and inverse of a small integer matrix, by cofactors: ``A⁻¹ = adj(A) / det A``.

The matrix is a product of a permutation and unit-triangular integer factors scaled by a small
determinant, so its inverse has small entries with denominators dividing ``det A``.
"""


import mpmath
import sympy

from derivbook.authoring import (
    AnswerPart,
    Math,
    Mistake,
    Param,
    Problem,
    Step,
    Tex,
    derive_once,
    mp_matrix,
    prove_equal,
    symbol_matrix,
)
from derivbook.derivations.attention_scores import sum_of_products

ID = "determinant-inverse"
TITLE = "Determinant and inverse"
TOPIC = "linear algebra"
PARAMS = (
    Param("size", int, 3, "rows and columns of A", choices=(2, 3)),
    Param("max_det", int, 3, "largest |det A| drawn", low=1, high=6),
)
CONSTANT_PARTS = {"check": "A A^{-1} = I for every invertible A: the part asks the student to confirm it"}  # the same in every instance, on purpose


@derive_once
def derive(size: int) -> dict:
    """``A adj(A) = det(A) I`` for a symbolic ``size``×``size`` matrix, and ``adj(A)/det(A)`` proven equal to
    SymPy's inverse."""
    a = symbol_matrix("a", size, size)
    det = a.det(method="berkowitz")
    adjugate = a.adjugate()
    for entry, target in zip(a * adjugate, det * sympy.eye(size)):
        prove_equal(sympy.expand(entry), sympy.expand(target), "A adj A = (det A) I")
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
    product = a * inverse
    expansion = Tex(sum_of_products(a.row(0), cofactors.row(0)))
    steps = [
        "The general result",
        Step(
            Tex(r"\det A"),
            Tex(r"\sum_{j} a_{1j} C_{1j}, \quad C_{ij} = (-1)^{i+j} M_{ij}"),
            "cofactor expansion along row 1; $M_{ij}$ is the minor (row $i$, column $j$ deleted)",
        ),
        Step(
            Tex(r"A \operatorname{adj} A"),
            Tex(r"(\det A)\, I, \quad \operatorname{adj} A = C^{\top}"),
            "row $i$ of $A$ with its own cofactors: $\\det A$; with another row's: $0$",
        ),
        Step(Tex(r"A^{-1}"), Tex(r"\frac{1}{\det A}\operatorname{adj} A"), "divide by $\\det A \\neq 0$"),
        "Your numbers",
        Step(Tex("C"), cofactors, "signed minors $C_{ij} = (-1)^{i+j} M_{ij}$"),
        Step(Tex(r"\det A"), (expansion, det), "$\\sum_j a_{1j} C_{1j}$ along the first row"),
        Step(Tex(r"\operatorname{adj} A"), adjugate, "transpose of the cofactor matrix"),
        Step(Tex(r"A^{-1}"), (_over(adjugate, det), inverse) if det != 1 else inverse, f"divide by $\\det A = {det}$"),
        Step(Tex(r"AA^{-1}"), product, "row $i$ of $A$ against column $j$ of $A^{-1}$: the identity, as it must be"),
    ]
    return Problem(
        inputs={"A": a},
        statement=[("Consider the matrix"), (Math((Tex("A"), a)), ".")],
        tasks=[
            ("Compute ", Math(Tex(r"\det A")), "."),
            ("Compute ", Math(Tex(r"A^{-1}")), ", and check it: compute ", Math(Tex(r"AA^{-1}")), ", which must be ",
             Math(Tex("I")), "."),
        ],
        steps=steps,
        answer={
            "det": AnswerPart("det", Tex(r"\det A"), det),
            "inverse": AnswerPart("inverse", Tex(r"A^{-1}"), inverse),
            "check": AnswerPart("check", Tex(r"AA^{-1}"), product),
        },
        mistakes=_mistakes(a, det, cofactors),
    )


def _over(adjugate: sympy.Matrix, det) -> sympy.MatMul:
    """``adj A / det A`` with the fraction in front of the matrix, as written by hand: ``-\\frac{1}{2}(…)``."""
    reciprocal = sympy.Pow(abs(det), -1, evaluate=False) if abs(det) > 1 else sympy.Integer(1)
    factor = reciprocal if det > 0 else -reciprocal if abs(det) == 1 else sympy.Mul(-1, reciprocal, evaluate=False)
    return sympy.MatMul(factor, adjugate.as_immutable(), evaluate=False)


def _mistakes(a: sympy.Matrix, det, cofactors: sympy.Matrix) -> list:
    """A determinant without the cofactor signs; an inverse not divided by det A, or not transposed."""
    size = a.rows
    unsigned = sum(a[0, k] * a.minor(0, k) for k in range(size))
    return [
        Mistake("det", "cofactor-signs-dropped", unsigned,
                "The signs $(-1)^{1+j}$ of the cofactors were left out: along row 1 they alternate $+, -, +$."),
        Mistake("inverse", "not-divided-by-det", cofactors.T,
                r"This is $\operatorname{adj} A$: the inverse is $\operatorname{adj} A$ divided by $\det A$."),
        Mistake("inverse", "cofactors-not-transposed", cofactors / det,
                r"The cofactor matrix $C$ was divided by $\det A$ without transposing it: $A^{-1} = C^{\top}/\det A$."),
    ]


def exact_answer(inputs: dict, params: dict) -> dict:
    """Bareiss elimination for the determinant, Gauss–Jordan for the inverse, and A times that inverse."""
    a = inputs["A"]
    inverse = a.inv(method="GE")
    return {"det": a.det(method="bareiss"), "inverse": inverse, "check": a * inverse}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """mpmath's LU determinant and inverse, and their product with A in floats."""
    a = mpmath.matrix(mp_matrix(inputs["A"]))
    inverse = mpmath.inverse(a)
    product = a * inverse
    return {
        "det": mpmath.det(a),
        "inverse": [[inverse[r, c] for c in range(a.cols)] for r in range(a.rows)],
        "check": [[product[r, c] for c in range(a.cols)] for r in range(a.rows)],
    }
