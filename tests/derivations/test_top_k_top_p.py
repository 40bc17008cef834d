import pytest
import sympy

from derivbook.derivations import top_k_top_p as mod
from derivbook.model import Step
from derivbook.render import paragraph
from tests.helpers import instances


def test_masking_a_logit_renormalises_the_others():
    """The claim derive() proves (a logit at −∞ drops out of the softmax), checked at numbers."""
    from derivbook.symbolic import ClaimError

    z1, z2 = sympy.Rational(1, 3), sympy.Rational(-2, 5)
    kept = sympy.exp(z1) / (sympy.exp(z1) + sympy.exp(z2))
    for far in (-50, -100):
        full = sympy.exp(z1) / (sympy.exp(z1) + sympy.exp(z2) + sympy.exp(far))
        assert abs(sympy.N(full - kept, 60)) < sympy.exp(far + 1)
    calls = []
    original = mod.prove_equal
    try:
        mod.prove_equal = lambda derived, claimed, what: calls.append(what) or original(derived, claimed, what)
        mod.derive.cache_clear()
        mod.derive()
    finally:
        mod.prove_equal = original
        mod.derive.cache_clear()
    assert calls == ["masking a logit to −∞ renormalises"]
    with pytest.raises(ClaimError):
        original(sympy.exp(z1) / (sympy.exp(z1) + sympy.exp(z2)), sympy.exp(z1) / sympy.exp(z2), "wrong")


@pytest.mark.parametrize("n", [4, 5, 6])
def test_instances_are_verified_and_nice(n):
    for problem in instances("top-k-top-p", n=n):
        top_k, top_p = problem.answer["top_k"].value, problem.answer["top_p"].value
        assert sum(top_k) == 1 == sum(top_p)
        assert sum(1 for v in top_k if v) == problem.inputs["k"]
        assert 1 < sum(1 for v in top_p if v) < n
        assert not any("SymPy" in step.reason for step in problem.steps if isinstance(step, Step))


def test_p_names_the_threshold_only():
    problem = instances("top-k-top-p", seeds=1)[0]
    statement = str(paragraph(problem.statement[0]))
    assert r"q = \operatorname{softmax}(z)" in statement and "p =" not in statement
    assert [str(part.label.source) for part in problem.answer.values()] == [r"q^{\text{top-}k}", r"q^{\text{top-}p}"]


def test_mistakes_are_computed_from_the_same_logits():
    for problem in instances("top-k-top-p"):
        found = {(m.part, m.name): m.value for m in problem.mistakes}
        weights = [sympy.exp(z) for z in problem.inputs["z"]]
        probs = [w / sum(weights) for w in weights]
        top_p = problem.answer["top_p"].value
        kept = [i for i, v in enumerate(top_p) if v]
        assert found[("top_p", "not-renormalised")] == [probs[i] if i in kept else 0 for i in range(len(probs))]
        short = sorted(kept, key=lambda i: probs[i], reverse=True)[:-1]  # the nucleus without its crossing token
        assert found[("top_p", "crossing-token-left-out")] == [probs[i] / sum(probs[j] for j in short) if i in short else 0 for i in range(len(probs))]
        assert len(problem.mistakes) == 3
