"""Sampling temperature: ``softmax(z/T)`` and its entropy, and the limits T → 0⁺ and T → ∞.

The logits are ``2 ln w_i``, so at T = ½, 1 and 2 the probabilities are proportional to ``w_i⁴``, ``w_i²``
and ``w_i``: all fractions. The limits are derived for any n: after shifting the largest logit to 0,
``p_i(T) = e^{−c_i/T} / Σ_j e^{−c_j/T}`` with gaps ``c_i ≥ 0``, zero only at the (unique) argmax; SymPy
takes both limits with the gaps as symbols.
"""


import mpmath
import sympy
from sympy import Rational, exp, limit, log, oo, symbols

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
    mp_vector,
    prime_logs,
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
def derive(n: int) -> dict:
    """Both limits of softmax(z/T) over n tokens, for symbolic gaps c₂, …, c_n > 0 below the largest logit.

    Token 1 is the argmax (gap 0), token 2 stands for any other: its gap is as free as the rest.
    """
    prove_equal(limit(exp(-gap / T), T, 0, "+"), 0, "e^{−c/T} → 0 as T → 0⁺ (c > 0)")
    prove_equal(limit(exp(-gap / T), T, oo), 1, "e^{−c/T} → 1 as T → ∞")
    gaps = symbols(f"c2:{n + 1}", positive=True)
    denominator = 1 + sum(exp(-c / T) for c in gaps)
    top, other = 1 / denominator, exp(-gaps[0] / T) / denominator
    cold = {"top": limit(top, T, 0, "+"), "other": limit(other, T, 0, "+")}
    hot = {"top": limit(top, T, oo), "other": limit(other, T, oo)}
    prove_equal(cold["top"], 1, "T → 0⁺: the argmax takes all the mass")
    prove_equal(cold["other"], 0, "T → 0⁺: every other token gets none")
    prove_equal(hot["top"], Rational(1, n), "T → ∞: uniform")
    prove_equal(hot["other"], Rational(1, n), "T → ∞: uniform")
    return {"cold": cold, "hot": hot}


def _distribution(weights: list, temperature) -> list:
    powered = [sympy.Integer(w) ** (2 / temperature) for w in weights]  # e^{2 ln k / T} = k^{2/T}
    return [p / sum(powered) for p in powered]


def _entropy(probs: list):
    return sympy.Add(*[p * log(1 / p) for p in probs if p != 0])


def generate(params: dict, dice) -> Problem:
    """Logits 2 ln w_i with a unique largest w_i."""
    n = params["n"]
    general = derive(n)
    while True:
        weights = [dice.integer(1, 4) for _ in range(n)]
        if weights.count(max(weights)) == 1 and len(set(weights)) > 2:
            break
    logits = [2 * log(w) for w in weights]
    probs = [_distribution(weights, temperature) for temperature in TEMPERATURES]
    entropies = [_entropy(p) for p in probs]
    top = weights.index(max(weights))
    cold = [general["cold"]["top" if i == top else "other"] for i in range(n)]
    hot = [general["hot"]["top" if i == top else "other"] for i in range(n)]
    figure = Figure("bars", {
        "groups": [f"$T = {sympy.latex(t)}$" for t in TEMPERATURES],
        "series": [[(i + 1, float(p[i])) for i in range(n)] for p in probs],
        "xlabel": "token $i$", "ylabel": "probability",
    })
    powers = {Rational(1, 2): "(e^{z_i})^2", Rational(1): "e^{z_i}", Rational(2): r"(e^{z_i})^{1/2}"}
    steps = [
        "The general result",
        Step(Tex(r"p_i(T)"), Tex(r"\frac{e^{(z_i - z_{\max})/T}}{\sum_j e^{(z_j - z_{\max})/T}} = \frac{e^{-c_i/T}}{\sum_j e^{-c_j/T}}"),
             r"shift every logit by $z_{\max}$; gaps $c_i = z_{\max} - z_i$"),
        Step(Tex(r"c_i"), 0, r"equal to 0 only at the argmax, which is unique", Tex(r"\ge")),
        Step(Tex(r"\lim_{T\to 0^+} e^{-c/T}"), 0, r"$c > 0$: $-c/T \to -\infty$"),
        Step(Tex(r"\lim_{T\to \infty} e^{-c/T}"), 1, r"$-c/T \to 0$ and $e^x$ is continuous"),
        Step(Tex(r"\lim_{T\to 0^+} p_i(T)"), Tex(r"\begin{cases} 1 & c_i = 0 \\ 0 & c_i > 0 \end{cases}"),
             r"the sum $\to 1$: only the argmax's term $e^0$ survives"),
        Step(Tex(r"\lim_{T\to \infty} p_i(T)"), Tex(r"\frac{1}{n}"), r"each of the $n$ terms $\to 1$, for every $n$"),
        "Your numbers",
        Step(Tex(r"e^{z}"), [w * w for w in weights], r"$e^{2 \ln a} = a^2$"),
        *[Step(Tex(rf"p(T = {sympy.latex(t)})"), p, f"$e^{{z_i/T}} = {powers[t]}$, normalised") for t, p in zip(TEMPERATURES, probs)],
        *[Step(Tex(rf"H(T = {sympy.latex(t)})"), h, "$\\sum_i p_i \\ln(1/p_i)$") for t, h in zip(TEMPERATURES, entropies)],
        Step(Tex(r"p(T \to 0^+)"), cold, f"one-hot on token {top + 1}, the largest logit"),
        Step(Tex(r"p(T \to \infty)"), hot, f"uniform over the $n = {n}$ tokens"),
    ]
    limits_items = (Tex(r"p(T \to 0^+)"), Tex(r"p(T \to \infty)"))
    return Problem(
        inputs={"z": logits, "T": list(TEMPERATURES)},
        statement=[("A language model's next-token logits are ", Math((Tex("z"), logits)), ". Sampling uses ",
                    Math(Tex(r"p = \operatorname{softmax}(z/T)")), ".")],
        tasks=[
            ("Compute ", Math(Tex("p")), " and its entropy ", Math(Tex(r"H(p) = -\sum_i p_i \ln p_i")), " for ",
             Math(Tex(r"T = \tfrac12, 1, 2")), "."),
            ("What does ", Math(Tex("p")), " become as ", Math(Tex(r"T \to 0^+")), " and as ", Math(Tex(r"T \to \infty")),
             "? Prove it for a vocabulary of any size ", Math(Tex("n")), " whose largest logit is unique."),
        ],
        steps=steps,
        answer={
            "probs": AnswerPart("probs", Tex("p"), probs, items=tuple(Tex(rf"p(T = {sympy.latex(t)})") for t in TEMPERATURES)),
            "entropy": AnswerPart("entropy", Tex("H"), entropies, decimals=4, items=tuple(Tex(rf"H(T = {sympy.latex(t)})") for t in TEMPERATURES)),
            "limits": AnswerPart("limits", Tex(r"p"), [cold, hot], items=limits_items),
        },
        figure=figure,
        mistakes=_mistakes(weights, probs, entropies, cold, hot),
    )


