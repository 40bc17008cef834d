"""Everything a derivation uses, in one place: import from here, in the package and outside it.

A derivation is one Python file, named after its id (``adam_update.py`` for ``adam-update``), that declares
four constants and three functions. docs/authoring.md walks through one from a blank file to a printed
sheet; ``derivbook new ID`` writes a working one to start from.

Declarations (read from the source without running it, so write them as literals):

- ``ID``: lowercase words and digits joined by hyphens, unique among all derivations;
- ``TITLE``: the problem's heading, one line; ``$…$`` spans are LaTeX math;
- ``TOPIC``: a short word or phrase that groups derivations in ``derivbook list`` (``"calculus"``);
- ``PARAMS``: a tuple of :class:`Param` — what a spec may set, each with a default and bounds.

Functions (the engine calls them with exactly these arguments):

- ``generate(params, dice) -> Problem``: one seeded instance. ``params`` holds every declared parameter
  (validated, defaults filled in); ``dice`` (:class:`Dice`) is the only source of randomness. Its answers
  come from a general result SymPy derives once (``derive_once``), whose textbook closed form is proven
  equal to what SymPy computed (``prove_equal``) before any number is printed.
- ``exact_answer(inputs, params) -> dict``: the answers recomputed exactly from ``Problem.inputs``, by
  another route than ``generate`` took; a dict with the same keys as ``Problem.answer`` and values of the
  same shape (scalars, lists, matrices, lists or dicts of those).
- ``numeric_answer(inputs, params) -> dict``: the answers recomputed numerically in mpmath (the engine
  works at ``DIGITS`` + 10 digits; use ``mp_vector``, ``mp_gradient`` and the other ``mp_`` helpers).

What the engine checks, so a derivation need not: every answer part agrees with ``exact_answer`` exactly
(SymPy proves each difference zero) and with ``numeric_answer`` to 25 significant digits; answers hold no
floats and prose no unclosed ``$``; declared mistakes name an answer part and have its shape, and are kept only where they differ
from the right answer beyond its tolerance and freedom; an instance taking more than two minutes is
stopped. A failed check refuses the instance: the build fails naming the derivation, the seed and the
answer part. ``derivbook check`` runs many seeds at every edge of every parameter's range.

For tests: ``load(path)`` reads one derivation file as the registry does, and ``instances(...)`` makes
verified instances of it.
"""

from __future__ import annotations

from pathlib import Path

from derivbook.cache import derive_once
from derivbook.mathtex import scientific
from derivbook.model import AnswerPart, Figure, Math, Mistake, Problem, Step, Tex
from derivbook.params import Param
from derivbook.registry import Derivation
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
from derivbook.verify import DIGITS, is_zero, prime_logs, to_mp

__all__ = [
    "DIGITS", "AnswerPart", "ClaimError", "Derivation", "Dice", "Figure", "Math", "Mistake", "Param", "Problem",
    "Step", "Tex", "at", "canonical_direction", "derive_once", "instances", "int_matrix", "is_zero", "load", "mp_gradient",
    "mp_matmul", "mp_matrix", "mp_softmax", "mp_vector", "prime_logs", "primitive_integer", "prove_equal", "scientific",
    "symbol_matrix", "symbol_vector", "to_mp", "transpose",
]


def load(path: str | Path) -> Derivation:
    """The derivation in the file at ``path``, its declarations checked as ``derivbook`` checks them.

    Its ``module`` attribute is the imported file (to test ``derive`` or ``exact_answer`` directly). A file
    inside a package is imported as a file, not as that package's module.
    """
    from derivbook.registry import read_declarations

    return read_declarations(Path(path))


def instances(derivation: Derivation | str, seeds: int = 20, **params) -> list[Problem]:
    """``seeds`` instances of a derivation (a :class:`Derivation` from ``load``, or a built-in id), each
    generated and verified twice by the engine, with ``params`` set and the others at their defaults.

    Raises ``VerificationError`` (or ``BuildError``) at the first instance that fails, naming its seed.
    """
    from derivbook.engine import make_problem
    from derivbook.params import resolve
    from derivbook.registry import get
    from derivbook.seeding import problem_seed

    if isinstance(derivation, str):
        derivation = get(derivation)
    resolved = resolve(derivation.params, params, derivation.id)
    return [make_problem(derivation, resolved, problem_seed(s, 0, f"test/{derivation.id}")) for s in range(seeds)]
