"""Backpropagation through one attention query: ``a = softmax(Kq/√d)``, ``o = Vᵀa``, upstream ``g = ∂L/∂o``.

SymPy differentiates ``L = g·o`` with respect to q, K and V, and the closed forms
``dV = a gᵀ``, ``ds = a ⊙ (Vg − a·Vg)``, ``dq = Kᵀds/√d``, ``dK = ds qᵀ/√d`` are proven equal.
The query is ``√d · ln 2`` times small integers, so every score is a multiple of ln 2 and the attention
weights are fractions.
"""


import math

import mpmath
import sympy
from sympy import exp, log, sqrt

from derivbook.authoring import (
    AnswerPart,
    Math,
    Mistake,
    Param,
    Problem,
    Step,
    Tex,
    derive_once,
    int_matrix,
    mp_gradient,
    mp_matrix,
    mp_softmax,
    mp_vector,
    prove_equal,
    symbol_matrix,
    symbol_vector,
)

ID = "attention-backprop"
TITLE = "Backpropagation through attention"
TOPIC = "calculus"
PARAMS = (
    Param("m", int, 3, "number of keys", low=2, high=4),
    Param("d", int, 4, "query/key dimension (a perfect square)", choices=(1, 4)),
    Param("dv", int, 2, "value dimension", low=1, high=3),
)


def _forward(q, k, v, d):
    scores = k * q / sqrt(d)
    exps = scores.applyfunc(exp)
    weights = exps / sum(exps)
    return scores, weights, v.T * weights


@derive_once
def derive(m: int, d: int, dv: int) -> dict:
    """SymPy's gradients of g·o for symbolic q, K, V, g; each closed form proven equal."""
    q, k, v, g = symbol_vector("q", d), symbol_matrix("k", m, d), symbol_matrix("v", m, dv), symbol_vector("g", dv)
    _, a, o = _forward(q, k, v, d)
    loss = (g.T * o)[0]
    grads = {name: sym.applyfunc(lambda p: sympy.diff(loss, p)) for name, sym in (("dq", q), ("dK", k), ("dV", v))}
    da = v * g
    ds = sympy.matrix_multiply_elementwise(a, da - sympy.ones(m, 1) * (a.T * da))
    closed = {"dV": a * g.T, "dq": k.T * ds / sqrt(d), "dK": ds * q.T / sqrt(d)}
    for name in ("dV", "dq", "dK"):
        for derived, claimed in zip(grads[name], closed[name]):
            prove_equal(derived, claimed, f"attention gradient {name}")
    return {"q": q, "k": k, "v": v, "g": g, "grads": grads}


def _factored(matrix: sympy.Matrix):
    """A matrix as ``c · M`` with the common factor c (a fraction, times ln 2 where every entry has it) out
    front and M of integers, for display: a grid of tiny fractions is hard to read."""
    entries = [e for e in matrix if e != 0]
    unit = log(2) if entries and all((e / log(2)).is_Rational for e in entries) else sympy.Integer(1)
    ratios = [e / unit for e in entries]
    if not ratios or not all(r.is_Rational for r in ratios):
        return matrix
    numerator, denominator = math.gcd(*(r.p for r in ratios)), math.lcm(*(r.q for r in ratios))
    if denominator == 1:
        return matrix
    inner = sympy.ImmutableMatrix(matrix.applyfunc(lambda e: sympy.expand(e * denominator / (numerator * unit))))
    fraction = sympy.Pow(denominator, -1, evaluate=False)  # unevaluated, so it prints without parentheses
    factor = sympy.Mul(numerator * unit, fraction, evaluate=False) if numerator * unit != 1 else fraction
    return sympy.MatMul(factor, inner, evaluate=False)


