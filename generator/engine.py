"""Orchestration: from a plan of problem requests to verified Problems, variant by variant."""

from __future__ import annotations

import hashlib
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from derivbook.model import BuildError, Problem, UserError, VerificationError
from derivbook.registry import Derivation, get
from derivbook.seeding import Dice, problem_seed

# Variant ids use letters and digits that cannot be misread for one another (no 0/O, 1/I/l, 2/Z, 5/S, 8/B).
ID_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
ID_LETTERS = "ACDEFGHJKMNPQRTUVWXY"  # the first character is always a letter: "K-7QX4"
ID_SALT = b"derivbook variant id v1"


@dataclass(frozen=True)
class Request:
    """One problem of a workbook: which derivation, with which validated parameters, under which key."""

    derivation: Derivation
    params: dict
    key: str  # stable across edits of other problems: "<id>#<occurrence>"
    points: int | None = None
    space: float | None = None  # centimetres of room to write on the worksheet


@dataclass
class Variant:
    """One student's (or one copy's) set of problems."""

    index: int  # its place in the build (a roster's row order)
    id: str  # printed on every page: unique within the build
    student: object | None  # a spec.Student (name, optional id), or None for an anonymous copy
    problems: list[Problem] = field(default_factory=list)

    @property
    def seeding(self) -> int | str:
        """What its problems' numbers come from besides the workbook seed: the copy's number, or the student
        (``Student.key``: so that sorting a roster or adding a late student changes nobody's numbers)."""
        return f"student:{self.student.key}" if self.student is not None else self.index


def plan_variants(seed: int, students: list) -> list[Variant]:
    """Every variant of a build with its id, unique within the build by construction.

    An id is a hash of the seed and the variant (the copy's number, or the student); where two would
    share one, the later in a fixed order (copies by number, students by key, so never by row order) takes
    the next draw. An id depends only on the spec, the seed and the variant, but for that rare step.
    """
    variants = [Variant(index, "", student) for index, student in enumerate(students)]
    order = sorted(variants, key=lambda v: v.seeding)  # all copies (numbers) or all students (keys)
    taken: set[str] = set()
    for variant in order:
        attempt = 0
        while (candidate := variant_id(seed, variant.seeding, attempt)) in taken:
            attempt += 1
        taken.add(candidate)
        variant.id = candidate
    return variants


