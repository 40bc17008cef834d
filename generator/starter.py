"""``derivbook new``: a starter derivation and its test, real and verified, for an author to make their own.

The starter is least squares through the origin: small enough to read in one sitting, and complete — a
general result SymPy derives and proves, seeded numbers, a reason per step, two recomputations by other
routes and two declared mistakes. tests/test_authoring.py builds it, checks it and runs its test.
"""

from __future__ import annotations

from pathlib import Path

from derivbook.model import UserError
from derivbook.registry import Catalog, id_problem

DERIVATION = '''\
"""Least squares through the origin (written by `derivbook new __ID__`: make it yours).

A line ``y = w x`` is fitted to n points by minimising the mean squared error
``L(w) = (1/n) Σ (w x_k − y_k)²``. SymPy differentiates L for general n, and the textbook forms of the
derivative and of the minimiser ``w* = Σ x_k y_k / Σ x_k²`` are proven equal to what it derived. The
engine then checks every instance twice: ``exact_answer`` recomputes the answers by another route (the
normal equation, with matrices), ``numeric_answer`` in mpmath (a numerical derivative and root).

Test it: python -m pytest __TEST__
Stress it: derivbook check --derivations __FOLDER__ --only __ID__
The contract and a longer example: docs/authoring.md.
"""

import mpmath
import sympy
from sympy import IndexedBase, Rational, Sum, factor_terms, symbols

from derivbook.authoring import (
    AnswerPart,
    Math,
    Mistake,
    Param,
    Problem,
    Step,
    Tex,
    at,
    derive_once,
    mp_vector,
    prove_equal,
    to_mp,
)

ID = "__ID__"
TITLE = "Least squares through the origin"
TOPIC = "optimisation"
PARAMS = (Param("n", int, 3, "number of data points", low=2, high=6),)

x, y = IndexedBase("x"), IndexedBase("y")
k, n = symbols("k n", integer=True, positive=True)
w = symbols("w", real=True)


@derive_once
def derive() -> dict:
    """The loss, its derivative and its minimiser for general n, each textbook form proven."""
    loss = Sum((w * x[k] - y[k]) ** 2, (k, 1, n)) / n
    slope = sympy.diff(loss, w)
    prove_equal(slope, 2 * Sum(x[k] * (w * x[k] - y[k]), (k, 1, n)) / n, "the derivative of the loss")
    # a Sum keeps constant factors inside it: factor_terms takes w out, so the equation is linear in w
    (best,) = sympy.solve(factor_terms(slope.expand()), w)
    prove_equal(best, Sum(x[k] * y[k], (k, 1, n)) / Sum(x[k] ** 2, (k, 1, n)), "the minimiser")
    return {"loss": loss, "slope": slope, "best": best}


def generate(params: dict, dice) -> Problem:
    """n points with small positive x and integer y, and a starting weight that is not the minimiser."""
    size = params["n"]
    xs = [dice.integer(1, 4) for _ in range(size)]
    ys = [dice.integer(-2, 9) for _ in range(size)]
    general = derive()
    data = {x: xs, y: ys}
    best = at(general["best"], {n: size}, data)
    start = dice.choice([v for v in range(-1, 4) if v != best])
    loss = at(general["loss"], {n: size}, data).subs(w, start)
    slope = at(general["slope"], {n: size}, data).subs(w, start)
    residuals = [start * a - b for a, b in zip(xs, ys)]
    steps = [
        "The general result",
        Step(Tex("L(w)"), general["loss"], "the mean of the squared residuals $w x_k - y_k$"),
        Step(Tex("L'(w)"), general["slope"], r"chain rule: $\\frac{d}{dw}(w x_k - y_k)^2 = 2x_k(w x_k - y_k)$"),
        Step(Tex("w^*"), general["best"], r"$L'(w) = 0$ is linear in $w$: $w \\sum_k x_k^2 = \\sum_k x_k y_k$"),
        "Your numbers",
        Step(Tex("r = w_0 x - y"), residuals, "the residuals at the starting weight"),
        Step(Tex("L(w_0)"), loss, r"$\\frac{1}{n}\\sum_k r_k^2$"),
        Step(Tex("L'(w_0)"), slope, r"$\\frac{2}{n}\\sum_k x_k r_k$"),
        Step(Tex(r"\\textstyle\\sum_k x_k y_k"), sum(a * b for a, b in zip(xs, ys)), "multiply each pair and add"),
        Step(Tex(r"\\textstyle\\sum_k x_k^2"), sum(a * a for a in xs), "square each $x_k$ and add"),
        Step(Tex("w^*"), best, "divide the two sums"),
    ]
    return Problem(
        inputs={"x": xs, "y": ys, "w0": start},
        statement=[
            ("A line ", Math(Tex("y = w x")), " through the origin is fitted to the points with ",
             Math((Tex("x"), xs)), " and ", Math((Tex("y"), ys)), " by minimising the mean squared error ",
             Math(Tex(r"L(w) = \\frac{1}{n}\\sum_{k=1}^{n} (w x_k - y_k)^2"), display=True)),
            ("Gradient descent starts from ", Math((Tex("w_0"), start)), "."),
        ],
        tasks=[
            ("Compute the loss ", Math(Tex("L(w_0)")), " and its derivative ", Math(Tex("L'(w_0)")), "."),
            ("Find the weight ", Math(Tex("w^*")), " that minimises ", Math(Tex("L")), "."),
        ],
        steps=steps,
        answer={
            "loss": AnswerPart("loss", Tex("L(w_0)"), loss),
            "slope": AnswerPart("slope", Tex("L'(w_0)"), slope),
            "w_star": AnswerPart("w_star", Tex("w^*"), best),
        },
        mistakes=[
            Mistake("slope", "dropped-factor-two", slope / 2,
                    r"The power rule gives $\\frac{d}{dw}(w x_k - y_k)^2 = 2x_k(w x_k - y_k)$: the factor $2$ was dropped."),
            Mistake("w_star", "ratio-of-sums", Rational(sum(ys), sum(xs)),
                    r"$\\sum_k y_k / \\sum_k x_k$ matches the means; setting $L'(w) = 0$ gives $\\sum_k x_k y_k / \\sum_k x_k^2$."),
        ],
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """Another route: matrices, and the normal equation X^T X w = X^T y for the minimiser."""
    X, Y = sympy.Matrix(inputs["x"]), sympy.Matrix(inputs["y"])
    residual = X * inputs["w0"] - Y
    size = len(inputs["x"])
    best = (X.T * X).inv() * X.T * Y
    return {"loss": residual.dot(residual) / size, "slope": 2 * X.dot(residual) / size, "w_star": best[0]}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """In mpmath: the loss, its derivative by numerical differentiation, and the root of that derivative."""
    xs, ys = mp_vector(inputs["x"]), mp_vector(inputs["y"])

    def loss(t):
        return mpmath.fsum((t * a - b) ** 2 for a, b in zip(xs, ys)) / len(xs)

    start = to_mp(inputs["w0"])
    return {"loss": loss(start), "slope": mpmath.diff(loss, start),
            "w_star": mpmath.findroot(lambda t: mpmath.diff(loss, t), start)}
'''

