"""Sampling temperature: ``softmax(z/T)`` and its entropy, and the limits T → 0⁺ and T → ∞.

The logits are ``2 ln k_i``, so at T = ½, 1 and 2 the probabilities are proportional to ``k_i⁴``, ``k_i²``
and ``k_i``: all fractions. SymPy takes the limits after shifting the largest logit to 0.
"""


import mpmath
import sympy
from sympy import Rational, exp, limit, log, oo, symbols

from derivbook.authoring import (
    AnswerPart,
    Figure,
    Math,
    Param,
    Problem,
    Step,
    Tex,
    derive_once,
    mp_softmax,
    mp_vector,
    prove_equal,
    to_mp,
)

ID = "temperature-sampling"
TITLE = "Temperature and the shape of the sampling distribution"
TOPIC = "probability"
PARAMS = (Param("n", int, 4, "vocabulary size", low=3, high=5),)

TEMPERATURES = (Rational(1, 2), Rational(1), Rational(2))
T = symbols("T", positive=True)
gap = symbols("c", positive=True)


@derive_once
def derive() -> dict:
    """For a top logit ahead by c > 0: its probability tends to 1 as T → 0⁺ and to ½ (uniform) as T → ∞."""
    top = 1 / (1 + exp(-gap / T))
    prove_equal(limit(top, T, 0, "+"), 1, "T → 0⁺ puts all mass on the argmax")
    prove_equal(limit(top, T, oo), Rational(1, 2), "T → ∞ gives the uniform distribution")
    return {"top": top}


def _distribution(weights: list, temperature) -> list:
    powered = [sympy.Integer(w) ** (2 / temperature) for w in weights]  # e^{2 ln k / T} = k^{2/T}
    return [p / sum(powered) for p in powered]


def _entropy(probs: list):
    return sympy.Add(*[p * log(1 / p) for p in probs if p != 0])


def generate(params: dict, dice) -> Problem:
    """Logits 2 ln k_i with a unique largest k_i."""
    derive()
    n = params["n"]
    while True:
        weights = [dice.integer(1, 4) for _ in range(n)]
        if weights.count(max(weights)) == 1 and len(set(weights)) > 2:
            break
    logits = [2 * log(w) for w in weights]
    probs = [_distribution(weights, temperature) for temperature in TEMPERATURES]
    entropies = [_entropy(p) for p in probs]
    # the limits proven in derive(): every gap to the largest logit is c > 0, so e^{-c/T} → 0 or → 1
    top = logits.index(max(logits))
    cold = [sympy.Integer(1 if i == top else 0) for i in range(n)]
    hot = [sympy.Rational(1, n)] * n
    figure = Figure("bars", {
        "groups": [f"$T = {sympy.latex(t)}$" for t in TEMPERATURES],
        "series": [[(i + 1, float(p[i])) for i in range(n)] for p in probs],
        "xlabel": "token $i$", "ylabel": "probability",
    })
    steps = [
        "The general result",
        Step(Tex(r"p_i(T)"), Tex(r"\frac{e^{(z_i - z_{\max})/T}}{\sum_j e^{(z_j - z_{\max})/T}}"), "shift by the largest logit (no change)"),
        Step(Tex(r"\lim_{T\to 0^+} \frac{1}{1 + e^{-c/T}}"), 1, "SymPy, gap $c > 0$: the argmax takes everything"),
        Step(Tex(r"\lim_{T\to \infty} \frac{1}{1 + e^{-c/T}}"), Rational(1, 2), "SymPy: every gap vanishes, uniform"),
        "Your numbers",
        *[Step(Tex(rf"p(T = {sympy.latex(t)})"), p, f"proportional to $k_i^{{{sympy.latex(2 / t)}}}$") for t, p in zip(TEMPERATURES, probs)],
        *[Step(Tex(rf"H(T = {sympy.latex(t)})"), h, "$\\sum_i p_i \\ln(1/p_i)$") for t, h in zip(TEMPERATURES, entropies)],
        Step(Tex(r"p(T \to 0^+)"), cold, "the limit above for each gap: one-hot on the largest logit"),
        Step(Tex(r"p(T \to \infty)"), hot, "every gap vanishes: uniform"),
    ]
    return Problem(
        inputs={"z": logits, "T": list(TEMPERATURES)},
        statement=[("A language model's next-token logits are ", Math((Tex("z"), logits)), ". Sampling uses ",
                    Math(Tex(r"p = \operatorname{softmax}(z/T)")), ".")],
        tasks=[
            ("Compute ", Math(Tex("p")), " and its entropy ", Math(Tex(r"H(p) = -\sum_i p_i \ln p_i")), " for ",
             Math(Tex(r"T = \tfrac12, 1, 2")), "."),
            ("What does ", Math(Tex("p")), " become as ", Math(Tex(r"T \to 0^+")), " and as ", Math(Tex(r"T \to \infty")), "?"),
        ],
        steps=steps,
        answer={
            "probs": AnswerPart("probs", Tex("p"), probs, items=tuple(Tex(rf"p(T = {sympy.latex(t)})") for t in TEMPERATURES)),
            "entropy": AnswerPart("entropy", Tex("H"), entropies, decimals=4, items=tuple(Tex(rf"H(T = {sympy.latex(t)})") for t in TEMPERATURES)),
        },
        figure=figure,
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """Exponentiate z/T directly and normalise; entropy with logarithms expanded."""
    probs = []
    for temperature in inputs["T"]:
        exps = [exp(z / temperature) for z in inputs["z"]]
        probs.append([e / sum(exps) for e in exps])
    entropy = [sympy.expand_log(-sum(p * log(p) for p in row), force=True) for row in probs]
    return {"probs": probs, "entropy": entropy}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """Softmax and entropy in mpmath."""
    logits = mp_vector(inputs["z"])
    probs = [mp_softmax([z / to_mp(t) for z in logits]) for t in inputs["T"]]
    return {"probs": probs, "entropy": [-mpmath.fsum(p * mpmath.log(p) for p in row) for row in probs]}
