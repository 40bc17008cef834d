import pytest

from derivbook.derivations import layernorm_gradient as mod
from tests.helpers import instances


@pytest.mark.parametrize("n", [2, 4])
def test_closed_form_gradient(n):
    assert len(mod.derive(n)["derived"]) == n


@pytest.mark.parametrize("n", [2, 4, 5])
def test_instances_are_verified_and_nice(n):
    for problem in instances("layernorm-gradient", seeds=15, n=n):
        dx = problem.answer["dx"].value
        assert all(v.is_Rational for v in dx + problem.answer["y"].value)
        assert sum(dx) == 0  # LayerNorm is invariant to shifting x, so the gradient sums to zero
