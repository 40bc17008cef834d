"""Attention logits ``S = Q Kᵀ`` and the scaled logits ``S/√d``: one dot product per query–key pair.

The head dimension d is a perfect square, so ``√d`` is an integer and the scaled logits are fractions.
"""


import mpmath
import sympy
from sympy import sqrt

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
    steps = [
        "The general result",
        Step(
            Tex(r"S_{ij}"),
            Tex(r"(QK^{\top})_{ij} = \sum_{l=1}^{d} Q_{il} K_{jl} = q_i \cdot k_j"),
            "matrix product with $K^{\\top}$; $q_i$, $k_j$ are row $i$ of $Q$ and row $j$ of $K$",
        ),
        "Your numbers",
        *_first_score(q.row(0), k.row(0), scores[0, 0]),
        Step(Tex("S"), scores, "every query against every key"),
        Step(Tex(r"S/\sqrt{d}"), scaled, f"divide every score by $\\sqrt{{{d}}} = {sqrt(d)}$"),
    ]
    data = [(Math((Tex("Q"), q)), ", ", Math((Tex("K"), k)), ".")]
    if d > 4:  # two wide matrices side by side would run into the margin
        data = [(Math((Tex("Q"), q)), ","), (Math((Tex("K"), k)), ".")]
    return Problem(
        inputs={"Q": q, "K": k},
        statement=[
            (f"An attention head of dimension $d = {d}$ has {_count(n, 'query', 'queries')} and "
             f"{_count(m, 'key', 'keys')}, one per row:"),
            *data,
        ],
        tasks=[
            ("Compute the attention scores ", Math(Tex(r"S = QK^{\top}")), "."),
            ("Compute the scaled scores ", Math(Tex(r"S/\sqrt{d}")), "."),
        ],
        steps=steps,
        answer={"S": AnswerPart("S", Tex("S"), scores), "S_scaled": AnswerPart("S_scaled", Tex(r"S/\sqrt{d}"), scaled)},
        mistakes=_mistakes(q, k, scores, d),
    )


def _first_score(query, key, score) -> list:
    """S₁₁ worked out: one line of products, or (for long rows, which would not fit one line) the
    products entry by entry and then their sum."""
    if len(query) <= 4:
        return [Step(Tex(r"S_{11}"), (Tex(sum_of_products(query, key)), score), "the first query against the first key")]
    products = [a * b for a, b in zip(query, key)]
    return [
        Step(Tex(r"q_1 \odot k_1"), products, "the first query times the first key, entry by entry"),
        Step(Tex(r"S_{11}"), score, "the sum of these products"),
    ]


def sum_of_products(row_q, row_k) -> str:
    """``q·k`` written out as a sum of products, negative factors in parentheses."""
    factor = lambda v: f"({v})" if v < 0 else f"{v}"
    return " + ".join(rf"{factor(a)} \cdot {factor(b)}" for a, b in zip(row_q, row_k))


def sign_slip(a: sympy.Matrix, b: sympy.Matrix) -> sympy.Matrix:
    """``a b`` with every product of two negative entries taken as negative: a common slip by hand."""
    slipped = lambda x, y: -x * y if x < 0 and y < 0 else x * y
    return sympy.Matrix(a.rows, b.cols, lambda i, j: sum(slipped(a[i, t], b[t, j]) for t in range(a.cols)))


def _mistakes(q: sympy.Matrix, k: sympy.Matrix, scores: sympy.Matrix, d: int) -> list:
    mistakes = [
        Mistake("S", "negative-times-negative", sign_slip(q, k.T),
                "A product of two negative entries was taken as negative: $(-a)(-b) = +ab$."),
        Mistake("S_scaled", "unscaled", scores,
                r"The scores were not divided by $\sqrt{d}$: $S/\sqrt{d}$ scales every entry of $S = QK^{\top}$."),
        Mistake("S_scaled", "divided-by-d", scores / d,
                r"The scores were divided by $d$ instead of $\sqrt{d}$."),
    ]
    if q.rows == k.rows:  # KQᵀ has the shape of QKᵀ only when there are as many keys as queries
        mistakes.append(Mistake("S", "transposed", k * q.T,
                                r"This is $KQ^{\top} = S^{\top}$: row $i$ of $S$ holds query $i$ against every key."))
    return mistakes


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
