import pytest
import sympy

from derivbook.derivations import low_rank_update as mod
from tests.helpers import instances


def test_parameter_counts():
    general = mod.derive()
    assert sympy.expand(general["lowrank"] - general["r"] * (general["d"] + general["k"])) == 0


@pytest.mark.parametrize("params", [{}, {"rows": 2, "cols": 2}, {"rows": 4, "cols": 5}])
def test_instances_are_verified_and_nice(params):
    for problem in instances("low-rank-update", **params):
        w = problem.inputs["W"]
        rank = problem.answer["rank"].value
        assert rank == w.rank() and 1 <= rank < min(w.shape)
        d, k, r = (problem.inputs[n] for n in ("d", "k", "r"))
        assert problem.answer["full_params"].value == d * k
        assert problem.answer["lowrank_params"].value == r * (d + k) < d * k
