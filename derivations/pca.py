"""Principal component analysis of a tiny data set: mean, sample covariance, first component, variance ratio.

The centred data are sums of orthogonal zero-sum contrasts along an orthogonal integer basis, so the
covariance is rational and its eigenvalues are distinct fractions.
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
    canonical_direction,
    derive_once,
    mp_matrix,
    prove_equal,
    symbol_matrix,
    symbol_vector,
)
from derivbook.derivations.eigendecomposition import BASES

ID = "pca"
TITLE = "Principal component analysis"
TOPIC = "linear algebra"
PARAMS = (
    Param("m", int, 4, "number of data points", low=4, high=6),
    Param("dims", int, 2, "number of features", choices=(2, 3)),
)


@derive_once
def derive(dims: int) -> dict:
    """Stationarity of ``uᵀCu − λ(uᵀu − 1)`` gives ``Cu = λu``, proven for a symbolic symmetric C."""
    c = symbol_matrix("c", dims, dims)
    c = c.xreplace({c[j, i]: c[i, j] for i in range(dims) for j in range(i)})
    u, lam = symbol_vector("u", dims), sympy.Symbol("lambda")
    lagrangian = (u.T * c * u)[0] - lam * ((u.T * u)[0] - 1)
    gradient = sympy.Matrix([sympy.diff(lagrangian, x) for x in u])
    for g, h in zip(gradient, 2 * (c * u - lam * u)):
        prove_equal(g, h, "gradient of the PCA Lagrangian")
    return {"gradient": gradient}


def _contrast(j: int, m: int) -> sympy.Matrix:
    return sympy.Matrix([1] * j + [-j] + [0] * (m - j - 1))


def _draw(dice, m: int, dims: int) -> sympy.Matrix:
    for _ in range(400):
        basis = [sympy.Matrix(v) for v in dice.choice(BASES[dims])]
        contrasts = dice.sample((1, 2, 3), dims)
        scales = [dice.integer(1, 2) for _ in range(dims)]
        weights = [(s * _contrast(j, m)).dot(s * _contrast(j, m)) * u.dot(u) for s, j, u in zip(scales, contrasts, basis)]
        if len(set(weights)) < dims:
            continue
        centred = sum((s * _contrast(j, m) * u.T for s, j, u in zip(scales, contrasts, basis)), sympy.zeros(m, dims))
        order = dice.shuffled(range(m))
        centred = sympy.Matrix([list(centred.row(r)) for r in order])
        mean = sympy.Matrix([[dice.integer(-2, 5) for _ in range(dims)]])
        data = centred + sympy.ones(m, 1) * mean
        if max(abs(v) for v in data) <= 12:
            return data
    raise RuntimeError("no small PCA data set found in 400 draws")


def generate(params: dict, dice) -> Problem:
    """A data set of ``m`` points in ``dims`` dimensions, one per row."""
    m, dims = params["m"], params["dims"]
    derive(dims)
    x = _draw(dice, m, dims)
    mean = [sum(x.col(k)) / m for k in range(dims)]
    centred = x - sympy.ones(m, 1) * sympy.Matrix([mean])
    covariance = centred.T * centred / (m - 1)
    lam = sympy.Symbol("lambda")
    polynomial = (covariance - lam * sympy.eye(dims)).det()
    values = sorted(sympy.roots(sympy.Poly(polynomial, lam)).keys(), reverse=True)
    (direction,) = (covariance - values[0] * sympy.eye(dims)).nullspace()
    direction = canonical_direction(direction)
    pc1 = list(direction / direction.norm())
    ratio = values[0] / covariance.trace()
    steps = [
        "The general result",
        Step(Tex(r"\operatorname{Var}(\text{data along } u)"), Tex(r"u^{\top} C u, \quad u^{\top}u = 1"), "to be maximised over unit $u$"),
        Step(Tex(r"\nabla_u\big(u^{\top}Cu - \lambda(u^{\top}u - 1)\big)"), Tex(r"2(Cu - \lambda u) = 0"), "SymPy differentiates the Lagrangian"),
        Step(Tex(r"u^{\top}Cu"), Tex(r"\lambda"), "so the best $u$ is the top eigenvector"),
        "Your numbers",
        Step(Tex(r"\bar x"), mean, "column means"),
        Step(Tex(r"X - \bar x"), centred, "centre each column"),
        Step(Tex("C"), covariance, f"$(X - \\bar x)^{{\\top}}(X - \\bar x)/(m-1)$, $m = {m}$"),
        Step(Tex(r"\lambda"), values, "roots of $\\det(C - \\lambda I)$, descending"),
        Step(Tex(r"u_1"), pc1, "unit eigenvector of the largest eigenvalue"),
        Step(Tex(r"\lambda_1 / \operatorname{tr} C"), ratio, "share of the total variance"),
    ]
    return Problem(
        inputs={"X": x},
        statement=[(f"A data set has {m} points with {dims} features, one point per row:"), (Math((Tex("X"), x)), ".")],
        tasks=[
            ("Compute the mean ", Math(Tex(r"\bar x")), " and the sample covariance ", Math(Tex("C")), " (divide by ", Math(Tex("m-1")), ")."),
            ("Find the first principal component ", Math(Tex("u_1")), " (unit length) and the share of variance it explains."),
        ],
        steps=steps,
        answer={
            "mean": AnswerPart("mean", Tex(r"\bar x"), mean),
            "covariance": AnswerPart("covariance", Tex("C"), covariance),
            "pc1": AnswerPart("pc1", Tex("u_1"), pc1, decimals=4),
            "explained_variance_ratio": AnswerPart("explained_variance_ratio", Tex(r"\lambda_1/\operatorname{tr}C"), ratio, decimals=4),
        },
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """Covariance from raw sums (Σ x xᵀ − m x̄ x̄ᵀ)/(m−1); the top of SymPy's eigenvects, normalised."""
    x = inputs["X"]
    m = x.rows
    mean = sympy.Matrix([[sum(x.col(k)) / m for k in range(x.cols)]])
    covariance = (x.T * x - m * mean.T * mean) / (m - 1)
    value, _, (vector,) = max(covariance.eigenvects(), key=lambda item: item[0])
    vector = canonical_direction(vector)
    return {
        "mean": list(mean),
        "covariance": covariance,
        "pc1": list(vector / vector.norm()),
        "explained_variance_ratio": value / covariance.trace(),
    }


def numeric_answer(inputs: dict, params: dict) -> dict:
    """Two-pass statistics and mpmath's symmetric eigensolver."""
    rows = mp_matrix(inputs["X"])
    m, dims = len(rows), len(rows[0])
    mean = [mpmath.fsum(r[k] for r in rows) / m for k in range(dims)]
    cov = [[mpmath.fsum((r[a] - mean[a]) * (r[b] - mean[b]) for r in rows) / (m - 1) for b in range(dims)] for a in range(dims)]
    values, vectors = mpmath.eigsy(mpmath.matrix(cov))
    top = max(range(dims), key=lambda k: values[k])
    vector = [vectors[r, top] for r in range(dims)]
    first = next(v for v in vector if abs(v) > mpmath.mpf(10) ** -20)
    vector = [v if first > 0 else -v for v in vector]
    return {"mean": mean, "covariance": cov, "pc1": vector, "explained_variance_ratio": values[top] / sum(cov[k][k] for k in range(dims))}
