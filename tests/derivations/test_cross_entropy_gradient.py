import pytest
import sympy

from derivbook.derivations import cross_entropy_gradient as mod
from tests.helpers import instances, leaves, small_fraction


def test_general_gradient_is_s_minus_y():
    general = mod.derive()
    assert general["normalised"].has(mod.y[mod.j])


@pytest.mark.parametrize("n", [2, 3, 4])
def test_claim_holds_for_explicit_sizes_with_symbolic_smoothing(n):
    z = sympy.symbols(f"z1:{n + 1}")
    eps = sympy.Symbol("epsilon")
    y = [(1 - eps) * (1 if i == 0 else 0) + eps / n for i in range(n)]
    total = sum(sympy.exp(v) for v in z)
    loss = -sum(c * sympy.log(sympy.exp(v) / total) for c, v in zip(y, z))
    for j in range(n):
        assert sympy.simplify(sympy.diff(loss, z[j]) - (sympy.exp(z[j]) / total - y[j])) == 0


@pytest.mark.parametrize("params", [{}, {"n": 2, "epsilon": 0.0}, {"n": 6, "epsilon": 0.5}])
def test_instances_are_verified_and_nice(params):
    for problem in instances("cross-entropy-gradient", **params):
        assert problem.verified == {"exact": True, "numeric": True}
        grad = problem.answer["grad"].value
        assert sum(grad) == 0  # s and y both sum to one
        assert all(small_fraction(g, denominator=2000) for g in leaves(grad))
        assert 0 < float(problem.answer["loss"].value) < 10
        assert 0 <= problem.inputs["target"] < len(problem.inputs["z"])


def test_smoothing_of_zero_gives_one_hot_labels():
    for problem in instances("cross-entropy-gradient", seeds=5, epsilon=0.0):
        target = problem.inputs["target"]
        probs = [sympy.exp(v) / sum(sympy.exp(w) for w in problem.inputs["z"]) for v in problem.inputs["z"]]
        expected = [p - (1 if i == target else 0) for i, p in enumerate(probs)]
        assert [sympy.nsimplify(g - e) for g, e in zip(problem.answer["grad"].value, expected)] == [0] * len(expected)
