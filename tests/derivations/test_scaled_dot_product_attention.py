import pytest

from derivbook.derivations import scaled_dot_product_attention as mod
from tests.helpers import instances


@pytest.mark.parametrize("m", [2, 3, 4])
def test_weights_sum_to_one(m):
    assert len(mod.derive(m)["weights"]) == m


@pytest.mark.parametrize("params", [{}, {"n": 1, "m": 2, "d": 1}, {"n": 3, "m": 4}])
def test_instances_are_verified_and_nice(params):
    for problem in instances("scaled-dot-product-attention", **params):
        weights = problem.answer["weights"].value
        assert all(sum(weights.row(r)) == 1 for r in range(weights.rows))
        assert all(v.is_Rational and v > 0 for v in weights)
        assert problem.answer["output"].value == weights * problem.inputs["V"]
