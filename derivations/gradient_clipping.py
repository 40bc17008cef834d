"""Gradient clipping by global norm: ``g ← g · min(1, M / ‖g‖)`` over all tensors together.

The entries are drawn until their squares sum to a perfect square, so the global norm is a whole number
and the clipped tensors are fractions.
"""

import math

import mpmath
import sympy
from sympy import Min, Rational, sqrt, symbols

from derivbook.authoring import (
    AnswerPart,
    Math,
    Mistake,
    Param,
    Problem,
    Step,
    Tex,
    derive_once,
    mp_matrix,
    prove_equal,
    symbol_matrix,
    symbol_vector,
)

ID = "gradient-clipping"
TITLE = "Clipping gradients by their global norm"
TOPIC = "calculus"
PARAMS = (Param("rows", int, 2, "rows of the weight gradient W (the bias gradient b has as many)", low=1, high=3),)

COLUMNS = 2  # columns of the weight gradient
norm_symbol, limit, factor = symbols("N M c", positive=True)


@derive_once
def derive(rows: int) -> dict:
    """For a weight gradient (rows × 2) and a bias gradient (rows) as symbols: the global norm's square is
    the sum of the tensors' squared norms; scaling by c > 0 scales the norm by c, so clipping by
    ``c = M/‖g‖`` leaves norm M."""
    w, b = symbol_matrix("w", rows, COLUMNS), symbol_vector("b", rows)
    joined = sympy.Matrix([*w, *b])
    squared = joined.dot(joined)
    prove_equal(squared, sum(v**2 for v in w) + b.dot(b), "squared global norm = ‖W‖_F² + ‖b‖²")
    norm = sqrt(squared)
    prove_equal(sqrt((factor * joined).dot(factor * joined)), factor * norm, "‖c g‖ = c ‖g‖")
    prove_equal(limit / norm_symbol * norm_symbol, limit, "clipped by M/‖g‖, the norm is M")
    return {"w": w, "b": b, "squared": squared, "scale": Min(1, limit / norm_symbol)}


def _norm(values) -> sympy.Expr:
    return sqrt(sum(v * v for v in values))


def _mistakes(w, b, max_norm) -> list:
    def own(tensor):  # min(1, M/‖t‖) by one comparison: SymPy's Min of square roots is slow
        size = _norm(tensor)
        return tensor.copy() if size == 0 or max_norm >= size else tensor * (max_norm / size)

    return [
        Mistake("clipped", "per-tensor-clipping", {"W": own(w), "b": list(own(b))},
                r"Each tensor was clipped by its own norm. Clipping by the global norm scales every tensor by the "
                r"same $c = \min(1, M/\lVert g\rVert)$, which keeps the direction of the whole gradient."),
        Mistake("total_norm", "norms-added", _norm(w) + _norm(b),
                r"This is $\lVert \nabla_W L\rVert_F + \lVert \nabla_b L\rVert_2$. The global norm treats all entries "
                r"as one vector, so the squares add: $\lVert g\rVert = \sqrt{\lVert \nabla_W L\rVert_F^2 + \lVert \nabla_b L\rVert_2^2}$."),
    ]


