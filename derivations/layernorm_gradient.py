"""Layer normalisation and its input gradient.

``y = γ ⊙ (x − μ)/σ + β`` with the biased variance and no ε. SymPy differentiates ``Σ g_i y_i`` with
respect to x and the closed form ``∂L/∂x = (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂))/σ`` with ``ĝ = γ ⊙ g`` is
proven equal. The inputs are drawn so that σ is a whole number.
"""

import itertools
import math
from functools import cache

import mpmath
import sympy
from sympy import sqrt

from derivbook.authoring import (
    AnswerPart,
    Math,
    Param,
    Problem,
    Step,
    Tex,
    derive_once,
    mp_gradient,
    mp_vector,
    prove_equal,
    symbol_vector,
)

ID = "layernorm-gradient"
TITLE = "Layer normalisation and its gradient"
TOPIC = "calculus"
PARAMS = (Param("n", int, 4, "features (sizes with whole-number σ for small integers)", choices=(2, 4, 5)),)


@cache
def _deviations(n: int) -> list[tuple[int, ...]]:
    """Integer deviations with sum 0 whose mean square is a perfect square (so σ is whole)."""
    span = range(-5, 6) if n <= 4 else range(-4, 5)
    found = []
    for a in itertools.product(span, repeat=n):
        square = sum(v * v for v in a)
        if sum(a) == 0 and square and square % n == 0 and math.isqrt(square // n) ** 2 == square // n:
            found.append(a)
    return found


def _forward(x, gamma, beta):
    x, gamma, beta = ([sympy.sympify(v) for v in seq] for seq in (x, gamma, beta))
    n = sympy.Integer(len(x))
    mean = sum(x) / n
    sigma = sqrt(sum((v - mean) ** 2 for v in x) / n)
    normed = [(v - mean) / sigma for v in x]
    return mean, sigma, normed, [g * h + b for g, h, b in zip(gamma, normed, beta)]


@derive_once
def derive(n: int) -> dict:
    """SymPy's gradient of Σ g_i y_i for symbolic x, proven equal to the closed form."""
    x, gamma, beta, g = (list(symbol_vector(name, n)) for name in ("x", "gamma", "beta", "g"))
    _, sigma, normed, y = _forward(x, gamma, beta)
    loss = sum(gi * yi for gi, yi in zip(g, y))
    derived = [sympy.diff(loss, v) for v in x]
    ghat = [a * b for a, b in zip(gamma, g)]
    mean_g = sum(ghat) / n
    mean_gx = sum(a * b for a, b in zip(ghat, normed)) / n
    closed = [(gh - mean_g - xh * mean_gx) / sigma for gh, xh in zip(ghat, normed)]
    variance = sum((v - sum(x) / n) ** 2 for v in x) / n
    s = sympy.Symbol("s", positive=True)  # σ as a symbol: both sides become rational in s
    for a, b in zip(derived, closed):
        prove_equal(sympy.expand((a - b).subs(sqrt(variance), s)).subs(s, sqrt(variance)), 0, "LayerNorm input gradient")
    return {"x": x, "gamma": gamma, "beta": beta, "g": g, "derived": derived}


def generate(params: dict, dice) -> Problem:
    """x = μ + deviations with whole σ; small integer γ (nonzero), β and upstream g."""
    n = params["n"]
    general = derive(n)
    deviation = dice.choice(_deviations(n))
    centre = dice.integer(-3, 3)
    x = [centre + v for v in deviation]
    gamma = [dice.choice((1, 2, -1, 3)) for _ in range(n)]
    beta = [dice.integer(-2, 2) for _ in range(n)]
    g = [dice.integer(-3, 3) for _ in range(n)]
    if all(v == 0 for v in g):
        g[0] = 1
    mean, sigma, normed, y = _forward(x, gamma, beta)
    values = dict(zip(general["x"] + general["gamma"] + general["beta"] + general["g"], x + gamma + beta + g))
    dx = [e.xreplace(values) for e in general["derived"]]
    ghat = [a * b for a, b in zip(gamma, g)]
    mean_g = sum(ghat) / sympy.Integer(n)
    mean_gx = sum(a * b for a, b in zip(ghat, normed)) / n
    steps = [
        "The general result",
        Step(Tex(r"\hat x_i"), Tex(r"\frac{x_i - \mu}{\sigma},\quad \mu = \tfrac1n\textstyle\sum_j x_j,\quad \sigma^2 = \tfrac1n\sum_j (x_j - \mu)^2"), "normalise"),
        Step(Tex(r"\frac{\partial L}{\partial x_i}"), Tex(r"\frac{1}{\sigma}\Big(\hat g_i - \overline{\hat g} - \hat x_i\,\overline{\hat g \odot \hat x}\Big),\quad \hat g = \gamma \odot g"), "SymPy's derivative, proven equal"),
        "Your numbers",
        Step(Tex(r"\mu"), mean, "mean"),
        Step(Tex(r"\sigma"), sigma, "biased standard deviation (divide by $n$)"),
        Step(Tex(r"\hat x"), normed, "standardise"),
        Step(Tex("y"), y, "$\\gamma \\odot \\hat x + \\beta$"),
        Step(Tex(r"\hat g"), ghat, "$\\gamma \\odot g$"),
        Step(Tex(r"\overline{\hat g}"), mean_g, "mean of $\\hat g$"),
        Step(Tex(r"\overline{\hat g \odot \hat x}"), mean_gx, "mean of $\\hat g \\odot \\hat x$"),
        Step(Tex(r"\partial L/\partial x"), dx, "the closed form"),
    ]
    return Problem(
        inputs={"x": x, "gamma": gamma, "beta": beta, "g": g},
        statement=[
            ("A LayerNorm (biased variance, no ", Math(Tex(r"\varepsilon")), ") computes ",
             Math(Tex(r"y = \gamma \odot (x - \mu)/\sigma + \beta")), " with"),
            (Math((Tex("x"), x)), ", ", Math((Tex(r"\gamma"), gamma)), ", ", Math((Tex(r"\beta"), beta)), "."),
            ("The upstream gradient is ", Math((Tex(r"g = \partial L/\partial y"), g)), "."),
        ],
        tasks=[
            ("Compute the output ", Math(Tex("y")), "."),
            ("Compute the input gradient ", Math(Tex(r"\partial L/\partial x")), "."),
        ],
        steps=steps,
        answer={"y": AnswerPart("y", Tex("y"), y), "dx": AnswerPart("dx", Tex(r"\partial L/\partial x"), dx)},
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """Differentiate the instantiated layer with explicit symbols for x only, then substitute."""
    n = len(inputs["x"])
    x = list(sympy.symbols(f"v1:{n + 1}", real=True))
    _, _, _, y = _forward(x, inputs["gamma"], inputs["beta"])
    loss = sum(gi * yi for gi, yi in zip(inputs["g"], y))
    point = dict(zip(x, inputs["x"]))
    _, _, _, y_value = _forward(inputs["x"], inputs["gamma"], inputs["beta"])
    return {"y": y_value, "dx": [sympy.diff(loss, v).subs(point) for v in x]}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """The layer in mpmath, its input gradient by numerical differentiation."""
    gamma, beta, g = (mp_vector(inputs[k]) for k in ("gamma", "beta", "g"))

    def layer(v):
        n = len(v)
        mean = mpmath.fsum(v) / n
        sigma = mpmath.sqrt(mpmath.fsum((a - mean) ** 2 for a in v) / n)
        return [gm * (a - mean) / sigma + bt for gm, a, bt in zip(gamma, v, beta)]

    point = mp_vector(inputs["x"])
    return {"y": layer(point), "dx": mp_gradient(lambda v: mpmath.fsum(a * b for a, b in zip(g, layer(v))), point)}
