from collections import Counter

import pytest
import sympy

from derivbook.derivations import low_rank_update as mod
from derivbook.model import Step
from tests.helpers import instances


def test_parameter_counts():
    general = mod.derive()
    assert sympy.expand(general["lowrank"] - general["r"] * (general["d"] + general["k"])) == 0


@pytest.mark.parametrize("params", [{}, {"rows": 2, "cols": 2}, {"rows": 4, "cols": 5}])
def test_instances_are_verified_and_nice(params):
    made = instances("low-rank-update", **params)
    assert len({p.answer["rank"].value for p in made}) > 1  # not every student's rank is the same
    for problem in made:
        w = problem.inputs["W"]
        rank = problem.answer["rank"].value
        assert rank == w.rank() and 1 <= rank < max(min(w.shape), 3)  # below full, but for a 2-row or 2-column W
        d, k, r = (problem.inputs[n] for n in ("d", "k", "r"))
        assert problem.answer["full_params"].value == d * k
        assert problem.answer["lowrank_params"].value == r * (d + k) < d * k
        reasons = [step.reason for step in problem.steps if isinstance(step, Step)]
        assert reasons and not any("sympy" in reason.lower() for reason in reasons)


def test_pivots_are_named_in_words():
    assert mod._pivots((0,)) == "the number of pivots: one pivot (column 1)"
    assert mod._pivots((0, 2)) == "the number of pivots: two pivots (columns 1 and 3)"
    assert mod._pivots((0, 1, 3)) == "the number of pivots: three pivots (columns 1, 2 and 4)"


def test_mistakes_are_kept_on_most_seeds_and_are_wrong():
    problems = instances("low-rank-update")
    kept = Counter(m.name for p in problems for m in p.mistakes)
    assert kept == {name: len(problems) for name in ("assumed-full-rank", "product-d-k-r", "only-B")}
    for problem in problems:
        d, k, r = (problem.inputs[n] for n in ("d", "k", "r"))
        values = {m.name: m.value for m in problem.mistakes}
        assert values["product-d-k-r"] == d * k * r != problem.answer["lowrank_params"].value
        assert values["assumed-full-rank"] == min(problem.inputs["W"].shape) != problem.answer["rank"].value
