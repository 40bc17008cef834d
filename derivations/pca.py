"""Principal component analysis of a tiny data set: mean, sample covariance, first component, variance ratio.

The centred data are sums of orthogonal zero-sum contrasts along an orthogonal integer basis, so the
covariance is rational and its eigenvalues are distinct fractions.
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
    canonical_direction,
    derive_once,
    mp_matrix,
    primitive_integer,
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


CONVENTION = "unit length, first nonzero entry positive"


def generate(params: dict, dice) -> Problem:
    """A data set of ``m`` points in ``dims`` dimensions, one per row."""
    m, dims = params["m"], params["dims"]
    derive(dims)
    x = _draw(dice, m, dims)
    mean = [sum(x.col(k)) / m for k in range(dims)]
    centred = x - sympy.ones(m, 1) * sympy.Matrix([mean])
    scatter = centred.T * centred
    covariance = scatter / (m - 1)
    mu = sympy.Symbol("mu")
    polynomial = (scatter - mu * sympy.eye(dims)).det()  # integer coefficients: C's, times (m − 1)
    scaled_values = sorted(sympy.roots(sympy.Poly(polynomial, mu)).keys(), reverse=True)
    values = [value / (m - 1) for value in scaled_values]
    direction = _direction(covariance, values[0])
    pc1 = list(direction / direction.norm())
    ratio = values[0] / covariance.trace()
    names = ", ".join(rf"\lambda_{k + 1}" for k in range(dims))
    mu_names = ", ".join(rf"\mu_{k + 1}" for k in range(dims))
    times = f"{m - 1}\\,C"  # (m − 1)C, the integer matrix the eigenvalues are found from
    steps = [
        "The general result",
        Step(Tex(r"\operatorname{Var}(\text{data along } u)"), Tex(r"u^{\top} C u, \quad u^{\top}u = 1"),
             "the variance of the projections $(x - \\bar x)^{\\top} u$, to be maximised over unit $u$"),
        Step(Tex(r"\nabla_u\big(u^{\top}Cu - \lambda(u^{\top}u - 1)\big)"), Tex(r"2(Cu - \lambda u) = 0"),
             "Lagrange multiplier $\\lambda$; $\\nabla_u\\, u^{\\top}Cu = 2Cu$ for symmetric $C$"),
        Step(Tex(r"u^{\top}Cu"), Tex(r"\lambda u^{\top}u = \lambda"), "so the best $u$ is an eigenvector of the largest eigenvalue"),
        "Your numbers",
        Step(Tex(r"\bar x"), mean, "column means"),
        Step(Tex(r"X - \bar x"), centred, "subtract the mean from every row"),
        Step(Tex(rf"{times} = (X - \bar x)^{{\top}}(X - \bar x)"), scatter, "column $i$ against column $j$ of the centred data"),
        Step(Tex("C"), (_factored(covariance), covariance), f"divide by $m - 1 = {m - 1}$"),
        Step(Tex(rf"\det({times} - \mu I)"), (sympy.expand(polynomial), sympy.factor(polynomial)),
             f"eigenvalues $\\mu$ of ${times}$ are $\\lambda$ of $C$ times {m - 1}, same eigenvectors"),
        Step(Tex(f"({mu_names})"), scaled_values, "its roots, in descending order"),
        Step(Tex(f"({names})"), values, f"divide by {m - 1}: the eigenvalues of $C$"),
        Step(Tex(rf"{times} - \mu_1 I"), scatter - scaled_values[0] * sympy.eye(dims),
             f"$\\mu_1 = {scaled_values[0]}$ subtracted from the diagonal"),
        Step(Tex("w"), list(direction), f"solves $({times} - \\mu_1 I)\\,w = 0$, so $Cw = \\lambda_1 w$; first nonzero entry positive"),
        Step(Tex(r"u_1 = w/\lVert w\rVert_2"), pc1, f"scaled to unit length, $\\lVert w\\rVert_2 = {sympy.latex(direction.norm())}$"),
        Step(Tex(r"\lambda_1 / \operatorname{tr} C"), (Tex(rf"\mu_1 / \operatorname{{tr}}({times}) = {scaled_values[0]}/{scatter.trace()}"), ratio),
             f"the trace, the sum of the eigenvalues, is the total variance; the factor {m - 1} cancels"),
    ]
    return Problem(
        inputs={"X": x},
        statement=[(f"A data set has $m = {m}$ points with {dims} features, one point per row:"), (Math((Tex("X"), x)), ".")],
        tasks=[
            ("Compute the mean ", Math(Tex(r"\bar x")), " and the sample covariance ", Math(Tex("C")), " (divide by ", Math(Tex("m-1")), ")."),
            ("Find the first principal component ", Math(Tex("u_1")), ": the eigenvector of ", Math(Tex("C")),
             " for its largest eigenvalue ", Math(Tex(r"\lambda_1")), ", of unit length and with its first nonzero entry positive."),
            ("Find the share of the variance it explains, ", Math(Tex(r"\lambda_1 / \operatorname{tr} C")), "."),
        ],
        steps=steps,
        answer={
            "mean": AnswerPart("mean", Tex(r"\bar x"), mean),
            "covariance": AnswerPart("covariance", Tex("C"), covariance),
            "pc1": AnswerPart("pc1", Tex("u_1"), pc1, decimals=4, freedom="sign", convention=CONVENTION),
            "explained_variance_ratio": AnswerPart("explained_variance_ratio", Tex(r"\lambda_1/\operatorname{tr}C"), ratio, decimals=4),
        },
        mistakes=_mistakes(x, scatter, covariance, values, direction),
    )


def _factored(matrix: sympy.Matrix):
    """A rational matrix with its common denominator in front: ``\\frac{1}{3}`` times integers."""
    denominator = sympy.ilcm(*[sympy.fraction(v)[1] for v in matrix])
    if denominator == 1:
        return matrix
    return sympy.MatMul(sympy.Pow(denominator, -1, evaluate=False), (matrix * denominator).as_immutable(), evaluate=False)


def _direction(covariance: sympy.Matrix, value) -> sympy.Matrix:
    """An eigenvector of ``value`` in small integers, first nonzero entry positive."""
    (direction,) = (covariance - value * sympy.eye(covariance.rows)).nullspace()
    return primitive_integer(direction)


def _mistakes(x: sympy.Matrix, scatter: sympy.Matrix, covariance: sympy.Matrix, values: list, direction: sympy.Matrix) -> list:
    """Covariance without centring or divided by m; the first component unnormalised or of the smallest
    eigenvalue."""
    m = x.rows
    smallest = _direction(covariance, values[-1])
    return [
        Mistake("covariance", "not-centred", x.T * x / (m - 1),
                r"The data were not centred: $C = (X - \bar x)^{\top}(X - \bar x)/(m-1)$, with the mean subtracted first."),
        Mistake("covariance", "divided-by-m", scatter / m,
                r"Divided by $m$ instead of $m - 1$: the sample covariance divides by $m - 1$."),
        Mistake("pc1", "not-normalised", list(direction),
                r"The eigenvector was not scaled to unit length: divide it by its norm $\lVert w \rVert_2$."),
        Mistake("pc1", "smallest-eigenvalue", list(smallest / smallest.norm()),
                r"This is the eigenvector of the smallest eigenvalue; the first principal component belongs to the largest."),
        Mistake("explained_variance_ratio", "smallest-eigenvalue", values[-1] / covariance.trace(),
                r"This is the share of the smallest eigenvalue; the first component explains $\lambda_1 / \operatorname{tr} C$, $\lambda_1$ the largest."),
    ]


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
