"""Eigenvalues and eigenvectors of a symmetric integer matrix: ``A = V Λ Vᵀ`` with orthogonal eigenvectors.

The matrix is built from an orthogonal integer basis and distinct integer eigenvalues, so the
characteristic polynomial has integer roots (an irreducible cubic would print its real roots with i).
"""

from fractions import Fraction

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
    primitive_integer,
    prove_equal,
    symbol_matrix,
    symbol_vector,
)

ID = "eigendecomposition"
TITLE = "Eigendecomposition of a symmetric matrix"
TOPIC = "linear algebra"
PARAMS = (Param("size", int, 2, "rows and columns of A", choices=(2, 3)),)

BASES = {
    2: [((1, 1), (1, -1)), ((1, 2), (2, -1)), ((1, 3), (3, -1))],
    3: [
        ((1, 1, 1), (1, -1, 0), (1, 1, -2)),
        ((1, 0, 0), (0, 1, 1), (0, 1, -1)),
        ((2, 2, 1), (2, -1, -2), (1, -2, 2)),
        ((1, 2, 2), (2, 1, -2), (2, -2, 1)),
    ],
}
LAMBDA = sympy.Symbol("lambda")


@derive_once
def derive(size: int) -> dict:
    """For symmetric A, ``vᵀ(Aw) = (Av)ᵀw``, so eigenvectors of distinct eigenvalues are orthogonal."""
    a = symbol_matrix("a", size, size)
    symmetric = a.xreplace({a[c, r]: a[r, c] for r in range(size) for c in range(r)})
    v, w = symbol_vector("v", size), symbol_vector("w", size)
    prove_equal((v.T * symmetric * w)[0] - ((symmetric * v).T * w)[0], 0, "symmetry moves A across the dot product")
    return {"symmetric": symmetric}


def _draw(dice, size: int) -> tuple[sympy.Matrix, list[int]]:
    for _ in range(400):
        basis = [sympy.Matrix(v) for v in dice.choice(BASES[size])]
        order, signs = dice.shuffled(range(size)), [dice.sign() for _ in range(size)]
        basis = [sympy.Matrix([signs[i] * v[order[i]] for i in range(size)]) for v in basis]
        values = dice.sample(range(-4, 10), size)
        a = sum((lam * v * v.T / v.dot(v) for lam, v in zip(values, basis)), sympy.zeros(size))
        if all(x.is_Integer for x in a) and max(abs(x) for x in a) <= 12 and a != sympy.diag(*a.diagonal()):
            return a, values
    raise RuntimeError("no integer symmetric matrix found in 400 draws")


def _eigenvectors(a: sympy.Matrix, values: list) -> sympy.Matrix:
    columns = []
    for lam in values:
        (vector,) = (a - lam * sympy.eye(a.rows)).nullspace()
        columns.append(primitive_integer(vector))
    return sympy.Matrix.hstack(*columns)


def generate(params: dict, dice) -> Problem:
    """A symmetric integer matrix with distinct integer eigenvalues."""
    size = params["size"]
    derive(size)
    a, _ = _draw(dice, size)
    polynomial = (a - LAMBDA * sympy.eye(size)).det()
    values = sorted(sympy.roots(sympy.Poly(polynomial, LAMBDA)).keys())
    vectors = _eigenvectors(a, values)
    steps = [
        "The general result",
        Step(Tex(r"v^{\top}(Aw)"), Tex(r"(Av)^{\top} w"), "$A = A^{\\top}$ (SymPy checks it entry by entry)"),
        Step(Tex(r"\mu\, v^{\top}w"), Tex(r"\lambda\, v^{\top}w, \quad\text{so } v^{\top}w = 0"), "for $Av = \\lambda v$, $Aw = \\mu w$, $\\lambda \\neq \\mu$"),
        "Your numbers",
        Step(Tex(r"\det(A - \lambda I)"), (sympy.expand(polynomial), sympy.factor(polynomial)), "characteristic polynomial"),
        Step(Tex(r"\lambda"), values, "its roots, ascending"),
        *[
            Step(Tex(f"v_{k + 1}"), list(vectors.col(k)), f"null space of $A - ({lam})I$")
            for k, lam in enumerate(values)
        ],
    ]
    return Problem(
        inputs={"A": a},
        statement=[("Consider the symmetric matrix"), (Math((Tex("A"), a)), ".")],
        tasks=[
            ("Find the eigenvalues of ", Math(Tex("A")), " in ascending order."),
            ("Find an eigenvector for each (any nonzero scale), and check that they are orthogonal."),
        ],
        steps=steps,
        answer={
            "eigenvalues": AnswerPart("eigenvalues", Tex(r"\lambda"), values),
            "eigenvectors": AnswerPart("eigenvectors", Tex("V"), vectors),
        },
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """SymPy's own eigenvects, ordered by eigenvalue, each scaled to a primitive integer vector."""
    found = sorted(inputs["A"].eigenvects(), key=lambda item: item[0])
    values = [value for value, _, _ in found]
    vectors = sympy.Matrix.hstack(*[primitive_integer(basis[0]) for _, _, basis in found])
    return {"eigenvalues": values, "eigenvectors": vectors}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """mpmath's symmetric eigensolver; each unit eigenvector rescaled to coprime integers by its ratios."""
    values, vectors = mpmath.eigsy(mpmath.matrix(mp_matrix(inputs["A"])))
    order = sorted(range(len(values)), key=lambda k: values[k])
    columns = []
    for k in order:
        unit = [vectors[r, k] for r in range(vectors.rows)]
        first = next(x for x in unit if abs(x) > mpmath.mpf(10) ** -20)
        ratios = [Fraction(mpmath.nstr(x / first, 30)).limit_denominator(1000) for x in unit]
        scale = sympy.ilcm(*[r.denominator for r in ratios])
        integers = [r * scale for r in ratios]
        divisor = sympy.igcd(*[int(x) for x in integers])
        columns.append([mpmath.mpf(int(x / divisor)) for x in integers])
    return {"eigenvalues": [values[k] for k in order], "eigenvectors": [list(row) for row in zip(*columns)]}
