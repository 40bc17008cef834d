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
    Mistake,
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
from derivbook.derivations.attention_scores import sum_of_products

ID = "eigendecomposition"
TITLE = "Eigendecomposition of a symmetric matrix"
TOPIC = "linear algebra"
PARAMS = (Param("size", int, 2, "rows and columns of A", choices=(2, 3)),)
CONSTANT_PARTS = {"orthogonality": "v_i^T v_j = 0 for every pair of eigenvectors of a symmetric matrix: the check is the point of the part"}  # the same in every instance, on purpose

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


CONVENTIONS = {
    "eigenvalues": "in descending order",
    "eigenvectors": "column k is an eigenvector for the k-th eigenvalue in descending order, "
    "scaled to coprime integers with its first nonzero entry positive",
}


def generate(params: dict, dice) -> Problem:
    """A symmetric integer matrix with distinct integer eigenvalues."""
    size = params["size"]
    derive(size)
    a, _ = _draw(dice, size)
    polynomial = (a - LAMBDA * sympy.eye(size)).det()
    values = sorted(sympy.roots(sympy.Poly(polynomial, LAMBDA)).keys(), reverse=True)
    vectors = _eigenvectors(a, values)
    pairs = [(i, j) for i in range(size) for j in range(i + 1, size)]
    dots = [vectors.col(i).dot(vectors.col(j)) for i, j in pairs]
    names = ", ".join(rf"\lambda_{k + 1}" for k in range(size))
    steps = [
        "The general result",
        Step(Tex(r"v^{\top}(Aw)"), Tex(r"(Av)^{\top} w"), "$(Av)^{\\top} w = v^{\\top} A^{\\top} w$ and $A^{\\top} = A$"),
        Step(
            Tex(r"\mu\, v^{\top}w"),
            Tex(r"\lambda\, v^{\top}w, \quad\text{so } v^{\top}w = 0"),
            "for $Av = \\lambda v$, $Aw = \\mu w$ with $\\lambda \\neq \\mu$",
        ),
        "Your numbers",
        Step(Tex(r"\det(A - \lambda I)"), (sympy.expand(polynomial), sympy.factor(polynomial)), "characteristic polynomial"),
        Step(Tex(f"({names})"), values, "its roots, in descending order"),
    ]
    for k, lam in enumerate(values):
        if lam != 0:  # for λ = 0 the matrix to solve with is A itself
            steps.append(Step(Tex(_shift(lam)), a - lam * sympy.eye(size), f"$\\lambda_{k + 1} = {lam}$ subtracted from the diagonal"))
        steps.append(Step(Tex(f"v_{k + 1}"), list(vectors.col(k)),
                          f"solves ${_shift(lam, vector=True)} = 0$; coprime integers, first nonzero entry positive"))
    steps += [
        Step(Tex(f"v_{i + 1}^{{\\top}} v_{j + 1}"), (Tex(sum_of_products(vectors.col(i), vectors.col(j))), dot), "orthogonal, as the general result says")
        for (i, j), dot in zip(pairs, dots)
    ]
    columns = r"\;\; ".join(f"v_{k + 1}" for k in range(size))
    return Problem(
        inputs={"A": a},
        statement=[("Consider the symmetric matrix"), (Math((Tex("A"), a)), ".")],
        tasks=[
            ("Find the eigenvalues ", Math(Tex(" > ".join(rf"\lambda_{k + 1}" for k in range(size)))), " of ",
             Math(Tex("A")), ", in descending order."),
            ("For each ", Math(Tex(r"\lambda_k")), " find an eigenvector ", Math(Tex("v_k")),
             " with coprime integer entries and its first nonzero entry positive, and write them as the columns of ",
             Math(Tex(rf"V = \bigl({columns}\bigr)")), " in that order."),
            ("Check that the eigenvectors are orthogonal: compute ",
             *_listed([Math(Tex(f"v_{i + 1}^{{\\top}} v_{j + 1}")) for i, j in pairs]), "."),
        ],
        steps=steps,
        answer={
            "eigenvalues": AnswerPart("eigenvalues", Tex(f"({names})"), values, convention=CONVENTIONS["eigenvalues"]),
            "eigenvectors": AnswerPart("eigenvectors", Tex("V"), vectors, freedom="column-scale",
                                       convention=CONVENTIONS["eigenvectors"]),
            "orthogonality": AnswerPart("orthogonality", Tex(r"v_i^{\top} v_j"), dots,
                                        items=tuple(Tex(f"v_{i + 1}^{{\\top}} v_{j + 1}") for i, j in pairs)),
        },
        mistakes=_mistakes(a, values, vectors),
    )


