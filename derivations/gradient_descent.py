"""Gradient descent on a quadratic ``f(x) = ½ xᵀAx − bᵀx``: the minimiser, the step-size bound, the iterates.

A is symmetric positive definite with integer eigenvalues (from an orthogonal integer basis), the
minimiser is an integer point, and the step size is a unit fraction, so the iterates stay fractions.
"""

import math

import mpmath
import sympy
from sympy import Abs, Interval, Rational, symbols

from derivbook.authoring import (
    AnswerPart,
    Figure,
    Math,
    Mistake,
    Param,
    Problem,
    Step,
    Tex,
    derive_once,
    mp_matrix,
    mp_vector,
    prove_equal,
    symbol_matrix,
    symbol_vector,
)
from derivbook.derivations.eigendecomposition import BASES

ID = "gradient-descent"
TITLE = "Gradient descent on a quadratic"
TOPIC = "calculus"
PARAMS = (
    Param("steps", int, 3, "iterations to compute", low=1, high=5),
    Param("dims", int, 2, "dimension of x", choices=(1, 2)),
)

eta, lam = symbols("eta lambda", positive=True)
k = symbols("k", integer=True, nonnegative=True)


@derive_once
def derive(dims: int) -> dict:
    """∇f = Ax − b; the minimiser solves Ax = b; |1 − ηλ| < 1 ⇔ 0 < η < 2/λ; the error contracts geometrically."""
    a = symbol_matrix("a", dims, dims)
    a = a.xreplace({a[j, i]: a[i, j] for i in range(dims) for j in range(i)})
    x, b = symbol_vector("x", dims), symbol_vector("b", dims)
    f = (x.T * a * x)[0] / 2 - (b.T * x)[0]
    gradient = sympy.Matrix([sympy.diff(f, v) for v in x])
    for g, h in zip(gradient, a * x - b):
        prove_equal(g, h, "gradient of the quadratic")
    stable = sympy.solveset(Abs(1 - eta * lam) < 1, eta, sympy.S.Reals)
    if stable != Interval.open(0, 2 / lam):
        raise AssertionError(f"step-size bound: SymPy gives {stable}")
    error = sympy.Function("e")
    closed = sympy.rsolve(error(k + 1) - (1 - eta * lam) * error(k), error(k), {error(0): 1})
    prove_equal(closed, (1 - eta * lam) ** k, "error after k steps")
    return {"stable": stable, "closed": closed}


def _draw(dice, dims: int):
    for _ in range(300):
        if dims == 1:
            a = sympy.Matrix([[dice.integer(1, 6)]])
        else:
            basis = [sympy.Matrix(v) for v in dice.choice(BASES[2])]
            values = dice.sample(range(1, 6), 2)
            a = sum((lv * v * v.T / v.dot(v) for lv, v in zip(values, basis)), sympy.zeros(2))
            if not all(e.is_Integer for e in a) or max(abs(e) for e in a) > 8:
                continue
        top = max(a.eigenvals())
        x_star = sympy.Matrix([dice.integer(-3, 3) for _ in range(dims)])
        x0 = sympy.Matrix([dice.integer(-3, 3) for _ in range(dims)])
        if x0 == x_star or not any(x_star):  # x* = 0 would mean b = 0
            continue
        # η = 1/λ lands on x* in one step when x0 − x* is an eigenvector of λ: nothing left to iterate
        step = Rational(1, dice.choice([top, top + 1, 2 * top] if dims == 2 else [top + 1, 2 * top]))
        if any((sympy.eye(dims) - step * a) * (x0 - x_star)):
            return a, a * x_star, x0, step
    raise RuntimeError("no quadratic found in 300 draws")


def _contours(a: sympy.Matrix, x_star: sympy.Matrix, levels: list) -> list:
    """Points on the ellipses f(x) − f* = c, for the figure (floats; a template only draws them)."""
    values, vectors = mpmath.eigsy(mpmath.matrix(mp_matrix(a)))
    curves = []
    for level in levels:
        radii = [math.sqrt(2 * level / float(values[i])) for i in range(2)]
        points = []
        for step in range(49):
            angle = 2 * math.pi * step / 48
            offset = [radii[0] * math.cos(angle), radii[1] * math.sin(angle)]
            points.append(tuple(round(float(x_star[r]) + sum(float(vectors[r, i]) * offset[i] for i in range(2)), 4) for r in range(2)))
        curves.append(points)
    return curves


