from collections import Counter

import pytest
import sympy

from derivbook.derivations import scaled_dot_product_attention as mod
from derivbook.model import Step
from tests.helpers import instances


@pytest.mark.parametrize("m", [2, 3, 4])
def test_weights_sum_to_one(m):
    """derive()'s softmax weights over m scores, at numbers: positive, and summing to one."""
    general = mod.derive(m)
    at = {s: sympy.Rational(3 * k - 4, 5) for k, s in enumerate(general["scores"])}
    weights = [sympy.N(w.xreplace(at), 40) for w in general["weights"]]
    assert all(w > 0 for w in weights) and abs(sum(weights) - 1) < 1e-35


@pytest.mark.parametrize("params", [{}, {"n": 1, "m": 2, "d": 1}, {"n": 3, "m": 4}])
def test_instances_are_verified_and_nice(params):
    for problem in instances("scaled-dot-product-attention", **params):
        weights = problem.answer["weights"].value
        assert all(sum(weights.row(r)) == 1 for r in range(weights.rows))
        assert all(v.is_Rational and v > 0 for v in weights)
        assert problem.answer["output"].value == weights * problem.inputs["V"]
        reasons = [step.reason for step in problem.steps if isinstance(step, Step)]
        assert reasons and not any("sympy" in reason.lower() for reason in reasons)


@pytest.mark.parametrize("params, names", [
    ({}, {("weights", "unscaled"), ("weights", "softmax-over-columns"), ("output", "unscaled"), ("output", "not-normalised")}),
    ({"n": 1, "m": 2, "d": 1}, {("weights", "softmax-over-columns"), ("output", "not-normalised")}),  # √1 = 1
])
def test_mistakes_are_kept_on_most_seeds_and_are_wrong(params, names):
    problems = instances("scaled-dot-product-attention", **params)
    kept = Counter((m.part, m.name) for p in problems for m in p.mistakes)
    assert set(kept) == names and all(count >= 0.8 * len(problems) for count in kept.values()), kept
    for problem in problems:
        assert all(m.value != problem.answer[m.part].value for m in problem.mistakes)
        for mistake in problem.mistakes:
            if mistake.name == "softmax-over-columns":
                columns = mistake.value
                assert all(sum(columns.col(c)) == 1 for c in range(columns.cols))
