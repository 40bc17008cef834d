"""The softmax Jacobian: ``∂s_i/∂z_j = s_i(δ_ij − s_j)``, derived by SymPy for general n.

The logits are logarithms of small integers, so ``e^{z_i}`` is an integer and every answer is a fraction
a student can carry by hand.
"""


import sympy
from sympy import IndexedBase, KroneckerDelta, Q, Sum, exp, log, refine, symbols

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
    mp_softmax,
    mp_vector,
    prove_equal,
)

ID = "softmax-jacobian"
TITLE = "The softmax Jacobian"
TOPIC = "calculus"
PARAMS = (Param("n", int, 3, "number of logits", low=2, high=6),)

z, s = IndexedBase("z"), IndexedBase("s")
i, j, k, n = symbols("i j k n", integer=True, positive=True)

# The quotient rule's form of the derivative, as printed; derive() proves the expression behind it.
QUOTIENT_TEX = Tex(r"\frac{\delta_{ij}\, e^{z_i} \sum_{k=1}^{n} e^{z_k} - e^{z_i} e^{z_j}}{\bigl(\sum_{k=1}^{n} e^{z_k}\bigr)^{2}}")


@derive_once
def derive() -> dict:
    """The general result for symbolic n: SymPy's derivative, proven equal to the quotient rule's form and
    to the textbook ``s_i(δ_ij − s_j)``."""
    total = Sum(exp(z[k]), (k, 1, n))
    softmax = exp(z[i]) / total
    derivative = refine(sympy.diff(softmax, z[j]).doit(), Q.le(j, n) & Q.ge(j, 1))
    quotient = (KroneckerDelta(i, j) * exp(z[i]) * total - exp(z[i]) * exp(z[j])) / total**2
    prove_equal(derivative, quotient, "softmax Jacobian by the quotient rule")
    claim = softmax * (KroneckerDelta(i, j) - exp(z[j]) / total)
    prove_equal(derivative, claim, "softmax Jacobian")
    return {"softmax": softmax, "derivative": derivative, "claim": claim}


def _draw_weights(dice, size: int) -> list[int]:
    high = 6 if size <= 3 else 5
    while True:
        weights = [dice.integer(1, high) for _ in range(size)]
        if len(set(weights)) > 1:
            return weights


def _mistakes(probs: list) -> list:
    """The usual wrong Jacobians, computed from the same probabilities."""
    column = sympy.Matrix(probs)
    diagonal, outer = sympy.diag(*probs), column * column.T
    return [
        Mistake("jacobian", "no-outer-product", diagonal,
                r"This is $\operatorname{diag}(s)$: the term $-s_i s_j$ is missing. The normaliser "
                r"$\sum_k e^{z_k}$ depends on every $z_j$, so every entry gets $-s_i s_j$, not only the diagonal."),
        Mistake("jacobian", "sign-flipped", outer - diagonal,
                r"The signs are reversed: $J = \operatorname{diag}(s) - s s^{\top}$, so the diagonal entries "
                r"$s_i(1 - s_i)$ are positive and the off-diagonal entries $-s_i s_j$ negative."),
        Mistake("jacobian", "missing-diagonal-term", -outer,
                r"Only $-s s^{\top}$: the quotient rule's first term, $\delta_{ij} s_i$ from differentiating the "
                r"numerator $e^{z_i}$, is missing on the diagonal."),
    ]


def generate(params: dict, dice) -> Problem:
    """A softmax over ``n`` logits ``z_i = ln w_i`` and its Jacobian."""
    size = params["n"]
    weights = _draw_weights(dice, size)
    logits = [log(w) for w in weights]
    general = derive()
    probs = [at(general["softmax"], {n: size, i: a}, {z: logits}) for a in range(1, size + 1)]
    jacobian = sympy.Matrix(
        size, size, lambda a, b: at(general["derivative"], {n: size, i: a + 1, j: b + 1}, {z: logits})
    )
    total = sum(weights)
    steps = [
        "The general result",
        Step(Tex("s_i"), general["softmax"], "definition of softmax"),
        Step(Tex(r"\frac{\partial s_i}{\partial z_j}"), QUOTIENT_TEX,
             r"quotient rule: $\partial e^{z_i}/\partial z_j = \delta_{ij} e^{z_i}$, $\partial \sum_k e^{z_k}/\partial z_j = e^{z_j}$"),
        Step(Tex(""), s[i] * (KroneckerDelta(i, j) - s[j]), r"split the fraction; $e^{z_i}/\sum_k e^{z_k} = s_i$"),
        Step(Tex("J"), Tex(r"\operatorname{diag}(s) - s s^{\top}"), r"$\delta_{ij} s_i$ is $\operatorname{diag}(s)$, $s_i s_j$ is $s s^{\top}$"),
        "Your numbers",
        Step(Tex(r"e^{z}"), weights, r"$e^{\ln a} = a$ for each logit"),
        Step(Tex(r"\textstyle\sum_k e^{z_k}"), total, "the normaliser"),
        Step(Tex("s"), probs, r"divide each $e^{z_i}$ by the normaliser"),
        Step(Tex("J"), jacobian, r"$s_i(\delta_{ij} - s_j)$ entry by entry"),
    ]
    return Problem(
        inputs={"z": logits},
        statement=[("A classifier produces the logits ", Math((Tex("z"), logits)), ".")],
        tasks=[
            ("Compute the probabilities ", Math(Tex(r"s = \operatorname{softmax}(z)")), "."),
            ("Compute the Jacobian ", Math(Tex(r"J_{ij} = \partial s_i / \partial z_j")), " at this point."),
        ],
        steps=steps,
        answer={
            "softmax": AnswerPart("softmax", Tex("s"), probs),
            "jacobian": AnswerPart("jacobian", Tex("J"), jacobian),
        },
        mistakes=_mistakes(probs),
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """Differentiate the softmax of ``n`` logits with explicit symbols, then substitute the logits."""
    variables, soft, jacobian = _differentiated(len(inputs["z"]))
    point = dict(zip(variables, inputs["z"]))
    return {"softmax": [p.xreplace(point) for p in soft], "jacobian": jacobian.xreplace(point)}


@derive_once
def _differentiated(size: int) -> tuple:
    """The softmax e^{xᵢ}/Σₖ e^{xₖ} of ``size`` logits as symbols, and every partial derivative ∂sᵢ/∂xⱼ."""
    variables = symbols(f"x1:{size + 1}")
    total = sum(exp(x) for x in variables)
    soft = [exp(x) / total for x in variables]
    return variables, soft, sympy.Matrix(size, size, lambda a, b: sympy.diff(soft[a], variables[b]))


def numeric_answer(inputs: dict, params: dict) -> dict:
    """Softmax in mpmath and its Jacobian by numerical differentiation, row by row."""
    point = mp_vector(inputs["z"])
    rows = [mp_gradient(lambda v, a=a: mp_softmax(v)[a], point) for a in range(len(point))]
    return {"softmax": mp_softmax(point), "jacobian": rows}
