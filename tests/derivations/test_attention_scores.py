from collections import Counter

import pytest
import sympy

from derivbook.derivations import attention_scores as mod
from derivbook.model import Step
from tests.helpers import instances


@pytest.mark.parametrize("n, m, d", [(1, 1, 1), (2, 3, 4), (3, 2, 9)])
def test_scores_are_dot_products(n, m, d):
    general = mod.derive(n, m, d)  # proves (QKᵀ)_ij = q_i·k_j entry by entry
    assert general["product"].shape == (n, m)


@pytest.mark.parametrize("params", [{}, {"n": 1, "m": 1, "d": 1}, {"n": 4, "m": 4, "d": 9}])
def test_instances_are_verified_and_nice(params):
    for problem in instances("attention-scores", **params):
        q, k = problem.inputs["Q"], problem.inputs["K"]
        d = q.cols
        assert d == params.get("d", 4) and all(abs(v) <= 4 for v in [*q, *k])
        scores = problem.answer["S"].value
        assert scores == q * k.T
        assert problem.answer["S_scaled"].value == scores / sympy.sqrt(d)
        assert all(v.is_Rational for v in problem.answer["S_scaled"].value)
        reasons = [step.reason for step in problem.steps if isinstance(step, Step)]
        assert reasons and not any("sympy" in reason.lower() for reason in reasons)


def test_the_first_score_is_worked_and_wide_heads_split_the_statement():
    for problem in instances("attention-scores", seeds=5, n=2, m=2, d=9):
        first = [s for s in problem.steps if isinstance(s, Step) and getattr(s.lhs, "source", "") == "S_{11}"]
        assert first and first[-1].rhs == problem.answer["S"].value[0, 0]
        assert len(problem.statement) == 3  # Q and K each on a line of their own: side by side they overrun
    assert len(instances("attention-scores", seeds=1)[0].statement) == 2


def test_mistakes_are_kept_on_most_seeds_and_are_wrong():
    problems = instances("attention-scores", n=3, m=3)
    kept = Counter(m.name for p in problems for m in p.mistakes)
    for name in ("negative-times-negative", "unscaled", "divided-by-d", "transposed"):
        assert kept[name] >= 0.8 * len(problems), (name, kept)
    for problem in problems:
        q, k = problem.inputs["Q"], problem.inputs["K"]
        values = {m.name: m.value for m in problem.mistakes}
        assert all(m.value != problem.answer[m.part].value for m in problem.mistakes)
        if "transposed" in values:
            assert values["transposed"] == k * q.T
        if "unscaled" in values:
            assert values["unscaled"] == q * k.T


def test_a_transposed_mistake_is_declared_only_where_its_shape_fits():
    for problem in instances("attention-scores", seeds=10):  # 2 queries, 3 keys: KQᵀ is 3×2
        assert "transposed" not in {m.name for m in problem.mistakes}
