import pytest
import sympy

from derivbook.derivations import gradient_descent as mod
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
        assert a * sympy.Matrix(problem.answer["x_star"].value) == b
        assert 0 < problem.inputs["eta"] < problem.answer["eta_max"].value
        iterates = problem.answer["iterates"].value
        assert len(iterates) == problem.inputs["steps"] and iterates[-1] != problem.answer["x_star"].value
        assert all(v.is_Rational and v.q <= 10**6 for p in iterates for v in p)
        assert problem.figure is not None
