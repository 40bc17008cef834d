"""Backpropagation through one attention query: ``a = softmax(Kq/√d)``, ``o = Vᵀa``, upstream ``g = ∂L/∂o``.

SymPy differentiates ``L = g·o`` with respect to q, K and V, and the closed forms
``dV = a gᵀ``, ``ds = a ⊙ (Vg − a·Vg)``, ``dq = Kᵀds/√d``, ``dK = ds qᵀ/√d`` are proven equal.
The query is ``√d · ln 2`` times small integers, so every score is a multiple of ln 2 and the attention
weights are fractions.
"""


import mpmath
import sympy
from sympy import exp, log, sqrt

from derivbook.authoring import (
    AnswerPart,
    Math,
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
    steps = [
        "The general result",
        Step(Tex(r"\frac{\partial L}{\partial V}"), Tex(r"a\,g^{\top}"), "$o = V^{\\top}a$ is linear in $V$"),
        Step(Tex(r"\frac{\partial L}{\partial a}"), Tex(r"V g"), "and linear in $a$"),
        Step(Tex(r"\frac{\partial L}{\partial s}"), Tex(r"a \odot \big(Vg - (a^{\top}Vg)\mathbf{1}\big)"), "the softmax Jacobian $\\operatorname{diag}(a) - aa^{\\top}$"),
        Step(Tex(r"\frac{\partial L}{\partial q},\ \frac{\partial L}{\partial K}"), Tex(r"\frac{K^{\top}}{\sqrt d}\frac{\partial L}{\partial s},\ \frac{1}{\sqrt d}\frac{\partial L}{\partial s}\, q^{\top}"), "$s = Kq/\\sqrt d$; SymPy proves all four"),
        "Your numbers: forward",
        Step(Tex(r"s = Kq/\sqrt{d}"), list(scores), "each score is a multiple of $\\ln 2$"),
        Step(Tex("a"), list(weights), "softmax: $e^{s_i} = 2^{k_i}$, normalised"),
        Step(Tex(r"o = V^{\top}a"), list(out), "weighted values"),
        "Your numbers: backward",
        Step(Tex(r"Vg"), list(da), "$\\partial L/\\partial a$"),
        Step(Tex(r"\partial L/\partial s"), list(ds), "through the softmax"),
        Step(Tex(r"\partial L/\partial q"), list(grads["dq"]), "$K^{\\top}(\\partial L/\\partial s)/\\sqrt d$"),
    ]
    return Problem(
        inputs={"q": list(q), "K": k, "V": v, "g": list(g)},
        statement=[
            ("One query attends over ", str(m), " keys: ", Math(Tex(r"a = \operatorname{softmax}(Kq/\sqrt d)")), ", ",
             Math(Tex(r"o = V^{\top}a")), ", with ", Math((Tex("d"), d)), " and"),
            (Math((Tex("q"), list(q))), ", ", Math((Tex("K"), k)), ", ", Math((Tex("V"), v)), "."),
            ("The upstream gradient is ", Math((Tex(r"g = \partial L/\partial o"), list(g))), "."),
        ],
        tasks=[
            ("Run the forward pass: the scores, the weights ", Math(Tex("a")), " and the output ", Math(Tex("o")), "."),
            ("Compute ", Math(Tex(r"\partial L/\partial q")), ", ", Math(Tex(r"\partial L/\partial K")), " and ", Math(Tex(r"\partial L/\partial V")), "."),
        ],
        steps=steps,
        answer={
            "dq": AnswerPart("dq", Tex(r"\partial L/\partial q"), list(grads["dq"])),
            "dK": AnswerPart("dK", Tex(r"\partial L/\partial K"), grads["dK"]),
            "dV": AnswerPart("dV", Tex(r"\partial L/\partial V"), grads["dV"]),
        },
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """The closed forms evaluated with the numbers (a different route from SymPy's derivative)."""
    q, k, v, g = sympy.Matrix(inputs["q"]), inputs["K"], inputs["V"], sympy.Matrix(inputs["g"])
    d, m = q.rows, k.rows
    _, a, _ = _forward(q, k, v, d)
    da = v * g
    ds = sympy.matrix_multiply_elementwise(a, da - sympy.ones(m, 1) * (a.T * da))
    return {"dq": list(k.T * ds / sqrt(d)), "dK": ds * q.T / sqrt(d), "dV": a * g.T}


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

    return {
        "dq": mp_gradient(lambda qq: loss(qq, k, v), q),
        "dK": entry_grads(k, lambda r, c, t: loss(q, with_entry(k, r, c, t), v)),
        "dV": entry_grads(v, lambda r, c, t: loss(q, k, with_entry(v, r, c, t))),
    }
