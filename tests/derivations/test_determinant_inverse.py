import pytest
import sympy

from derivbook.derivations import determinant_inverse as mod
from tests.helpers import instances


@pytest.mark.parametrize("size", [2, 3])
def test_adjugate_formula(size):
    general = mod.derive(size)  # proves adj(A)/det(A) = A⁻¹ symbolically
    assert general["det"] == general["a"].det()


@pytest.mark.parametrize("params", [{}, {"size": 2}, {"size": 3, "max_det": 6}, {"max_det": 1}])
def test_instances_are_verified_and_nice(params):
    for problem in instances("determinant-inverse", **params):
        a = problem.inputs["A"]
        det, inverse = problem.answer["det"].value, problem.answer["inverse"].value
        assert det != 0 and abs(det) <= params.get("max_det", 3)
        assert a * inverse == sympy.eye(a.rows)
        assert max(abs(v) for v in a) <= 9
        assert all((v * det).is_Integer for v in inverse)  # denominators divide det A
