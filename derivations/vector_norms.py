"""Norms, dot product and cosine similarity of two embeddings.

Both vectors have whole-number Euclidean length (signed, permuted Pythagorean tuples), so the L2 norms
are integers and the cosine similarity is a fraction.
"""


import mpmath
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
    mp_vector,
    prove_equal,
    symbol_vector,
)
from derivbook.derivations.attention_scores import sum_of_products

ID = "vector-norms"
TITLE = "Norms and cosine similarity of embeddings"
TOPIC = "linear algebra"
PARAMS = (Param("n", int, 3, "embedding dimension", choices=(2, 3, 4)),)

TUPLES = {  # entries whose squares sum to a perfect square
    2: [(3, 4), (6, 8), (5, 12), (8, 6)],
    3: [(1, 2, 2), (2, 3, 6), (1, 4, 8), (2, 6, 9), (4, 4, 7), (2, 4, 4), (6, 6, 7)],
    4: [(1, 1, 1, 1), (1, 1, 3, 5), (1, 2, 2, 4), (2, 4, 5, 6), (1, 1, 7, 7), (2, 2, 4, 5)],
}


@derive_once
def derive(n: int) -> dict:
    """``‖u − v‖² = ‖u‖² + ‖v‖² − 2 u·v``: with the law of cosines, ``cos θ = u·v / (‖u‖‖v‖)``."""
    u, v = symbol_vector("u", n), symbol_vector("v", n)
    difference = (u - v).dot(u - v)
    prove_equal(difference, u.dot(u) + v.dot(v) - 2 * u.dot(v), "polarisation identity")
    return {"u": u, "v": v}


def _draw(dice, n: int) -> list[int]:
    base = dice.choice(TUPLES[n])
    return [dice.sign() * x for x in dice.shuffled(base)]


def generate(params: dict, dice) -> Problem:
    """Two embeddings of integer length that are neither parallel nor orthogonal."""
    n = params["n"]
    derive(n)
    for _ in range(200):
        u, v = sympy.Matrix(_draw(dice, n)), sympy.Matrix(_draw(dice, n))
        if u.dot(v) != 0 and abs(u.dot(v)) != u.norm() * v.norm():
            break
    l1, l2, linf = sum(abs(x) for x in u), u.norm(), max(abs(x) for x in u)
    dot = u.dot(v)
    cosine = dot / (u.norm() * v.norm())
    steps = [
        "The general result",
        Step(Tex(r"\lVert u - v\rVert_2^2"), Tex(r"\lVert u\rVert_2^2 + \lVert v\rVert_2^2 - 2\,u\cdot v"),
             "expand $(u - v)\\cdot(u - v)$"),
        Step(Tex(r"\cos\theta"), Tex(r"\frac{u \cdot v}{\lVert u\rVert_2 \lVert v\rVert_2}"),
             "compare with the law of cosines, $\\lVert u - v\\rVert_2^2 = \\lVert u\\rVert_2^2 + \\lVert v\\rVert_2^2 - 2\\lVert u\\rVert_2 \\lVert v\\rVert_2 \\cos\\theta$"),
        "Your numbers",
        Step(Tex(r"\lVert u\rVert_1"), (Tex(" + ".join(str(abs(x)) for x in u)), l1), "sum of absolute values"),
        Step(Tex(r"\lVert u\rVert_2"), (Tex(r"\sqrt{" + str(u.dot(u)) + "}"), l2), "square root of the sum of squares"),
        Step(Tex(r"\lVert u\rVert_\infty"), linf, "largest absolute value"),
        Step(Tex(r"u \cdot v"), (Tex(sum_of_products(u, v)), dot), "sum of products of matching entries"),
        Step(Tex(r"\lVert v\rVert_2"), (Tex(r"\sqrt{" + str(v.dot(v)) + "}"), v.norm()), "square root of the sum of squares"),
        Step(Tex(r"\cos\theta"), (Tex(rf"\frac{{{dot}}}{{{l2} \cdot {v.norm()}}}"), cosine), "the dot product over the product of the norms"),
    ]
    return Problem(
        inputs={"u": list(u), "v": list(v)},
        statement=[("Two token embeddings are ", Math((Tex("u"), list(u))), " and ", Math((Tex("v"), list(v))), ".")],
        tasks=[
            ("Compute ", Math(Tex(r"\lVert u\rVert_1")), ", ", Math(Tex(r"\lVert u\rVert_2")), " and ", Math(Tex(r"\lVert u\rVert_\infty")), "."),
            ("Compute ", Math(Tex(r"u \cdot v")), " and the cosine similarity ", Math(Tex(r"\cos\theta")), " of ", Math(Tex("u")),
             " and ", Math(Tex("v")), ", where ", Math(Tex(r"\theta")), " is the angle between them."),
        ],
        steps=steps,
        answer={
            "l1": AnswerPart("l1", Tex(r"\lVert u\rVert_1"), l1),
            "l2": AnswerPart("l2", Tex(r"\lVert u\rVert_2"), l2),
            "linf": AnswerPart("linf", Tex(r"\lVert u\rVert_\infty"), linf),
            "dot": AnswerPart("dot", Tex(r"u \cdot v"), dot),
            "cosine": AnswerPart("cosine", Tex(r"\cos\theta"), cosine, decimals=4),
        },
        mistakes=[
            Mistake("l1", "signed-sum", sum(u), r"The entries were added with their signs: $\lVert u\rVert_1$ sums absolute values."),
            Mistake("l2", "no-square-root", u.dot(u),
                    r"This is $\lVert u\rVert_2^2$, the sum of squares: $\lVert u\rVert_2$ is its square root."),
            Mistake("cosine", "not-normalised", dot,
                    r"This is $u \cdot v$: the cosine divides it by $\lVert u\rVert_2 \lVert v\rVert_2$."),
            Mistake("cosine", "squared-norms", dot / (u.dot(u) * v.dot(v)),
                    r"Divided by the squared norms $\lVert u\rVert_2^2 \lVert v\rVert_2^2$ instead of $\lVert u\rVert_2 \lVert v\rVert_2$."),
        ],
    )


def exact_answer(inputs: dict, params: dict) -> dict:
    """SymPy's matrix norms."""
    u, v = sympy.Matrix(inputs["u"]), sympy.Matrix(inputs["v"])
    return {
        "l1": u.norm(1),
        "l2": u.norm(2),
        "linf": u.norm(sympy.oo),
        "dot": (u.T * v)[0],
        "cosine": (u.T * v)[0] / (u.norm(2) * v.norm(2)),
    }


def numeric_answer(inputs: dict, params: dict) -> dict:
    """Sums in mpmath, with the angle from acos and back."""
    u, v = mp_vector(inputs["u"]), mp_vector(inputs["v"])
    norm_u, norm_v = mpmath.sqrt(mpmath.fsum(x * x for x in u)), mpmath.sqrt(mpmath.fsum(x * x for x in v))
    dot = mpmath.fsum(a * b for a, b in zip(u, v))
    return {
        "l1": mpmath.fsum(abs(x) for x in u),
        "l2": norm_u,
        "linf": max(abs(x) for x in u),
        "dot": dot,
        "cosine": mpmath.cos(mpmath.acos(dot / (norm_u * norm_v))),
    }
