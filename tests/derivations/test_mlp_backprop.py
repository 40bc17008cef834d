import pickle
from collections import Counter

import pytest
import sympy

from derivbook import contract
from derivbook.derivations import mlp_backprop as mod
from derivbook.mathtex import tex
from derivbook.model import Step
from tests.helpers import instances, leaves


@pytest.mark.parametrize("sizes", [(1, 1, 1), (2, 2, 1), (2, 3, 2), (3, 3, 2)])
def test_backprop_formulas_equal_sympys_derivative(sizes):
    general = mod.derive(*sizes)
    assert general["grads"]["dW1"].shape == (sizes[1], sizes[0])


def answers(problem) -> dict:
    return {k: p.value for k, p in problem.answer.items()}


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("sizes", [(2, 2, 1), (3, 3, 2)])
def test_instances_are_verified_and_humane(activation, sizes):
    limits = {"relu": 2, "sigmoid": 64, "tanh": 125}  # halves (the ½ of the loss); quarters for σ (slopes in 16ths), fifths for tanh
    params = dict(zip(("inputs", "hidden", "outputs"), sizes), activation=activation)
    for problem in instances("mlp-backprop", seeds=15, **params):
        values = list(leaves(answers(problem)))
        assert all(v.is_Rational for v in values)
        assert max(v.q for v in values) <= limits[activation]
        assert max(abs(v.p) for v in values) < 1000  # not 113569/14450
        assert all(0 < abs(v) <= 2 for v in problem.answer["db2"].value)  # every output wrong, none far off
        pre = sympy.Matrix(problem.inputs["W1"]) * sympy.Matrix(problem.inputs["x"]) + sympy.Matrix(problem.inputs["b1"])
        if activation == "relu":
            assert all(v != 0 for v in pre)  # never at ReLU's kink
            assert any(v < 0 for v in pre) and any(v > 0 for v in pre)  # the gate shows
        else:
            assert set(pre) <= set(mod.SMOOTH_POINTS[activation])


def test_the_steps_work_every_gradient_and_give_reasons():
    for problem in instances("mlp-backprop", seeds=3, activation="tanh"):
        steps = [step for step in problem.steps if isinstance(step, Step)]
        assert not any("sympy" in step.reason.lower() for step in steps)
        worked = [step.rhs for step in steps]
        for name in ("dW1", "dW2"):
            assert any(isinstance(rhs, sympy.MatrixBase) and rhs == problem.answer[name].value for rhs in worked), name
        for name in ("db1", "db2"):
            assert problem.answer[name].value in worked, name


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_mistakes_are_kept_on_most_seeds_and_differ(activation):
    problems = instances("mlp-backprop", seeds=20, activation=activation)
    counts = Counter((m.part, m.name) for p in problems for m in p.mistakes)
    expected = {("loss", "missing-half"), ("db2", "residual-sign"), ("dW2", "pre-activation-not-activation"),
                ("dW1", "missing-activation-derivative"), ("db1", "missing-activation-derivative"), ("dW1", "transposed")}
    assert set(counts) == expected  # dW2 is 1 × 2 at the default sizes: no transposed mistake of its shape
    assert all(counts[key] >= 14 for key in expected), counts
    for problem in problems:
        wrong = {(m.part, m.name): m.value for m in problem.mistakes}
        if ("dW1", "transposed") in wrong:
            assert wrong["dW1", "transposed"] == problem.answer["dW1"].value.T
        for m in problem.mistakes:
            part = problem.answer[m.part]
            assert contract.distinct(contract.of(part), part.value, m.value)


def test_statement_puts_each_layer_on_its_own_line():
    problem = instances("mlp-backprop", seeds=1, inputs=3, hidden=3, outputs=2)[0]
    displays = [para for para in problem.statement if any(getattr(p, "body", None) for p in para)]
    layer_lines = [tex(para[0]) for para in displays if not isinstance(para[0], str)]
    assert layer_lines[0].startswith("W_1") and layer_lines[1].startswith("W_2")


def test_printing_survives_a_trip_between_processes():
    for problem in instances("mlp-backprop", seeds=3, activation="sigmoid"):
        copy = pickle.loads(pickle.dumps(problem))
        assert [tex(s.rhs) for s in copy.steps if isinstance(s, Step)] == [tex(s.rhs) for s in problem.steps if isinstance(s, Step)]