def generate(params: dict, dice) -> Problem:
    """A positive definite A, an integer minimiser, a start and a unit-fraction step size."""
    dims, count = params["dims"], params["steps"]
    derive(dims)
    a, b, x0, step = _draw(dice, dims)
    x_star = a.LUsolve(b)
    top = max(a.eigenvals())
    eta_max = 2 / top
    iterates, current = [], x0
    for _ in range(count):
        current = current - step * (a * current - b)
        iterates.append(current)
    path = [x0, *iterates]
    f = lambda v: ((v.T * a * v)[0] / 2 - (b.T * v)[0])
    if dims == 2:
        levels = sorted({float(f(p) - f(x_star)) for p in path if f(p) != f(x_star)})
        figure = Figure("contour-path", {
            "contours": _contours(a, x_star, levels),
            "path": [tuple(float(v) for v in p) for p in path],
            "minimum": tuple(float(v) for v in x_star),
            "xlabel": "$x_1$", "ylabel": "$x_2$",
        })
    else:
        lo, hi = min(float(p[0]) for p in path + [x_star]) - 1, max(float(p[0]) for p in path + [x_star]) + 1
        figure = Figure("curve-path", {
            "curve": [(round(lo + (hi - lo) * i / 60, 4), round(float(f(sympy.Matrix([lo + (hi - lo) * i / 60]))), 4)) for i in range(61)],
            "path": [(float(p[0]), float(f(p))) for p in path],
            "xlabel": "$x$", "ylabel": "$f(x)$",
        })
    values = sorted(a.eigenvals())
    steps = [
        "The general result",
        Step(Tex(r"\nabla f(x)"), Tex(r"Ax - b"), r"$\nabla(\tfrac12 x^{\top}Ax) = Ax$ for symmetric $A$; $\nabla(b^{\top}x) = b$"),
        Step(Tex(r"x^{*}"), Tex(r"A^{-1}b"), "set the gradient to zero"),
        Step(Tex(r"x_{k+1} - x^{*}"), Tex(r"(I - \eta A)(x_k - x^{*})"), r"subtract $x^{*} = x^{*} - \eta(Ax^{*} - b)$"),
        Step(Tex(r"v^{\top}(x_k - x^{*})"), Tex(r"(1 - \eta\lambda)^k\, v^{\top}(x_0 - x^{*})"),
             r"$Av = \lambda v$: each step multiplies it by $1 - \eta\lambda$"),
        Step(Tex(r"\lvert 1 - \eta\lambda\rvert < 1"), Tex(r"0 < \eta < 2/\lambda"),
             r"needed for every eigenvalue $\lambda$; the largest binds", Tex(r"\iff")),
        "Your numbers",
        Step(Tex(r"x^{*}"), list(x_star), "solve $Ax = b$"),
        Step(Tex(r"\lambda_1,\ \lambda_2"), values, r"roots of $\det(A - \lambda I) = 0$") if dims == 2 else
        Step(Tex(r"\lambda"), values[0], r"the eigenvalue of a $1 \times 1$ matrix is its entry"),
        Step(Tex(r"\eta_{\max}"), eta_max, rf"$2/\lambda_{{\max}}$ with $\lambda_{{\max}} = {top}$"),
        *[Step(Tex(f"x_{i + 1}"), list(p), f"$x_{i} - \\eta(Ax_{i} - b)$") for i, p in enumerate(iterates)],
    ]
    return Problem(
        inputs={"A": a, "b": list(b), "x0": list(x0), "eta": step, "steps": count},
        statement=[
            ("Minimise ", Math(Tex(r"f(x) = \tfrac12 x^{\top}Ax - b^{\top}x")), " with"),
            (Math((Tex("A"), a)), ", ", Math((Tex("b"), list(b))), ","),
            ("starting from ", Math((Tex("x_0"), list(x0))), " with step size ", Math((Tex(r"\eta"), step)), "."),
        ],
        tasks=[
            ("Find the minimiser ", Math(Tex(r"x^{*}")), " and the bound ", Math(Tex(r"\eta_{\max}")),
             " such that gradient descent converges from every starting point exactly when ", Math(Tex(r"0 < \eta < \eta_{\max}")), "."),
            (f"Compute the first {count} iterates of " if count > 1 else "Compute the first iterate of ",
             Math(Tex(r"x_{k+1} = x_k - \eta\nabla f(x_k)")), "."),
        ],
        steps=steps,
        answer={
            "x_star": AnswerPart("x_star", Tex(r"x^{*}"), list(x_star)),
            "eta_max": AnswerPart("eta_max", Tex(r"\eta_{\max}"), eta_max),
            "iterates": AnswerPart("iterates", Tex(r"x_1, \dots"), [list(p) for p in iterates], items=tuple(Tex(f"x_{i + 1}") for i in range(count))),
        },
        figure=figure,
        mistakes=_mistakes(a, b, x0, step, count, values),
    )


