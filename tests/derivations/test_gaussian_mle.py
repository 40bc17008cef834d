import pytest

from derivbook.derivations import gaussian_mle as mod
from tests.helpers import instances


@pytest.mark.parametrize("n", [3, 5, 8])
def test_score_equations_give_mean_and_biased_variance(n):
    assert len(mod.derive(n)["xs"]) == n


@pytest.mark.parametrize("n", [3, 5, 8])
def test_instances_are_verified_and_nice(n):
    for problem in instances("gaussian-mle", n=n):
        x = problem.inputs["x"]
        mu, s2 = problem.answer["mu"].value, problem.answer["sigma2"].value
        assert mu.is_Integer and s2.is_Rational and s2 > 0 and n % s2.q == 0
        assert s2 == sum((v - mu) ** 2 for v in x) / n
