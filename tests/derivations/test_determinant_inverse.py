from collections import Counter

import pytest
import sympy

from derivbook.derivations import determinant_inverse as mod
from derivbook.model import Step
from tests.helpers import instances


@pytest.mark.parametrize("size", [2, 3])
def test_adjugate_formula(size):
    general = mod.derive(size)  # proves A adj(A) = det(A) I and adj(A)/det(A) = A⁻¹ symbolically
    assert general["det"] == general["a"].det()


@pytest.mark.parametrize("params", [{}, {"size": 2}, {"size": 3, "max_det": 6}, {"max_det": 1}])
def test_instances_are_verified_and_nice(params):
    for problem in instances("determinant-inverse", **params):
        a = problem.inputs["A"]
        det, inverse = problem.answer["det"].value, problem.answer["inverse"].value
        assert det != 0 and abs(det) <= params.get("max_det", 3)
        assert a * inverse == sympy.eye(a.rows)
        assert max(abs(v) for v in a) <= 9
        assert all((v * det).is_Integer for v in inverse)  # denominators divide det A
        reasons = [step.reason for step in problem.steps if isinstance(step, Step)]
        assert reasons and not any("sympy" in reason.lower() for reason in reasons)


def test_the_check_AA_inverse_is_worked_and_answered():
    for problem in instances("determinant-inverse", seeds=10):
        a, inverse = problem.inputs["A"], problem.answer["inverse"].value
        assert problem.answer["check"].value == a * inverse == sympy.eye(3)
        worked = [s for s in problem.steps if isinstance(s, Step) and getattr(s.lhs, "source", "") == "AA^{-1}"]
        assert len(worked) == 1 and worked[0].rhs == sympy.eye(3)
        assert "AA^{-1}" in task_text(problem.tasks[1])


def task_text(task: tuple) -> str:
    """A task's prose and its math snippets, as one string."""
    return "".join(piece if isinstance(piece, str) else piece.body.source for piece in task)


def test_mistakes_are_kept_on_most_seeds_and_are_wrong():
    problems = instances("determinant-inverse")
    kept = Counter(m.name for p in problems for m in p.mistakes)
    for name in ("cofactor-signs-dropped", "not-divided-by-det", "cofactors-not-transposed"):
        assert kept[name] >= 0.6 * len(problems), kept
    for problem in problems:
        a = problem.inputs["A"]
        values = {m.name: m.value for m in problem.mistakes}
        assert all(m.value != problem.answer[m.part].value for m in problem.mistakes)
        if "not-divided-by-det" in values:
            assert values["not-divided-by-det"] == a.adjugate()
        if "cofactor-signs-dropped" in values:  # a11 M11 + a12 M12 + a13 M13: no alternating signs
            assert values["cofactor-signs-dropped"] == sum(a[0, j] * a.minor(0, j) for j in range(3))