def _mistakes(a, b, x0, step, count: int, values: list) -> list:
    """The usual wrong answers, computed from the same A, b, x0 and η."""
    ascent, current = [], x0
    for _ in range(count):
        current = current + step * (a * current - b)
        ascent.append(list(current))
    mistakes = [
        Mistake("iterates", "gradient-sign-flipped", ascent,
                r"These iterates step along $+\nabla f$, uphill: gradient descent subtracts, "
                r"$x_{k+1} = x_k - \eta\,\nabla f(x_k)$."),
        Mistake("eta_max", "one-over-lambda-max", 1 / values[-1],
                r"$1/\lambda_{\max}$ is the step that removes the error along the top eigenvector in one step, "
                r"not the bound: $\lvert 1 - \eta\lambda\rvert < 1$ holds up to $\eta = 2/\lambda_{\max}$."),
        Mistake("x_star", "sign-of-b", list(-a.LUsolve(b)),
                r"This solves $Ax = -b$: the gradient of $\tfrac12 x^{\top}Ax - b^{\top}x$ is $Ax - b$, "
                r"so $x^{*} = A^{-1}b$."),
    ]
    if len(values) > 1:
        mistakes.append(Mistake("eta_max", "smallest-eigenvalue", 2 / values[0],
                                r"$2/\lambda_{\min}$ keeps only the slowest direction stable; along the eigenvector of "
                                r"$\lambda_{\max}$ the error then grows. The largest eigenvalue binds: $2/\lambda_{\max}$."))
    return mistakes


def exact_answer(inputs: dict, params: dict) -> dict:
    """x* by Gauss–Jordan; η_max from SymPy's eigenvalues; iterates from the closed form x* + (I − ηA)^k (x0 − x*)."""
    a, b, x0, step = inputs["A"], sympy.Matrix(inputs["b"]), sympy.Matrix(inputs["x0"]), inputs["eta"]
    x_star = a.gauss_jordan_solve(b)[0]
    contraction = sympy.eye(a.rows) - step * a
    iterates = [list(x_star + contraction**i * (x0 - x_star)) for i in range(1, inputs["steps"] + 1)]
    return {"x_star": list(x_star), "eta_max": 2 / max(a.eigenvals()), "iterates": iterates}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """The loop in mpmath, the minimiser by mpmath's solver, λ_max by its eigensolver."""
    a = mpmath.matrix(mp_matrix(inputs["A"]))
    b = mpmath.matrix(mp_vector(inputs["b"]))
    x = mpmath.matrix(mp_vector(inputs["x0"]))
    step = mpmath.mpf(sympy.sympify(inputs["eta"]).p) / sympy.sympify(inputs["eta"]).q
    iterates = []
    for _ in range(inputs["steps"]):
        x = x - step * (a * x - b)
        iterates.append([x[i] for i in range(a.rows)])
    x_star = mpmath.lu_solve(a, b)
    values, _ = mpmath.eigsy(a)
    return {"x_star": [x_star[i] for i in range(a.rows)], "eta_max": 2 / max(values), "iterates": iterates}
