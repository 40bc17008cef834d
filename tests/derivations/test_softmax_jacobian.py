import pickle
import re
from collections import Counter

import pytest
import sympy

from derivbook import contract
from derivbook.derivations import softmax_jacobian as mod
from derivbook.mathtex import tex
from derivbook.model import Step
from tests.helpers import instances, leaves, small_fraction


def test_general_derivative_is_the_textbook_form():
    general = mod.derive()  # raises ClaimError if SymPy's derivative differs from the quotient form or s_i(δ_ij − s_j)
    assert general["derivative"].has(sympy.KroneckerDelta)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_claim_holds_for_explicit_sizes(n):
    z = sympy.symbols(f"z1:{n + 1}")
    total = sum(sympy.exp(v) for v in z)
    s = [sympy.exp(v) / total for v in z]
    for i in range(n):
        for j in range(n):
            claim = s[i] * ((1 if i == j else 0) - s[j])
            assert sympy.simplify(sympy.diff(s[i], z[j]) - claim) == 0


@pytest.mark.parametrize("n", [2, 3, 6])
def test_instances_are_verified_and_nice(n):
    for problem in instances("softmax-jacobian", n=n):
        weights = [sympy.exp(v) for v in problem.inputs["z"]]
        assert all(w.is_Integer and 1 <= w <= 6 for w in weights) and len(set(weights)) > 1
        assert all(small_fraction(v) for v in leaves(problem.answer["jacobian"].value))
        assert sum(problem.answer["softmax"].value) == 1
        jacobian = problem.answer["jacobian"].value
        assert jacobian.shape == (n, n) and jacobian == jacobian.T


def test_reasons_are_mathematics_and_the_quotient_form_is_printed():
    problem = instances("softmax-jacobian", seeds=1)[0]
    reasons = [step.reason for step in problem.steps if isinstance(step, Step)]
    assert not any("sympy" in reason.lower() for reason in reasons)
    assert any("quotient rule" in reason for reason in reasons)
    assert any(step.rhs is mod.QUOTIENT_TEX for step in problem.steps if isinstance(step, Step))


def test_mistakes_are_the_usual_wrong_jacobians_and_always_kept():
    problems = instances("softmax-jacobian", n=3)
    assert Counter(m.name for p in problems for m in p.mistakes) == {
        "no-outer-product": 25, "sign-flipped": 25, "missing-diagonal-term": 25}
    for problem in problems:
        s = sympy.Matrix(problem.answer["softmax"].value)
        wrong = {m.name: m.value for m in problem.mistakes}
        assert wrong["no-outer-product"] == sympy.diag(*s)
        assert wrong["sign-flipped"] == -problem.answer["jacobian"].value
        assert wrong["missing-diagonal-term"] == -s * s.T
        part = problem.answer["jacobian"]
        assert all(contract.distinct(contract.of(part), part.value, m.value) for m in problem.mistakes)
        assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", m.name) and m.explanation.count("$") % 2 == 0 for m in problem.mistakes)


def test_printing_survives_a_trip_between_processes():
    for problem in instances("softmax-jacobian", seeds=3):
        copy = pickle.loads(pickle.dumps(problem))
        assert [tex(s.rhs) for s in copy.steps if isinstance(s, Step)] == [tex(s.rhs) for s in problem.steps if isinstance(s, Step)]
