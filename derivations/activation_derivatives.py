"""Derivatives of sigmoid, tanh, ReLU and exact GELU at a point.

The point is ``±ln k``, where sigmoid and tanh take rational values, so their derivatives are fractions;
GELU's involves the normal CDF and density and is printed exactly and rounded.
"""


import mpmath
import sympy
from sympy import Heaviside, Max, erf, exp, log, pi, sqrt, tanh
from sympy.stats import Normal, cdf

from derivbook.authoring import AnswerPart, Math, Mistake, Param, Problem, Step, Tex, derive_once, prove_equal, to_mp

ID = "activation-derivatives"
TITLE = "Derivatives of activation functions"
TOPIC = "calculus"
# max_k = 2 would allow only x = ±ln 2, where σ' and tanh' (even functions) are the same in every instance
PARAMS = (Param("max_k", int, 5, "the point is ±ln k with 2 ≤ k ≤ max_k", low=3, high=9),)

x = sympy.Symbol("x", real=True)
ACTIVATIONS = {
    "sigmoid": 1 / (1 + exp(-x)),
    "tanh": tanh(x),
    "relu": Max(0, x),
    "gelu": x * (1 + erf(x / sqrt(2))) / 2,
}
LABELS = {"sigmoid": r"\sigma'(x)", "tanh": r"\tanh'(x)", "relu": r"\operatorname{ReLU}'(x)", "gelu": r"\operatorname{GELU}'(x)"}
PHI_CDF = (1 + erf(x / sqrt(2))) / 2  # Φ, the standard normal CDF
PHI_PDF = exp(-(x**2) / 2) / sqrt(2 * pi)  # φ, its density


@derive_once
def derive() -> dict:
    """SymPy's derivatives, each proven equal to its textbook form (and the rule behind it)."""
    derivatives = {name: sympy.diff(f, x) for name, f in ACTIVATIONS.items()}
    sig = ACTIVATIONS["sigmoid"]
    prove_equal(derivatives["sigmoid"], exp(-x) / (1 + exp(-x)) ** 2, "σ' by the chain rule")
    prove_equal(derivatives["sigmoid"], sig * (1 - sig), "σ' = σ(1 − σ)")
    prove_equal(sympy.diff(sympy.sinh(x) / sympy.cosh(x), x), 1 / sympy.cosh(x) ** 2, "tanh' by the quotient rule")
    prove_equal(derivatives["tanh"], 1 - tanh(x) ** 2, "tanh' = 1 − tanh²")
    prove_equal(derivatives["relu"], Heaviside(x), "ReLU' = H(x) away from 0")
    prove_equal(sympy.diff(PHI_CDF, x), PHI_PDF, "Φ' = φ")
    prove_equal(derivatives["gelu"], PHI_CDF + x * PHI_PDF, "GELU' = Φ + xφ")
    textbook = {
        "sigmoid": Tex(r"\frac{e^{-x}}{(1 + e^{-x})^2} = \sigma(x)\,\bigl(1 - \sigma(x)\bigr)"),
        "tanh": Tex(r"\frac{\cosh^2 x - \sinh^2 x}{\cosh^2 x} = 1 - \tanh^2 x"),
        "relu": Tex(r"\begin{cases} 1 & x > 0 \\ 0 & x < 0 \end{cases}"),
        "gelu": Tex(r"\Phi(x) + x\,\varphi(x)"),
    }
    reasons = {
        "sigmoid": r"chain rule on $(1 + e^{-x})^{-1}$; $\frac{e^{-x}}{1 + e^{-x}} = 1 - \sigma(x)$",
        "tanh": r"quotient rule on $\sinh x/\cosh x$",
        "relu": r"the slope of each linear piece (none at $x = 0$)",
        "gelu": r"product rule on $x\,\Phi(x)$, with $\Phi' = \varphi$",
    }
    return {"derivatives": derivatives, "textbook": textbook, "reasons": reasons}


def _decimal(value) -> str:
    return f"{float(sympy.N(value, 30)):.4f}"


