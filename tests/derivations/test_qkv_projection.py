import pytest

from derivbook.derivations import qkv_projection as mod
from tests.helpers import instances


@pytest.mark.parametrize("shape", [(1, 2, 1), (2, 3, 2), (4, 4, 4)])
def test_rows_project_independently(shape):
    general = mod.derive(*shape)
    assert general["product"].shape == (shape[0], shape[2])


@pytest.mark.parametrize("params", [{}, {"n": 1, "d_model": 2, "d_k": 1}, {"n": 4, "d_model": 4, "d_k": 4}])
def test_instances_are_verified_and_nice(params):
    for problem in instances("qkv-projection", **params):
        x = problem.inputs["X"]
        for name in ("Q", "K", "V"):
            w = problem.inputs[f"W_{name}"]
            assert problem.answer[name].value == x * w
            assert all(abs(v) <= 2 for v in w)
