"""The answer contract: tolerance from the sheet's rounding, zero for integers, and each freedom."""

import sympy
from sympy import Rational, sqrt

from derivbook import contract
from derivbook.model import AnswerPart, Tex


def terms(value, **declared):
    return contract.of(AnswerPart("p", Tex("p"), value, **declared))


def test_integers_are_exact_and_others_round_to_four_places_or_as_asked():
    assert terms(2097152).tolerance(2097152) == 0
    assert not contract.agrees(terms(2097152), 2097152, sympy.Float(2097151))
    four = terms(Rational(3, 7))
    assert four.places == 4 and 5e-5 <= four.tolerance(Rational(3, 7)) < 5.0001e-5
    assert terms(Rational(3, 7), decimals=2).tolerance(Rational(3, 7)) > 4.9e-3
    lr = terms(Rational(3, 10000), decimals=4, significant=True)
    assert 4.9e-8 < lr.tolerance(Rational(3, 10000)) < 5.1e-8


def test_the_keys_rounded_value_and_the_exact_form_pass_and_a_neighbour_does_not():
    part = terms(Rational(26635, 1000000))  # GELU' at -ln 2 is 0.026635...: the key prints 0.0266
    assert contract.agrees(part, Rational(26635, 1000000), sympy.Float("0.0266"))
    assert contract.agrees(part, Rational(26635, 1000000), Rational(26635, 1000000))
    assert not contract.agrees(part, Rational(26635, 1000000), sympy.Float("0.0267"))
    assert not contract.agrees(part, Rational(26635, 1000000), sympy.Float("0.0266"), exact_only=True)


def test_freedoms():
    v = sympy.Matrix([1, -2, 2]) / 3
    assert contract.agrees(terms(v, freedom="sign"), v, -v)
    assert not contract.agrees(terms(v), v, -v)
    assert contract.agrees(terms(v, freedom="scale"), v, 6 * v)
    assert not contract.agrees(terms(v, freedom="scale"), v, 0 * v)
    assert not contract.agrees(terms(v, freedom="scale"), v, sympy.Matrix([1, 2, 2]))
    V = sympy.Matrix([[1, 1], [1, -1]])
    assert contract.agrees(terms(V, freedom="column-scale"), V, sympy.Matrix([[2, -3], [2, 3]]))
    assert not contract.agrees(terms(V, freedom="column-scale"), V, sympy.Matrix([[1, 1], [-1, -1]]))
    assert contract.agrees(terms([3, 1, 2], freedom="unordered"), [3, 1, 2], [1, 2, 3])
    assert contract.agrees(terms([sqrt(2), 1]), [sqrt(2), 1], [sympy.Float("1.4142"), 1])


def test_a_mistake_must_be_told_apart_even_as_a_decimal():
    right = Rational(1, 3)
    assert contract.distinct(terms(right), right, Rational(1, 2))
    assert not contract.distinct(terms(right), right, Rational(1, 3) + Rational(1, 10**6))


def test_exact_comparison_equal_forms_agree_and_wrong_ones_are_refused_without_simplify(monkeypatch):
    from sympy import log

    from derivbook import verify

    part = terms(2 * log(2))
    assert contract.agrees(part, 2 * log(2), log(4))  # equal, written otherwise: is_zero decides
    assert contract.agrees(part, Rational(3, 7), Rational(6, 14))
    calls = []
    monkeypatch.setattr(verify, "is_zero", lambda e: calls.append(e) or False)
    assert not contract.agrees(part, 2 * log(2), 2 * log(3))  # apart by evaluation: no rewriting needed
    assert not contract.agrees(part, Rational(3, 7), Rational(3, 8))  # two fractions: compared directly
    assert calls == []
    assert contract._apart(2 * log(2), log(5)) and not contract._apart(2 * log(2), log(4))


def test_up_to_scale_a_vector_of_tiny_decimals_says_nothing_and_is_refused():
    V = sympy.Matrix([[1, 1], [1, -1]])
    terms = contract.of(AnswerPart("V", Tex("V"), V, freedom="column-scale"))
    tiny = [[sympy.Float("0.0001"), sympy.Float("0.0001")], [sympy.Float("0.0000"), sympy.Float("0.0000")]]
    assert not contract.agrees(terms, V, tiny)
    assert not contract.agrees(terms, V, [[sympy.Float("0.01"), sympy.Float("0.01")], [sympy.Float("0.0099"), sympy.Float("-0.0101")]])
    unit = [[sympy.Float("0.7071"), sympy.Float("0.7071")], [sympy.Float("0.7071"), sympy.Float("-0.7071")]]
    assert contract.agrees(terms, V, unit) and contract.agrees(terms, V, [[-2, 3], [-2, -3]])


def test_up_to_scale_with_significant_figures_takes_a_correctly_rounded_answer():
    key = [Rational(10049, 10000), Rational(999, 1000)]
    terms = contract.of(AnswerPart("v", Tex("v"), key, decimals=3, significant=True, freedom="scale"))
    assert contract.agrees(terms, key, [sympy.Float("1.00"), sympy.Float("0.999")])
    assert not contract.agrees(terms, key, [sympy.Float("1.00"), sympy.Float("0.950")])