def _gelu_steps(point, k: int, value) -> list:
    """Φ(x), φ(x) and GELU'(x) at x = ±ln k, in the textbook form with x substituted, and rounded."""
    negative = point < 0
    sign, minus = ("-", "-") if negative else ("+", "")
    cdf_value, pdf_value = PHI_CDF.subs(x, point), PHI_PDF.subs(x, point)
    return [
        Step(Tex(r"\Phi(x)"), Tex(rf"\tfrac12\Bigl(1 {sign} \operatorname{{erf}}\frac{{\ln {k}}}{{\sqrt2}}\Bigr) \approx {_decimal(cdf_value)}"),
             r"$\Phi(x) = \frac12\bigl(1 + \operatorname{erf}(x/\sqrt2)\bigr)$" + (r", $\operatorname{erf}$ is odd" if negative else "")),
        Step(Tex(r"\varphi(x)"), Tex(rf"\frac{{1}}{{\sqrt{{2\pi}}}}\, e^{{-(\ln {k})^2/2}} \approx {_decimal(pdf_value)}"),
             r"$\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}$"),
        Step(Tex(r"\operatorname{GELU}'(x)"), Tex(rf"\Phi(x) {sign} \ln {k} \cdot \varphi(x) \approx {_decimal(value)}"),
             r"$\Phi(x) + x\,\varphi(x)$" + (rf" with $x = {minus}\ln {k}$" if negative else "")),
    ]


def _gelu_shown(point, k: int) -> Tex:
    """GELU'(±ln k) as the answer box writes it: Φ(x) + xφ(x) with x substituted, as in the steps."""
    sign = "-" if point < 0 else "+"
    return Tex(rf"\tfrac12\Bigl(1 {sign} \operatorname{{erf}}\frac{{\ln {k}}}{{\sqrt2}}\Bigr) {sign} "
               rf"\frac{{\ln {k}}}{{\sqrt{{2\pi}}}}\, e^{{-(\ln {k})^2/2}}")


def _mistakes(point, sig, th, values: dict) -> list:
    return [
        Mistake("sigmoid", "sigma-not-derivative", sig,
                r"This is $\sigma(x)$ itself. Its derivative is $\sigma'(x) = \sigma(x)\,(1 - \sigma(x))$."),
        Mistake("tanh", "one-minus-tanh", 1 - th,
                r"This is $1 - \tanh x$; the derivative squares it: $\tanh'(x) = 1 - \tanh^2 x$."),
        Mistake("gelu", "missing-x-phi-term", PHI_CDF.subs(x, point),
                r"This is $\Phi(x)$ alone: $\operatorname{GELU}(x) = x\,\Phi(x)$ is a product, so the product rule "
                r"adds $x\,\Phi'(x) = x\,\varphi(x)$."),
        Mistake("gelu", "missing-cdf-term", point * PHI_PDF.subs(x, point),
                r"This is $x\,\varphi(x)$ alone: by the product rule, differentiating the factor $x$ gives the term $\Phi(x)$ too."),
    ]


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
        *[Step(Tex(LABELS[name]), general["textbook"][name], general["reasons"][name]) for name in ("sigmoid", "tanh", "relu")],
        Step(Tex(r"\Phi(x),\ \varphi(x)"), Tex(r"\tfrac12\big(1 + \operatorname{erf}(x/\sqrt2)\big),\ \tfrac{1}{\sqrt{2\pi}} e^{-x^2/2}"),
             "standard normal CDF and density"),
        Step(Tex(LABELS["gelu"]), general["textbook"]["gelu"], general["reasons"]["gelu"]),
        "Your numbers",
        Step(Tex(r"\sigma(x)"), sig, f"$1/(1 + e^{{-x}})$ with $e^{{x}} = {sympy.latex(sympy.exp(point))}$"),
        Step(Tex(r"\sigma'(x)"), values["sigmoid"], r"$\sigma(x)\,(1 - \sigma(x))$"),
        Step(Tex(r"\tanh x"), th, f"$(e^{{2x}} - 1)/(e^{{2x}} + 1)$ with $e^{{2x}} = {sympy.latex(sympy.exp(2 * point))}$"),
        Step(Tex(r"\tanh'(x)"), values["tanh"], r"$1 - \tanh^2 x$"),
        Step(Tex(r"\operatorname{ReLU}'(x)"), values["relu"], "$x > 0$" if point > 0 else "$x < 0$"),
        *_gelu_steps(point, k, values["gelu"]),
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
            name: AnswerPart(name, Tex(LABELS[name]), values[name], decimals=4 if name == "gelu" else None,
                             shown=_gelu_shown(point, k) if name == "gelu" else None)
            for name in ACTIVATIONS
        },
        mistakes=_mistakes(point, sig, th, values),
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
