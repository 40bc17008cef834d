from collections import Counter

import pytest
import sympy

from derivbook.derivations import qkv_projection as mod
from derivbook.model import Step
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
        reasons = [step.reason for step in problem.steps if isinstance(step, Step)]
        assert reasons and not any("sympy" in reason.lower() for reason in reasons)


def test_the_sign_slip_takes_negative_pairs_negative():
    x, w = sympy.Matrix([[-1, 2]]), sympy.Matrix([[-2], [3]])
    assert mod.sign_slip(x, w) == sympy.Matrix([[-2 + 6]]) and x * w == sympy.Matrix([[2 + 6]])


@pytest.mark.parametrize("params, names", [
    ({}, ("negative-times-negative", "tokens-as-columns")),  # QKV are 2×2: the transpose has their shape
    ({"n": 3, "d_model": 3, "d_k": 3}, ("negative-times-negative", "tokens-as-columns", "transposed-weights")),
])
def test_mistakes_are_kept_on_most_seeds_and_are_wrong(params, names):
    problems = instances("qkv-projection", **params)
    for part in ("Q", "K", "V"):
        kept = Counter(m.name for p in problems for m in p.mistakes if m.part == part)
        assert set(kept) == set(names), kept
        assert all(kept[name] >= 0.6 * len(problems) for name in names), kept
    for problem in problems:
        x = problem.inputs["X"]
        for mistake in problem.mistakes:
            assert mistake.value != problem.answer[mistake.part].value
            if mistake.name == "transposed-weights":
                assert mistake.value == x * problem.inputs[f"W_{mistake.part}"].T
