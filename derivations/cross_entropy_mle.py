"""Maximum likelihood for a categorical next-token distribution, by a Lagrange multiplier.

The MLE is the empirical frequency ``p̂_i = c_i / N``; the average negative log-likelihood at it is the
cross-entropy of the empirical distribution with itself, that is its entropy.
"""


import mpmath
import sympy
from sympy import Rational, log, symbols

from derivbook.authoring import AnswerPart, Math, Param, Problem, Step, Tex, derive_once, prove_equal

ID = "cross-entropy-mle"
TITLE = "Cross-entropy as maximum likelihood"
TOPIC = "probability"
PARAMS = (
    Param("k", int, 4, "number of distinct next tokens", low=2, high=6),
    Param("max_count", int, 9, "largest count of one token", low=2, high=50),
)

VOCABULARY = ("cat", "dog", "sat", "mat", "ran", "sun", "hat", "cup", "red", "big")


@derive_once
def derive(size: int) -> dict:
    """Stationary point of the Lagrangian for ``size`` categories, solved by SymPy, and the NLL there."""
    counts = symbols(f"c1:{size + 1}", positive=True)
    probs = symbols(f"p1:{size + 1}", positive=True)
    lam = symbols("lambda", positive=True)
    loglik = sum(c * log(p) for c, p in zip(counts, probs))
    lagrangian = loglik - lam * (sum(probs) - 1)
    equations = [sympy.diff(lagrangian, p) for p in probs] + [sympy.diff(lagrangian, lam)]
    (solution,) = sympy.solve(equations, [*probs, lam], dict=True)
    total = sum(counts)
    for c, p in zip(counts, probs):
        prove_equal(solution[p], c / total, "categorical MLE")
    nll = -loglik.subs(solution) / total
    entropy = -sum(solution[p] * log(solution[p]) for p in probs)
    prove_equal(sympy.expand_log(nll, force=True), sympy.expand_log(entropy, force=True), "NLL at the MLE")
    return {
        "counts": counts,
        "probs": probs,
        "lam": lam,
        "lagrangian": lagrangian,
        "stationarity": equations[0],
        "solution": solution,
        "nll": nll,
    }


def generate(params: dict, dice) -> Problem:
    """Counts of ``k`` next tokens seen after one context word."""
    size, high = params["k"], params["max_count"]
    while True:
        counts = [dice.integer(1, high) for _ in range(size)]
        if len(set(counts)) > 1:
            break
    words = dice.sample(VOCABULARY, size)
    general = derive(size)
    values = dict(zip(general["counts"], counts))
    mle = [general["solution"][p].xreplace(values) for p in general["probs"]]
    total = sum(counts)
    nll = sympy.Add(*[Rational(c, total) * log(Rational(total, c)) for c in counts])
    prove_equal(sympy.expand_log(nll, force=True), sympy.expand_log(general["nll"].xreplace(values), force=True), "NLL")
    table = ", ".join(f"“{w}” {c} times" for w, c in zip(words, counts))
    steps = [
        "The general result",
        Step(Tex(r"\mathcal{L}(p, \lambda)"), general["lagrangian"], r"log-likelihood plus a multiplier for $\sum_i p_i = 1$"),
        Step(Tex(r"\frac{\partial \mathcal{L}}{\partial p_1}"), general["stationarity"], r"set to zero: $p_i = c_i/\lambda$"),
        Step(Tex(r"\lambda"), general["solution"][general["lam"]], r"sum the $p_i$, use the constraint (SymPy solves)"),
        Step(Tex(r"\hat p_i"), Tex(r"\frac{c_i}{N}"), "the empirical frequencies"),
        Step(Tex(r"-\tfrac{1}{N}\log L(\hat p)"), Tex(r"-\sum_i \hat p_i \ln \hat p_i = H(\hat p, \hat p) = H(\hat p)"), "divide the log-likelihood by $N$"),
        "Your numbers",
        Step(Tex("N"), total, "total count"),
        Step(Tex(r"\hat p"), mle, "each count divided by $N$"),
        Step(Tex(r"\text{NLL}"), nll, r"$\sum_i \hat p_i \ln(1/\hat p_i)$"),
    ]
    return Problem(
        inputs={"counts": counts},
        statement=[
            (f"In a small corpus the word “the” is followed by {table}. ",
             "Model the next token after “the” as a categorical distribution ",
             Math(Tex(r"p = (p_1, \dots, p_k)")), ", listed in that order."),
        ],
        tasks=[
            ("Find the maximum-likelihood estimate ", Math(Tex(r"\hat p")), " with a Lagrange multiplier."),
            ("Compute the average negative log-likelihood per token at ", Math(Tex(r"\hat p")),
             " and say which cross-entropy it equals."),
        ],
        steps=steps,
        answer={
            "mle": AnswerPart("mle", Tex(r"\hat p"), mle),
            "nll": AnswerPart("nll", Tex(r"\text{NLL}"), nll, decimals=4),
        },
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """Eliminate the constraint (p_k = 1 − Σ others) and zero the gradient of the log-likelihood.

    Each partial derivative ``c_i/q_i − c_k/(1 − Σq)`` vanishes exactly when its numerator does, and the
    numerators are linear in q: one linear solve, no Lagrange multiplier.
    """
    counts = inputs["counts"]
    free = symbols(f"q1:{len(counts)}", positive=True)
    probs = [*free, 1 - sum(free)]
    loglik = sum(c * log(p) for c, p in zip(counts, probs))
    numerators = [sympy.numer(sympy.together(sympy.diff(loglik, q))) for q in free]
    (values,) = sympy.linsolve(numerators, free)
    solution = dict(zip(free, values))
    mle = [sympy.sympify(p).xreplace(solution) for p in probs]
    return {"mle": mle, "nll": -loglik.xreplace(solution) / sum(counts)}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """Find the multiplier numerically (bracketed root of Σ c_i/λ = 1); average −ln p̂ over every token."""
    counts = inputs["counts"]
    total = sum(counts)
    lam = mpmath.findroot(lambda t: mpmath.fsum(c / t for c in counts) - 1, (min(counts), 2 * total), solver="illinois")
    mle = [c / lam for c in counts]
    tokens = [index for index, c in enumerate(counts) for _ in range(c)]
    nll = -mpmath.fsum(mpmath.log(mle[t]) for t in tokens) / total
    return {"mle": mle, "nll": nll}
