"""Scaled dot-product attention: weights ``softmax(QKᵀ/√d)`` row by row, and the output ``weights · V``.

Queries are ``√d · ln 2`` times small integers, so every scaled score is a multiple of ln 2 and the
weights are fractions. SymPy proves each row of weights sums to one, so each output row is a weighted
average of the value rows.
"""


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
    mp_matmul,
    mp_matrix,
    mp_softmax,
    prove_equal,
    symbol_vector,
    transpose,
)

ID = "scaled-dot-product-attention"
TITLE = "Scaled dot-product attention"
TOPIC = "probability"
PARAMS = (
    Param("n", int, 2, "number of queries", low=1, high=3),
    Param("m", int, 3, "number of keys and values", low=2, high=4),
    Param("d", int, 4, "query/key dimension (a perfect square)", choices=(1, 4)),
)


@derive_once
def derive(m: int) -> dict:
    """A row of softmax weights over m scores sums to one (SymPy), whatever the scores."""
    scores = symbol_vector("s", m)
    weights = scores.applyfunc(exp) / sum(scores.applyfunc(exp))
    prove_equal(sum(weights), 1, "attention weights sum to one")
    return {"scores": scores, "weights": weights}


def _weights(scores: sympy.Matrix) -> sympy.Matrix:
    rows = []
    for r in range(scores.rows):
        general = derive(scores.cols)
        rows.append(list(general["weights"].xreplace(dict(zip(general["scores"], scores.row(r))))))
    return sympy.Matrix(rows)


def generate(params: dict, dice) -> Problem:
    """Keys in {−1, 0, 1}; queries √d·ln 2 times integers in {−1, 0, 1}; integer values."""
    n, m, d = params["n"], params["m"], params["d"]
    for _ in range(200):
        k = int_matrix(dice, m, d, -1, 1)
        q_int = int_matrix(dice, n, d, -1, 1)
        raw = q_int * k.T
        if all(len(set(raw.row(r))) > 1 for r in range(n)):
            break
    q = q_int * sqrt(d) * log(2)
    v = int_matrix(dice, m, 2, -3, 3)
    raw = (q * k.T).applyfunc(sympy.expand)
    scores = (raw / sqrt(d)).applyfunc(sympy.expand)
    exponentials = scores.applyfunc(exp)
    row_sums = [sum(exponentials.row(r)) for r in range(n)]
    weights = _weights(scores)
    output = weights * v
    steps = [
        "The general result",
        Step(Tex(r"A_{ij}"), Tex(r"\frac{e^{S_{ij}/\sqrt d}}{\sum_l e^{S_{il}/\sqrt d}},\quad S = QK^{\top}"),
             "softmax of each row of the scaled scores"),
        Step(Tex(r"\textstyle\sum_j A_{ij}"), 1,
             "exponentials over their sum; so row $i$ of $AV$ averages the rows of $V$"),
        "Your numbers",
        Step(Tex(r"S = QK^{\top}"), raw, "row $i$ of $Q$ against row $j$ of $K$"),
        Step(Tex(r"S/\sqrt d"), scores, f"divide by $\\sqrt{{{d}}} = {sqrt(d)}$: every entry is a multiple of $\\ln 2$"),
        Step(Tex(r"e^{S/\sqrt d}"), exponentials, "$e^{t \\ln 2} = 2^{t}$, entry by entry"),
        Step(Tex("A"), weights, "divide each row by its sum: " + ", ".join(f"${sympy.latex(t)}$" for t in row_sums)),
        Step(Tex("AV"), output, "row $i$: the rows of $V$ weighted by row $i$ of $A$"),
    ]
    return Problem(
        inputs={"Q": q, "K": k, "V": v},
        statement=[
            (f"Attention with $d = {d}$ has queries, keys and values (one per row)"),
            (Math((Tex("Q"), q)), ", ", Math((Tex("K"), k)), ", ", Math((Tex("V"), v)), "."),
        ],
        tasks=[
            ("Compute the attention weights ", Math(Tex(r"A = \operatorname{softmax}(QK^{\top}/\sqrt d)")), " (softmax along each row)."),
            ("Compute the output ", Math(Tex("AV")), "."),
        ],
        steps=steps,
        answer={"weights": AnswerPart("weights", Tex("A"), weights), "output": AnswerPart("output", Tex("AV"), output)},
        mistakes=_mistakes(raw, scores, exponentials, v),
    )


def _mistakes(raw: sympy.Matrix, scores: sympy.Matrix, exponentials: sympy.Matrix, v: sympy.Matrix) -> list:
    """Softmax of the unscaled scores, softmax down the columns, and the output of unnormalised weights."""
    unscaled = _weights(raw)
    columns = _weights(scores.T).T
    return [
        Mistake("weights", "unscaled", unscaled,
                r"The scores were not divided by $\sqrt d$ before the softmax: $A = \operatorname{softmax}(QK^{\top}/\sqrt d)$."),
        Mistake("weights", "softmax-over-columns", columns,
                "The softmax was taken down each column; each row (one query over all keys) must sum to one."),
        Mistake("output", "unscaled", unscaled * v,
                r"The scores were not divided by $\sqrt d$ before the softmax, so the weights and the output are off."),
        Mistake("output", "not-normalised", exponentials * v,
                r"The exponentials were not divided by their row sums: the weights $A$ must sum to one along each row."),
    ]


def exact_answer(inputs: dict, params: dict) -> dict:
    """Entry by entry with explicit sums of exponentials."""
    q, k, v = inputs["Q"], inputs["K"], inputs["V"]
    d = q.cols
    score = lambda i, j: sum(q[i, m] * k[j, m] for m in range(d)) / sqrt(d)
    weights = sympy.Matrix(q.rows, k.rows, lambda i, j: exp(score(i, j)) / sum(exp(score(i, m)) for m in range(k.rows)))
    weights = weights.applyfunc(sympy.simplify)
    return {"weights": weights, "output": weights * v}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """The same computation in mpmath floats."""
    q, k, v = mp_matrix(inputs["Q"]), mp_matrix(inputs["K"]), mp_matrix(inputs["V"])
    root = mpmath.sqrt(len(q[0]))
    scores = [[s / root for s in row] for row in mp_matmul(q, transpose(k))]
    weights = [mp_softmax(row) for row in scores]
    return {"weights": weights, "output": mp_matmul(weights, v)}
