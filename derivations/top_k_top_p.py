"""Top-k and nucleus (top-p) filtering of a next-token distribution ``q = softmax(z)``, renormalised.

SymPy proves that renormalising the softmax over a kept set is the softmax with the other logits sent
to −∞. The symbol p is the nucleus threshold only; the distribution is q. The logits are logarithms of distinct integers, so every probability is a fraction; instances
where a cumulative probability equals p exactly (where float and exact code could disagree) are redrawn.
"""


import mpmath
import sympy
from sympy import Rational, exp, limit, log, oo, symbols

from derivbook.authoring import (
    AnswerPart,
    Math,
    Mistake,
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

ID = "top-k-top-p"
TITLE = "Top-k and nucleus (top-p) sampling"
TOPIC = "probability"
PARAMS = (Param("n", int, 5, "vocabulary size", low=4, high=6),)

P_CHOICES = (Rational(1, 2), Rational(3, 5), Rational(7, 10), Rational(3, 4), Rational(4, 5), Rational(9, 10))


@derive_once
def derive() -> dict:
    """softmax over {1, 2} equals the limit of the full softmax as z₃ → −∞."""
    z1, z2, z3 = symbols("z1 z2 z3", real=True)
    full = exp(z1) / (exp(z1) + exp(z2) + exp(z3))
    prove_equal(limit(full, z3, -oo), exp(z1) / (exp(z1) + exp(z2)), "masking a logit to −∞ renormalises")
    return {}


def _kept_top_k(probs: list, k: int) -> set:
    order = sorted(range(len(probs)), key=lambda i: probs[i], reverse=True)
    return set(order[:k])


def _kept_top_p(probs: list, p, crossing: bool = True) -> set:
    """The nucleus: most probable tokens first, until their total reaches ``p`` (the token that reaches it
    included; ``crossing=False`` leaves it out, a common mistake)."""
    order = sorted(range(len(probs)), key=lambda i: probs[i], reverse=True)
    kept, mass = set(), 0
    for i in order:
        mass += probs[i]
        if mass >= p:
            return kept | {i} if crossing else kept
        kept.add(i)
    return kept


def _renormalised(probs: list, kept: set) -> list:
    total = sum(probs[i] for i in kept)
    return [probs[i] / total if i in kept else sympy.Integer(0) for i in range(len(probs))]


def generate(params: dict, dice) -> Problem:
    """Distinct integer weights, so no ties; p never equal to a cumulative sum."""
    derive()
    n = params["n"]
    for _ in range(500):
        weights = dice.sample(range(1, 10), n)
        total = sum(weights)
        probs = [Rational(w, total) for w in weights]
        k = dice.integer(2, n - 1)
        p = dice.choice(P_CHOICES)
        ranked = sorted(probs, reverse=True)
        sums = [sum(ranked[: i + 1]) for i in range(n)]
        if p not in sums and len(_kept_top_p(probs, p)) not in (1, n):
            break
    else:
        raise RuntimeError("no tie-free instance in 500 draws")
    logits = [log(w) for w in weights]
    top_k = _renormalised(probs, _kept_top_k(probs, k))
    kept_p = _kept_top_p(probs, p)
    top_p = _renormalised(probs, kept_p)
    ranked = sorted(range(n), key=lambda i: probs[i], reverse=True)
    cumulative = [sum(probs[j] for j in ranked[: i + 1]) for i in range(n)]
    steps = [
        "The general result",
        Step(Tex(r"\lim_{z_3 \to -\infty} \frac{e^{z_1}}{e^{z_1} + e^{z_2} + e^{z_3}}"), Tex(r"\frac{e^{z_1}}{e^{z_1} + e^{z_2}}"),
             r"$e^{z_3} \to 0$: dropping a token renormalises the rest"),
        "Your numbers",
        Step(Tex(r"q = \operatorname{softmax}(z)"), probs, f"$e^{{z_i}}$ over their sum, {total}"),
        Step(Tex(r"\text{ranked}"), [i + 1 for i in ranked], "tokens by probability, largest first"),
        Step(Tex(r"\text{cumulative}"), cumulative, f"first sum $\\ge p = {sympy.latex(p)}$ after {len(kept_p)} tokens"),
        Step(Tex(rf"q^{{\text{{top-}}{k}}}"), top_k, f"keep the {k} largest, divide by their sum"),
        Step(Tex(r"q^{\text{top-}p}"), top_p, f"keep the first {len(kept_p)}, divide by their sum"),
    ]
    return Problem(
        inputs={"z": logits, "k": k, "p": p},
        statement=[("A model's next-token logits over ", str(n), " tokens are ", Math((Tex("z"), logits)),
                    "; its distribution is ", Math(Tex(r"q = \operatorname{softmax}(z)")), ".")],
        tasks=[
            ("Give the distribution ", Math(Tex(r"q^{\text{top-}k}")), " after top-", Math((Tex("k"), k)),
             " filtering: keep the ", Math(Tex("k")), " most probable tokens, renormalise, zeros elsewhere."),
            ("Give the distribution ", Math(Tex(r"q^{\text{top-}p}")), " after nucleus (top-", Math(Tex("p")), ") filtering with threshold ",
             Math((Tex("p"), p)), ": keep the smallest set of most probable tokens whose total probability is at least ",
             Math(Tex("p")), ", renormalise, zeros elsewhere."),
        ],
        steps=steps,
        answer={"top_k": AnswerPart("top_k", Tex(r"q^{\text{top-}k}"), top_k), "top_p": AnswerPart("top_p", Tex(r"q^{\text{top-}p}"), top_p)},
        mistakes=[
            Mistake("top_k", "not-renormalised", [probs[i] if v else v for i, v in enumerate(top_k)],
                    r"After filtering, divide the kept probabilities by their sum so that they add up to 1 again."),
            Mistake("top_p", "crossing-token-left-out", _renormalised(probs, _kept_top_p(probs, p, crossing=False)),
                    r"The nucleus keeps tokens until their total first reaches $p$, and the token that reaches it is kept: without it the total is still below $p$."),
            Mistake("top_p", "not-renormalised", [probs[i] if v else v for i, v in enumerate(top_p)],
                    r"After filtering, divide the kept probabilities by their sum so that they add up to 1 again."),
        ],
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """Mask the dropped logits to −∞ and take the softmax again."""
    z, k, p = inputs["z"], inputs["k"], sympy.sympify(inputs["p"])
    probs = [exp(v) / sum(exp(w) for w in z) for v in z]

    def masked(kept):
        logits = [v if i in kept else -oo for i, v in enumerate(z)]
        return [exp(v) / sum(exp(w) for w in logits) for v in logits]

    return {"top_k": masked(_kept_top_k(probs, k)), "top_p": masked(_kept_top_p(probs, p))}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """Sort and accumulate in mpmath floats."""
    probs = mp_softmax(mp_vector(inputs["z"]))
    order = sorted(range(len(probs)), key=lambda i: probs[i], reverse=True)
    limit_p, mass, nucleus = to_mp(inputs["p"]), mpmath.mpf(0), []
    for i in order:
        nucleus.append(i)
        mass += probs[i]
        if mass >= limit_p:
            break

    def renorm(kept):
        total = mpmath.fsum(probs[i] for i in kept)
        return [probs[i] / total if i in kept else mpmath.mpf(0) for i in range(len(probs))]

    return {"top_k": renorm(set(order[: inputs["k"]])), "top_p": renorm(set(nucleus))}
