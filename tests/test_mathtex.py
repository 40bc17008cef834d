"""How numbers and matrices are printed: one digit-grouping rule everywhere, common denominators factored
out of matrices only where that reads better, and never a changed value."""

import re

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from derivbook.mathtex import approx, common_denominator, decimal, group_digits, tex

R = sympy.Rational


def test_one_expression_groups_every_long_integer_the_same_way():
    # the audit's case: the Mul's denominator was grouped, the Rational's was not
    assert tex(9 * sympy.sqrt(3) / 40000 + R(11, 20000)) == r"\frac{9 \sqrt{3}}{40\,000} + \frac{11}{20\,000}"


@pytest.mark.parametrize("value, expected", [
    (sympy.Integer(1234), "1234"),  # four digits stay together
    (sympy.Integer(12345), r"12\,345"),
    (sympy.Integer(-1234567), r"-1\,234\,567"),
    (R(1, 2000), r"\frac{1}{2000}"),
    (R(-12345, 7), r"- \frac{12\,345}{7}"),
    (R(7, 100000), r"\frac{7}{100\,000}"),
    (sympy.Float(123456.5), r"123\,456.5000"),
])
def test_integers_numerators_and_denominators_are_grouped_from_five_digits(value, expected):
    assert tex(value) == expected


def test_matrix_entries_and_decimals_follow_the_same_rule():
    assert tex(sympy.Matrix([[12345, 1], [2, 1000]])) == r"\begin{pmatrix}12\,345 & 1\\2 & 1000\end{pmatrix}"
    assert decimal(12345.67891, 4) == r"12\,345.6789"
    assert decimal(-1234.5, 4) == "-1234.5000"
    assert decimal(R(1, 3), 6) == r"0.333\,333"  # six places: grouped from the point
    assert decimal(R(1, 3), 4) == "0.3333"
    assert approx([R(100000, 3), R(1, 3)], 2) == r"\left(33\,333.33,\ 0.33\right)"
    assert group_digits("12345678") == r"12\,345\,678" and group_digits("12345", from_left=True) == r"123\,45"


numbers = st.builds(lambda p, q: R(p, q), st.integers(-10**9, 10**9), st.integers(1, 10**9))


@settings(max_examples=60, deadline=None)
@given(st.lists(numbers, min_size=1, max_size=4), st.sampled_from([1, sympy.sqrt(2), sympy.log(3), sympy.pi]))
def test_no_run_of_five_digits_is_ever_printed_ungrouped(terms, factor):
    expression = sum((t * factor ** k for k, t in enumerate(terms)), sympy.Integer(0))
    for printed in (tex(expression), tex(sympy.Matrix([terms])), approx(terms[0], 4), approx(terms[0], 7)):
        assert not re.search(r"\d{5}", printed), printed


SOFTMAX_JACOBIAN = sympy.Matrix([[R(7, 64), R(-1, 16), R(-3, 64)], [R(-1, 16), R(1, 4), R(-3, 16)],
                                 [R(-3, 64), R(-3, 16), R(15, 64)]])


def test_a_shared_denominator_is_factored_out_of_a_matrix():
    assert tex(SOFTMAX_JACOBIAN) == (r"\frac{1}{64} \begin{pmatrix}7 & -4 & -3\\-4 & 16 & -12\\-3 & -12 & 15"
                                     r"\end{pmatrix}")
    # the audit's n = 6 case: 36 fractions over 169 become one factor and small integers
    sixths = sympy.Matrix(6, 6, lambda i, j: R((-1) ** (i + j) * (i + 2 * j + 1), 169))
    assert tex(sixths).startswith(r"\frac{1}{169} \begin{pmatrix}1 & -3 & 5")
    assert r"\frac{1}{169} \begin{pmatrix}" in tex((sympy.Symbol("J"), sixths))  # in a relation too
    assert tex(sympy.ImmutableMatrix(SOFTMAX_JACOBIAN)) == tex(SOFTMAX_JACOBIAN)


@pytest.mark.parametrize("matrix", [
    [[R(1, 2), R(1, 3)], [R(1, 5), R(1, 7)]],  # no shared denominator: (1/210)(105 70; 42 30) is worse
    [[R(8, 19), R(8, 19), R(1, 19), R(2, 19)], [R(2, 15), R(1, 15), R(8, 15), R(4, 15)]],  # rows over 19 and 15
    [[R(1, 2), 0], [0, R(1, 2)]],  # saves nothing
    [[1, R(1, 2), 2], [1, R(1, 2), 2], [R(1, 2), 1, R(1, 4)]],  # (1/4)(4 2 8; …) saves too little
    [[R(1, 3)], [R(2, 3)], [R(1, 3)]],  # three entries
    [[1, 2], [3, 4]],  # integers
    [[sympy.sqrt(2) / 2, R(1, 2)], [R(1, 2), 1]],  # not all rational
])
def test_matrices_that_read_better_as_they_are_keep_their_fractions(matrix):
    assert common_denominator(sympy.Matrix(matrix)) is None
    assert not tex(sympy.Matrix(matrix)).startswith(r"\frac{1}")


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(2, 400), st.data())
def test_a_factored_matrix_is_exactly_the_same_value_and_its_decimals_are_unchanged(rows, cols, q, data):
    entries = data.draw(st.lists(st.integers(-999, 999), min_size=rows * cols, max_size=rows * cols))
    matrix = sympy.Matrix(rows, cols, [R(e, q) for e in entries])
    factored = common_denominator(matrix)
    if factored is None:
        assert not tex(matrix).startswith(r"\frac{1}{")
        return
    d, integers = factored
    assert all(e.is_Integer for e in integers) and integers / d == matrix
    assert tex(matrix) == rf"\frac{{1}}{{{group_digits(str(d))}}} " + tex(integers)
    rounded = [[decimal(matrix[r, c], 4) for c in range(cols)] for r in range(rows)]
    assert approx(matrix, 4) == r"\begin{pmatrix}" + r" \\ ".join(" & ".join(row) for row in rounded) + r"\end{pmatrix}"

