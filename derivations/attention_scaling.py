"""Why attention divides by √d: the mean and variance of ``q·k`` for i.i.d. entries, for general d.

SymPy's probability module cannot take a dot product of symbolic length, so the moments are derived with
a small moment algebra: ``E[q_i q_j] = σ² δ_ij`` and independence of q and k, summed with ``Sum``.
Why it matters is shown on two keys whose logits differ by one standard deviation: the unscaled gap
``√d·σ²`` grows with d, the softmax saturates and its slope ``a₁(1 − a₁)`` vanishes; the scaled gap is σ².
"""

import mpmath
import sympy
from sympy import KroneckerDelta, Q, Rational, Sum, exp, limit, oo, refine, sqrt, symbols

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
    mp_softmax,
    prove_equal,
    scientific,
)

ID = "attention-scaling"
TITLE = "Why attention scales by $1/\\sqrt{d}$"
TOPIC = "probability"
PARAMS = (Param("max_d", int, 128, "largest head dimension d drawn (a power of two at least 4)", low=4, high=4096),)
CONSTANT_PARTS = {  # the same in every instance, on purpose
    "mean": "E[q·k] = 0 for any independent zero-mean q and k: the point of the part",
    "slope_limit": "the unscaled softmax saturates for every sigma^2 > 0: the limit is 0, the point of the part",
}

SIGMA2_CHOICES = (Rational(1, 4), Rational(1, 2), Rational(1), Rational(2), Rational(3), Rational(4))

d, i, j = symbols("d i j", integer=True, positive=True)
sigma = symbols("sigma", positive=True)
gap = symbols("c", positive=True)  # ℓ₁ − ℓ₂, the gap between two logits


@derive_once
def derive() -> dict:
    """E[q·k], Var[q·k] and Var[q·k/√d] for symbolic d and σ², from second moments and independence; and
    the two-key softmax: its weight, its slope a(1 − a), and the slope's limit as the logit gap grows."""
    second_moment = sigma**2 * KroneckerDelta(i, j)  # E[q_i q_j] (and the same for k), mean zero
    mean_term = 0  # E[q_i k_i] = E[q_i] E[k_i] by independence
    mean = Sum(mean_term, (i, 1, d)).doit()
    # E[(q·k)²] = Σ_i Σ_j E[q_i q_j] E[k_i k_j], the q and k factors being independent
    inner = refine(Sum(second_moment * second_moment, (j, 1, d)).doit(), Q.le(i, d))
    square = Sum(inner, (i, 1, d)).doit()
    variance = square - mean**2
    prove_equal(variance, d * sigma**4, "Var[q·k] = d σ⁴")
    scaled = variance / sqrt(d) ** 2
    prove_equal(scaled, sigma**4, "Var[q·k/√d] = σ⁴")
    # two keys with logits ℓ₁ = ℓ₂ + c: a₁ = e^{ℓ₁}/(e^{ℓ₁} + e^{ℓ₂})
    first, second = symbols("ell1 ell2", real=True)
    weight = (exp(first) / (exp(first) + exp(second))).subs(first, second + gap)
    logistic = exp(gap) / (1 + exp(gap))
    prove_equal(weight, logistic, "two-key softmax = logistic of the gap")
    slope = sympy.diff(exp(first) / (exp(first) + exp(second)), first).subs(first, second + gap)
    prove_equal(slope, logistic * (1 - logistic), "∂a₁/∂ℓ₁ = a₁(1 − a₁)")
    prove_equal(limit(logistic, gap, oo), 1, "a₁ → 1 as the gap grows")
    prove_equal(limit(logistic * (1 - logistic), gap, oo), 0, "the slope vanishes as the gap grows")
    raw_limit = limit((logistic * (1 - logistic)).subs(gap, sqrt(d) * sigma**2), d, oo)
    prove_equal(raw_limit, 0, "unscaled: the slope vanishes as d grows")
    return {"mean": mean, "square": square, "variance": variance, "scaled": scaled, "weight": logistic,
            "slope": exp(gap) / (1 + exp(gap)) ** 2, "raw_limit": raw_limit}


def _two_keys(general: dict, spread) -> tuple:
    """The larger weight and the slope for two logits one standard deviation ``spread`` apart."""
    return general["weight"].subs(gap, spread), general["slope"].subs(gap, spread)


