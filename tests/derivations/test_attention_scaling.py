import math

import pytest
import sympy
from sympy.stats import E, Normal, variance

from derivbook.derivations import attention_scaling as mod
from derivbook.model import Step
from tests.helpers import instances


def test_general_moments():
    general = mod.derive()
    assert general["mean"] == 0
    assert sympy.simplify(general["variance"] - mod.d * mod.sigma**4) == 0
    assert sympy.simplify(general["scaled"] - mod.sigma**4) == 0
    assert general["raw_limit"] == 0


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
        d, s2 = problem.inputs["d"], problem.inputs["sigma2"]
        assert d & (d - 1) == 0 and 4 <= d <= max_d
        assert problem.answer["variance"].value == d * s2**2
        assert problem.answer["scaled_variance"].value == s2**2


@pytest.mark.parametrize("max_d", [4, 128, 4096])
def test_the_raw_softmax_saturates_and_its_slope_is_smaller(max_d):
    for problem in instances("attention-scaling", seeds=10, max_d=max_d):
        d, s2 = problem.inputs["d"], float(problem.inputs["sigma2"])
        weights = [float(w) for w in problem.answer["weight"].value]
        slopes = [float(v) for v in problem.answer["slope"].value]
        for gap, weight, slope in zip((d**0.5 * s2, s2), weights, slopes):
            assert weight == pytest.approx(1 / (1 + math.exp(-gap)), rel=1e-12)
            assert slope == pytest.approx(math.exp(-gap) / (1 + math.exp(-gap)) ** 2, rel=1e-12)
        assert weights[0] >= weights[1] and slopes[0] < slopes[1]  # √d σ² > σ² for d ≥ 4
        assert problem.answer["slope_limit"].value == 0
        assert not any("SymPy" in step.reason for step in problem.steps if isinstance(step, Step))


def test_mistakes_are_the_typical_ones_and_mostly_kept():
    problems = instances("attention-scaling", seeds=30)
    for problem in problems:
        d, s2 = problem.inputs["d"], problem.inputs["sigma2"]
        found = {(m.part, m.name): m.value for m in problem.mistakes}
        assert found[("scaled_variance", "divided-by-d-squared")] == s2**2 / d
        if s2 != 1:  # at σ² = 1, dσ² = dσ⁴: the mistake cannot be told apart and is dropped
            assert found[("variance", "d-sigma-squared")] == d * s2
    kept = [len(p.mistakes) for p in problems]
    assert sum(kept) >= 0.9 * 5 * len(problems)
