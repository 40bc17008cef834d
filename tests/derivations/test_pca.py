from collections import Counter

import pytest
import sympy

from derivbook import contract
from derivbook.derivations import pca as mod
from derivbook.model import Step
from tests.helpers import instances


@pytest.mark.parametrize("dims", [2, 3])
def test_lagrangian_gradient(dims):
    """derive()'s gradient of uᵀCu − λ(uᵀu − 1), at numbers, is 2(Cu − λu): stationarity is Cu = λu."""
    gradient = mod.derive(dims)["gradient"]
    names = sorted(gradient.free_symbols, key=str)
    values = dict(zip(names, [sympy.Rational(k + 2, 3) * (-1) ** k for k in range(len(names))]))
    c = sympy.Matrix(dims, dims, lambda i, j: values[sympy.Symbol(f"c_{{{max(i, j) + 1}{min(i, j) + 1}}}", real=True)])
    u = sympy.Matrix([values[sympy.Symbol(f"u_{{{i + 1}}}", real=True)] for i in range(dims)])
    lam = values[sympy.Symbol("lambda")]
    assert gradient.xreplace(values) == 2 * (c * u - lam * u)


def task_text(task: tuple) -> str:
    return "".join(piece if isinstance(piece, str) else piece.body.source for piece in task)


@pytest.mark.parametrize("params", [{}, {"m": 6, "dims": 3}, {"m": 4, "dims": 3}])
def test_instances_are_verified_and_keep_the_stated_convention(params):
    for problem in instances("pca", seeds=40, **params):
        x = problem.inputs["X"]
        cov = problem.answer["covariance"].value
        pc1 = sympy.Matrix(problem.answer["pc1"].value)
        assert all(v.is_Integer for v in x) and all(v.is_Rational for v in cov)
        assert sympy.simplify(pc1.dot(pc1)) == 1  # unit length
        assert next(v for v in pc1 if v != 0) > 0  # first nonzero entry positive
        top = max(cov.eigenvals())
        assert sympy.simplify(cov * pc1 - top * pc1) == sympy.zeros(x.cols, 1)
        assert 0 < problem.answer["explained_variance_ratio"].value < 1
        assert list(cov.eigenvals().values()) == [1] * x.cols  # distinct eigenvalues: the component is unique
        reasons = [step.reason for step in problem.steps if isinstance(step, Step)]
        assert reasons and not any("sympy" in reason.lower() for reason in reasons)


def test_eigenvalues_are_found_from_an_integer_matrix_in_descending_order():
    for problem in instances("pca", seeds=10, m=6, dims=3):
        m = problem.inputs["X"].rows
        cov = problem.answer["covariance"].value
        scaled = [s.rhs for s in problem.steps if isinstance(s, Step) and getattr(s.lhs, "source", "") == r"(\mu_1, \mu_2, \mu_3)"]
        values = [s.rhs for s in problem.steps if isinstance(s, Step) and getattr(s.lhs, "source", "") == r"(\lambda_1, \lambda_2, \lambda_3)"]
        assert all(v.is_Integer for v in scaled[0]) and scaled[0] == sorted(scaled[0], reverse=True)
        assert values[0] == [mu / (m - 1) for mu in scaled[0]] and set(values[0]) == set(cov.eigenvals())


def test_the_question_states_the_convention_and_the_contract_allows_either_sign():
    problem = instances("pca", seeds=1)[0]
    assert "unit length and with its first nonzero entry positive" in task_text(problem.tasks[1])
    part = problem.answer["pc1"]
    assert part.freedom == "sign" and part.convention == "unit length, first nonzero entry positive"
    negated = [-v for v in part.value]
    assert contract.agrees(contract.of(part), part.value, negated)
    assert contract.agrees(contract.of(part), part.value, [sympy.Float(round(float(v), 4)) for v in negated])


def test_mistakes_are_kept_on_most_seeds_and_are_wrong():
    names = {"covariance": ("not-centred", "divided-by-m"), "pc1": ("not-normalised", "smallest-eigenvalue"),
             "explained_variance_ratio": ("smallest-eigenvalue",)}
    problems = instances("pca", seeds=40, m=5, dims=3)
    kept = Counter((m.part, m.name) for p in problems for m in p.mistakes)
    assert set(kept) == {(part, name) for part, some in names.items() for name in some}
    assert all(count >= 0.8 * len(problems) for count in kept.values()), kept
    for problem in problems:
        x, m = problem.inputs["X"], problem.inputs["X"].rows
        cov = problem.answer["covariance"].value
        for mistake in problem.mistakes:
            part = problem.answer[mistake.part]
            assert contract.distinct(contract.of(part), part.value, mistake.value)
            if mistake.name == "divided-by-m":
                assert mistake.value == cov * (m - 1) / m
            if mistake.name == "not-centred":
                assert mistake.value == x.T * x / (m - 1)
