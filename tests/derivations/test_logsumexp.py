import pytest
import sympy

from derivbook.derivations import logsumexp as mod
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
