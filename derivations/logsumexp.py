"""Log-sum-exp, its gradient (the softmax), and the max-shift identity that makes it safe to compute.

The logits are logarithms of small integers, so ``lse(z) = ln Σ w_i`` and the gradient is a fraction.
"""


import mpmath
import sympy
from sympy import IndexedBase, Q, Sum, exp, log, refine, symbols

from derivbook.authoring import (
    AnswerPart,
    Math,
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
        Step(Tex(r"\frac{\partial}{\partial z_j} \ln \sum_k e^{z_k}"), general["gradient"], "chain rule (SymPy): the softmax"),
        Step(Tex(r"\operatorname{lse}(z)"), Tex(r"m + \ln \sum_k e^{z_k - m}"), "factor $e^{m}$ out of the sum; with $m = \\max_k z_k$ no term overflows"),
        "Your numbers",
        Step(Tex("m"), log(top), "the largest logit"),
        Step(Tex(r"e^{z - m}"), [sympy.Rational(w, top) for w in weights], f"$e^{{\\ln w_i - \\ln {top}}} = w_i/{top}$"),
        Step(Tex(r"\operatorname{lse}(z)"), (Tex(rf"\ln {top} + \ln \frac{{{sum(weights)}}}{{{top}}}"), lse), "add back the shift"),
        Step(Tex(r"\nabla \operatorname{lse}(z)"), gradient, f"$e^{{z_i}} / {sum(weights)}$"),
    ]
    return Problem(
        inputs={"z": logits},
        statement=[("Let ", Math((Tex("z"), logits)), " and ", Math(Tex(r"\operatorname{lse}(z) = \ln \sum_i e^{z_i}")), ".")],
        tasks=[
            ("Compute ", Math(Tex(r"\operatorname{lse}(z)")), " using the max shift ", Math(Tex(r"m = \max_i z_i")), "."),
            ("Compute the gradient ", Math(Tex(r"\nabla \operatorname{lse}(z)")), "."),
        ],
        steps=steps,
        answer={
            "lse": AnswerPart("lse", Tex(r"\operatorname{lse}(z)"), lse, decimals=4),
            "grad": AnswerPart("grad", Tex(r"\nabla \operatorname{lse}"), gradient),
        },
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