def _mistakes(weights: list, probs: list, entropies: list, cold: list, hot: list) -> list:
    """Typical wrong answers, each computed from the same logits."""
    multiplied = [_distribution(weights, 1 / t) for t in TEMPERATURES]  # softmax(z·T)
    return [
        Mistake("probs", "temperature-multiplied", multiplied,
                r"Temperature divides the logits, $p = \operatorname{softmax}(z/T)$; multiplying, $z \cdot T$, swaps the roles of $T = \tfrac12$ and $T = 2$."),
        Mistake("entropy", "temperature-multiplied", [_entropy(p) for p in multiplied],
                r"The distributions were computed from $z \cdot T$ instead of $z/T$: a low temperature sharpens, it does not flatten."),
        Mistake("entropy", "no-minus-sign", [-h for h in entropies],
                r"$H(p) = -\sum_i p_i \ln p_i$: each $\ln p_i \le 0$, so the minus sign makes the entropy nonnegative."),
        Mistake("entropy", "bits-not-nats", [h / log(2) for h in entropies],
                r"The question uses natural logarithms: divide by $\ln 2$ only to convert nats to bits."),
        Mistake("limits", "limits-swapped", [hot, cold],
                r"A cold temperature ($T \to 0^+$) magnifies every gap $c_i/T$ and gives the one-hot argmax; a hot one ($T \to \infty$) erases the gaps and gives the uniform distribution."),
    ]


def exact_answer(inputs: dict, params: dict) -> dict:
    """Exponentiate z/T directly and normalise; entropy with logarithms expanded; the limits term by term on
    this instance's own logits shifted by the largest: each e^{(z_i − z_max)/T} tends to 1 at the largest
    logit and to 0 below it as T → 0⁺, and to 1 everywhere as T → ∞ (the gaps' signs decide, exactly)."""
    probs = []
    for temperature in inputs["T"]:
        exps = [exp(z / temperature) for z in inputs["z"]]
        probs.append([e / sum(exps) for e in exps])
    entropy = [sympy.expand_log(-sum(p * log(p) for p in row), force=True) for row in probs]
    largest = max(inputs["z"], key=lambda v: float(v))
    # the logits are logarithms of rationals: written over primes, a gap is zero exactly when every
    # coefficient is (unique factorisation), so expand decides it
    cold = [sympy.Integer(1) if sympy.expand(prime_logs(z - largest)) == 0 else sympy.Integer(0) for z in inputs["z"]]
    limits = [[c / sum(cold) for c in cold], [sympy.Rational(1, len(inputs["z"]))] * len(inputs["z"])]
    return {"probs": probs, "entropy": entropy, "limits": limits}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """Softmax and entropy in mpmath; the limits as softmax(z/T) at T = 10⁻³ and T = 10³⁰, where they agree
    with the limits far inside the checks' tolerance (the smallest gap is 2 ln(4/3))."""
    logits = mp_vector(inputs["z"])
    probs = [mp_softmax([z / to_mp(t) for z in logits]) for t in inputs["T"]]
    extremes = [mp_softmax([z / mpmath.mpf(t) for z in logits]) for t in ("1e-3", "1e30")]
    return {"probs": probs, "entropy": [-mpmath.fsum(p * mpmath.log(p) for p in row) for row in probs], "limits": extremes}
