"""Maximum likelihood for a Gaussian: the sample mean and the biased variance.

SymPy solves the score equations of the log-likelihood; with σ fixed, the negative log-likelihood is
the squared error plus a constant, so maximising one minimises the other.
"""


import mpmath
import sympy
from sympy import log, pi, symbols

from derivbook.authoring import AnswerPart, Math, Param, Problem, Step, Tex, derive_once, mp_vector, prove_equal

ID = "gaussian-mle"
TITLE = "Gaussian maximum likelihood and squared error"
TOPIC = "probability"
PARAMS = (Param("n", int, 5, "number of observations", low=3, high=8),)

mu = symbols("mu", real=True)
var = symbols("sigma^2", positive=True)


@derive_once
def derive(n: int) -> dict:
    """Solve ∂ℓ/∂μ = 0 and ∂ℓ/∂σ² = 0 for n symbolic observations; relate −ℓ to the squared error."""
    xs = symbols(f"x1:{n + 1}", real=True)
    loglik = sum(-log(2 * pi * var) / 2 - (x - mu) ** 2 / (2 * var) for x in xs)
    mean = sympy.solve(sympy.diff(loglik, mu), mu)[0]
    prove_equal(mean, sum(xs) / n, "MLE of the mean")
    (variance,) = sympy.solve(sympy.diff(loglik, var).subs(mu, mean), var)
    prove_equal(variance, sum((x - mean) ** 2 for x in xs) / n, "MLE of the variance")
    squared_error = sum((x - mu) ** 2 for x in xs)
    prove_equal(-loglik - (squared_error / (2 * var) + n * log(2 * pi * var) / 2), 0, "−ℓ = SSE/(2σ²) + const")
    return {"xs": xs, "loglik": loglik, "mean": mean, "variance": variance, "score_mu": sympy.diff(loglik, mu)}


def generate(params: dict, dice) -> Problem:
    """Integer data around an integer mean with a variance that is a simple fraction."""
    n = params["n"]
    general = derive(n)
    for _ in range(200):
        centre = dice.integer(-3, 8)
        data = [centre + dice.integer(-4, 4) for _ in range(n)]
        if sum(data) % n == 0 and len(set(data)) > 2:
            break
    values = dict(zip(general["xs"], data))
    mean, variance = general["mean"].subs(values), general["variance"].subs(values)
    deviations = [x - mean for x in data]
    steps = [
        "The general result",
        Step(Tex(r"\ell(\mu, \sigma^2)"), Tex(r"-\tfrac{n}{2}\ln(2\pi\sigma^2) - \frac{1}{2\sigma^2}\textstyle\sum_i (x_i - \mu)^2"), "log of the product of densities"),
        Step(Tex(r"\frac{\partial \ell}{\partial \mu} = 0"), Tex(r"\hat\mu = \tfrac1n \textstyle\sum_i x_i"), "SymPy solves the score equation", Tex(r"\Rightarrow")),
        Step(Tex(r"\frac{\partial \ell}{\partial \sigma^2} = 0"), Tex(r"\hat\sigma^2 = \tfrac1n \textstyle\sum_i (x_i - \hat\mu)^2"), "divide by $n$, not $n - 1$", Tex(r"\Rightarrow")),
        Step(Tex(r"-\ell(\mu)"), Tex(r"\frac{1}{2\sigma^2}\textstyle\sum_i (x_i - \mu)^2 + \text{const}"), "fixed $\\sigma$: maximum likelihood is least squares"),
        "Your numbers",
        Step(Tex(r"\hat\mu"), (Tex(rf"\tfrac{{{sum(data)}}}{{{n}}}"), mean), "average"),
        Step(Tex(r"x - \hat\mu"), deviations, "deviations"),
        Step(Tex(r"\hat\sigma^2"), (Tex(rf"\tfrac{{{sum(d * d for d in deviations)}}}{{{n}}}"), variance) if variance.is_Integer else variance, "mean squared deviation"),
    ]
    return Problem(
        inputs={"x": data},
        statement=[("The observations ", Math((Tex("x"), data)), " are modelled as i.i.d. ", Math(Tex(r"\mathcal{N}(\mu, \sigma^2)")), ".")],
        tasks=[
            ("Find the maximum-likelihood estimates ", Math(Tex(r"\hat\mu")), " and ", Math(Tex(r"\hat\sigma^2")), "."),
            ("Show that, for a fixed ", Math(Tex(r"\sigma")), ", maximising the likelihood in ", Math(Tex(r"\mu")), " minimises the squared error."),
        ],
        steps=steps,
        answer={"mu": AnswerPart("mu", Tex(r"\hat\mu"), mean), "sigma2": AnswerPart("sigma2", Tex(r"\hat\sigma^2"), variance)},
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """The moments: mean, and E[x²] − E[x]² (the one-pass form)."""
    data = [sympy.Integer(x) for x in inputs["x"]]
    n = len(data)
    mean = sum(data) / n
    return {"mu": mean, "sigma2": sum(x * x for x in data) / n - mean**2}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """Maximise the log-likelihood numerically: bracketed roots of its two score equations, one at a time.

    ∂ℓ/∂μ is decreasing in μ and changes sign between min x and max x; at that μ, ∂ℓ/∂σ² changes sign
    once on (0, ∞), inside a bracket around the mean square.
    """
    data = mp_vector(inputs["x"])
    n = len(data)
    m = mpmath.findroot(lambda mu_: mpmath.fsum(x - mu_ for x in data), (min(data), max(data)), solver="anderson")
    spread = mpmath.fsum((x - m) ** 2 for x in data)
    v = mpmath.findroot(lambda v_: -n / (2 * v_) + spread / (2 * v_**2), (spread / (4 * n), 4 * spread / n), solver="anderson")
    return {"mu": m, "sigma2": v}
