import pytest

from derivbook.derivations import top_k_top_p as mod
from tests.helpers import instances


def test_masking_renormalises():
    mod.derive()


@pytest.mark.parametrize("n", [4, 5, 6])
def test_instances_are_verified_and_nice(n):
    for problem in instances("top-k-top-p", n=n):
        top_k, top_p = problem.answer["top_k"].value, problem.answer["top_p"].value
        assert sum(top_k) == 1 == sum(top_p)
        assert sum(1 for v in top_k if v) == problem.inputs["k"]
        assert 1 < sum(1 for v in top_p if v) < n
