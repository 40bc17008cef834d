"""Why attention divides by √d: the mean and variance of ``q·k`` for i.i.d. entries, for general d.

SymPy's probability module cannot take a dot product of symbolic length, so the moments are derived with
a small moment algebra: ``E[q_i q_j] = σ² δ_ij`` and independence of q and k, summed with ``Sum``.
"""



import mpmath
import sympy
from sympy import KroneckerDelta, Q, Rational, Sum, refine, sqrt, symbols

from derivbook.authoring import AnswerPart, Figure, Math, Param, Problem, Step, Tex, derive_once, prove_equal

ID = "attention-scaling"
TITLE = "Why attention scales by $1/\\sqrt{d}$"
TOPIC = "probability"
PARAMS = (Param("max_d", int, 128, "largest head dimension d drawn (a power of two at least 4)", low=4, high=4096),)

SIGMA2_CHOICES = (Rational(1, 4), Rational(1, 2), Rational(1), Rational(2), Rational(3), Rational(4))

d, i, j = symbols("d i j", integer=True, positive=True)
sigma = symbols("sigma", positive=True)


@derive_once
def derive() -> dict:
    """E[q·k], Var[q·k] and Var[q·k/√d] for symbolic d and σ², from second moments and independence."""
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
    return {"mean": mean, "square": square, "variance": variance, "scaled": scaled}


def generate(params: dict, dice) -> Problem:
    """A head dimension d (a power of two) and an entry variance σ²."""
    dims = [2**p for p in range(2, 13) if 2**p <= params["max_d"]]
    dim = dice.choice(dims[-4:])
    var = dice.choice(SIGMA2_CHOICES)
    general = derive()
    values = {d: dim, sigma: sqrt(var)}
    mean, variance, scaled = (general[key].subs(values) for key in ("mean", "variance", "scaled"))
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
        Step(Tex(r"\mathbb{E}[q \cdot k]"), Tex(r"\sum_{i=1}^{d} \mathbb{E}[q_i]\,\mathbb{E}[k_i] = 0"), "linearity, then independence of q and k"),
        Step(Tex(r"\mathbb{E}[(q \cdot k)^2]"), Tex(r"\sum_{i,j} \mathbb{E}[q_i q_j]\,\mathbb{E}[k_i k_j] = \sum_{i,j} \sigma^4 \delta_{ij}"), r"independence; $\mathbb{E}[q_i q_j] = \sigma^2 \delta_{ij}$"),
        Step(Tex(r"\operatorname{Var}[q \cdot k]"), general["variance"], r"SymPy sums over $i, j$; the mean is 0"),
        Step(Tex(r"\operatorname{Var}[q \cdot k / \sqrt{d}]"), general["scaled"], r"$\operatorname{Var}[aX] = a^2 \operatorname{Var}[X]$: no $d$ left"),
        "Your numbers",
        Step(Tex(r"\mathbb{E}[q \cdot k]"), mean, "always zero"),
        Step(Tex(r"\operatorname{Var}[q \cdot k]"), variance, rf"$d\sigma^4$ with $d = {dim}$, $\sigma^2 = {sympy.latex(var)}$"),
        Step(Tex(r"\operatorname{Var}[q \cdot k/\sqrt{d}]"), scaled, r"$\sigma^4$: the spread no longer grows with $d$"),
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
            ("Compute the variance of the scaled logit ", Math(Tex(r"q \cdot k / \sqrt{d}")),
             " and explain why attention divides by ", Math(Tex(r"\sqrt{d}")), " before the softmax."),
        ],
        steps=steps,
        answer={
            "mean": AnswerPart("mean", Tex(r"\mathbb{E}[q \cdot k]"), mean),
            "variance": AnswerPart("variance", Tex(r"\operatorname{Var}[q \cdot k]"), variance),
            "scaled_variance": AnswerPart("scaled_variance", Tex(r"\operatorname{Var}[q \cdot k/\sqrt{d}]"), scaled),
        },
        figure=figure,
    )


_N = symbols("n", positive=True)


@derive_once
def _generating_moments() -> tuple:
    """G'(1) and G''(1) for G(x) = (2/9 x⁻¹ + 5/9 + 2/9 x)^n, symbolic in n: fast for any d."""
    x = symbols("x", positive=True)
    generating = (Rational(2, 9) / x + Rational(5, 9) + Rational(2, 9) * x) ** _N
    return sympy.diff(generating, x).subs(x, 1), sympy.diff(generating, x, 2).subs(x, 1)


def exact_answer(inputs: dict, params: dict) -> dict:
    """Exact moments of q·k when every entry is uniform on {−a, 0, a} (variance σ²), by generating function.

    Each product q_i k_i is −a², 0, a² with probabilities 2/9, 5/9, 2/9; q·k / a² has the generating
    function G(x) = (2/9 x⁻¹ + 5/9 + 2/9 x)^d, whose derivatives at 1 give the moments.
    """
    dim, var = inputs["d"], sympy.sympify(inputs["sigma2"])
    a2 = Rational(3, 2) * var  # a² so that E[q_i²] = (2/3) a² = σ²
    first, second = (moment.subs(_N, dim) for moment in _generating_moments())
    mean = first * a2
    square = (second + first) * a2**2
    variance = square - mean**2
    return {"mean": mean, "variance": variance, "scaled_variance": variance / dim}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """Moments of q·k by direct summation over the whole distribution for ±σ entries (Rademacher)."""
    dim, sigma = inputs["d"], mpmath.sqrt(mpmath.mpf(sympy.sympify(inputs["sigma2"]).p) / sympy.sympify(inputs["sigma2"]).q)
    # q_i k_i = ±σ² with equal odds; q·k = σ² (2m − d) where m ~ Binomial(d, 1/2)
    weights = [mpmath.mpf(2) ** -dim]
    for m in range(dim):  # C(d, m+1) = C(d, m) (d − m)/(m + 1), without big integers
        weights.append(weights[-1] * (dim - m) / (m + 1))
    values = [sigma**2 * (2 * m - dim) for m in range(dim + 1)]
    mean = mpmath.fsum(w * v for w, v in zip(weights, values))
    variance = mpmath.fsum(w * (v - mean) ** 2 for w, v in zip(weights, values))
    return {"mean": mean, "variance": variance, "scaled_variance": variance / dim}
