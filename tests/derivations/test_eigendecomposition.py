from collections import Counter

import pytest
import sympy

from derivbook import contract
from derivbook.derivations import eigendecomposition as mod
from derivbook.model import Step
from tests.helpers import instances


@pytest.mark.parametrize("size", [2, 3])
def test_symmetric_matrices_move_across_the_dot_product(size):
    general = mod.derive(size)
    assert general["symmetric"] == general["symmetric"].T


def task_text(task: tuple) -> str:
    return "".join(piece if isinstance(piece, str) else piece.body.source for piece in task)


@pytest.mark.parametrize("size", [2, 3])
def test_instances_keep_the_stated_convention(size):
    for problem in instances("eigendecomposition", seeds=40, size=size):
        a = problem.inputs["A"]
        values, vectors = problem.answer["eigenvalues"].value, problem.answer["eigenvectors"].value
        assert a == a.T and values == sorted(values, reverse=True) and len(set(values)) == size  # descending
        assert all(v.is_Integer for v in values)
        for k, lam in enumerate(values):
            column = vectors.col(k)
            assert a * column == lam * column  # column k belongs to λ_k
            assert all(v.is_Integer for v in column) and sympy.igcd(*column) == 1  # coprime integers
            assert next(v for v in column if v != 0) > 0  # first nonzero entry positive
        reasons = [step.reason for step in problem.steps if isinstance(step, Step)]
        assert reasons and not any("sympy" in reason.lower() for reason in reasons)


@pytest.mark.parametrize("size", [2, 3])
def test_the_question_states_the_convention_and_the_contract_records_it(size):
    problem = instances("eigendecomposition", seeds=1, size=size)[0]
    tasks = " ".join(task_text(t) for t in problem.tasks)
    assert "descending order" in tasks and "coprime integer" in tasks and "first nonzero entry positive" in tasks
    assert "V = \\bigl(" in tasks and "in that order" in tasks
    part = problem.answer["eigenvectors"]
    assert part.freedom == "column-scale" and "coprime integers" in part.convention
    assert problem.answer["eigenvalues"].convention == "in descending order"
    vectors = part.value  # a column scaled by its own factor is accepted, the columns swapped are not
    rescaled = vectors * sympy.diag(*[-(k + 2) for k in range(size)])
    assert contract.agrees(contract.of(part), vectors, rescaled)
    assert not contract.agrees(contract.of(part), vectors, vectors[:, ::-1])


@pytest.mark.parametrize("size", [2, 3])
def test_orthogonality_is_computed_and_answered(size):
    pairs = size * (size - 1) // 2
    for problem in instances("eigendecomposition", seeds=10, size=size):
        vectors = problem.answer["eigenvectors"].value
        dots = problem.answer["orthogonality"].value
        expected = [vectors.col(i).dot(vectors.col(j)) for i in range(size) for j in range(i + 1, size)]
        assert dots == expected == [0] * pairs
        worked = [s for s in problem.steps if isinstance(s, Step) and "^{\\top} v_" in getattr(s.lhs, "source", "")]
        assert len(worked) == pairs and all(s.rhs[-1] == 0 for s in worked)
        assert len(problem.answer["orthogonality"].items) == pairs


def test_no_shift_by_zero_is_printed():
    assert mod._shift(0) == "A" and mod._shift(0, vector=True) == "Av"
    assert mod._shift(-4) == "A + 4I" and mod._shift(3) == "A - 3I"
    for problem in instances("eigendecomposition", seeds=40):
        text = " ".join(s.reason + getattr(s.lhs, "source", "") for s in problem.steps if isinstance(s, Step))
        assert "(0)" not in text and "- 0I" not in text and "--" not in text


@pytest.mark.parametrize("size, names", [
    (2, ("diagonal-entries", "negated", "ascending-order")),
    (3, ("diagonal-entries", "negated", "ascending-order", "rows-for-columns")),
])
def test_mistakes_are_kept_on_most_seeds_and_are_wrong(size, names):
    problems = instances("eigendecomposition", seeds=40, size=size)
    kept = Counter(m.name for p in problems for m in p.mistakes)
    assert set(kept) == set(names) and all(kept[name] >= 0.6 * len(problems) for name in names), kept
    for problem in problems:
        for mistake in problem.mistakes:
            part = problem.answer[mistake.part]
            assert contract.distinct(contract.of(part), part.value, mistake.value)
            if mistake.name == "diagonal-entries":
                assert sorted(mistake.value) == sorted(problem.inputs["A"].diagonal())
