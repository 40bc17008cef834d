import pytest
import sympy

from derivbook.derivations import mlp_backprop as mod
from tests.helpers import instances, leaves


@pytest.mark.parametrize("sizes", [(1, 1, 1), (2, 2, 1), (2, 3, 2), (3, 3, 2)])
def test_backprop_formulas_equal_sympys_derivative(sizes):
    general = mod.derive(*sizes)
    assert general["grads"]["dW1"].shape == (sizes[1], sizes[0])


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_instances_are_verified_and_nice(activation):
    for problem in instances("mlp-backprop", seeds=15, activation=activation):
        assert all(v.is_Rational for v in leaves({k: p.value for k, p in problem.answer.items()}))
        if activation == "relu":
            pre = sympy.Matrix(problem.inputs["W1"]) * sympy.Matrix(problem.inputs["x"]) + sympy.Matrix(problem.inputs["b1"])
            assert all(v != 0 for v in pre)  # never at ReLU's kink
