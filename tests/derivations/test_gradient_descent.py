import pickle
from collections import Counter

import pytest
import sympy

from derivbook import contract
from derivbook.derivations import gradient_descent as mod
from derivbook.mathtex import tex
from derivbook.model import Step
from derivbook.render import paragraph
from tests.helpers import instances


@pytest.mark.parametrize("dims", [1, 2])
def test_gradient_bound_and_closed_form(dims):
    general = mod.derive(dims)
    assert general["stable"] == sympy.Interval.open(0, 2 / mod.lam)


@pytest.mark.parametrize("params", [{}, {"dims": 1}, {"steps": 5}, {"steps": 1, "dims": 1}])
def test_instances_are_verified_and_nice(params):
    for problem in instances("gradient-descent", **params):
        a, b = problem.inputs["A"], sympy.Matrix(problem.inputs["b"])
        assert a == a.T and all(v > 0 for v in a.eigenvals())
        assert a * sympy.Matrix(problem.answer["x_star"].value) == b and any(b)
        assert 0 < problem.inputs["eta"] < problem.answer["eta_max"].value
        iterates = problem.answer["iterates"].value
        assert len(iterates) == problem.inputs["steps"]
        assert all(p != problem.answer["x_star"].value for p in iterates)  # never lands on x*: something to iterate
        assert all(v.is_Rational and v.q <= 10**6 for p in iterates for v in p)
        assert problem.figure is not None


def test_the_question_asks_for_the_bound_not_a_largest_step():
    problem = instances("gradient-descent", seeds=1)[0]
    task = str(paragraph(problem.tasks[0]))
    assert "largest step size" not in task and r"0 < \eta < \eta_{\max}" in task
    assert not any("sympy" in s.reason.lower() for s in problem.steps if isinstance(s, Step))


@pytest.mark.parametrize("dims", [1, 2])
def test_mistakes_are_kept_on_most_seeds_and_differ(dims):
    problems = instances("gradient-descent", dims=dims)
    counts = Counter(m.name for p in problems for m in p.mistakes)
    expected = {"gradient-sign-flipped", "one-over-lambda-max", "sign-of-b"} | ({"smallest-eigenvalue"} if dims == 2 else set())
    assert set(counts) == expected and all(c == 25 for c in counts.values()), counts
    for problem in problems:
        wrong = {m.name: m.value for m in problem.mistakes}
        assert wrong["one-over-lambda-max"] == problem.answer["eta_max"].value / 2
        assert wrong["sign-of-b"] == [-v for v in problem.answer["x_star"].value]
        x0, a, b, eta = (sympy.Matrix(problem.inputs["x0"]), problem.inputs["A"], sympy.Matrix(problem.inputs["b"]),
                         problem.inputs["eta"])
        assert wrong["gradient-sign-flipped"][0] == list(x0 + eta * (a * x0 - b))
        for m in problem.mistakes:
            part = problem.answer[m.part]
            assert contract.distinct(contract.of(part), part.value, m.value)


def test_printing_survives_a_trip_between_processes():
    for problem in instances("gradient-descent", seeds=3):
        copy = pickle.loads(pickle.dumps(problem))
        assert [tex(s.rhs) for s in copy.steps if isinstance(s, Step)] == [tex(s.rhs) for s in problem.steps if isinstance(s, Step)]
