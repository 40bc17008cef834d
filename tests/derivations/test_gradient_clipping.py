import pytest
import sympy

from tests.helpers import instances


@pytest.mark.parametrize("rows", [1, 2, 3])
def test_instances_are_verified_and_nice(rows):
    clipped_some = False
    for problem in instances("gradient-clipping", seeds=30, rows=rows):
        norm, scale = problem.answer["total_norm"].value, problem.answer["scale"].value
        assert norm.is_Integer and 0 < scale <= 1
        w = sympy.Matrix(problem.inputs["grads"]["W"])
        clipped = problem.answer["clipped"].value
        assert clipped["W"] == w * scale
        new_norm = sympy.sqrt(sum(v**2 for v in clipped["W"]) + sum(v**2 for v in clipped["b"]))
        assert new_norm == min(norm, problem.inputs["max_norm"])
        clipped_some |= scale < 1
    assert clipped_some
