import pickle
from collections import Counter

import pytest
import sympy

from derivbook import contract
from derivbook.derivations import cross_entropy_gradient as mod
from derivbook.mathtex import tex
from derivbook.model import Step
from tests.helpers import instances, leaves, small_fraction


def test_general_gradient_is_s_minus_y():
    """The gradient derive() returns, at n = 3 and numbers, against finite differences of the loss."""
    general = mod.derive()
    z_values, y_values = [sympy.Rational(1, 2), -1, 2], [sympy.Rational(1, 10), sympy.Rational(7, 10), sympy.Rational(1, 5)]
    at = {mod.n: 3}
    loss = general["loss"].subs(at).doit()
    arrays = {mod.z[i + 1]: z_values[i] for i in range(3)} | {mod.y[i + 1]: y_values[i] for i in range(3)}
    for j in range(1, 4):
        gradient = general["normalised"].subs({**at, mod.j: j}).doit().xreplace(arrays)
        step = sympy.Rational(1, 10**8)
        moved = {**arrays, mod.z[j]: arrays[mod.z[j]] + step}
        slope = (loss.xreplace(moved) - loss.xreplace(arrays)) / step
        assert abs(sympy.N(gradient - slope, 30)) < 1e-6


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
        assert problem.answer["loss"].value == sympy.log(1 / probs[target])  # one logarithm, -ln s_t


def test_loss_is_printed_as_one_logarithm_per_prime_and_reasons_are_mathematics():
    for problem in instances("cross-entropy-gradient", seeds=10):
        loss = problem.answer["loss"].value
        logs = [f.args[0] for f in loss.atoms(sympy.log)]
        assert all(a.is_prime for a in logs) and len(logs) == len(set(logs))
        printed = [tex(step.rhs) for step in problem.steps if isinstance(step, Step)]
        assert not any(r"- \ln\left(\sum" in line for line in printed)  # not SymPy's −Σ(−ln Σ e^{z_k} + z_i)y_i
        assert not any("sympy" in step.reason.lower() for step in problem.steps if isinstance(step, Step))


def test_mistakes_are_computed_and_dropped_only_where_they_coincide():
    smoothed = instances("cross-entropy-gradient")
    assert Counter(m.name for p in smoothed for m in p.mistakes) == {"sign-flipped": 25, "no-label-smoothing": 50}
    for problem in smoothed:
        wrong = {(m.part, m.name): m.value for m in problem.mistakes}
        assert wrong["grad", "sign-flipped"] == [-g for g in problem.answer["grad"].value]
        target = problem.inputs["target"]
        one_hot_grad = wrong["grad", "no-label-smoothing"]
        assert sum(one_hot_grad) == 0 and one_hot_grad[target] < 0
        for m in problem.mistakes:
            part = problem.answer[m.part]
            assert contract.distinct(contract.of(part), part.value, m.value)
    hard = instances("cross-entropy-gradient", seeds=5, epsilon=0.0)
    assert {m.name for p in hard for m in p.mistakes} == {"sign-flipped"}  # no smoothing to forget


def test_printing_survives_a_trip_between_processes():
    for problem in instances("cross-entropy-gradient", seeds=3):
        copy = pickle.loads(pickle.dumps(problem))
        assert [tex(s.rhs) for s in copy.steps if isinstance(s, Step)] == [tex(s.rhs) for s in problem.steps if isinstance(s, Step)]
        assert tex(copy.answer["loss"].value) == tex(problem.answer["loss"].value)