def _shift(lam, vector: bool = False) -> str:
    """``A - λI`` written cleanly: ``A`` for λ = 0, ``A + 4I`` for λ = −4; with ``vector``, applied to v."""
    if lam == 0:
        return "Av" if vector else "A"
    matrix = f"A - {lam}I" if lam > 0 else f"A + {-lam}I"
    return f"({matrix})\\,v" if vector else matrix


def _listed(pieces: list) -> list:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(pieces) == 1:
        return pieces
    return [piece for p in pieces[:-1] for piece in (p, ", ")][:-1] + [" and ", pieces[-1]]


def _mistakes(a: sympy.Matrix, values: list, vectors: sympy.Matrix) -> list:
    """The diagonal taken for the eigenvalues, a sign slip in the characteristic polynomial, and the
    eigenvectors put in the wrong order or as rows."""
    mistakes = [
        Mistake("eigenvalues", "diagonal-entries", sorted(a.diagonal(), reverse=True),
                "These are the diagonal entries of $A$: they are its eigenvalues only when $A$ is diagonal (or triangular)."),
        Mistake("eigenvalues", "negated", sorted((-lam for lam in values), reverse=True),
                r"A sign slip in $\det(A - \lambda I)$: its roots are the eigenvalues, not their negatives."),
        Mistake("eigenvectors", "ascending-order", vectors[:, ::-1],
                r"The columns follow the eigenvalues in ascending order: column $k$ of $V$ must belong to $\lambda_k$, the $k$-th largest."),
    ]
    if a.rows > 2:  # a 2×2 V of two orthogonal integer vectors is symmetric half the time: rows and columns agree
        mistakes.append(Mistake("eigenvectors", "rows-for-columns", vectors.T,
                                "The eigenvectors were written as the rows of $V$; they are its columns."))
    return mistakes


def exact_answer(inputs: dict, params: dict) -> dict:
    """SymPy's own eigenvects, in descending order of eigenvalue, each scaled to a primitive integer vector."""
    found = sorted(inputs["A"].eigenvects(), key=lambda item: item[0], reverse=True)
    values = [value for value, _, _ in found]
    columns = [primitive_integer(basis[0]) for _, _, basis in found]
    dots = [(columns[i].T * columns[j])[0] for i in range(len(columns)) for j in range(i + 1, len(columns))]
    return {"eigenvalues": values, "eigenvectors": sympy.Matrix.hstack(*columns), "orthogonality": dots}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """mpmath's symmetric eigensolver; each unit eigenvector rescaled to coprime integers by its ratios."""
    values, vectors = mpmath.eigsy(mpmath.matrix(mp_matrix(inputs["A"])))
    order = sorted(range(len(values)), key=lambda k: values[k], reverse=True)
    columns = []
    for k in order:
        unit = [vectors[r, k] for r in range(vectors.rows)]
        first = next(x for x in unit if abs(x) > mpmath.mpf(10) ** -20)
        ratios = [Fraction(mpmath.nstr(x / first, 30)).limit_denominator(1000) for x in unit]
        scale = sympy.ilcm(*[r.denominator for r in ratios])
        integers = [r * scale for r in ratios]
        divisor = sympy.igcd(*[int(x) for x in integers])
        columns.append([mpmath.mpf(int(x / divisor)) for x in integers])
    units = [[vectors[r, k] for r in range(vectors.rows)] for k in order]
    dots = [mpmath.fdot(units[i], units[j]) for i in range(len(units)) for j in range(i + 1, len(units))]
    return {
        "eigenvalues": [values[k] for k in order],
        "eigenvectors": [list(row) for row in zip(*columns)],
        "orthogonality": dots,
    }
