import math

import pytest
import sympy

from derivbook.derivations import cross_entropy_mle as mod
from tests.helpers import instances


@pytest.mark.parametrize("k", [2, 3, 5])
def test_lagrange_solution_is_the_empirical_frequency(k):
    general = mod.derive(k)  # raises ClaimError unless p_i = c_i / Σc and NLL = entropy
    total = sum(general["counts"])
    assert general["solution"][general["probs"][0]] == general["counts"][0] / total


@pytest.mark.parametrize("params", [{}, {"k": 2}, {"k": 6, "max_count": 50}])
def test_instances_are_verified_and_nice(params):
    for problem in instances("cross-entropy-mle", **params):
        assert problem.verified == {"exact": True, "numeric": True}
        counts = problem.inputs["counts"]
        mle = problem.answer["mle"].value
        assert mle == [sympy.Rational(c, sum(counts)) for c in counts]
        entropy = -sum(c / sum(counts) * math.log(c / sum(counts)) for c in counts)
        assert math.isclose(float(problem.answer["nll"].value), entropy, rel_tol=1e-12)
        assert 0 < entropy <= math.log(len(counts)) + 1e-12
