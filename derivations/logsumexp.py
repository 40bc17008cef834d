"""Log-sum-exp, its gradient (the softmax), and the max-shift identity that makes it safe to compute.

The logits are logarithms of small integers, so ``lse(z) = ln Σ w_i`` and the gradient is a fraction.
"""


import mpmath
import sympy
from sympy import IndexedBase, Q, Sum, exp, log, refine, symbols

from derivbook.authoring import (
    AnswerPart,
    Math,
    Mistake,
    Param,
    Problem,
    Step,
    Tex,
    at,
    derive_once,
    mp_gradient,
    mp_vector,
    prove_equal,
)

ID = "logsumexp"
TITLE = "Log-sum-exp and the max shift"
TOPIC = "calculus"
PARAMS = (Param("n", int, 4, "number of logits", low=2, high=6),)

z = IndexedBase("z")
j, k, n = symbols("j k n", integer=True, positive=True)
c = symbols("c", real=True)


@derive_once
def derive(size: int) -> dict:
    """``∂ lse/∂z_j = softmax_j`` for symbolic n; the shift identity for ``size`` explicit logits."""
    total = Sum(exp(z[k]), (k, 1, n))
    lse = log(total)
    gradient = refine(sympy.diff(lse, z[j]).doit(), Q.le(j, n) & Q.ge(j, 1))
    prove_equal(gradient, exp(z[j]) / total, "gradient of log-sum-exp is the softmax")
    logits = symbols(f"z1:{size + 1}", real=True)
    shifted = exp(c) * sum(exp(v - c) for v in logits)  # exp(c + ln Σ e^{z_i − c})
    prove_equal(shifted, sum(exp(v) for v in logits), "max-shift identity")
    return {"lse": lse, "gradient": gradient}


def generate(params: dict, dice) -> Problem:
    """Logits ``z_i = ln w_i`` with a unique maximum."""
    size = params["n"]
    while True:
        weights = [dice.integer(1, 8) for _ in range(size)]
        if weights.count(max(weights)) == 1:
            break
    logits = [log(w) for w in weights]
    general = derive(size)
    lse = at(general["lse"], {n: size}, {z: logits})
    gradient = [at(general["gradient"], {n: size, j: a + 1}, {z: logits}) for a in range(size)]
    top = max(weights)
    steps = [
        "The general result",
        Step(Tex(r"\frac{\partial}{\partial z_j} \ln \sum_k e^{z_k}"), general["gradient"],
             r"chain rule: $(\ln u)' = u'/u$ with $\partial u/\partial z_j = e^{z_j}$; this is $\operatorname{softmax}(z)_j$"),
        Step(Tex(r"\operatorname{lse}(z)"), Tex(r"m + \ln \sum_k e^{z_k - m}"),
             r"$\sum_k e^{z_k} = e^{m} \sum_k e^{z_k - m}$; with $m = \max_k z_k$ each term is at most 1"),
        "Your numbers",
        Step(Tex("m"), log(top), "the largest logit"),
        Step(Tex(r"e^{z - m}"), [sympy.Rational(w, top) for w in weights], r"$e^{z_i}/e^{m}$, with $e^{\ln a} = a$"),
        Step(Tex(r"\operatorname{lse}(z)"), (log(top) + log(sympy.Rational(sum(weights), top)), lse),
             r"$\ln \sum_i e^{z_i - m}$, plus the shift $m$"),
        Step(Tex(r"\nabla \operatorname{lse}(z)"), gradient, rf"$e^{{z_i}} / \sum_k e^{{z_k}}$, with $\sum_k e^{{z_k}} = {sum(weights)}$"),
    ]
    return Problem(
        inputs={"z": logits},
        statement=[("Let ", Math((Tex("z"), logits)), " and ", Math(Tex(r"\operatorname{lse}(z) = \ln \sum_i e^{z_i}")), ".")],
        tasks=[
            ("Compute ", Math(Tex(r"\operatorname{lse}(z)")), " using the max shift ", Math(Tex(r"m = \max_i z_i")),
             ", exactly and to four decimal places."),
            ("Compute the gradient ", Math(Tex(r"\nabla \operatorname{lse}(z)")), "."),
        ],
        steps=steps,
        answer={
            "lse": AnswerPart("lse", Tex(r"\operatorname{lse}(z)"), lse, decimals=4),
            "grad": AnswerPart("grad", Tex(r"\nabla \operatorname{lse}(z)"), gradient),
        },
        mistakes=[
            Mistake("lse", "shift-not-added-back", log(sympy.Rational(sum(weights), top)),
                    r"This is $\ln \sum_i e^{z_i - m}$: the shift must be added back, "
                    r"$\operatorname{lse}(z) = m + \ln \sum_i e^{z_i - m}$."),
            Mistake("lse", "max-instead-of-lse", log(top),
                    r"This is $m = \max_i z_i$, a lower bound: $\operatorname{lse}(z) = m + \ln \sum_i e^{z_i - m}$ "
                    r"and the sum is more than 1, since it contains $e^{0} = 1$ and other positive terms."),
            Mistake("grad", "exp-not-normalised", [sympy.Integer(w) for w in weights],
                    r"This is $e^{z}$: the derivative of $\ln u$ is $u'/u$, so each $e^{z_j}$ is divided by "
                    r"$\sum_k e^{z_k}$, and the gradient is the softmax."),
        ],
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """Differentiate the instantiated log-sum-exp with explicit symbols."""
    variables = symbols(f"x1:{len(inputs['z']) + 1}")
    lse = log(sum(exp(v) for v in variables))
    point = dict(zip(variables, inputs["z"]))
    return {"lse": lse.subs(point), "grad": [sympy.diff(lse, v).subs(point) for v in variables]}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """Direct summation in mpmath, gradient by numerical differentiation."""
    point = mp_vector(inputs["z"])

    def lse(v):
        return mpmath.log(mpmath.fsum(mpmath.exp(x) for x in v))

    return {"lse": lse(point), "grad": mp_gradient(lse, point)}
