"""Derivatives of sigmoid, tanh, ReLU and exact GELU at a point.

The point is ``±ln k``, where sigmoid and tanh take rational values, so their derivatives are fractions;
GELU's involves the normal CDF and density and is printed exactly and rounded.
"""


import mpmath
import sympy
from sympy import Heaviside, Max, erf, exp, log, pi, sqrt, tanh
from sympy.stats import Normal, cdf

from derivbook.authoring import AnswerPart, Math, Param, Problem, Step, Tex, derive_once, prove_equal, to_mp

ID = "activation-derivatives"
TITLE = "Derivatives of activation functions"
TOPIC = "calculus"
PARAMS = (Param("max_k", int, 5, "the point is ±ln k with 2 ≤ k ≤ max_k", low=2, high=9),)

x = sympy.Symbol("x", real=True)
ACTIVATIONS = {
    "sigmoid": 1 / (1 + exp(-x)),
    "tanh": tanh(x),
    "relu": Max(0, x),
    "gelu": x * (1 + erf(x / sqrt(2))) / 2,
}
LABELS = {"sigmoid": r"\sigma'(x)", "tanh": r"\tanh'(x)", "relu": r"\operatorname{ReLU}'(x)", "gelu": r"\operatorname{GELU}'(x)"}


@derive_once
def derive() -> dict:
    """SymPy's derivatives, each proven equal to its textbook form."""
    phi_cdf = (1 + erf(x / sqrt(2))) / 2
    phi_pdf = exp(-(x**2) / 2) / sqrt(2 * pi)
    derivatives = {name: sympy.diff(f, x) for name, f in ACTIVATIONS.items()}
    sig = ACTIVATIONS["sigmoid"]
    prove_equal(derivatives["sigmoid"], sig * (1 - sig), "σ' = σ(1 − σ)")
    prove_equal(derivatives["tanh"], 1 - tanh(x) ** 2, "tanh' = 1 − tanh²")
    prove_equal(derivatives["relu"], Heaviside(x), "ReLU' = H(x) away from 0")
    prove_equal(derivatives["gelu"], phi_cdf + x * phi_pdf, "GELU' = Φ + xφ")
    textbook = {
        "sigmoid": Tex(r"\sigma(x)\,(1 - \sigma(x))"),
        "tanh": Tex(r"1 - \tanh^2 x"),
        "relu": Tex(r"\begin{cases} 1 & x > 0 \\ 0 & x < 0 \end{cases}"),
        "gelu": Tex(r"\Phi(x) + x\,\varphi(x)"),
    }
    return {"derivatives": derivatives, "textbook": textbook}


def generate(params: dict, dice) -> Problem:
    """A point ``x = ±ln k``, never 0 (ReLU is not differentiable there)."""
    k = dice.integer(2, params["max_k"])
    point = dice.sign() * log(k)
    general = derive()
    # tanh(ln k) does not evaluate by itself; rewriting it in exponentials (exactly) gives the fraction
    values = {name: general["derivatives"][name].subs(x, point).rewrite(exp) if name == "tanh" else
              general["derivatives"][name].subs(x, point) for name in ACTIVATIONS}
    sig, th = ACTIVATIONS["sigmoid"].subs(x, point), tanh(point).rewrite(exp)
    steps = [
        "The general result",
        *[Step(Tex(LABELS[name]), general["textbook"][name], "SymPy's derivative, proven equal") for name in ACTIVATIONS],
        Step(Tex(r"\Phi(x),\ \varphi(x)"), Tex(r"\tfrac12\big(1 + \operatorname{erf}(x/\sqrt2)\big),\ \tfrac{1}{\sqrt{2\pi}} e^{-x^2/2}"), "standard normal CDF and density"),
        "Your numbers",
        Step(Tex(r"\sigma(x)"), sig, f"$1/(1 + e^{{-x}})$ with $e^{{x}} = {sympy.exp(point)}$"),
        Step(Tex(r"\sigma'(x)"), values["sigmoid"], "$\\sigma(1 - \\sigma)$"),
        Step(Tex(r"\tanh x"), th, "$(e^{2x} - 1)/(e^{2x} + 1)$"),
        Step(Tex(r"\tanh' x"), values["tanh"], "$1 - \\tanh^2 x$"),
        Step(Tex(r"\operatorname{ReLU}'(x)"), values["relu"], "$x > 0$" if point > 0 else "$x < 0$"),
        Step(Tex(r"\operatorname{GELU}'(x)"), values["gelu"], "$\\Phi(x) + x\\varphi(x)$"),
    ]
    return Problem(
        inputs={"x": point},
        statement=[
            ("Let ", Math((Tex("x"), point)), ". Recall ", Math(Tex(r"\sigma(x) = 1/(1 + e^{-x})")), " and ",
             Math(Tex(r"\operatorname{GELU}(x) = x\,\Phi(x)")), " with ", Math(Tex(r"\Phi")), " the standard normal CDF."),
        ],
        tasks=[
            ("Compute ", Math(Tex(r"\sigma'(x)")), ", ", Math(Tex(r"\tanh'(x)")), " and ", Math(Tex(r"\operatorname{ReLU}'(x)")), " exactly."),
            ("Compute ", Math(Tex(r"\operatorname{GELU}'(x)")), " exactly and to four decimal places."),
        ],
        steps=steps,
        answer={
            name: AnswerPart(name, Tex(LABELS[name]), values[name], decimals=4 if name == "gelu" else None)
            for name in ACTIVATIONS
        },
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """Differentiate other forms of each function: exponentials, a Piecewise ReLU, sympy.stats' normal CDF."""
    other = {
        "sigmoid": exp(x) / (1 + exp(x)),
        "tanh": (exp(2 * x) - 1) / (exp(2 * x) + 1),
        "relu": sympy.Piecewise((x, x > 0), (0, True)),
        "gelu": x * cdf(Normal("Z", 0, 1))(x),
    }
    point = sympy.sympify(inputs["x"])
    return {name: sympy.diff(f, x).subs(x, point) for name, f in other.items()}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """Numerical differentiation of each function in mpmath."""
    point = to_mp(inputs["x"])
    functions = {
        "sigmoid": lambda t: 1 / (1 + mpmath.exp(-t)),
        "tanh": mpmath.tanh,
        "relu": lambda t: max(mpmath.mpf(0), t),
        "gelu": lambda t: t * mpmath.ncdf(t),
    }
    return {name: mpmath.diff(f, point) for name, f in functions.items()}
