"""Rank of a weight update and the parameter saving of a rank-r factorisation ``ΔW = B A`` (LoRA).

The small matrix is a product of integer factors of a chosen rank, so row reduction ends in small fractions.
"""

from itertools import combinations

import mpmath
import sympy
from sympy import symbols

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
    mp_matrix,
    prove_equal,
)

ID = "low-rank-update"
TITLE = "Rank and low-rank (LoRA) updates"
TOPIC = "linear algebra"
PARAMS = (
    Param("rows", int, 3, "rows of the small matrix W", low=2, high=4),
    Param("cols", int, 4, "columns of the small matrix W", low=2, high=5),
)

WIDTHS = (512, 768, 1024, 2048, 4096)
RANKS = (4, 8, 16, 32, 64)


@derive_once
def derive() -> dict:
    """Entry counts: ``d·k`` for ΔW against ``d·r + r·k = r(d + k)`` for B (d×r) and A (r×k)."""
    d, k, r = symbols("d k r", positive=True, integer=True)
    update = sympy.MatrixSymbol("W", d, k)
    full = update.shape[0] * update.shape[1]
    b, a = sympy.MatrixSymbol("B", d, r), sympy.MatrixSymbol("A", r, k)
    assert (b * a).shape == (d, k)
    lowrank = b.shape[0] * b.shape[1] + a.shape[0] * a.shape[1]
    prove_equal(lowrank, r * (d + k), "parameters of B A")
    return {"d": d, "k": k, "r": r, "full": full, "lowrank": lowrank}


def generate(params: dict, dice) -> Problem:
    """A small integer matrix of rank below full (or full, when it has two rows or columns), and realistic LoRA sizes."""
    rows, cols = params["rows"], params["cols"]
    for _ in range(200):
        rank = dice.integer(1, max(min(rows, cols) - 1, 2))  # a 2-row (or 2-column) W may be of full rank, else
        # every student's rank would be 1
        w = int_matrix(dice, rows, rank, -2, 2) * int_matrix(dice, rank, cols, -2, 2)
        if w.rank() == rank and max(abs(v) for v in w) <= 9 and sum(1 for v in w if v == 0) <= rows:
            break
    d, k, r = dice.choice(WIDTHS), dice.choice(WIDTHS), dice.choice(RANKS)
    general = derive()
    sizes = {general["d"]: d, general["k"]: k, general["r"]: r}
    full, lowrank = general["full"].subs(sizes), general["lowrank"].subs(sizes)
    reduced, pivots = w.rref()
    steps = [
        "The general result",
        Step(Tex(r"\#\,\Delta W"), general["full"], "one parameter per entry of a $d \\times k$ matrix"),
        Step(Tex(r"\#\,B + \#\,A"), general["lowrank"], "$B$ is $d \\times r$ and $A$ is $r \\times k$: $dr + rk = r(d + k)$"),
        Step(Tex(r"\operatorname{rank}(BA)"), Tex("r"), relation=Tex(r"\le"), reason="every column of $BA$ is a combination of the $r$ columns of $B$"),
        "Your numbers",
        Step(Tex(r"\operatorname{rref}(W)"), reduced, "row reduce: subtract multiples of rows, scale each pivot to 1"),
        Step(Tex(r"\operatorname{rank} W"), len(pivots), _pivots(pivots)),
        Step(Tex(r"\#\,\Delta W"), (Tex(rf"{d} \cdot {k}"), full), "the full update, $dk$"),
        Step(Tex(r"\#\,B + \#\,A"), (Tex(rf"{r}\,({d} + {k})"), lowrank), f"$r(d + k)$: about {float(100 * lowrank / full):.1f} percent of the full count"),
    ]
    return Problem(
        inputs={"W": w, "d": d, "k": k, "r": r},
        statement=[
            ("A fine-tuning update on a small layer is"),
            (Math((Tex("W"), w)), "."),
            ("In a real model the update ", Math(Tex(r"\Delta W")), " is ", Math(Tex(rf"d \times k = {d} \times {k}")),
             "; LoRA learns it as ", Math(Tex(r"\Delta W = BA")), " with ", Math(Tex("B")), " of size ", Math(Tex(r"d \times r")),
             ", ", Math(Tex("A")), " of size ", Math(Tex(r"r \times k")), " and rank ", Math((Tex("r"), r)), "."),
        ],
        tasks=[
            ("Find the rank of ", Math(Tex("W")), " by row reduction."),
            ("Count the trainable parameters (entries) of the full update ", Math(Tex(r"\Delta W")), " and of the factors ",
             Math(Tex("B")), " and ", Math(Tex("A")), " together."),
        ],
        steps=steps,
        answer={
            "rank": AnswerPart("rank", Tex(r"\operatorname{rank} W"), sympy.Integer(len(pivots))),
            "full_params": AnswerPart("full_params", Tex(r"d\,k"), full),
            "lowrank_params": AnswerPart("lowrank_params", Tex(r"r(d + k)"), lowrank),
        },
        mistakes=[
            Mistake("rank", "assumed-full-rank", sympy.Integer(min(w.shape)),
                    "Row reduction leaves zero rows: the rank counts only the pivots, here fewer than the rows or columns."),
            Mistake("lowrank_params", "product-d-k-r", d * k * r,
                    r"This is $d \cdot k \cdot r$: $B$ and $A$ hold $dr$ and $rk$ entries, $r(d + k)$ together."),
            Mistake("lowrank_params", "only-B", d * r,
                    r"Only $B$ ($dr$ entries) was counted; $A$ adds $rk$ more."),
        ],
    )


def _pivots(pivots: tuple) -> str:
    """'one pivot (column 1)', 'two pivots (columns 1 and 3)', 'three pivots (columns 1, 2 and 4)'."""
    words = {1: "one", 2: "two", 3: "three", 4: "four"}
    columns = [str(p + 1) for p in pivots]
    listed = columns[0] if len(columns) == 1 else ", ".join(columns[:-1]) + " and " + columns[-1]
    noun = "pivot" if len(columns) == 1 else "pivots"
    return f"the number of pivots: {words[len(columns)]} {noun} (column{'s' if len(columns) > 1 else ''} {listed})"


def exact_answer(inputs: dict, params: dict) -> dict:
    """The rank as the size of the largest nonzero minor; the counts by multiplication."""
    w = inputs["W"]
    rank = max(
        (size for size in range(1, min(w.shape) + 1)
         for rows_ in combinations(range(w.rows), size)
         for cols_ in combinations(range(w.cols), size)
         if w.extract(list(rows_), list(cols_)).det() != 0),
        default=0,
    )
    d, k, r = inputs["d"], inputs["k"], inputs["r"]
    return {"rank": rank, "full_params": d * k, "lowrank_params": d * r + r * k}


def numeric_answer(inputs: dict, params: dict) -> dict:
    """The rank as the number of singular values above 10⁻²⁰ (mpmath SVD)."""
    singular = mpmath.svd_r(mpmath.matrix(mp_matrix(inputs["W"])), compute_uv=False)
    rank = sum(1 for s in singular if s > mpmath.mpf(10) ** -20)
    d, k, r = (mpmath.mpf(inputs[name]) for name in ("d", "k", "r"))
    return {"rank": rank, "full_params": d * k, "lowrank_params": r * (d + k)}