def generate(params: dict, dice) -> Problem:
    """A weight and a bias gradient with a whole-number global norm; usually clipped, sometimes not."""
    rows = params["rows"]
    general = derive(rows)
    weights = rows * COLUMNS
    for _ in range(2000):  # drawn as plain integers: most draws are thrown away
        entries = [dice.integer(-4, 4) for _ in range(weights + rows)]
        plain_square = sum(v * v for v in entries)
        if any(entries[:weights]) and any(entries[weights:]) and math.isqrt(plain_square) ** 2 == plain_square:
            break
    else:
        raise RuntimeError("no whole-number norm found in 2000 draws")
    w, b = sympy.Matrix(rows, COLUMNS, entries[:weights]), sympy.Matrix(entries[weights:])
    square = general["squared"].xreplace(dict(zip([*general["w"], *general["b"]], entries)))
    norm = sqrt(square)
    clip = dice.integer(1, 3) <= 2
    max_norm = sympy.Integer(dice.integer(1, max(1, int(norm) - 1))) if clip and norm > 1 else norm + dice.integer(0, 3)
    scale = general["scale"].subs({norm_symbol: norm, limit: max_norm})
    clipped = {"W": w * scale, "b": list(b * scale)}
    prove_equal(_norm([*clipped["W"], *clipped["b"]]), Min(norm, max_norm), "the clipped norm is min(‖g‖, M)")
    squares = (sum(v * v for v in w), sum(v * v for v in b))
    steps = [
        "The general result",
        Step(Tex(r"\lVert g\rVert"), Tex(r"\sqrt{\lVert \nabla_W L\rVert_F^2 + \lVert \nabla_b L\rVert_2^2}"),
             "all entries as one vector: the squares add"),
        Step(Tex(r"\lVert c\,g\rVert"), Tex(r"c\,\lVert g\rVert \quad (c > 0)"), "a norm scales with a positive factor"),
        Step(Tex(r"\lVert c\,g\rVert"), Tex(r"\min(\lVert g\rVert, M)"),
             r"$c = 1$ inside the ball; otherwise $c\,\lVert g\rVert = M$"),
        "Your numbers",
        Step(Tex(r"\lVert g\rVert^2"), (Tex(f"{squares[0]} + {squares[1]}"), square),
             r"$\lVert \nabla_W L\rVert_F^2 + \lVert \nabla_b L\rVert_2^2$"),
        Step(Tex(r"\lVert g\rVert"), norm, "square root"),
        Step(Tex("c"), (Tex(r"\min\bigl(1, M/\lVert g\rVert\bigr)"), scale),
             rf"$M/\lVert g\rVert = {sympy.latex(max_norm / norm)}$" + (": no change inside the ball" if scale == 1 else "")),
        Step(Tex(r"c\,\nabla_W L"), clipped["W"], "every tensor by the same factor"),
        Step(Tex(r"c\,\nabla_b L"), clipped["b"], r"so $c\,g$ keeps the direction of $g$"),
    ]
    return Problem(
        inputs={"grads": {"W": w, "b": list(b)}, "max_norm": max_norm},
        statement=[
            ("A layer's gradients are"),
            (Math((Tex(r"\nabla_W L"), w)), ", ", Math((Tex(r"\nabla_b L"), list(b))), "."),
            ("Let ", Math(Tex("g")), " be all their entries as one vector. The optimiser clips the global norm ",
             Math(Tex(r"\lVert g\rVert")), " to ", Math((Tex("M"), max_norm)), ": it scales every tensor by ",
             Math(Tex(r"c = \min(1, M/\lVert g\rVert)")), "."),
        ],
        tasks=[
            ("Compute the global norm ", Math(Tex(r"\lVert g\rVert")), " and the factor ", Math(Tex("c")), "."),
            ("Compute the clipped gradients ", Math(Tex(r"c\,\nabla_W L")), " and ", Math(Tex(r"c\,\nabla_b L")), "."),
        ],
        steps=steps,
        answer={
            "total_norm": AnswerPart("total_norm", Tex(r"\lVert g\rVert"), norm),
            "scale": AnswerPart("scale", Tex("c"), scale),
            "clipped": AnswerPart("clipped", Tex(r"c\,g"), clipped, items=(Tex(r"c\,\nabla_W L"), Tex(r"c\,\nabla_b L"))),
        },
        mistakes=_mistakes(w, b, max_norm),
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """Flatten every tensor into one vector and use SymPy's norm."""
    w, b = sympy.Matrix(inputs["grads"]["W"]), sympy.Matrix(inputs["grads"]["b"])
    flat = sympy.Matrix(list(w) + list(b))
    norm = flat.norm()
    scale = Rational(1) if norm <= inputs["max_norm"] else inputs["max_norm"] / norm
    return {"total_norm": norm, "scale": scale, "clipped": {"W": w * scale, "b": list(b * scale)}}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """Per-tensor norms combined in mpmath."""
    w, b = mp_matrix(inputs["grads"]["W"]), mp_matrix(inputs["grads"]["b"])
    norm = mpmath.sqrt(mpmath.fsum(v * v for row in w for v in row) + mpmath.fsum(v * v for v in b))
    scale = min(mpmath.mpf(1), mpmath.mpf(int(inputs["max_norm"])) / norm)
    return {"total_norm": norm, "scale": scale, "clipped": {"W": [[v * scale for v in row] for row in w], "b": [v * scale for v in b]}}
