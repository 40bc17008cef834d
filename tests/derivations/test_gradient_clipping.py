import pickle
from collections import Counter

import pytest
import sympy

from derivbook import contract
from derivbook.derivations import gradient_clipping as mod
from derivbook.mathtex import tex
from derivbook.model import Step
from derivbook.symbolic import ClaimError
from tests.helpers import instances


@pytest.mark.parametrize("rows", [1, 2, 3])
def test_instances_are_verified_and_nice(rows):
    clipped_some = False
    for problem in instances("gradient-clipping", seeds=30, rows=rows):
        norm, scale = problem.answer["total_norm"].value, problem.answer["scale"].value
        assert norm.is_Integer and 0 < scale <= 1
        w = sympy.Matrix(problem.inputs["grads"]["W"])
        assert any(w) and any(problem.inputs["grads"]["b"])  # neither tensor is all zero
        clipped = problem.answer["clipped"].value
        assert clipped["W"] == w * scale
        new_norm = sympy.sqrt(sum(v**2 for v in clipped["W"]) + sum(v**2 for v in clipped["b"]))
        assert new_norm == min(norm, problem.inputs["max_norm"])
        clipped_some |= scale < 1
    assert clipped_some


def test_generate_uses_the_proven_general_result(monkeypatch):
    def refuted(rows):
        raise ClaimError("refuted")

    monkeypatch.setattr(mod, "derive", refuted)  # a failed proof must stop the instance
    with pytest.raises(Exception, match="refuted"):
        instances("gradient-clipping", seeds=1)
    monkeypatch.undo()
    general = mod.derive(2)
    assert general["scale"] == sympy.Min(1, mod.limit / mod.norm_symbol)


def test_reasons_are_mathematics():
    for problem in instances("gradient-clipping", seeds=5):
        assert not any("sympy" in s.reason.lower() for s in problem.steps if isinstance(s, Step))


def test_mistakes_are_kept_where_they_can_differ():
    problems = instances("gradient-clipping", seeds=30)
    counts = Counter(m.name for p in problems for m in p.mistakes)
    assert counts["norms-added"] == 30
    assert counts["per-tensor-clipping"] >= 15  # dropped only where nothing is clipped
    for problem in problems:
        wrong = {m.name: m.value for m in problem.mistakes}
        scale = problem.answer["scale"].value
        assert ("per-tensor-clipping" in wrong) == (scale < 1)  # both tensors nonzero: each has a smaller norm than g
        for m in problem.mistakes:
            part = problem.answer[m.part]
            assert contract.distinct(contract.of(part), part.value, m.value)


def test_printing_survives_a_trip_between_processes():
    for problem in instances("gradient-clipping", seeds=3):
        copy = pickle.loads(pickle.dumps(problem))
        assert [tex(s.rhs) for s in copy.steps if isinstance(s, Step)] == [tex(s.rhs) for s in problem.steps if isinstance(s, Step)]
