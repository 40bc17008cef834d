"""Layer normalisation and its input gradient, derived through ``∂x̂/∂x``.

``y = γ ⊙ (x − μ)/σ + β`` with the biased variance and no ε. SymPy differentiates μ, σ and
``x̂ = (x − μ)/σ``, and ``Σ g_i y_i`` with respect to x; the closed forms ``∂σ/∂x_j = x̂_j/n``,
``∂x̂_i/∂x_j = (δ_ij − 1/n − x̂_i x̂_j/n)/σ`` and ``∂L/∂x = (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂))/σ`` with
``ĝ = γ ⊙ g`` are proven equal to them. The inputs are drawn so that σ is a whole number.

The sizes are 4 and 5. At n = 2 the normalised vector is ±(1, −1) whatever x is, so y does not move with
x and ∂L/∂x = 0 in every instance; n = 3 admits no integer deviations with a whole σ (their mean square
would be 2(a² + ab + b²)/3 with a² + ab + b² = 6t², which has no integer solution).
"""

import itertools
import math
from functools import cache

import mpmath
import sympy
from sympy import KroneckerDelta, sqrt

from derivbook.authoring import (
    AnswerPart,
    Math,
    Mistake,
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
PARAMS = (Param("n", int, 4, "features (sizes with whole-number σ for small integers)", choices=(4, 5)),)


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


def _forward(x, gamma, beta, divisor: int | None = None):
    """μ, σ, x̂ and y; σ² divides by n (by ``divisor`` for the unbiased-variance mistake)."""
    x, gamma, beta = ([sympy.sympify(v) for v in seq] for seq in (x, gamma, beta))
    n = sympy.Integer(len(x))
    mean = sum(x) / n
    sigma = sqrt(sum((v - mean) ** 2 for v in x) / (divisor or n))
    normed = [(v - mean) / sigma for v in x]
    return mean, sigma, normed, [g * h + b for g, h, b in zip(gamma, normed, beta)]


def _closed_form(ghat: list, normed: list, sigma) -> list:
    """(ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂))/σ, entry by entry."""
    n = len(ghat)
    mean_g = sum(ghat) / sympy.Integer(n)
    mean_gx = sum(a * b for a, b in zip(ghat, normed)) / n
    return [(gh - mean_g - xh * mean_gx) / sigma for gh, xh in zip(ghat, normed)]


@derive_once
def derive(n: int) -> dict:
    """SymPy's derivatives of σ, x̂ and Σ g_i y_i for symbolic x, each proven equal to its closed form."""
    x, gamma, beta, g = (list(symbol_vector(name, n)) for name in ("x", "gamma", "beta", "g"))
    _, sigma, normed, y = _forward(x, gamma, beta)
    variance = sigma**2
    s = sympy.Symbol("s", positive=True)  # σ as a symbol: both sides become rational in s

    def prove(derived, claimed, what):
        prove_equal(sympy.expand((derived - claimed).subs(sqrt(variance), s)).subs(s, sqrt(variance)), 0, what)

    for j in range(n):
        prove(sympy.diff(sigma, x[j]), normed[j] / n, "∂σ/∂x_j = x̂_j/n")
        for i in range(n):
            claimed = (KroneckerDelta(i, j) - sympy.Rational(1, n) - normed[i] * normed[j] / n) / sigma
            prove(sympy.diff(normed[i], x[j]), claimed, "∂x̂_i/∂x_j = (δ_ij − 1/n − x̂_i x̂_j/n)/σ")
    loss = sum(gi * yi for gi, yi in zip(g, y))
    derived = [sympy.diff(loss, v) for v in x]
    ghat = [a * b for a, b in zip(gamma, g)]
    for a, b in zip(derived, _closed_form(ghat, normed, sigma)):
        prove(a, b, "LayerNorm input gradient")
    return {"x": x, "gamma": gamma, "beta": beta, "g": g, "derived": derived}


def generate(params: dict, dice) -> Problem:
    """x = μ + deviations with whole σ; small integer γ (nonzero), β and upstream g, redrawn while the
    gradient is zero (γ ⊙ g in the span of 1 and x̂: the mean and variance paths cancel the direct one)."""
    n = params["n"]
    general = derive(n)
    deviation = dice.choice(_deviations(n))
    centre = dice.integer(-3, 3)
    x = [centre + v for v in deviation]
    mean, sigma, normed, _ = _forward(x, [1] * n, [0] * n)
    for _ in range(200):  # a γ ⊙ g in the span of 1 and x̂ has a zero gradient: redraw it
        gamma = [dice.choice((1, 2, -1, 3)) for _ in range(n)]
        beta = [dice.integer(-2, 2) for _ in range(n)]
        g = [dice.integer(-3, 3) for _ in range(n)]
        values = dict(zip(general["x"] + general["gamma"] + general["beta"] + general["g"], x + gamma + beta + g))
        dx = [e.xreplace(values) for e in general["derived"]]
        if any(v != 0 for v in dx):
            break
    else:
        raise RuntimeError("no instance with a nonzero gradient in 200 draws")
    y = _forward(x, gamma, beta)[3]
    ghat = [sympy.Integer(a * b) for a, b in zip(gamma, g)]
    mean_g = sum(ghat) / sympy.Integer(n)
    mean_gx = sum(a * b for a, b in zip(ghat, normed)) / n
    steps = [
        "The general result",
        Step(Tex(r"\hat x_i"), Tex(r"\frac{x_i - \mu}{\sigma},\quad \mu = \tfrac1n\textstyle\sum_j x_j,\quad \sigma^2 = \tfrac1n\sum_j (x_j - \mu)^2"), "normalise"),
        Step(Tex(r"\frac{\partial \mu}{\partial x_j}"), Tex(r"\frac{1}{n}"), r"each $x_j$ enters the mean with weight $\frac1n$"),
        Step(Tex(r"\frac{\partial \sigma^2}{\partial x_j}"), Tex(r"\frac{2}{n}(x_j - \mu)"), r"the $\partial\mu$ terms carry $\sum_i (x_i - \mu) = 0$"),
        Step(Tex(r"\frac{\partial \sigma}{\partial x_j}"), Tex(r"\frac{1}{2\sigma}\frac{\partial \sigma^2}{\partial x_j} = \frac{\hat x_j}{n}"), r"chain rule through $\sigma = \sqrt{\sigma^2}$"),
        Step(Tex(r"\frac{\partial \hat x_i}{\partial x_j}"), Tex(r"\frac{1}{\sigma}\Big(\delta_{ij} - \frac{1}{n} - \frac{\hat x_i \hat x_j}{n}\Big)"), r"quotient rule on $(x_i - \mu)/\sigma$"),
        Step(Tex(r"\frac{\partial L}{\partial \hat x_i}"), Tex(r"\gamma_i g_i = \hat g_i"), r"$y_i = \gamma_i \hat x_i + \beta_i$"),
        Step(Tex(r"\frac{\partial L}{\partial x_j}"), Tex(r"\sum_i \hat g_i \frac{\partial \hat x_i}{\partial x_j}"), "chain rule"),
        Step(Tex(""), Tex(r"\frac{1}{\sigma}\Big(\hat g_j - \overline{\hat g} - \hat x_j\,\overline{\hat g \odot \hat x}\Big)"), r"a bar is a mean over $i$"),
        "Your numbers",
        Step(Tex(r"\mu"), mean, "mean"),
        Step(Tex(r"\sigma"), sigma, "biased standard deviation (divide by $n$)"),
        Step(Tex(r"\hat x"), normed, "standardise"),
        Step(Tex("y"), y, "$\\gamma \\odot \\hat x + \\beta$"),
        Step(Tex(r"\hat g"), ghat, "$\\gamma \\odot g$"),
        Step(Tex(r"\overline{\hat g}"), mean_g, "mean of $\\hat g$"),
        Step(Tex(r"\overline{\hat g \odot \hat x}"), mean_gx, "mean of $\\hat g \\odot \\hat x$"),
        Step(Tex(r"\partial L/\partial x"), dx, r"$(\hat g - \overline{\hat g} - \hat x\,\overline{\hat g \odot \hat x})/\sigma$"),
    ]
    return Problem(
        inputs={"x": x, "gamma": gamma, "beta": beta, "g": g},
        statement=[
            ("A LayerNorm (biased variance, no ", Math(Tex(r"\varepsilon")), ") computes ",
             Math(Tex(r"y = \gamma \odot (x - \mu)/\sigma + \beta")), ", where ", Math(Tex(r"\mu")), " and ",
             Math(Tex(r"\sigma")), " are the mean and standard deviation of the entries of ", Math(Tex("x")), ", with"),
            (Math((Tex("x"), x)), ", ", Math((Tex(r"\gamma"), gamma)), ", ", Math((Tex(r"\beta"), beta)), "."),
            ("The upstream gradient is ", Math((Tex(r"g = \partial L/\partial y"), g)), "."),
        ],
        tasks=[
            ("Compute the output ", Math(Tex("y")), "."),
            ("Compute the input gradient ", Math(Tex(r"\partial L/\partial x")), ", through ",
             Math(Tex(r"\partial \hat x_i/\partial x_j")), " for ", Math(Tex(r"\hat x = (x - \mu)/\sigma")), "."),
        ],
        steps=steps,
        answer={"y": AnswerPart("y", Tex("y"), y), "dx": AnswerPart("dx", Tex(r"\partial L/\partial x"), dx)},
        mistakes=_mistakes(x, gamma, beta, ghat, normed, sigma),
    )


def _mistakes(x, gamma, beta, ghat, normed, sigma) -> list:
    """Typical wrong answers, each computed from the same inputs: paths of the gradient left out, the
    unbiased variance in the forward pass."""
    n = len(x)
    mean_g = sum(ghat) / sympy.Integer(n)
    mean_gx = sum(a * b for a, b in zip(ghat, normed)) / n
    return [
        Mistake("dx", "direct-path-only", [gh / sigma for gh in ghat],
                r"$\gamma \odot g/\sigma$ treats $\mu$ and $\sigma$ as constants; both depend on every $x_j$ and add the terms $-\overline{\hat g}$ and $-\hat x_j\,\overline{\hat g \odot \hat x}$."),
        Mistake("dx", "no-variance-path", [(gh - mean_g) / sigma for gh in ghat],
                r"$\sigma$ depends on $x$ too ($\partial\sigma/\partial x_j = \hat x_j/n$), which adds $-\hat x_j\,\overline{\hat g \odot \hat x}/\sigma$."),
        Mistake("dx", "no-mean-path", [(gh - xh * mean_gx) / sigma for gh, xh in zip(ghat, normed)],
                r"$\mu$ depends on $x$ too ($\partial\mu/\partial x_j = 1/n$), which adds $-\overline{\hat g}/\sigma$."),
        Mistake("y", "unbiased-variance", _forward(x, gamma, beta, divisor=n - 1)[3],
                r"LayerNorm divides the variance by $n$ (the biased variance), not by $n - 1$."),
    ]


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
