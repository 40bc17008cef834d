import math

import pytest
import sympy

from derivbook.derivations import cross_entropy_mle as mod
from derivbook.model import Step
from derivbook.render import paragraph
from tests.helpers import instances


@pytest.mark.parametrize("k", [2, 3, 5])
def test_lagrange_solution_is_the_empirical_frequency(k):
    general = mod.derive(k)  # raises ClaimError unless p_i = c_i / Σc, NLL(p) = H(p̂, p) and NLL(p̂) = H(p̂)
    total = sum(general["counts"])
    assert general["solution"][general["probs"][0]] == general["counts"][0] / total


@pytest.mark.parametrize("params", [{}, {"k": 2}, {"k": 6, "max_count": 50}])
def test_instances_are_verified_and_nice(params):
    for problem in instances("cross-entropy-mle", **params):
        counts = problem.inputs["counts"]
        mle = problem.answer["mle"].value
        assert mle == [sympy.Rational(c, sum(counts)) for c in counts]
        entropy = -sum(c / sum(counts) * math.log(c / sum(counts)) for c in counts)
        assert math.isclose(float(problem.answer["nll"].value), entropy, rel_tol=1e-12)
        assert 0 < entropy <= math.log(len(counts)) + 1e-12
        assert not any("SymPy" in step.reason for step in problem.steps if isinstance(step, Step))


def test_counts_of_one_and_two_read_as_words():
    statements = [str(paragraph(p.statement[0])) for p in instances("cross-entropy-mle", seeds=10, k=6, max_count=3)]
    assert not any("1 times" in s or "2 times" in s for s in statements)
    assert all("once" in s or "twice" in s for s in statements)


def test_mistakes_are_computed_from_the_same_counts():
    for problem in instances("cross-entropy-mle", seeds=10):
        found = {(m.part, m.name): m.value for m in problem.mistakes}
        counts, nll = problem.inputs["counts"], problem.answer["nll"].value
        assert found[("mle", "counts-not-normalised")] == counts
        assert found[("nll", "not-averaged")] == sum(counts) * nll
        assert float(found[("nll", "bits-not-nats")]) == pytest.approx(float(nll) / math.log(2))
        assert len(problem.mistakes) == 4