def generate(params: dict, dice) -> Problem:
    """A head dimension d (a power of two) and an entry variance σ²."""
    dims = [2**p for p in range(2, 13) if 2**p <= params["max_d"]]
    dim = dice.choice(dims[-4:])
    var = dice.choice(SIGMA2_CHOICES)
    general = derive()
    values = {d: dim, sigma: sqrt(var)}
    mean, variance, scaled = (general[key].subs(values) for key in ("mean", "variance", "scaled"))
    spreads = (sqrt(variance), sqrt(scaled))  # standard deviations of the unscaled and the scaled logit
    (weight_raw, slope_raw), (weight_scaled, slope_scaled) = (_two_keys(general, c) for c in spreads)
    dims_plot = [2**p for p in range(13) if 2**p <= max(dim, 256)]
    figure = Figure("lines", {
        "series": [
            {"label": "$\\operatorname{Var}[q \\cdot k]$", "points": [(x, float(general["variance"].subs({d: x, sigma: sqrt(var)}))) for x in dims_plot]},
            {"label": "$\\operatorname{Var}[q \\cdot k/\\sqrt{d}]$", "points": [(x, float(general["scaled"].subs({d: x, sigma: sqrt(var)}))) for x in dims_plot]},
        ],
        "mark": (dim, float(variance)),
        "xlabel": "head dimension $d$", "ylabel": "variance", "logx": True, "logy": True,
    })
    steps = [
        "The general result",
        Step(Tex(r"q \cdot k"), Tex(r"\sum_{i=1}^{d} q_i k_i"), "definition of the dot product"),
        Step(Tex(r"\mathbb{E}[q \cdot k]"), Tex(r"\sum_{i=1}^{d} \mathbb{E}[q_i]\,\mathbb{E}[k_i] = 0"), "linearity, then independence of $q$ and $k$"),
        Step(Tex(r"\mathbb{E}[(q \cdot k)^2]"), Tex(r"\sum_{i,j} \mathbb{E}[q_i q_j]\,\mathbb{E}[k_i k_j] = \sum_{i,j} \sigma^4 \delta_{ij}"), r"independence; $\mathbb{E}[q_i q_j] = \sigma^2 \delta_{ij}$"),
        Step(Tex(r"\operatorname{Var}[q \cdot k]"), general["variance"], r"the $d$ terms with $i = j$ survive; the mean is 0"),
        Step(Tex(r"\operatorname{Var}[q \cdot k / \sqrt{d}]"), general["scaled"], r"$\operatorname{Var}[aX] = a^2 \operatorname{Var}[X]$: no $d$ left"),
        Step(Tex(r"a_1"), Tex(r"\frac{e^{\ell_1}}{e^{\ell_1} + e^{\ell_2}} = \frac{e^{c}}{1 + e^{c}}"), r"two keys, $\ell_1 = \ell_2 + c$: divide by $e^{\ell_2}$"),
        Step(Tex(r"\frac{\partial a_1}{\partial \ell_1}"), Tex(r"a_1(1 - a_1) = \frac{e^{c}}{(1 + e^{c})^2}"), r"softmax Jacobian $a_i(\delta_{ij} - a_j)$, $i = j = 1$"),
        Step(Tex(r"\lim_{c \to \infty} a_1(1 - a_1)"), 0, r"$a_1 \to 1$: the softmax saturates"),
        "Your numbers",
        Step(Tex(r"\mathbb{E}[q \cdot k]"), mean, "always zero"),
        Step(Tex(r"\operatorname{Var}[q \cdot k]"), variance, rf"$d\sigma^4$ with $d = {dim}$, $\sigma^2 = {sympy.latex(var)}$"),
        Step(Tex(r"\operatorname{Var}[q \cdot k/\sqrt{d}]"), scaled, r"$\sigma^4$: the spread no longer grows with $d$"),
        Step(Tex(r"c_{\text{raw}} = \sqrt{\operatorname{Var}[q \cdot k]}"), spreads[0], r"$\sqrt{d}\,\sigma^2$: grows like $\sqrt{d}$"),
        Step(Tex(r"a_1^{\text{raw}}"), weight_raw, r"$e^c/(1 + e^c)$ at $c = c_{\text{raw}}$"),
        Step(Tex(r"\partial a_1^{\text{raw}}/\partial \ell_1"), slope_raw, rf"$\approx {scientific(slope_raw, 4)}$"),
        Step(Tex(r"c_{\text{scaled}} = \sqrt{\operatorname{Var}[q \cdot k/\sqrt{d}]}"), spreads[1], r"$\sigma^2$, whatever $d$ is"),
        Step(Tex(r"a_1^{\text{scaled}}"), weight_scaled, r"$e^c/(1 + e^c)$ at $c = c_{\text{scaled}}$"),
        Step(Tex(r"\partial a_1^{\text{scaled}}/\partial \ell_1"), slope_scaled, rf"$\approx {scientific(slope_scaled, 4)}$"),
        Step(Tex(r"\lim_{d \to \infty} \partial a_1^{\text{raw}}/\partial \ell_1"), general["raw_limit"],
             r"$c_{\text{raw}} = \sqrt{d}\,\sigma^2 \to \infty$: raw logits saturate"),
    ]
    return Problem(
        inputs={"d": dim, "sigma2": var},
        statement=[
            ("A query ", Math(Tex("q")), " and a key ", Math(Tex("k")), " in ", Math(Tex(r"\mathbb{R}^{d}")),
             ", with ", Math((Tex("d"), dim)), ", have independent entries with mean 0 and variance ",
             Math((Tex(r"\sigma^2"), var)), "."),
        ],
        tasks=[
            ("Compute ", Math(Tex(r"\mathbb{E}[q \cdot k]")), " and ", Math(Tex(r"\operatorname{Var}[q \cdot k]")), "."),
            ("Compute the variance of the scaled logit ", Math(Tex(r"q \cdot k / \sqrt{d}")), "."),
            ("Why does attention divide by ", Math(Tex(r"\sqrt{d}")), " before the softmax? A query meets two keys whose "
             "logits differ by one standard deviation of the logit, ", Math(Tex(r"\ell_1 - \ell_2 = \sqrt{\operatorname{Var}[\ell]}")),
             ". For the raw logits ", Math(Tex(r"\ell = q \cdot k")), " and for the scaled ones ",
             Math(Tex(r"\ell = q \cdot k/\sqrt{d}")), ", compute the larger attention weight ", Math(Tex(r"a_1")),
             " and the softmax's slope ", Math(Tex(r"\partial a_1/\partial \ell_1")),
             " (to four significant figures). What does the raw slope tend to as ", Math(Tex("d")), " grows?"),
        ],
        steps=steps,
        answer={
            "mean": AnswerPart("mean", Tex(r"\mathbb{E}[q \cdot k]"), mean),
            "variance": AnswerPart("variance", Tex(r"\operatorname{Var}[q \cdot k]"), variance),
            "scaled_variance": AnswerPart("scaled_variance", Tex(r"\operatorname{Var}[q \cdot k/\sqrt{d}]"), scaled),
            "weight": AnswerPart("weight", Tex("a_1"), [weight_raw, weight_scaled], decimals=4,
                                 items=(Tex(r"a_1^{\text{raw}}"), Tex(r"a_1^{\text{scaled}}"))),
            "slope": AnswerPart("slope", Tex(r"\partial a_1/\partial \ell_1"), [slope_raw, slope_scaled], decimals=4, significant=True,
                                items=(Tex(r"\partial a_1^{\text{raw}}/\partial \ell_1"), Tex(r"\partial a_1^{\text{scaled}}/\partial \ell_1"))),
            "slope_limit": AnswerPart("slope_limit", Tex(r"\lim_{d \to \infty} \partial a_1^{\text{raw}}/\partial \ell_1"), general["raw_limit"]),
        },
        figure=figure,
        mistakes=_mistakes(general, dim, var),
    )


