import pytest

from derivbook.derivations import vector_norms as mod
from tests.helpers import instances


@pytest.mark.parametrize("n", [2, 3, 4])
def test_polarisation_identity(n):
    assert len(mod.derive(n)["u"]) == n


@pytest.mark.parametrize("n", [2, 3, 4])
def test_instances_are_verified_and_nice(n):
    for problem in instances("vector-norms", n=n):
        u = problem.inputs["u"]
        answer = {k: part.value for k, part in problem.answer.items()}
        assert answer["l2"].is_Integer and answer["linf"] <= answer["l2"] <= answer["l1"]
        assert answer["cosine"].is_Rational and 0 < abs(answer["cosine"]) < 1
        assert answer["l1"] == sum(abs(v) for v in u)