def generate(params: dict, dice) -> Problem:
    """Keys in {−1, 0, 1}, a query √d·ln 2 times integers, small integer values and upstream gradient."""
    m, d, dv = params["m"], params["d"], params["dv"]
    general = derive(m, d, dv)
    for _ in range(200):
        k = int_matrix(dice, m, d, -1, 1)
        q_int = int_matrix(dice, d, 1, -1, 1)
        if len(set(k * q_int)) > 1:
            break
    q = q_int * sqrt(d) * log(2)
    for _ in range(200):  # Vg constant would make ∂L/∂s, ∂L/∂q and ∂L/∂K all zero
        v, g = int_matrix(dice, m, dv, -2, 2), int_matrix(dice, dv, 1, -2, 2)
        if all(x != 0 for x in g) and len(set(v * g)) > 1:
            break
    values = {**dict(zip(general["q"], q)), **dict(zip(general["k"], k)), **dict(zip(general["v"], v)), **dict(zip(general["g"], g))}
    grads = {name: general["grads"][name].xreplace(values).applyfunc(sympy.expand) for name in ("dq", "dK", "dV")}
    scores, weights, out = _forward(q, k, v, d)
    da = v * g
    ds = sympy.matrix_multiply_elementwise(weights, da - sympy.ones(m, 1) * (weights.T * da))
    powers = k * q_int  # s = (Kq_int) ln 2, so e^{s_i} = 2^{powers_i}
    steps = [
        "The general result",
        Step(Tex(r"\frac{\partial L}{\partial V}"), Tex(r"a\,g^{\top}"), r"$L$ depends on $V$ through $o = V^{\top}a$: $\partial o_c/\partial V_{ic} = a_i$"),
        Step(Tex(r"\frac{\partial L}{\partial a}"), Tex(r"V g"), r"$o = V^{\top}a$ is linear in $a$"),
        Step(Tex(r"\frac{\partial L}{\partial s}"), Tex(r"a \odot \big(Vg - (a^{\top}Vg)\mathbf{1}\big)"), r"softmax Jacobian $\operatorname{diag}(a) - aa^{\top}$; $\mathbf{1}$: all ones"),
        Step(Tex(r"\frac{\partial L}{\partial q}"), Tex(r"\frac{1}{\sqrt d}\,K^{\top}\frac{\partial L}{\partial s}"), r"chain rule: $\partial s_i/\partial q$ is row $i$ of $K$, over $\sqrt d$"),
        Step(Tex(r"\frac{\partial L}{\partial K}"), Tex(r"\frac{1}{\sqrt d}\,\frac{\partial L}{\partial s}\, q^{\top}"), r"chain rule: $\partial s_i/\partial K_{ij} = q_j/\sqrt d$"),
        "Your numbers: forward",
        Step(Tex(r"s = Kq/\sqrt{d}"), list(scores), r"$q/\sqrt d$ is $\ln 2$ times integers"),
        Step(Tex(r"e^{s}"), [sympy.Integer(2) ** e for e in powers], r"$e^{j \ln 2} = 2^j$ for an integer $j$"),
        Step(Tex("a"), list(weights), r"softmax: $e^{s_i}$ over their sum"),
        Step(Tex(r"o = V^{\top}a"), list(out), "weighted sum of the rows of $V$"),
        "Your numbers: backward",
        Step(Tex(r"\partial L/\partial V = a\,g^{\top}"), _factored(grads["dV"]), "outer product"),
        Step(Tex(r"Vg"), list(da), "$\\partial L/\\partial a$"),
        Step(Tex(r"a^{\top}Vg"), (weights.T * da)[0], "the weighted mean of $Vg$"),
        Step(Tex(r"\partial L/\partial s"), list(ds), r"$a_i\big((Vg)_i - a^{\top}Vg\big)$"),
        Step(Tex(r"\partial L/\partial q"), list(grads["dq"]), r"$K^{\top}(\partial L/\partial s)/\sqrt d$"),
        Step(Tex(r"\partial L/\partial K"), _factored(grads["dK"]), r"$(\partial L/\partial s)\,(q/\sqrt d)^{\top}$"),
    ]
    return Problem(
        inputs={"q": list(q), "K": k, "V": v, "g": list(g)},
        statement=[
            ("One query attends over ", str(m), " keys: ", Math(Tex(r"s = Kq/\sqrt d")), ", ", Math(Tex(r"a = \operatorname{softmax}(s)")), ", ",
             Math(Tex(r"o = V^{\top}a")), ", with ", Math((Tex("d"), d)), " and"),
            (Math((Tex("q"), list(q))), ", ", Math((Tex("K"), k)), ", ", Math((Tex("V"), v)), "."),
            ("The upstream gradient is ", Math((Tex(r"g = \partial L/\partial o"), list(g))), "."),
        ],
        tasks=[
            ("Run the forward pass: the scores ", Math(Tex("s")), ", the weights ", Math(Tex("a")), " and the output ", Math(Tex("o")), "."),
            ("Compute ", Math(Tex(r"\partial L/\partial q")), ", ", Math(Tex(r"\partial L/\partial K")), " and ", Math(Tex(r"\partial L/\partial V")), "."),
        ],
        steps=steps,
        answer={
            "scores": AnswerPart("scores", Tex("s"), list(scores)),
            "weights": AnswerPart("weights", Tex("a"), list(weights)),
            "output": AnswerPart("output", Tex("o"), list(out)),
            "dq": AnswerPart("dq", Tex(r"\partial L/\partial q"), list(grads["dq"])),
            "dK": AnswerPart("dK", Tex(r"\partial L/\partial K"), grads["dK"]),
            "dV": AnswerPart("dV", Tex(r"\partial L/\partial V"), grads["dV"]),
        },
        mistakes=_mistakes(q, k, v, g, d, ds),
    )


