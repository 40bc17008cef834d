import pytest
import sympy

from derivbook.derivations import kl_entropy_perplexity as mod
from tests.helpers import instances


def test_kl_is_cross_entropy_minus_entropy():
    mod.derive()


@pytest.mark.parametrize("n", [3, 4])
def test_instances_are_verified_and_nice(n):
    for problem in instances("kl-entropy-perplexity", n=n):
        answer = {k: part.value for k, part in problem.answer.items()}
        ln2 = sympy.log(2)
        for name in ("entropy", "cross_entropy", "kl"):
            assert sympy.simplify(answer[name] / ln2).is_Rational  # whole bits as multiples of ln 2
        assert answer["kl"] > 0 and answer["perplexity"] == sympy.exp(answer["cross_entropy"])
