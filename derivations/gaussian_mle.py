"""Maximum likelihood for a Gaussian: the sample mean and the biased variance.

SymPy solves the score equations of the log-likelihood (and checks the curvature in μ is negative); with
σ fixed, the negative log-likelihood is the squared error ``S(μ) = Σ(x_i − μ)²`` over 2σ² plus a constant,
so maximising one minimises the other, and the smallest squared error is ``S(μ̂) = n σ̂²``.
"""


import mpmath
import sympy
from sympy import log, pi, symbols

from derivbook.authoring import (
    AnswerPart,
    Math,
    Mistake,
    Param,
    Problem,
    Step,
    Tex,
    derive_once,
    mp_vector,
    prove_equal,
)

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
    squared_error = sum((x - mu) ** 2 for x in xs)
    score_mu = sympy.diff(loglik, mu)
    prove_equal(score_mu, sum(x - mu for x in xs) / var, "∂ℓ/∂μ = Σ(x_i − μ)/σ²")
    prove_equal(sympy.diff(loglik, mu, 2), -n / var, "∂²ℓ/∂μ² = −n/σ² < 0")
    mean = sympy.solve(score_mu, mu)[0]
    prove_equal(mean, sum(xs) / n, "MLE of the mean")
    score_var = sympy.diff(loglik, var)
    prove_equal(score_var, -n / (2 * var) + squared_error / (2 * var**2), "∂ℓ/∂σ² = −n/(2σ²) + S/(2σ⁴)")
    (variance,) = sympy.solve(score_var.subs(mu, mean), var)
    prove_equal(variance, squared_error.subs(mu, mean) / n, "MLE of the variance")
    prove_equal(-loglik - (squared_error / (2 * var) + n * log(2 * pi * var) / 2), 0, "−ℓ = S/(2σ²) + const")
    return {"xs": xs, "mean": mean, "variance": variance, "squared_error": squared_error.subs(mu, mean)}


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
    mean, variance, sse = (general[key].subs(values) for key in ("mean", "variance", "squared_error"))
    deviations = [x - mean for x in data]
    steps = [
        "The general result",
        Step(Tex(r"\ell(\mu, \sigma^2)"), Tex(r"-\tfrac{n}{2}\ln(2\pi\sigma^2) - \frac{1}{2\sigma^2} S(\mu)"), r"$\ln$ of the product of the $n$ densities"),
        Step(Tex(r"\frac{\partial \ell}{\partial \mu}"), Tex(r"\frac{1}{\sigma^2}\textstyle\sum_i (x_i - \mu) = 0"), r"$\frac{d}{d\mu}(x_i - \mu)^2 = -2(x_i - \mu)$"),
        Step(Tex(r"\hat\mu"), Tex(r"\tfrac1n \textstyle\sum_i x_i"), r"a maximum: $\partial^2\ell/\partial\mu^2 = -n/\sigma^2 < 0$"),
        Step(Tex(r"\frac{\partial \ell}{\partial \sigma^2}"), Tex(r"-\frac{n}{2\sigma^2} + \frac{S(\mu)}{2\sigma^4} = 0"), r"$(\ln v)' = \frac1v$, $(\frac1v)' = -\frac{1}{v^2}$ for $v = \sigma^2$"),
        Step(Tex(r"\hat\sigma^2"), Tex(r"\tfrac1n S(\hat\mu) = \tfrac1n \textstyle\sum_i (x_i - \hat\mu)^2"), "multiply by $2\\sigma^4$: divide by $n$, not $n - 1$"),
        Step(Tex(r"-\ell(\mu)"), Tex(r"\frac{1}{2\sigma^2} S(\mu) + \tfrac{n}{2}\ln(2\pi\sigma^2)"), r"fixed $\sigma$: the last term is a constant"),
        Step(Tex(r"\arg\max_\mu \ell(\mu)"), Tex(r"\arg\min_\mu S(\mu) = \hat\mu"), r"$\frac{1}{2\sigma^2} > 0$: least squares"),
        "Your numbers",
        Step(Tex(r"\hat\mu"), (Tex(rf"\tfrac{{{sum(data)}}}{{{n}}}"), mean), "average"),
        Step(Tex(r"x - \hat\mu"), deviations, "deviations"),
        Step(Tex(r"S(\hat\mu)"), sse, "sum of squared deviations"),
        Step(Tex(r"\hat\sigma^2"), (Tex(rf"\tfrac{{{sse}}}{{{n}}}"), variance) if variance.is_Integer else variance, r"$S(\hat\mu)/n$"),
    ]
    return Problem(
        inputs={"x": data},
        statement=[("The observations ", Math((Tex("x"), data)), " are modelled as i.i.d. ", Math(Tex(r"\mathcal{N}(\mu, \sigma^2)")), ".")],
        tasks=[
            ("Find the maximum-likelihood estimates ", Math(Tex(r"\hat\mu")), " and ", Math(Tex(r"\hat\sigma^2")), "."),
            ("Show that, for a fixed ", Math(Tex(r"\sigma")), ", maximising the likelihood in ", Math(Tex(r"\mu")),
             " minimises the squared error ", Math(Tex(r"S(\mu) = \sum_i (x_i - \mu)^2")), ", and give its minimum ",
             Math(Tex(r"S(\hat\mu)")), "."),
        ],
        steps=steps,
        answer={
            "mu": AnswerPart("mu", Tex(r"\hat\mu"), mean),
            "sigma2": AnswerPart("sigma2", Tex(r"\hat\sigma^2"), variance),
            "sse": AnswerPart("sse", Tex(r"S(\hat\mu)"), sse),
        },
        mistakes=[
            Mistake("sigma2", "divided-by-n-minus-1", sse / (n - 1),
                    r"Dividing by $n - 1$ gives the unbiased estimate; the maximum-likelihood estimate solves $\partial\ell/\partial\sigma^2 = 0$ and divides by $n$."),
            Mistake("sigma2", "standard-deviation", sympy.sqrt(variance),
                    r"This is $\hat\sigma$; the question asks for the variance $\hat\sigma^2$."),
            Mistake("sse", "mean-squared-error", variance,
                    r"$S(\hat\mu)$ is the sum of the squared deviations, not their mean: do not divide by $n$."),
        ],
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """The moments: mean, and E[x²] − E[x]² (the one-pass form); the squared error as n times it."""
    data = [sympy.Integer(x) for x in inputs["x"]]
    n = len(data)
    mean = sum(data) / n
    second = sum(x * x for x in data) / n
    return {"mu": mean, "sigma2": second - mean**2, "sse": n * (second - mean**2)}


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
    return {"mu": m, "sigma2": v, "sse": mpmath.fsum((x - m) ** 2 for x in data)}
