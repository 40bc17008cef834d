import pytest
import sympy

from derivbook.derivations import gaussian_mle as mod
from derivbook.model import Step
from tests.helpers import instances


@pytest.mark.parametrize("n", [3, 5, 8])
def test_score_equations_give_mean_and_biased_variance(n):
    """derive()'s MLEs, at numbers, are the sample mean and the variance divided by n (not n − 1)."""
    import statistics
    from fractions import Fraction

    general = mod.derive(n)  # raises ClaimError unless the scores, the curvature and −ℓ = S/(2σ²) + const hold
    data = [Fraction(v) for v in (4, -1, 7, 2, 0, 5, 3, -2)[:n]]
    at = {x: sympy.Rational(v) for x, v in zip(general["xs"], data)}
    assert general["mean"].xreplace(at) == sympy.Rational(statistics.mean(data))
    assert general["variance"].xreplace(at) == sympy.Rational(statistics.pvariance(data))


@pytest.mark.parametrize("n", [3, 5, 8])
def test_instances_are_verified_and_nice(n):
    for problem in instances("gaussian-mle", n=n):
        x = problem.inputs["x"]
        mu, s2, sse = (problem.answer[k].value for k in ("mu", "sigma2", "sse"))
        assert mu.is_Integer and s2.is_Rational and s2 > 0 and n % s2.q == 0
        assert s2 == sum((v - mu) ** 2 for v in x) / n
        assert sse == sum((v - mu) ** 2 for v in x) == n * s2
        assert all(sum((v - m) ** 2 for v in x) > sse for m in (mu - 1, mu + 1))  # S is smallest at μ̂
        assert not any("SymPy" in step.reason for step in problem.steps if isinstance(step, Step))


def test_mistakes_are_computed_from_the_same_data():
    for problem in instances("gaussian-mle", seeds=10):
        found = {(m.part, m.name): m.value for m in problem.mistakes}
        x, mu = problem.inputs["x"], problem.answer["mu"].value
        assert found[("sigma2", "divided-by-n-minus-1")] == sympy.Rational(sum((v - mu) ** 2 for v in x), len(x) - 1)
        assert found[("sse", "mean-squared-error")] == problem.answer["sigma2"].value
