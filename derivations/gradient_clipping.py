"""Gradient clipping by global norm: ``g ← g · min(1, max_norm / ‖g‖)`` over all tensors together.

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
    Param,
    Problem,
    Step,
    Tex,
    derive_once,
    int_matrix,
    mp_matrix,
    prove_equal,
    symbol_vector,
)

ID = "gradient-clipping"
TITLE = "Clipping gradients by their global norm"
TOPIC = "calculus"
PARAMS = (Param("rows", int, 2, "rows of the weight gradient W (the bias gradient b has as many)", low=1, high=3),)


@derive_once
def derive() -> dict:
    """The global norm is ``√(Σ_t ‖g_t‖²)``, and scaling by c > 0 scales it by c: after clipping it is max_norm."""
    g, h = symbol_vector("g", 3), symbol_vector("h", 2)
    joined = g.col_join(h)
    prove_equal(joined.dot(joined), g.dot(g) + h.dot(h), "squared norm of the concatenation")
    c, limit = symbols("c M", positive=True)
    norm = sqrt(joined.dot(joined))
    prove_equal(sqrt((c * joined).dot(c * joined)) - c * norm, 0, "‖c g‖ = c ‖g‖")
    scale = Min(1, limit / norm)
    return {"scale": scale}


def generate(params: dict, dice) -> Problem:
    """A weight and a bias gradient with a whole-number global norm; usually clipped, sometimes not."""
    rows = params["rows"]
    for _ in range(2000):
        w, b = int_matrix(dice, rows, 2, -4, 4), int_matrix(dice, rows, 1, -4, 4)
        square = sum(v * v for v in w) + sum(v * v for v in b)
        if square > 0 and math.isqrt(square) ** 2 == square:
            break
    else:
        raise RuntimeError("no whole-number norm found in 2000 draws")
    norm = sympy.Integer(math.isqrt(square))
    clip = dice.integer(1, 3) <= 2
    max_norm = sympy.Integer(dice.integer(1, max(1, int(norm) - 1))) if clip and norm > 1 else norm + dice.integer(0, 3)
    scale = Min(1, max_norm / norm)
    clipped = {"W": w * scale, "b": list(b * scale)}
    grads = {"W": w, "b": list(b)}
    steps = [
        "The general result",
        Step(Tex(r"\lVert g\rVert"), Tex(r"\sqrt{\textstyle\sum_t \lVert g_t\rVert_2^2}"), "all tensors as one long vector (SymPy)"),
        Step(Tex(r"\lVert c\,g\rVert"), Tex(r"c\,\lVert g\rVert \quad (c > 0)"), "so the clipped norm is $\\min(\\lVert g\\rVert, M)$"),
        "Your numbers",
        Step(Tex(r"\lVert g\rVert^2"), (Tex(f"{sum(v * v for v in w)} + {sum(v * v for v in b)}"), square), "$\\lVert W\\rVert_F^2 + \\lVert b\\rVert_2^2$"),
        Step(Tex(r"\lVert g\rVert"), norm, "square root"),
        Step(Tex("c"), (Tex(rf"\min\big(1, {max_norm}/{norm}\big)"), scale), "no change when already inside the ball" if scale == 1 else "scale down"),
        Step(Tex(r"c\,W"), clipped["W"], "every tensor by the same factor"),
        Step(Tex(r"c\,b"), clipped["b"], "keeps the direction of $g$"),
    ]
    return Problem(
        inputs={"grads": grads, "max_norm": max_norm},
        statement=[
            ("A layer's gradients are"),
            (Math((Tex(r"\nabla_W L"), w)), ", ", Math((Tex(r"\nabla_b L"), list(b))), "."),
            ("The optimiser clips their global norm to ", Math((Tex("M"), max_norm)), "."),
        ],
        tasks=[
            ("Compute the global norm ", Math(Tex(r"\lVert g\rVert")), " over both tensors and the factor ",
             Math(Tex(r"c = \min(1, M/\lVert g\rVert)")), "."),
            ("Compute the clipped gradients."),
        ],
        steps=steps,
        answer={
            "total_norm": AnswerPart("total_norm", Tex(r"\lVert g\rVert"), norm),
            "scale": AnswerPart("scale", Tex("c"), scale),
            "clipped": AnswerPart("clipped", Tex(r"c\,g"), clipped, items=(Tex(r"c\,\nabla_W L"), Tex(r"c\,\nabla_b L"))),
        },
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
