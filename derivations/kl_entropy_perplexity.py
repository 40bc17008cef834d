"""Entropy, cross-entropy, KL divergence and perplexity of two next-token distributions.

Both distributions are dyadic, so every quantity is a rational number of bits: in nats a rational
multiple of ln 2, and the perplexity a power of 2.
"""


import mpmath
import sympy
from sympy import Rational, exp, log, symbols

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

ID = "kl-entropy-perplexity"
TITLE = "Entropy, cross-entropy, KL divergence and perplexity"
TOPIC = "probability"
PARAMS = (Param("n", int, 4, "vocabulary size", choices=(3, 4)),)

DYADIC = {
    3: [(Rational(1, 2), Rational(1, 4), Rational(1, 4)), (Rational(1, 2), Rational(1, 2), 0)],
    4: [(Rational(1, 2), Rational(1, 4), Rational(1, 8), Rational(1, 8)), (Rational(1, 4),) * 4,
        (Rational(1, 2), Rational(1, 4), Rational(1, 4), 0)],
}


@derive_once
def derive() -> dict:
    """KL(p‖q) = H(p, q) − H(p) for symbolic positive p and q."""
    p, q = symbols("p1:4", positive=True), symbols("q1:4", positive=True)
    kl = sum(a * log(a / b) for a, b in zip(p, q))
    cross = -sum(a * log(b) for a, b in zip(p, q))
    entropy = -sum(a * log(a) for a in p)
    prove_equal(sympy.expand_log(kl, force=True), sympy.expand_log(cross - entropy, force=True), "KL = H(p,q) − H(p)")
    return {}


def _h(p, q) -> sympy.Expr:
    return sympy.Add(*[a * log(1 / b) for a, b in zip(p, q) if a != 0])


def _kl(p, q) -> sympy.Expr:
    return sympy.expand(sympy.expand_log(_h(p, q) - _h(p, p), force=True))


def generate(params: dict, dice) -> Problem:
    """Two different dyadic distributions; q has full support so the cross-entropy is finite.

    Where p has full support too, a pair with KL(p‖q) = KL(q‖p) (a swap of two entries, say) is redrawn
    when an asymmetric pair exists (n = 4; at n = 3 every pair of full-support distributions is a
    permutation of one, and symmetric): it would hide that KL divergence is not symmetric. At n = 3, p may
    leave a token out, so that the numbers differ from one student to the next.
    """
    derive()
    n = params["n"]
    full = [t for t in DYADIC[n] if 0 not in t]
    for _ in range(200):
        p = dice.shuffled(dice.choice(DYADIC[n]))
        q = dice.shuffled(dice.choice(full))
        if p != q and (len(full) == 1 or 0 in p or _kl(p, q) != _kl(q, p)):
            break
    else:
        raise RuntimeError("no pair of distributions with an asymmetric KL divergence in 200 draws")
    entropy, cross = (sympy.expand_log(_h(a, b), force=True) for a, b in ((p, p), (p, q)))  # rational multiples of ln 2
    kl = sympy.expand(cross - entropy)
    bits = sympy.expand(cross / log(2))
    perplexity = 2**bits if bits.is_Integer else sympy.Pow(2, bits, evaluate=False)  # 2^{7/4}, not 2·2^{3/4}
    steps = [
        "The general result",
        Step(Tex(r"\mathrm{KL}(p\,\Vert\, q)"), Tex(r"\sum_i p_i \ln\frac{p_i}{q_i} = H(p, q) - H(p)"), r"$\ln\frac{p_i}{q_i} = \ln\frac{1}{q_i} - \ln\frac{1}{p_i}$"),
        Step(Tex(r"\mathrm{KL}(p\,\Vert\, q)"), Tex("0"), "Gibbs' inequality; 0 only when $p = q$", Tex(r"\ge")),
        "Your numbers",
        Step(Tex(r"H(p)"), (_h(p, p), entropy), "$\\sum_i p_i \\ln(1/p_i)$" + ("; $p_i = 0$ adds 0 ($x \\ln x \\to 0$)" if 0 in p else "")),
        Step(Tex(r"H(p, q)"), (_h(p, q), cross), "$\\sum_i p_i \\ln(1/q_i)$"),
        Step(Tex(r"\mathrm{KL}(p\,\Vert\, q)"), kl, "the difference"),
        Step(Tex(r"\mathrm{PPL}"), (exp(sympy.Symbol("H(p, q)")), perplexity), "$e^{H(p,q)}$: a power of 2"),
    ]
    return Problem(
        inputs={"p": p, "q": q},
        statement=[("The true next-token distribution is ", Math((Tex("p"), p)), " and a model predicts ", Math((Tex("q"), q)), ".")],
        tasks=[
            ("Compute the entropy ", Math(Tex(r"H(p)")), " and the cross-entropy ", Math(Tex(r"H(p, q)")), " (natural logarithms)."),
            ("Compute ", Math(Tex(r"\mathrm{KL}(p\,\Vert\, q)")), " and the perplexity ", Math(Tex(r"e^{H(p, q)}")), "."),
        ],
        steps=steps,
        answer={
            "entropy": AnswerPart("entropy", Tex("H(p)"), entropy, decimals=4),
            "cross_entropy": AnswerPart("cross_entropy", Tex("H(p, q)"), cross, decimals=4),
            "kl": AnswerPart("kl", Tex(r"\mathrm{KL}(p\,\Vert\, q)"), kl, decimals=4),
            "perplexity": AnswerPart("perplexity", Tex(r"\mathrm{PPL}"), perplexity, decimals=None if perplexity.is_Integer else 4),
        },
        mistakes=_mistakes(p, q, entropy, cross),
    )