TEST = '''\
"""Tests of __ID__ (written by `derivbook new`): run them with python -m pytest __TEST__"""

from pathlib import Path

import pytest

from derivbook.authoring import instances, load

DERIVATION = load(Path(__file__).with_name("__STEM__.py"))


@pytest.mark.parametrize("size", [2, 3, 6])  # the smallest, the default and the largest n
def test_every_instance_is_verified_twice(size):
    for problem in instances(DERIVATION, seeds=10, n=size):  # raises VerificationError on any failed check
        assert problem.verified == {"exact": True, "numeric": True}


def test_a_case_worked_by_hand():
    # x = (1, 2), y = (2, 4), w0 = 0: L = (4 + 16)/2 = 10, L' = (2/2)(1·(−2) + 2·(−4)) = −10, w* = 10/5 = 2
    answers = DERIVATION.module.exact_answer({"x": [1, 2], "y": [2, 4], "w0": 0}, {"n": 2})
    assert answers == {"loss": 10, "slope": -10, "w_star": 2}


def test_the_declared_mistakes_are_told_apart():
    kept = {mistake.name for problem in instances(DERIVATION, seeds=10) for mistake in problem.mistakes}
    assert kept == {"dropped-factor-two", "ratio-of-sums"}
'''


def write(derivation_id: str, folder: Path) -> tuple[Path, Path]:
    """Write the starter derivation ``derivation_id`` and its test into ``folder`` (made if missing).

    Refuses (UserError) an invalid id, an id another derivation already has, and an existing file.
    """
    if (problem := id_problem(derivation_id)) is not None:
        raise UserError(f"new: {problem}")
    stem = derivation_id.replace("-", "_")
    paths = (folder / f"{stem}.py", folder / f"test_{stem}.py")
    for path in paths:
        if path.exists():
            raise UserError(f"new: {path} already exists; choose another id or move the file away")
    if folder.exists() and not folder.is_dir():
        raise UserError(f"new: --dir {folder} is a file, not a folder")
    taken = Catalog([folder] if folder.is_dir() else []).file_of(derivation_id)
    if taken is not None:
        raise UserError(f"new: the id {derivation_id!r} is taken by {taken}; ids must be unique")
    fill = {"__ID__": derivation_id, "__STEM__": stem, "__FOLDER__": str(folder), "__TEST__": str(paths[1])}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path, template in zip(paths, (DERIVATION, TEST)):
            text = template
            for mark, value in fill.items():
                text = text.replace(mark, value)
            with path.open("x", encoding="utf-8") as stream:  # never overwrites, even in a race
                stream.write(text)
    except OSError as error:
        raise UserError(f"new: cannot write into {folder} ({error.strerror})") from None
    return paths
