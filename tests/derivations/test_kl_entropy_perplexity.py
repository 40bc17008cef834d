import pytest
import sympy

from derivbook.derivations import kl_entropy_perplexity as mod
from derivbook.model import Step
from tests.helpers import instances


def test_a_wrong_identity_is_refused_where_kl_is_proven(monkeypatch):
    """derive() proves KL = H(p, q) − H(p); the same proof refuses that claim moved by H(p)."""
    from derivbook.symbolic import ClaimError, prove_equal

    claims = []
    monkeypatch.setattr(mod, "prove_equal", lambda derived, claimed, what: claims.append((derived, claimed, what)))
    mod.derive.cache_clear()
    mod.derive()
    mod.derive.cache_clear()
    ((derived, claimed, what),) = claims
    assert what == "KL = H(p,q) − H(p)"
    prove_equal(derived, claimed, what)  # the real proof passes
    p = sympy.symbols("p1:4", positive=True)
    with pytest.raises(ClaimError):
        prove_equal(derived, claimed - sum(a * sympy.log(a) for a in p), what)


@pytest.mark.parametrize("n", [3, 4])
def test_instances_are_verified_and_nice(n):
    for problem in instances("kl-entropy-perplexity", n=n):
        answer = {k: part.value for k, part in problem.answer.items()}
        ln2 = sympy.log(2)
        for name in ("entropy", "cross_entropy", "kl"):
            assert sympy.simplify(answer[name] / ln2).is_Rational  # whole bits as multiples of ln 2
        assert answer["kl"] > 0 and sympy.simplify(answer["perplexity"] - sympy.exp(answer["cross_entropy"])) == 0
        assert (problem.answer["perplexity"].decimals is None) == answer["perplexity"].is_Integer
        assert not any("SymPy" in step.reason for step in problem.steps if isinstance(step, Step))


def test_kl_is_asymmetric_wherever_both_directions_are_finite_and_it_can_be():
    for problem in instances("kl-entropy-perplexity", n=4):
        p, q = problem.inputs["p"], problem.inputs["q"]
        found = {(m.part, m.name): m.value for m in problem.mistakes}
        if 0 in p:
            assert ("kl", "arguments-swapped") not in found  # KL(q‖p) is infinite
        else:
            assert found[("kl", "arguments-swapped")] == mod._kl(q, p) != problem.answer["kl"].value


def test_mistakes_are_computed_from_the_same_distributions():
    for problem in instances("kl-entropy-perplexity", seeds=10):
        found = {(m.part, m.name): m.value for m in problem.mistakes}
        answer = {k: part.value for k, part in problem.answer.items()}
        assert found[("entropy", "no-minus-sign")] == -answer["entropy"]
        assert found[("perplexity", "base-2-with-nats")] == 2 ** answer["cross_entropy"]
        assert sympy.simplify(found[("perplexity", "base-2-with-nats")] - answer["perplexity"]) != 0
        assert found[("perplexity", "entropy-not-cross-entropy")] == sympy.exp(answer["entropy"])
