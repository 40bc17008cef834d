import pytest
import sympy

from derivbook.derivations import lr_schedule as mod
from tests.helpers import instances


def test_schedule_is_continuous_and_lands_flat():
    general = mod.derive()
    assert isinstance(general["schedule"], sympy.Piecewise)


@pytest.mark.parametrize("points", [2, 4, 6])
def test_instances_are_verified_and_nice(points):
    for problem in instances("lr-schedule", points=points):
        inputs = problem.inputs
        rates = problem.answer["lr"].value
        assert len(rates) == points == len(inputs["steps"]) and inputs["steps"] == sorted(inputs["steps"])
        assert all(inputs["min_lr"] <= r <= inputs["peak"] for r in rates)
        assert any(s < inputs["warmup"] for s in inputs["steps"]) and any(s > inputs["warmup"] for s in inputs["steps"])
