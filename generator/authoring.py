"""Everything a derivation uses, in one place: import from here, in the package and outside it.

A derivation is one Python file declaring ``ID``, ``TITLE``, ``TOPIC`` and ``PARAMS`` and three functions
(docs/authoring.md walks through one):

- ``generate(params, dice) -> Problem``: a seeded instance; its answers come from a general result SymPy
  derived once (``derive_once``), whose textbook closed form is proven equal to what SymPy computed
  (``prove_equal``);
- ``exact_answer(inputs, params) -> dict``: the answers recomputed exactly, by another route;
- ``numeric_answer(inputs, params) -> dict``: the answers recomputed numerically in mpmath (use
  ``mp_vector``, ``mp_gradient`` and the other ``mp_`` helpers).

The engine refuses an instance where either recomputation disagrees with ``generate``'s answers.
"""

from derivbook.cache import derive_once
from derivbook.mathtex import scientific
from derivbook.model import AnswerPart, Figure, Math, Mistake, Problem, Step, Tex
from derivbook.params import Param
from derivbook.seeding import Dice
from derivbook.symbolic import (
    ClaimError,
    at,
    canonical_direction,
    int_matrix,
    mp_gradient,
    mp_matmul,
    mp_matrix,
    mp_softmax,
    mp_vector,
    primitive_integer,
    prove_equal,
    symbol_matrix,
    symbol_vector,
    transpose,
)
from derivbook.verify import DIGITS, to_mp

__all__ = [
    "DIGITS", "AnswerPart", "ClaimError", "Dice", "Figure", "Math", "Mistake", "Param", "Problem", "Step", "Tex",
    "at", "canonical_direction", "derive_once", "int_matrix", "mp_gradient", "mp_matmul", "mp_matrix", "mp_softmax",
    "mp_vector", "primitive_integer", "prove_equal", "scientific", "symbol_matrix", "symbol_vector", "to_mp",
    "transpose",
]