def _mistakes(general: dict, dim: int, var) -> list:
    """Typical wrong answers, each computed from the same d and σ²."""
    unscaled_variance, scaled_variance = dim * var**2, var**2
    return [
        Mistake("mean", "not-independent", dim * var,
                r"$\mathbb{E}[q_i k_i]$ is $\mathbb{E}[q_i]\,\mathbb{E}[k_i] = 0$ because $q$ and $k$ are independent; it is not $\mathbb{E}[q_i^2] = \sigma^2$."),
        Mistake("variance", "d-sigma-squared", dim * var,
                r"Each term $q_i k_i$ has variance $\mathbb{E}[q_i^2]\,\mathbb{E}[k_i^2] = \sigma^4$, not $\sigma^2$: $\operatorname{Var}[q \cdot k] = d\sigma^4$."),
        Mistake("scaled_variance", "divided-by-d-squared", scaled_variance / dim,
                r"Scaling by $1/\sqrt{d}$ divides the variance by $(\sqrt{d})^2 = d$ once: $d\sigma^4/d = \sigma^4$, not $\sigma^4/d$."),
        Mistake("scaled_variance", "factor-not-squared", unscaled_variance / sqrt(dim),
                r"$\operatorname{Var}[aX] = a^2\operatorname{Var}[X]$: the factor $1/\sqrt{d}$ enters squared, so divide by $d$, not by $\sqrt{d}$."),
        Mistake("weight", "gap-as-variance", [_two_keys(general, unscaled_variance)[0], _two_keys(general, scaled_variance)[0]],
                r"The gap is one standard deviation, the square root of the variance: $\sqrt{d}\,\sigma^2$ unscaled, $\sigma^2$ scaled."),
    ]


_N = symbols("n", positive=True)


