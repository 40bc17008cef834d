"""Queries, keys and values as linear projections of the token embeddings: ``Q = X W_Q`` and so on.

Row i of ``Q`` is token i's embedding times ``W_Q``; SymPy proves this row view equal to the matrix product.
"""


import sympy

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
)
from derivbook.derivations.attention_scores import sign_slip, sum_of_products

ID = "qkv-projection"
TITLE = "Projecting tokens to queries, keys and values"
TOPIC = "linear algebra"
PARAMS = (
    Param("n", int, 2, "number of tokens (rows of X)", low=1, high=4),
    Param("d_model", int, 3, "embedding width", low=2, high=4),
    Param("d_k", int, 2, "projection width", low=1, high=4),
)

NAMES = ("Q", "K", "V")


@derive_once
def derive(n: int, d_model: int, d_k: int) -> dict:
    """Each row of ``X W`` is the row of X times W, proven for symbolic matrices of these shapes."""
    x, w = symbol_matrix("x", n, d_model), symbol_matrix("w", d_model, d_k)
    product = x * w
    for i in range(n):
        prove_equal(sympy.Matrix(product.row(i) - x.row(i) * w).norm() ** 2, 0, "row view of X W")
    return {"x": x, "w": w, "product": product}


def generate(params: dict, dice) -> Problem:
    """Integer embeddings and weights in [-2, 2]."""
    n, d_model, d_k = params["n"], params["d_model"], params["d_k"]
    x = int_matrix(dice, n, d_model, -2, 2)
    while all(v == 0 for v in x):
        x = int_matrix(dice, n, d_model, -2, 2)
    weights = {name: int_matrix(dice, d_model, d_k, -2, 2) for name in NAMES}
    general = derive(n, d_model, d_k)
    results = {
        name: general["product"].xreplace({**dict(zip(general["x"], x)), **dict(zip(general["w"], w))})
        for name, w in weights.items()
    }
    first = {name: (Tex(sum_of_products(x.row(0), weights[name].col(0))), results[name][0, 0]) for name in NAMES}
    steps = [
        "The general result",
        Step(Tex(r"(XW)_{ij}"), Tex(r"\sum_{l=1}^{d_{\text{model}}} X_{il} W_{lj}"), "row $i$ of $X$ against column $j$ of $W$"),
        Step(Tex(r"\text{row}_i(XW)"), Tex(r"x_i W"), "$x_i$ is row $i$ of $X$: each token is projected on its own"),
        "Your numbers",
        *[
            step
            for name in NAMES
            for step in (
                Step(Tex(f"{name}_{{11}}"), first[name], f"row 1 of $X$ against column 1 of $W_{{{name}}}$"),
                Step(Tex(name), results[name], f"$X W_{{{name}}}$: every row against every column"),
            )
        ],
    ]
    plural = "s" if n > 1 else ""
    return Problem(
        inputs={"X": x, "W_Q": weights["Q"], "W_K": weights["K"], "W_V": weights["V"]},
        statement=[
            (f"A sequence of {n} token{plural} has the embedding{plural} (one per row, of width $d_{{\\text{{model}}}} = {d_model}$) "
             "and the projection matrices"),
            (Math((Tex("X"), x)), ","),
            (Math((Tex("W_Q"), weights["Q"])), ", ", Math((Tex("W_K"), weights["K"])), ", ", Math((Tex("W_V"), weights["V"])), "."),
        ],
        tasks=[("Compute ", Math(Tex(r"Q = XW_Q")), ", ", Math(Tex(r"K = XW_K")), " and ", Math(Tex(r"V = XW_V")), ".")],
        steps=steps,
        answer={name: AnswerPart(name, Tex(name), results[name]) for name in NAMES},
        mistakes=[mistake for name in NAMES for mistake in _mistakes(name, x, weights[name], results[name])],
    )


def _mistakes(name: str, x: sympy.Matrix, w: sympy.Matrix, result: sympy.Matrix) -> list:
    """Typical wrong answers for ``name = X W``: a sign slip, and where the shapes allow, a transposition."""
    mistakes = [
        Mistake(name, "negative-times-negative", sign_slip(x, w),
                "A product of two negative entries was taken as negative: $(-a)(-b) = +ab$."),
    ]
    if result.rows == result.cols:  # the transpose has the answer's shape only when it is square
        mistakes.append(Mistake(name, "tokens-as-columns", result.T,
                                f"This is $(XW_{{{name}}})^{{\\top}}$: each token's projection is a row of ${name}$, not a column."))
    if w.rows == w.cols:
        mistakes.append(Mistake(name, "transposed-weights", x * w.T,
                                f"This is $XW_{{{name}}}^{{\\top}}$: row $i$ of $X$ goes against column $j$ of $W_{{{name}}}$, not row $j$."))
    return mistakes


def exact_answer(inputs: dict, params: dict) -> dict:
    """Each token's row times each weight matrix, entry by entry."""
    x = inputs["X"]
    out = {}
    for name in NAMES:
        w = inputs[f"W_{name}"]
        out[name] = sympy.Matrix(x.rows, w.cols, lambda i, j, w=w: sum(x[i, m] * w[m, j] for m in range(x.cols)))
    return out


def numeric_answer(inputs: dict, params: dict) -> dict:
    """The three products in mpmath floats."""
    x = mp_matrix(inputs["X"])
    return {name: mp_matmul(x, mp_matrix(inputs[f"W_{name}"])) for name in NAMES}
