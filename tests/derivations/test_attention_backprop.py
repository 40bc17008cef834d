import pytest

from derivbook.derivations import attention_backprop as mod
from tests.helpers import instances


@pytest.mark.parametrize("sizes", [(2, 1, 1), (2, 4, 2)])
def test_closed_forms_equal_sympys_derivative(sizes):
    general = mod.derive(*sizes)
    assert general["grads"]["dK"].shape == (sizes[0], sizes[1])


def test_instances_are_verified_and_not_degenerate():
    for problem in instances("attention-backprop", seeds=15):
        dq = problem.answer["dq"].value
        assert any(v != 0 for v in dq)
        assert all(v.is_Rational for v in dq)
        dv = problem.answer["dV"].value
        assert [sum(dv.col(c)) for c in range(dv.cols)] == problem.inputs["g"]  # rows of a gᵀ, a sums to one
