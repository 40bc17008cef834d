"""Attention logits ``S = Q Kᵀ`` and the scaled logits ``S/√d``: one dot product per query–key pair.

The head dimension d is a perfect square, so ``√d`` is an integer and the scaled logits are fractions.
"""


import mpmath
import sympy
from sympy import sqrt

from derivbook.authoring import (
    AnswerPart,
    Math,
    Param,
    Problem,
    Step,
    Tex,
    derive_once,
    int_matrix,
    mp_matmul,
    mp_matrix,
    prove_equal,
    symbol_matrix,
    transpose,
)

ID = "attention-scores"
TITLE = "Attention scores $QK^\\top$ and their scaling"
TOPIC = "linear algebra"
PARAMS = (
    Param("n", int, 2, "number of queries (rows of Q)", low=1, high=4),
    Param("m", int, 3, "number of keys (rows of K)", low=1, high=4),
    Param("d", int, 4, "head dimension (a perfect square, so √d is whole)", choices=(1, 4, 9)),
)


@derive_once
def derive(n: int, m: int, d: int) -> dict:
    """``(Q Kᵀ)_ij = q_i · k_j`` for symbolic Q (n×d) and K (m×d), proven entry by entry."""
    q, k = symbol_matrix("q", n, d), symbol_matrix("k", m, d)
    product = q * k.T
    for i in range(n):
        for j in range(m):
            prove_equal(product[i, j], q.row(i).dot(k.row(j)), "attention score is a dot product")
    return {"q": q, "k": k, "product": product}


def generate(params: dict, dice) -> Problem:
    """Small integer queries and keys; the scores and the scaled scores."""
    n, m, d = params["n"], params["m"], params["d"]
    width = 4 if d == 1 else 2
    q = int_matrix(dice, n, d, -width, width)
    k = int_matrix(dice, m, d, -width, width)
    general = derive(n, m, d)
    scores = general["product"].xreplace({**dict(zip(general["q"], q)), **dict(zip(general["k"], k))})
    scaled = scores / sqrt(d)
    first = general["product"][0, 0]
    steps = [
        "The general result",
        Step(Tex(r"S_{ij}"), Tex(r"(QK^{\top})_{ij} = \sum_{l=1}^{d} Q_{il} K_{jl} = q_i \cdot k_j"), "row i of Q against row j of K"),
        Step(Tex(r"S_{11}"), first, "for example, SymPy's entry (1, 1)"),
        "Your numbers",
        Step(Tex(r"S_{11}"), Tex(" + ".join(f"({a})({b})" for a, b in zip(q.row(0), k.row(0)))), "the first query against the first key"),
        Step(Tex("S"), scores, "every query against every key"),
        Step(Tex(r"S/\sqrt{d}"), scaled, f"divide by $\\sqrt{{{d}}} = {sqrt(d)}$"),
    ]
    return Problem(
        inputs={"Q": q, "K": k},
        statement=[
            (f"An attention head of dimension $d = {d}$ has {_count(n, 'query', 'queries')} and "
             f"{_count(m, 'key', 'keys')}, one per row:"),
            (Math((Tex("Q"), q)), ", ", Math((Tex("K"), k)), "."),
        ],
        tasks=[
            ("Compute the attention scores ", Math(Tex(r"S = QK^{\top}")), "."),
            ("Compute the scaled scores ", Math(Tex(r"S/\sqrt{d}")), "."),
        ],
        steps=steps,
        answer={"S": AnswerPart("S", Tex("S"), scores), "S_scaled": AnswerPart("S_scaled", Tex(r"S/\sqrt{d}"), scaled)},
    )


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def exact_answer(inputs: dict, params: dict) -> dict:
    """Sum the products entry by entry, without matrix multiplication."""
    q, k = inputs["Q"], inputs["K"]
    d = q.cols
    scores = sympy.Matrix(q.rows, k.rows, lambda i, j: sum(q[i, m] * k[j, m] for m in range(d)))
    return {"S": scores, "S_scaled": scores / sqrt(d)}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """The product in mpmath floats."""
    q, k = mp_matrix(inputs["Q"]), mp_matrix(inputs["K"])
    scores = mp_matmul(q, transpose(k))
    root = mpmath.sqrt(len(q[0]))
    return {"S": scores, "S_scaled": [[s / root for s in row] for row in scores]}
