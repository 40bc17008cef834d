import pytest
import sympy

from derivbook.derivations import layernorm_gradient as mod
from derivbook.model import Step, UserError
from derivbook.params import resolve
from derivbook.registry import get
from tests.helpers import instances


@pytest.mark.parametrize("n", [2, 4])
def test_closed_forms_through_the_normalised_vector(n):
    """The gradient derive() returns, at numbers, against finite differences of L = g·y written out here."""
    general = mod.derive(n)
    xs = [sympy.Rational(v) for v in (3, -1, 4, 1, -5)[:n]]
    gammas = [sympy.Rational(v, 2) for v in (1, 3, -2, 5, 1)[:n]]
    gs = [sympy.Rational(v) for v in (2, -1, 1, 3, -2)[:n]]

    def loss(values):
        mean = sum(values) / n
        sigma = sympy.sqrt(sum((v - mean) ** 2 for v in values) / n)
        return sum(g * gamma * (v - mean) / sigma for g, gamma, v in zip(gs, gammas, values))

    at = dict(zip(general["x"], xs)) | dict(zip(general["gamma"], gammas)) | dict(zip(general["g"], gs))
    at |= {b: 0 for b in general["beta"]}
    step = sympy.Rational(1, 10**9)
    for j in range(n):
        moved = [v + (step if k == j else 0) for k, v in enumerate(xs)]
        slope = (loss(moved) - loss(xs)) / step
        assert abs(sympy.N(general["derived"][j].xreplace(at) - slope, 40)) < 1e-6


def test_two_features_are_refused_because_their_gradient_is_always_zero():
    general = mod.derive(2)
    assert all(sympy.simplify(e) == 0 for e in general["derived"])  # x̂ = ±(1, −1) whatever x is
    with pytest.raises(UserError):
        resolve(get("layernorm-gradient").params, {"n": 2}, "layernorm-gradient")


@pytest.mark.parametrize("n", [4, 5])
def test_instances_are_verified_and_nice(n):
    for problem in instances("layernorm-gradient", seeds=15, n=n):
        dx = problem.answer["dx"].value
        assert all(v.is_Rational for v in dx + problem.answer["y"].value)
        assert sum(dx) == 0  # LayerNorm is invariant to shifting x, so the gradient sums to zero
        assert any(v != 0 for v in dx)
        assert not any("SymPy" in step.reason for step in problem.steps if isinstance(step, Step))


def test_mistakes_leave_out_paths_of_the_gradient():
    problems = instances("layernorm-gradient", seeds=20)
    for problem in problems:
        x, gamma, g = problem.inputs["x"], problem.inputs["gamma"], problem.inputs["g"]
        n = len(x)
        mean = sympy.Rational(sum(x), n)
        sigma = sympy.sqrt(sum((v - mean) ** 2 for v in x) / n)
        found = {(m.part, m.name): m.value for m in problem.mistakes}
        assert found[("dx", "direct-path-only")] == [a * b / sigma for a, b in zip(gamma, g)]
    assert sum(len(p.mistakes) for p in problems) >= 0.9 * 4 * len(problems)
