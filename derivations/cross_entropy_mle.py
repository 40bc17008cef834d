"""Maximum likelihood for a categorical next-token distribution, by a Lagrange multiplier.

The MLE is the empirical frequency ``p̂_i = c_i / N``. For any model p the average negative
log-likelihood per token is the cross-entropy ``H(p̂, p)`` of the empirical distribution and the model,
which is ``H(p̂) + KL(p̂‖p) ≥ H(p̂)``: at the MLE it is the entropy ``H(p̂)``.
"""


import mpmath
import sympy
from sympy import Rational, log, symbols

from derivbook.authoring import AnswerPart, Math, Mistake, Param, Problem, Step, Tex, derive_once, prove_equal

ID = "cross-entropy-mle"
TITLE = "Cross-entropy as maximum likelihood"
TOPIC = "probability"
PARAMS = (
    Param("k", int, 4, "number of distinct next tokens", low=2, high=6),
    Param("max_count", int, 9, "largest count of one token", low=3, high=50),
)

VOCABULARY = ("cat", "dog", "sat", "mat", "ran", "sun", "hat", "cup", "red", "big")


@derive_once
def derive(size: int) -> dict:
    """Stationary point of the Lagrangian for ``size`` categories, solved by SymPy; the average NLL of any
    model as a cross-entropy, its split into entropy plus KL divergence, and its value at the MLE."""
    counts = symbols(f"c1:{size + 1}", positive=True)
    probs = symbols(f"p1:{size + 1}", positive=True)
    lam = symbols("lambda", positive=True)
    loglik = sum(c * log(p) for c, p in zip(counts, probs))
    lagrangian = loglik - lam * (sum(probs) - 1)
    equations = [sympy.diff(lagrangian, p) for p in probs] + [sympy.diff(lagrangian, lam)]
    for c, p, equation in zip(counts, probs, equations):
        prove_equal(equation, c / p - lam, "∂𝓛/∂p_i = c_i/p_i − λ")
    (solution,) = sympy.solve(equations, [*probs, lam], dict=True)
    total = sum(counts)
    prove_equal(solution[lam], total, "λ = N")
    for c, p in zip(counts, probs):
        prove_equal(solution[p], c / total, "categorical MLE")
    empirical = [c / total for c in counts]
    nll = -loglik / total  # of any model p
    cross = -sum(e * log(p) for e, p in zip(empirical, probs))
    prove_equal(nll, cross, "average NLL = H(p̂, p)")
    entropy = -sum(e * log(e) for e in empirical)
    kl = sum(e * log(e / p) for e, p in zip(empirical, probs))
    prove_equal(sympy.expand_log(cross, force=True), sympy.expand_log(entropy + kl, force=True), "H(p̂, p) = H(p̂) + KL(p̂‖p)")
    at_mle = nll.subs(solution)
    prove_equal(sympy.expand_log(at_mle, force=True), sympy.expand_log(entropy, force=True), "NLL at the MLE = H(p̂)")
    return {"counts": counts, "probs": probs, "solution": solution, "nll": at_mle}


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


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
    seen = [f"“{w}” {_times(c)}" for w, c in zip(words, counts)]
    table = ", ".join(seen[:-1]) + " and " + seen[-1]
    steps = [
        "The general result",
        Step(Tex(r"\mathcal{L}(p, \lambda)"), Tex(r"\sum_i c_i \ln p_i - \lambda\Big(\sum_i p_i - 1\Big)"), r"$\ln L(p)$ plus a multiplier for $\sum_i p_i = 1$"),
        Step(Tex(r"\frac{\partial \mathcal{L}}{\partial p_i}"), Tex(r"\frac{c_i}{p_i} - \lambda = 0"), r"stationary point: $p_i = c_i/\lambda$"),
        Step(Tex(r"\lambda"), Tex(r"\sum_i c_i = N"), r"sum $p_i = c_i/\lambda$ over $i$; the constraint gives 1"),
        Step(Tex(r"\hat p_i"), Tex(r"\frac{c_i}{N}"), "the empirical frequencies"),
        Step(Tex(r"-\tfrac{1}{N}\ln L(p)"), Tex(r"-\sum_i \tfrac{c_i}{N} \ln p_i = -\sum_i \hat p_i \ln p_i = H(\hat p, p)"),
             r"any model $p$: token $i$ occurs $c_i$ times"),
        Step(Tex(r"H(\hat p, p)"), Tex(r"H(\hat p) + \mathrm{KL}(\hat p \,\Vert\, p) \ge H(\hat p)"), r"$\ln\frac{1}{p_i} = \ln\frac{1}{\hat p_i} + \ln\frac{\hat p_i}{p_i}$; Gibbs"),
        Step(Tex(r"-\tfrac{1}{N}\ln L(\hat p)"), Tex(r"H(\hat p, \hat p) = H(\hat p) = -\sum_i \hat p_i \ln \hat p_i"), r"at the MLE the KL term is 0"),
        "Your numbers",
        Step(Tex("N"), total, "total count"),
        Step(Tex(r"\hat p"), mle, "each count divided by $N$"),
        Step(Tex(r"H(\hat p)"), nll, r"$\sum_i \hat p_i \ln(1/\hat p_i)$"),
    ]
    return Problem(
        inputs={"counts": counts},
        statement=[
            (f"In a small corpus the word “the” is followed by {table}. ",
             "Model the next token after “the” as a categorical distribution ",
             Math(Tex(rf"p = (p_1, \dots, p_{size})")), ", tokens in that order: token ", Math(Tex("i")),
             " was seen ", Math(Tex("c_i")), " times out of ", Math(Tex(r"N = \sum_i c_i")),
             ", and the likelihood of the corpus is ", Math(Tex(r"L(p) = \prod_i p_i^{c_i}")), "."),
        ],
        tasks=[
            ("Find the maximum-likelihood estimate ", Math(Tex(r"\hat p")), " with a Lagrange multiplier."),
            ("Show that for any model ", Math(Tex("p")), " the average negative log-likelihood per token, ",
             Math(Tex(r"-\tfrac{1}{N}\ln L(p)")), ", is a cross-entropy, and say which. Compute it at ",
             Math(Tex(r"\hat p")), "."),
        ],
        steps=steps,
        answer={
            "mle": AnswerPart("mle", Tex(r"\hat p"), mle),
            "nll": AnswerPart("nll", Tex(r"H(\hat p, \hat p)"), nll, decimals=4),
        },
        mistakes=[
            Mistake("mle", "counts-not-normalised", [sympy.Integer(c) for c in counts],
                    r"A probability vector sums to 1: the constraint gives $\lambda = N$, so $\hat p_i = c_i/N$, not $c_i$."),
            Mistake("nll", "not-averaged", total * nll,
                    r"This is the whole negative log-likelihood $-\ln L(\hat p)$; the question asks for it per token, divided by $N$."),
            Mistake("nll", "bits-not-nats", nll / log(2),
                    r"The likelihood uses natural logarithms: $\log_2$ gives bits, which differ by the factor $\ln 2$."),
            Mistake("nll", "no-minus-sign", -nll,
                    r"$\ln \hat p_i < 0$, so the negative log-likelihood $-\sum_i \hat p_i \ln \hat p_i$ is positive."),
        ],
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """Eliminate the constraint (p_k = 1 − Σ others) and zero the gradient of the log-likelihood.

    Each partial derivative ``c_i/q_i − c_k/(1 − Σq)`` vanishes exactly when its numerator does, and the
    numerators are linear in q: one linear solve, no Lagrange multiplier.
    """
    counts = inputs["counts"]
    symbolic, free, probs, loglik, numerators = _stationarity(len(counts))
    values = dict(zip(symbolic, counts))
    (solved,) = sympy.linsolve([n.xreplace(values) for n in numerators], free)
    solution = dict(zip(free, solved))
    mle = [sympy.sympify(p).xreplace(solution) for p in probs]
    return {"mle": mle, "nll": -loglik.xreplace(values).xreplace(solution) / sum(counts)}


@derive_once
def _stationarity(size: int) -> tuple:
    """The log-likelihood Σ cᵢ ln pᵢ of symbolic counts with p_k = 1 − Σ others, and the numerators of its
    partial derivatives, differentiated once for ``size`` tokens."""
    counts = symbols(f"c1:{size + 1}", positive=True)
    free = symbols(f"q1:{size}", positive=True)
    probs = [*free, 1 - sum(free)]
    loglik = sum(c * log(p) for c, p in zip(counts, probs))
    numerators = [sympy.numer(sympy.together(sympy.diff(loglik, q))) for q in free]
    return counts, free, probs, loglik, numerators


def numeric_answer(inputs: dict, params: dict) -> dict:
    """Find the multiplier numerically (bracketed root of Σ c_i/λ = 1); average −ln p̂ over every token."""
    counts = inputs["counts"]
    total = sum(counts)
    lam = mpmath.findroot(lambda t: mpmath.fsum(c / t for c in counts) - 1, (min(counts), 2 * total), solver="illinois")
    mle = [c / lam for c in counts]
    tokens = [index for index, c in enumerate(counts) for _ in range(c)]
    nll = -mpmath.fsum(mpmath.log(mle[t]) for t in tokens) / total
    return {"mle": mle, "nll": nll}