@derive_once
def _generating_moments() -> tuple:
    """G'(1) and G''(1) for G(x) = (2/9 x⁻¹ + 5/9 + 2/9 x)^n, symbolic in n: fast for any d."""
    x = symbols("x", positive=True)
    generating = (Rational(2, 9) / x + Rational(5, 9) + Rational(2, 9) * x) ** _N
    return sympy.diff(generating, x).subs(x, 1), sympy.diff(generating, x, 2).subs(x, 1)


def exact_answer(inputs: dict, params: dict) -> dict:
    """Exact moments of q·k when every entry is uniform on {−a, 0, a} (variance σ²), by generating function;
    the two-key softmax and its derivative at a gap of one standard deviation, differentiated directly, and
    the raw slope's limit as the dimension grows (its gap √d·σ² grows without bound).

    Each product q_i k_i is −a², 0, a² with probabilities 2/9, 5/9, 2/9; q·k / a² has the generating
    function G(x) = (2/9 x⁻¹ + 5/9 + 2/9 x)^d, whose derivatives at 1 give the moments.
    """
    dim, var = inputs["d"], sympy.sympify(inputs["sigma2"])
    a2 = Rational(3, 2) * var  # a² so that E[q_i²] = (2/3) a² = σ²
    first, second = (moment.subs(_N, dim) for moment in _generating_moments())
    mean = first * a2
    square = (second + first) * a2**2
    variance = square - mean**2
    logit, softmax, slope, slope_at_infinity = _two_key_softmax()
    spreads = (sqrt(variance), sqrt(variance / dim))
    return {
        "mean": mean, "variance": variance, "scaled_variance": variance / dim,
        "weight": [softmax.subs(logit, c) for c in spreads],
        "slope": [slope.subs(logit, c) for c in spreads],
        "slope_limit": _raw_slope_limit(variance / dim, slope_at_infinity),
    }


@derive_once
def _two_key_softmax() -> tuple:
    """The two-key softmax a₁ = e^ℓ/(e^ℓ + e⁰) of the logit gap ℓ, its slope ∂a₁/∂ℓ differentiated directly,
    over one denominator, and the slope's limit as the gap grows without bound: the same for every
    instance, taken once."""
    logit = symbols("ell", real=True)
    softmax = exp(logit) / (exp(logit) + exp(0))
    slope = sympy.factor(sympy.diff(softmax, logit))
    return logit, softmax, slope, limit(slope, logit, oo)


def _raw_slope_limit(scaled_variance, slope_at_infinity):
    """The raw slope at a gap of √d·√(σ⁴) as d grows: the gap grows without bound when σ⁴ > 0, so the limit
    is the slope's limit as its gap goes to infinity."""
    if not scaled_variance > 0:
        raise ValueError("the scaled variance must be positive for the raw gap to grow with d")
    return slope_at_infinity


def numeric_answer(inputs: dict, params: dict) -> dict:
    """Moments of q·k by direct summation over the whole distribution for ±σ entries (Rademacher); the
    softmax of two logits in mpmath and its slope by numerical differentiation.

    The slope is read off the smaller weight (∂a₁/∂ℓ₁ = −∂a₂/∂ℓ₁), which keeps its relative precision even
    when a₁ is 1 to a hundred digits; its limit as d grows is the slope at d = 10⁸ (below 10⁻¹⁰⁰⁰).
    """
    dim, sigma = inputs["d"], mpmath.sqrt(mpmath.mpf(sympy.sympify(inputs["sigma2"]).p) / sympy.sympify(inputs["sigma2"]).q)
    # q_i k_i = ±σ² with equal odds; q·k = σ² (2m − d) where m ~ Binomial(d, 1/2)
    weights = [mpmath.mpf(2) ** -dim]
    for m in range(dim):  # C(d, m+1) = C(d, m) (d − m)/(m + 1), without big integers
        weights.append(weights[-1] * (dim - m) / (m + 1))
    values = [sigma**2 * (2 * m - dim) for m in range(dim + 1)]
    mean = mpmath.fsum(w * v for w, v in zip(weights, values))
    variance = mpmath.fsum(w * (v - mean) ** 2 for w, v in zip(weights, values))
    spreads = (mpmath.sqrt(variance), mpmath.sqrt(variance / dim))
    return {
        "mean": mean, "variance": variance, "scaled_variance": variance / dim,
        "weight": [mp_softmax([c, 0])[0] for c in spreads],
        "slope": [-mpmath.diff(lambda t: mp_softmax([t, 0])[1], c) for c in spreads],
        "slope_limit": -mpmath.diff(lambda t: mp_softmax([t, 0])[1], mpmath.sqrt(10**8) * spreads[1]),  # d = 10⁸
    }
