"""The records that flow from derivations to templates and exporters.

A derivation builds a :class:`Problem`; everything downstream (LaTeX, answers.json) only reads it.
Mathematics stays as SymPy objects here; it is printed at the edges (``derivbook.mathtex``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class UserError(Exception):
    """Bad input the user can fix: a one-line message, exit code 2."""


class BuildError(Exception):
    """A build that failed for a reason other than bad input: exit code 1."""


class VerificationError(BuildError):
    """A generated instance whose answer failed a check: it must never be printed."""


@dataclass(frozen=True)
class Tex:
    """A snippet of LaTeX math written by a derivation (a symbol name, an operator), trusted as is."""

    source: str


MathLike = Any  # a SymPy object, a Tex snippet, a list (vector) or a tuple (a chain joined by "=")


@dataclass(frozen=True)
class Math:
    """Mathematics inside a statement: inline by default, or displayed on its own line."""

    body: Any  # a relation chain: a MathLike or a tuple of MathLikes joined by "="
    display: bool = False


# A paragraph is a tuple of plain strings (prose, escaped when printed) and Math pieces.
Paragraph = tuple


@dataclass(frozen=True)
class Step:
    """One line of a worked solution: ``lhs = rhs`` and the reason it holds."""

    lhs: MathLike
    rhs: MathLike
    reason: str
    relation: Tex = Tex("=")  # or \\iff, \\Rightarrow, \\le ...


FREEDOMS = {
    "unique": "unique (under the convention the question states, if any)",
    "sign": "any nonzero answer's negative is equally right (a direction)",
    "scale": "any nonzero multiple is equally right (an eigenvector)",
    "column-sign": "each column may be negated independently",
    "column-scale": "each column may be scaled by its own nonzero factor",
    "unordered": "the entries may be given in any order (a set)",
}


@dataclass(frozen=True)
class AnswerPart:
    """One named quantity the student must find, as an exact SymPy value.

    ``value`` is a SymPy scalar, a list (vector), a ``sympy.Matrix``, a list of those, or a dict of those.
    ``label`` is how the part is named on paper (LaTeX math); ``decimals`` asks for a rounded decimal
    next to the exact form when the exact form alone is hard to read (``significant``: that many
    significant figures in scientific notation, for tiny numbers such as learning rates). A part whose
    value is a list (or dict) of separate results names them in ``items`` and is printed one per line.

    ``shown`` is how the answer box writes the value when SymPy's printed form would bury the textbook one
    (GELU′ as Φ(x) + xφ(x) with x substituted, not a jumble of erf and exponentials); it is built from the
    same numbers as the steps, and the value itself stays what is verified, recorded and graded.

    ``freedom`` says which other answers are just as right (a key of ``FREEDOMS``): an eigenvector is
    right at any scale, a principal direction at either sign. ``convention`` is the rule the question
    states that picks the one answer the key prints ("unit length, first nonzero entry positive").
    Both go into the part's answer contract (``derivbook.contract``), which exports and graders read.
    """

    name: str
    label: MathLike
    value: Any
    decimals: int | None = None
    significant: bool = False
    items: tuple = ()
    freedom: str = "unique"
    convention: str | None = None
    shown: Tex | None = None  # the textbook form the answer box prints, where SymPy's own form reads badly


    def __post_init__(self) -> None:
        if self.freedom not in FREEDOMS:
            raise ValueError(f"answer part {self.name}: freedom must be one of {', '.join(FREEDOMS)}, not {self.freedom!r}")

    def printed(self, value: Any) -> MathLike:
        """What the answer box writes for ``value`` (one of ``lines()``'s): its ``shown`` form, or itself."""
        return self.shown if self.shown is not None and not self.items else value

    def lines(self) -> list[tuple[MathLike, Any]]:
        """(label, value) pairs as printed: one per item, or the whole part."""
        if not self.items:
            return [(self.label, self.value)]
        values = list(self.value.values()) if isinstance(self.value, dict) else list(self.value)
        return list(zip(self.items, values))


@dataclass(frozen=True)
class Mistake:
    """A common wrong answer to one part, computed by SymPy on the same inputs as the right one.

    ``name`` is short and stable (``"no-outer-product"``): it appears in grade reports. ``explanation``
    (prose with ``$…$`` math) tells a student what went wrong. The engine keeps a mistake only where it
    differs from the right answer beyond the part's tolerance and freedom, so it can be told apart.
    """

    part: str
    name: str
    value: Any
    explanation: str


@dataclass(frozen=True)
class Figure:
    """Data for a plot the template draws (it never computes): named series of (x, y) points."""

    kind: str
    data: dict
    on_worksheet: bool = False


@dataclass
class Problem:
    """One generated, verified exercise: statement, inputs, worked steps and answer."""

    inputs: dict  # name -> SymPy value (scalar, list, Matrix, dict), as printed to the student
    statement: list  # paragraphs
    tasks: list  # paragraphs: what to find, one per answer part group
    steps: list  # Step or str (a heading between groups of steps)
    answer: dict  # name -> AnswerPart
    figure: Figure | None = None
    mistakes: list = field(default_factory=list)  # Mistake records: typical wrong answers, for grading
    # filled in by the engine, which knows which derivation, parameters and seed made the problem
    derivation: str = ""
    title: str = ""
    params: dict = field(default_factory=dict)
    seed: int = 0
    verified: dict = field(default_factory=lambda: {"exact": False, "numeric": False})
