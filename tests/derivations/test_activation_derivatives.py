import pytest
import sympy

from derivbook.derivations import activation_derivatives as mod
from tests.helpers import instances


def test_textbook_forms():
    general = mod.derive()
    assert set(general["derivatives"]) == {"sigmoid", "tanh", "relu", "gelu"}


@pytest.mark.parametrize("max_k", [2, 5, 9])
def test_instances_are_verified_and_nice(max_k):
    for problem in instances("activation-derivatives", max_k=max_k):
        x = problem.inputs["x"]
        assert x != 0 and sympy.exp(abs(x)).is_Integer
        answer = {k: part.value for k, part in problem.answer.items()}
        assert answer["sigmoid"].is_Rational and answer["tanh"].is_Rational
        assert answer["relu"] == (1 if x > 0 else 0)
        assert 0 < float(answer["sigmoid"]) <= 0.25 and 0 < float(answer["tanh"]) < 1
