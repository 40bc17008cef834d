import pytest
import sympy

from derivbook.derivations import eigendecomposition as mod
from tests.helpers import instances


@pytest.mark.parametrize("size", [2, 3])
def test_symmetric_matrices_move_across_the_dot_product(size):
    general = mod.derive(size)
    assert general["symmetric"] == general["symmetric"].T


@pytest.mark.parametrize("size", [2, 3])
def test_instances_are_verified_and_nice(size):
    for problem in instances("eigendecomposition", size=size):
        a = problem.inputs["A"]
        values, vectors = problem.answer["eigenvalues"].value, problem.answer["eigenvectors"].value
        assert a == a.T and values == sorted(values) and len(set(values)) == size
        assert all(v.is_Integer for v in values)
        for k, lam in enumerate(values):
            assert a * vectors.col(k) == lam * vectors.col(k)
        gram = vectors.T * vectors
        assert gram == sympy.diag(*gram.diagonal())  # orthogonal eigenvectors
