from collections import Counter

import pytest
import sympy

from derivbook.derivations import vector_norms as mod
from derivbook.model import Step
from tests.helpers import instances


@pytest.mark.parametrize("n", [2, 3, 4])
def test_polarisation_identity(n):
    """The identity derive() proves, and a wrong one (the sign of 2u·v flipped) refused by the same proof."""
    from derivbook.symbolic import ClaimError, prove_equal

    claims = []
    original = mod.prove_equal
    try:
        mod.prove_equal = lambda derived, claimed, what: claims.append((derived, claimed)) or original(derived, claimed, what)
        mod.derive.cache_clear()
        general = mod.derive(n)
    finally:
        mod.prove_equal = original
        mod.derive.cache_clear()
    ((derived, claimed),) = claims
    u, v = general["u"], general["v"]
    with pytest.raises(ClaimError):
        prove_equal(derived, claimed + 4 * u.dot(v), "flipped")


@pytest.mark.parametrize("n", [2, 3, 4])
def test_instances_are_verified_and_nice(n):
    for problem in instances("vector-norms", n=n):
        u = problem.inputs["u"]
        answer = {k: part.value for k, part in problem.answer.items()}
        assert answer["l2"].is_Integer and answer["linf"] <= answer["l2"] <= answer["l1"]
        assert answer["cosine"].is_Rational and 0 < abs(answer["cosine"]) < 1
        assert answer["l1"] == sum(abs(v) for v in u)
        reasons = [step.reason for step in problem.steps if isinstance(step, Step)]
        assert reasons and not any("sympy" in reason.lower() for reason in reasons)
        norm_v = [s for s in problem.steps if isinstance(s, Step) and getattr(s.lhs, "source", "") == r"\lVert v\rVert_2"]
        assert norm_v and norm_v[0].rhs[-1] == sympy.Matrix(problem.inputs["v"]).norm()  # ‖v‖ is worked, not just quoted


@pytest.mark.parametrize("n", [2, 3, 4])
def test_mistakes_are_kept_on_most_seeds_and_are_wrong(n):
    problems = instances("vector-norms", seeds=40, n=n)
    kept = Counter((m.part, m.name) for p in problems for m in p.mistakes)
    names = {("l1", "signed-sum"), ("l2", "no-square-root"), ("cosine", "not-normalised"), ("cosine", "squared-norms")}
    assert set(kept) == names and all(count >= 0.6 * len(problems) for count in kept.values()), kept
    for problem in problems:
        u, v = sympy.Matrix(problem.inputs["u"]), sympy.Matrix(problem.inputs["v"])
        values = {m.name: m.value for m in problem.mistakes}
        assert all(m.value != problem.answer[m.part].value for m in problem.mistakes)
        assert values["no-square-root"] == problem.answer["l2"].value ** 2
        assert values["not-normalised"] == u.dot(v)
