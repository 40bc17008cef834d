import pytest
import sympy

from derivbook.derivations import temperature_sampling as mod
from derivbook.model import Step
from tests.helpers import instances


@pytest.mark.parametrize("n", [3, 4, 5])
def test_limits_for_any_gaps(n):
    general = mod.derive(n)  # raises ClaimError unless one-hot as T → 0⁺ and uniform as T → ∞
    assert general["cold"] == {"top": 1, "other": 0}
    assert general["hot"] == {"top": sympy.Rational(1, n), "other": sympy.Rational(1, n)}


@pytest.mark.parametrize("n", [3, 5])
def test_instances_are_verified_and_nice(n):
    for problem in instances("temperature-sampling", seeds=10, n=n):
        probs = problem.answer["probs"].value
        entropy = [float(h) for h in problem.answer["entropy"].value]
        assert [sum(p) for p in probs] == [1, 1, 1] and all(v.is_Rational for p in probs for v in p)
        assert entropy == sorted(entropy)  # hotter is flatter
        assert 0 < entropy[0] and entropy[-1] < float(sympy.log(n))
        assert problem.figure.kind == "bars"
        cold, hot = problem.answer["limits"].value
        top = max(range(n), key=lambda i: float(problem.inputs["z"][i]))
        assert cold == [1 if i == top else 0 for i in range(n)] and hot == [sympy.Rational(1, n)] * n
        assert not any("SymPy" in step.reason for step in problem.steps if isinstance(step, Step))


def test_mistakes_are_computed_from_the_same_logits():
    for problem in instances("temperature-sampling", seeds=10):
        found = {(m.part, m.name): m.value for m in problem.mistakes}
        probs = problem.answer["probs"].value
        assert found[("probs", "temperature-multiplied")] == probs[::-1]  # z·T at T = ½ is z/T at T = 2
        assert found[("entropy", "no-minus-sign")] == [-h for h in problem.answer["entropy"].value]
        assert found[("limits", "limits-swapped")] == problem.answer["limits"].value[::-1]
        assert len(problem.mistakes) == 5  # every one can be told apart from the right answer