def _mistakes(p: tuple, q: tuple, entropy, cross) -> list:
    """Typical wrong answers, each computed from the same p and q (a swapped one only where it is finite)."""
    mistakes = [
        Mistake("entropy", "no-minus-sign", -entropy,
                r"$H(p) = -\sum_i p_i \ln p_i$: each $\ln p_i \le 0$, so the minus sign makes the entropy nonnegative."),
        Mistake("entropy", "bits-not-nats", entropy / log(2),
                r"The question asks for natural logarithms: $\log_2$ gives bits, $\ln 2$ times the entropy in nats."),
        Mistake("perplexity", "base-2-with-nats", 2**cross,
                r"Perplexity is $e^{H}$ with $H$ in nats, or $2^{H}$ with $H$ in bits; $2^{H}$ with $H$ in nats mixes the bases."),
        Mistake("perplexity", "entropy-not-cross-entropy", exp(entropy),
                r"$e^{H(p)}$ is the perplexity of the true distribution itself; the model's perplexity is $e^{H(p, q)}$."),
    ]
    if 0 not in p:  # with a zero in p, KL(q‖p) and H(q, p) are infinite: no finite wrong answer to diagnose
        mistakes += [
            Mistake("kl", "arguments-swapped", sympy.expand(sympy.expand_log(_h(q, p) - _h(q, q), force=True)),
                    r"KL divergence is not symmetric: $\mathrm{KL}(p\,\Vert\,q) = \sum_i p_i \ln(p_i/q_i)$ averages over the true $p$, not over $q$."),
            Mistake("cross_entropy", "arguments-swapped", sympy.expand_log(_h(q, p), force=True),
                    r"$H(p, q) = -\sum_i p_i \ln q_i$ averages the model's log-probabilities $\ln q_i$ over the true $p$; the roles are not symmetric."),
        ]
    return mistakes


def exact_answer(inputs: dict, params: dict) -> dict:
    """Count bits with base-2 logarithms (exact integers for dyadic probabilities), then convert to nats."""
    p, q = [sympy.sympify(v) for v in inputs["p"]], [sympy.sympify(v) for v in inputs["q"]]
    bits = lambda a, b: sum(x * -log(y, 2) for x, y in zip(a, b) if x != 0)
    entropy, cross = bits(p, p) * log(2), bits(p, q) * log(2)
    return {"entropy": entropy, "cross_entropy": cross, "kl": cross - entropy, "perplexity": 2 ** bits(p, q)}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """Direct sums in mpmath."""
    p, q = mp_vector(inputs["p"]), mp_vector(inputs["q"])
    entropy = -mpmath.fsum(a * mpmath.log(a) for a in p if a)
    cross = -mpmath.fsum(a * mpmath.log(b) for a, b in zip(p, q) if a)
    kl = mpmath.fsum(a * mpmath.log(a / b) for a, b in zip(p, q) if a)
    return {"entropy": entropy, "cross_entropy": cross, "kl": kl, "perplexity": mpmath.exp(cross)}