def _mistakes(q, k, v, g, d: int, ds) -> list:
    """Typical wrong answers, each computed from the same inputs (the scale forgotten, the softmax's
    coupling term forgotten)."""
    unscaled = k * q
    unscaled_weights = unscaled.applyfunc(exp) / sum(unscaled.applyfunc(exp))
    _, a, _ = _forward(q, k, v, d)
    diagonal = sympy.matrix_multiply_elementwise(a, v * g)  # diag(a) Vg, without −a aᵀVg
    scale = r"The scores are $Kq/\sqrt d$, so the chain rule brings the factor $1/\sqrt d$ into $\partial L/\partial q$ and $\partial L/\partial K$."
    coupling = (r"The softmax Jacobian is $\operatorname{diag}(a) - aa^{\top}$: every weight depends on every score, so "
                r"$\partial L/\partial s = a \odot (Vg - (a^{\top}Vg)\mathbf{1})$, not $a \odot Vg$.")
    forgotten_scale = [
        Mistake("scores", "no-inverse-sqrt-d", list(unscaled), r"Attention divides the dot products by $\sqrt d$: $s = Kq/\sqrt d$."),
        Mistake("weights", "no-inverse-sqrt-d", list(unscaled_weights), r"The softmax is taken of the scaled scores $Kq/\sqrt d$, not of $Kq$."),
        Mistake("dq", "no-inverse-sqrt-d", list(k.T * ds), scale),
        Mistake("dK", "no-inverse-sqrt-d", ds * q.T, scale),
    ]
    return (forgotten_scale if d > 1 else []) + [  # at d = 1 there is no scale to forget
        Mistake("dq", "diagonal-softmax-jacobian", list(k.T * diagonal / sqrt(d)), coupling),
        Mistake("dK", "diagonal-softmax-jacobian", diagonal * q.T / sqrt(d), coupling),
    ]


def exact_answer(inputs: dict, params: dict) -> dict:
    """The forward pass entry by entry, and the closed forms evaluated with the numbers (a different route
    from SymPy's derivative)."""
    q, k, v, g = sympy.Matrix(inputs["q"]), inputs["K"], inputs["V"], sympy.Matrix(inputs["g"])
    d, m = q.rows, k.rows
    scores = [sum(k[r, c] * q[c] for c in range(d)) / sqrt(d) for r in range(m)]
    exps = [exp(s) for s in scores]
    weights = [e / sum(exps) for e in exps]
    output = [sum(weights[r] * v[r, c] for r in range(m)) for c in range(v.cols)]
    a = sympy.Matrix(weights)
    da = v * g
    ds = sympy.matrix_multiply_elementwise(a, da - sympy.ones(m, 1) * (a.T * da))
    return {"scores": scores, "weights": weights, "output": output,
            "dq": list(k.T * ds / sqrt(d)), "dK": ds * q.T / sqrt(d), "dV": a * g.T}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """The forward pass in mpmath and numerical differentiation of every entry."""
    q, k, v, g = mp_vector(inputs["q"]), mp_matrix(inputs["K"]), mp_matrix(inputs["V"]), mp_vector(inputs["g"])
    d = len(q)

    def loss(qq, kk, vv):
        a = mp_softmax([mpmath.fsum(x * y for x, y in zip(row, qq)) / mpmath.sqrt(d) for row in kk])
        return mpmath.fsum(g[c] * mpmath.fsum(a[r] * vv[r][c] for r in range(len(vv))) for c in range(len(g)))

    def entry_grads(matrix, rebuild):
        return [[mpmath.diff(lambda t, r=r, c=c: rebuild(r, c, t), matrix[r][c]) for c in range(len(matrix[0]))] for r in range(len(matrix))]

    def with_entry(matrix, r, c, t):
        copy = [list(row) for row in matrix]
        copy[r][c] = t
        return copy

    scores = [mpmath.fsum(x * y for x, y in zip(row, q)) / mpmath.sqrt(d) for row in k]
    weights = mp_softmax(scores)
    return {
        "scores": scores,
        "weights": weights,
        "output": [mpmath.fsum(weights[r] * v[r][c] for r in range(len(v))) for c in range(len(g))],
        "dq": mp_gradient(lambda qq: loss(qq, k, v), q),
        "dK": entry_grads(k, lambda r, c, t: loss(q, with_entry(k, r, c, t), v)),
        "dV": entry_grads(v, lambda r, c, t: loss(q, k, with_entry(v, r, c, t))),
    }
