import pytest
import sympy
from sympy.stats import E, Normal, variance

from derivbook.derivations import attention_scaling as mod
from tests.helpers import instances


def test_general_moments():
    general = mod.derive()
    assert general["mean"] == 0
    assert sympy.simplify(general["variance"] - mod.d * mod.sigma**4) == 0
    assert sympy.simplify(general["scaled"] - mod.sigma**4) == 0


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_claim_agrees_with_sympy_stats_for_small_d(dim):
    sigma = sympy.Symbol("sigma", positive=True)
    q = [Normal(f"q{i}", 0, sigma) for i in range(dim)]
    k = [Normal(f"k{i}", 0, sigma) for i in range(dim)]
    dot = sum(a * b for a, b in zip(q, k))
    assert sympy.simplify(E(dot)) == 0
    assert sympy.simplify(variance(dot) - dim * sigma**4) == 0


@pytest.mark.parametrize("max_d", [4, 128, 4096])
def test_instances_are_verified_and_nice(max_d):
    for problem in instances("attention-scaling", max_d=max_d):
        assert problem.verified == {"exact": True, "numeric": True}
        d, s2 = problem.inputs["d"], problem.inputs["sigma2"]
        assert d & (d - 1) == 0 and 4 <= d <= max_d
        assert problem.answer["variance"].value == d * s2**2
        assert problem.answer["scaled_variance"].value == s2**2
