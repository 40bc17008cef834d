import pytest
import sympy

from derivbook.derivations import temperature_sampling as mod
from tests.helpers import instances


def test_limits():
    assert mod.derive()["top"].has(mod.T)


@pytest.mark.parametrize("n", [3, 5])
def test_instances_are_verified_and_nice(n):
    for problem in instances("temperature-sampling", seeds=10, n=n):
        probs = problem.answer["probs"].value
        entropy = [float(h) for h in problem.answer["entropy"].value]
        assert [sum(p) for p in probs] == [1, 1, 1] and all(v.is_Rational for p in probs for v in p)
        assert entropy == sorted(entropy)  # hotter is flatter
        assert 0 < entropy[0] and entropy[-1] < float(sympy.log(n))
        assert problem.figure.kind == "bars"
