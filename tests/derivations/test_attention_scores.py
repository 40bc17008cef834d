import pytest
import sympy

from derivbook.derivations import attention_scores as mod
from tests.helpers import instances


@pytest.mark.parametrize("n, m, d", [(1, 1, 1), (2, 3, 4), (3, 2, 9)])
def test_scores_are_dot_products(n, m, d):
    general = mod.derive(n, m, d)  # proves (QKᵀ)_ij = q_i·k_j entry by entry
    assert general["product"].shape == (n, m)


@pytest.mark.parametrize("params", [{}, {"n": 1, "m": 1, "d": 1}, {"n": 4, "m": 4, "d": 9}])
def test_instances_are_verified_and_nice(params):
    for problem in instances("attention-scores", **params):
        q, k = problem.inputs["Q"], problem.inputs["K"]
        d = q.cols
        assert d == params.get("d", 4) and all(abs(v) <= 4 for v in [*q, *k])
        scores = problem.answer["S"].value
        assert scores == q * k.T
        assert problem.answer["S_scaled"].value == scores / sympy.sqrt(d)
        assert all(v.is_Rational for v in problem.answer["S_scaled"].value)
