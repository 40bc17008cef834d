import pickle
from collections import Counter

import pytest
import sympy

from derivbook import contract
from derivbook.derivations import activation_derivatives as mod
from derivbook.mathtex import tex
from derivbook.model import Step
from tests.helpers import instances


def test_textbook_forms():
    """Each derivative derive() returns, against a finite difference of the activation itself."""
    general = mod.derive()
    assert set(general["derivatives"]) == set(general["reasons"]) == {"sigmoid", "tanh", "relu", "gelu"}
    for name, function in mod.ACTIVATIONS.items():
        for point in (sympy.Rational(-7, 4), sympy.Rational(1, 3), sympy.Rational(5, 2)):
            step = sympy.Rational(1, 10**10)
            slope = (function.subs(mod.x, point + step) - function.subs(mod.x, point - step)) / (2 * step)
            assert abs(sympy.N(general["derivatives"][name].subs(mod.x, point) - slope, 30)) < 1e-8, (name, point)


@pytest.mark.parametrize("max_k", [3, 5, 9])
def test_instances_are_verified_and_nice(max_k):
    for problem in instances("activation-derivatives", max_k=max_k):
        x = problem.inputs["x"]
        assert x != 0 and sympy.exp(abs(x)).is_Integer
        answer = {k: part.value for k, part in problem.answer.items()}
        assert answer["sigmoid"].is_Rational and answer["tanh"].is_Rational
        assert answer["relu"] == (1 if x > 0 else 0)
        assert 0 < float(answer["sigmoid"]) <= 0.25 and 0 < float(answer["tanh"]) < 1


def test_reasons_name_the_rules_and_gelu_is_worked_in_its_textbook_form():
    for problem in instances("activation-derivatives", seeds=6):
        steps = [step for step in problem.steps if isinstance(step, Step)]
        reasons = " ".join(step.reason for step in steps)
        assert "sympy" not in reasons.lower()
        for rule in ("chain rule", "quotient rule", "product rule", r"\Phi' = \varphi"):
            assert rule in reasons
        gelu = next(step for step in steps if tex(step.lhs) == r"\operatorname{GELU}'(x)" and r"\approx" in tex(step.rhs))
        expected = f"{float(problem.answer['gelu'].value):.4f}"
        assert tex(gelu.rhs).endswith(expected)  # the worked value is the answer, rounded


def test_mistakes_are_kept_on_every_seed():
    problems = instances("activation-derivatives", max_k=9)
    assert Counter(m.name for p in problems for m in p.mistakes) == {
        "sigma-not-derivative": 25, "one-minus-tanh": 25, "missing-x-phi-term": 25, "missing-cdf-term": 25}
    for problem in problems:
        x = problem.inputs["x"]
        wrong = {m.name: m.value for m in problem.mistakes}
        assert wrong["sigma-not-derivative"] == 1 / (1 + sympy.exp(-x))
        assert wrong["missing-x-phi-term"] + wrong["missing-cdf-term"] - problem.answer["gelu"].value == 0
        for m in problem.mistakes:
            part = problem.answer[m.part]
            assert contract.distinct(contract.of(part), part.value, m.value)


def test_printing_survives_a_trip_between_processes():
    for problem in instances("activation-derivatives", seeds=4):
        copy = pickle.loads(pickle.dumps(problem))
        assert [tex(s.rhs) for s in copy.steps if isinstance(s, Step)] == [tex(s.rhs) for s in problem.steps if isinstance(s, Step)]


def test_the_gelu_answer_box_writes_the_textbook_form_of_the_verified_value():
    for problem in instances("activation-derivatives", seeds=12):
        part = problem.answer["gelu"]
        point = problem.inputs["x"]
        k = int(sympy.exp(abs(point)))
        assert part.value == (mod.PHI_CDF + mod.x * mod.PHI_PDF).subs(mod.x, point)
        sign = "-" if point < 0 else "+"
        assert part.printed(part.value).source.startswith(rf"\tfrac12\Bigl(1 {sign} \operatorname{{erf}}\frac{{\ln {k}}}")
        assert rf"{sign} \frac{{\ln {k}}}{{\sqrt{{2\pi}}}}\, e^{{-(\ln {k})^2/2}}" in part.printed(part.value).source
