import pytest
import sympy

from derivbook.derivations import attention_backprop as mod
from derivbook.mathtex import tex
from derivbook.model import Step
from tests.helpers import instances


@pytest.mark.parametrize("sizes", [(2, 1, 1), (2, 4, 2)])
def test_closed_forms_equal_sympys_derivative(sizes):
    general = mod.derive(*sizes)
    assert general["grads"]["dK"].shape == (sizes[0], sizes[1])


def test_instances_are_verified_and_not_degenerate():
    for problem in instances("attention-backprop", seeds=15):
        dq = problem.answer["dq"].value
        assert any(v != 0 for v in dq)
        assert all(v.is_Rational for v in dq)
        dv = problem.answer["dV"].value
        assert [sum(dv.col(c)) for c in range(dv.cols)] == problem.inputs["g"]  # rows of a gᵀ, a sums to one
        weights = problem.answer["weights"].value
        assert sum(weights) == 1 and all(w.is_Rational for w in weights)
        assert problem.answer["output"].value == list(problem.inputs["V"].T * sympy.Matrix(weights))
        assert not any("SymPy" in step.reason for step in problem.steps if isinstance(step, Step))


def test_every_gradient_is_worked_in_the_steps():
    problem = instances("attention-backprop", seeds=1)[0]
    worked = {step.lhs.source.split("=")[0].strip() for step in problem.steps if isinstance(step, Step)}
    assert {r"\partial L/\partial q", r"\partial L/\partial K", r"\partial L/\partial V"} <= worked


def test_matrices_in_the_steps_have_their_common_factor_out_front():
    matrix = sympy.Matrix([[sympy.Rational(4, 27) * sympy.log(2), 0], [sympy.Rational(-32, 27) * sympy.log(2), 0]])
    assert tex(mod._factored(matrix)) == r"\frac{4 \ln 2}{27} \begin{pmatrix}1 & 0\\-8 & 0\end{pmatrix}"
    assert tex(mod._factored(sympy.Matrix([[sympy.Rational(1, 3), sympy.Rational(2, 3)]]))) == r"\frac{1}{3} \begin{pmatrix}1 & 2\end{pmatrix}"
    assert mod._factored(sympy.Matrix([[1, 2]])) == sympy.Matrix([[1, 2]])


@pytest.mark.parametrize("d", [1, 4])
def test_mistakes_forget_the_scale_or_the_softmax_coupling(d):
    for problem in instances("attention-backprop", seeds=10, d=d):
        names = {(m.part, m.name) for m in problem.mistakes}
        q, k = sympy.Matrix(problem.inputs["q"]), problem.inputs["K"]
        found = {(m.part, m.name): m.value for m in problem.mistakes}
        if d == 1:  # there is no 1/√d to forget
            assert not any(name == "no-inverse-sqrt-d" for _, name in names)
        else:
            assert found[("scores", "no-inverse-sqrt-d")] == list(k * q)
            assert found[("dq", "no-inverse-sqrt-d")] == [sympy.sqrt(d) * v for v in problem.answer["dq"].value]