def variant_id(seed: int, seeding: int | str, attempt: int = 0) -> str:
    """A short, unambiguous id that names a variant without revealing the seed behind it."""
    text = f"/{seed}/{seeding}" + (f"/{attempt}" if attempt else "")
    digest = hashlib.sha256(ID_SALT + text.encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    number, first = divmod(number, len(ID_LETTERS))
    rest = ""
    for _ in range(4):
        number, digit = divmod(number, len(ID_ALPHABET))
        rest += ID_ALPHABET[digit]
    return f"{ID_LETTERS[first]}-{rest}"


TIME_BUDGET = 120.0  # seconds of SymPy work one instance may take (a first derivation at a new size included)


class BudgetExceeded(BuildError):
    """A derivation that ran past its time budget (a runaway simplify), stopped instead of hanging."""


@contextmanager
def time_budget(seconds: float | None, what: str):
    """Stop the enclosed work with BudgetExceeded after ``seconds`` (main thread only; SIGALRM)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise BudgetExceeded(f"{what}: stopped after {seconds:g} s, past its time budget")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def make_problem(derivation: Derivation, params: dict, seed: int, budget: float | None = TIME_BUDGET) -> Problem:
    """Generate one instance and verify it twice; raise VerificationError if either check fails."""
    import mpmath

    from derivbook.verify import DIGITS, check_answers, exact_mismatch, inexact_part, numeric_mismatch

    module = derivation.module
    try:
        with time_budget(budget, f"{derivation.id} (seed {seed})"):
            problem = module.generate(params, Dice(seed))
            problem.derivation, problem.title, problem.params, problem.seed = derivation.id, derivation.title, params, seed
            claimed = {name: part.value for name, part in problem.answer.items()}
            exact_where = check_answers(claimed, module.exact_answer(problem.inputs, params), exact_mismatch)
            with mpmath.workdps(DIGITS + 10):
                numeric = module.numeric_answer(problem.inputs, params)
            numeric_where = check_answers(claimed, numeric, numeric_mismatch)
    except BuildError:
        raise
    except Exception as error:  # a derivation's own failure is a failed build, named by id, seed and line
        raise BuildError(f"{derivation.id} (seed {seed}): {type(error).__name__}: {error}{_line_of(error, derivation)}") from error
    inexact = inexact_part(claimed)
    if inexact is not None:
        raise VerificationError(f"{derivation.id} (seed {seed}): answer {inexact} is a float, not an exact value")
    problem.verified = {"exact": exact_where is None, "numeric": numeric_where is None}
    for kind, where in (("exact", exact_where), ("numeric", numeric_where)):
        if where is not None:
            raise VerificationError(f"{derivation.id} (seed {seed}): answer {where} failed the {kind} check")
    problem.mistakes = telling_mistakes(problem, f"{derivation.id} (seed {seed})")
    unclosed = unbalanced_prose(problem)
    if unclosed is not None:
        raise BuildError(f"{derivation.id} (seed {seed}): unbalanced $ in {unclosed!r}: its mathematics goes between a pair of $")
    return problem


def unbalanced_prose(problem: Problem) -> str | None:
    """The first of a problem's prose strings whose ``$…$`` math is left open (it could not be printed)."""
    paragraphs = [(p,) if isinstance(p, str) else p for p in [*problem.statement, *problem.tasks]]
    texts = [piece for pieces in paragraphs for piece in pieces if isinstance(piece, str)]
    texts += [step if isinstance(step, str) else step.reason for step in problem.steps]
    texts += [mistake.explanation for mistake in problem.mistakes]
    return next((text for text in texts if isinstance(text, str) and text.count("$") % 2), None)


def _line_of(error: Exception, derivation: Derivation) -> str:
    """`` (at FILE:LINE)``: the derivation's own line where ``error`` was raised (or passed through last)."""
    line, frame, file = None, error.__traceback__, Path(derivation.path).resolve()
    while frame is not None:
        if Path(frame.tb_frame.f_code.co_filename).resolve() == file:
            line = frame.tb_lineno
        frame = frame.tb_next
    return f" (at {derivation.path}:{line})" if line else ""


def telling_mistakes(problem: Problem, what: str) -> list:
    """The problem's declared mistakes that can be told apart from the right answer on these numbers.

    A mistake naming no answer part, or shaped unlike it, is the derivation's error; one that happens to
    coincide with the right answer here (a forgotten centring of data whose mean is zero) is dropped.
    """
    from derivbook import contract

    kept = []
    for mistake in problem.mistakes:
        part = problem.answer.get(mistake.part)
        if part is None:
            raise BuildError(f"{what}: mistake {mistake.name!r} names no answer part ({mistake.part!r})")
        terms = contract.of(part)
        if [p for p, _ in contract.leaves(part.value)] != [p for p, _ in contract.leaves(mistake.value)]:
            raise BuildError(f"{what}: mistake {mistake.name!r} is not shaped like answer {part.name}")
        if contract.distinct(terms, part.value, mistake.value):
            kept.append(mistake)
    return kept


def derive_variant(requests: list[Request], workbook_seed: int, variant: Variant) -> Variant:
    """All problems of one variant, each derived and verified from its own seed."""
    variant.problems = [make_problem(r.derivation, r.params, problem_seed(workbook_seed, variant.seeding, r.key))
                        for r in requests]
    return variant


def request(derivation: str | Derivation, params: dict, key: str, where: str, **extra) -> Request:
    """A validated Request for a derivation (or a built-in derivation's id) and its (partial) parameters."""
    from derivbook.params import resolve

    if isinstance(derivation, str):
        derivation = get(derivation, where)
    return Request(derivation, resolve(derivation.params, params, where), key, **extra)


def show_problem(derivation_id: str, seed: str, sets: tuple[str, ...], folders: tuple = ()) -> Problem:
    """One problem of a derivation, as ``derivbook show`` prints it: its parameters from ``KEY=VALUE`` texts,
    its seed as answers.json writes it (a decimal string below 2^64)."""
    from derivbook.params import resolve
    from derivbook.registry import Catalog

    derivation = Catalog(folders).lookup(derivation_id, "show")
    if not (seed.strip().isdigit() and int(seed) < 2**64):
        raise UserError(f"--seed {seed!r}: a problem seed is a whole number from 0 to 2^64-1, as answers.json writes it")
    declared = {p.name: p for p in derivation.params}
    given = {}
    for text in sets:
        key, sep, value = text.partition("=")
        key = key.removeprefix(f"{derivation_id}.")
        if not sep or key not in declared:
            raise UserError(f"--set {text!r}: expected KEY=VALUE with a parameter of {derivation_id} "
                            f"(allowed: {', '.join(declared) or 'none'})")
        given[key] = declared[key].parse(value, f"--set {key}")
    return make_problem(derivation, resolve(derivation.params, given, derivation_id), int(seed))
