import pytest
import sympy

from derivbook.derivations import pca as mod
from tests.helpers import instances


@pytest.mark.parametrize("dims", [2, 3])
def test_lagrangian_gradient(dims):
    assert len(mod.derive(dims)["gradient"]) == dims


@pytest.mark.parametrize("params", [{}, {"m": 6, "dims": 3}, {"m": 4, "dims": 3}])
def test_instances_are_verified_and_nice(params):
    for problem in instances("pca", **params):
        x = problem.inputs["X"]
        cov = problem.answer["covariance"].value
        pc1 = sympy.Matrix(problem.answer["pc1"].value)
        assert all(v.is_Integer for v in x) and all(v.is_Rational for v in cov)
        assert sympy.simplify(pc1.dot(pc1)) == 1
        top = max(cov.eigenvals())
        assert sympy.simplify(cov * pc1 - top * pc1) == sympy.zeros(x.cols, 1)
        assert 0 < problem.answer["explained_variance_ratio"].value < 1
        assert list(cov.eigenvals().values()) == [1] * x.cols  # distinct eigenvalues: the component is unique
