import pickle
from collections import Counter

import pytest
import sympy

from derivbook import contract
from derivbook.derivations import logsumexp as mod
from derivbook.mathtex import tex
from derivbook.model import Step
from derivbook.verify import is_zero
from tests.helpers import instances


@pytest.mark.parametrize("n", [2, 4, 6])
def test_gradient_and_shift_identity(n):
    general = mod.derive(n)
    assert general["gradient"].has(sympy.Sum)


@pytest.mark.parametrize("n", [2, 4, 6])
def test_instances_are_verified_and_nice(n):
    for problem in instances("logsumexp", n=n):
        weights = [sympy.exp(z) for z in problem.inputs["z"]]
        assert problem.answer["lse"].value == sympy.log(sum(weights))
        assert sum(problem.answer["grad"].value) == 1
        assert weights.count(max(weights)) == 1


def test_reasons_are_mathematics_and_define_their_symbols():
    for problem in instances("logsumexp", seeds=5):
        reasons = [step.reason for step in problem.steps if isinstance(step, Step)]
        assert not any("sympy" in r.lower() for r in reasons)
        assert any("chain rule" in r for r in reasons)
        assert not any("w_i" in r for r in reasons)  # no symbol the problem never defines


@pytest.mark.parametrize("n", [2, 6])
def test_mistakes_are_kept_on_every_seed(n):
    problems = instances("logsumexp", n=n)
    assert Counter(m.name for p in problems for m in p.mistakes) == {
        "shift-not-added-back": 25, "max-instead-of-lse": 25, "exp-not-normalised": 25}
    for problem in problems:
        weights = [sympy.exp(z) for z in problem.inputs["z"]]
        wrong = {m.name: m.value for m in problem.mistakes}
        assert is_zero(wrong["shift-not-added-back"] + max(problem.inputs["z"]) - problem.answer["lse"].value)
        assert wrong["max-instead-of-lse"] == max(problem.inputs["z"])
        assert wrong["exp-not-normalised"] == weights
        for m in problem.mistakes:
            part = problem.answer[m.part]
            assert contract.distinct(contract.of(part), part.value, m.value)


def test_printing_survives_a_trip_between_processes():
    for problem in instances("logsumexp", seeds=5):
        copy = pickle.loads(pickle.dumps(problem))
        assert [tex(s.rhs) for s in copy.steps if isinstance(s, Step)] == [tex(s.rhs) for s in problem.steps if isinstance(s, Step)]
