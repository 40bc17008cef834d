"""The exact zero test the proofs and checks rely on: its cheap rewrites must stay sound."""

import sympy
from sympy import Rational, log, sqrt

from derivbook.verify import is_zero, prime_logs


def test_logs_of_rationals_cancel_through_their_primes():
    assert prime_logs(log(Rational(32, 7))) == 5 * log(2) - log(7)
    assert is_zero(log(32) - 5 * log(2))
    assert is_zero(Rational(1, 4) * log(Rational(98, 81)) + Rational(1, 4) * log(Rational(81, 98)))


def test_a_nonzero_difference_is_not_called_zero():
    assert not is_zero(log(3) - log(2))
    assert not is_zero(log(Rational(32, 7)) - 5 * log(2))
    assert not is_zero(sqrt(2) - Rational(141421, 100000))


def test_symbols_are_left_alone():
    x = sympy.Symbol("x", positive=True)
    assert prime_logs(log(x) + log(6)) == log(x) + log(2) + log(3)


def test_fractions_of_exponentials_are_compared_over_one_denominator():
    c = 4 * sqrt(2)
    slope = sympy.exp(c) / (1 + sympy.exp(c)) ** 2  # a(1 − a) for a = e^c/(1 + e^c), as a key prints it
    differentiated = sympy.exp(c) / (1 + sympy.exp(c)) - sympy.exp(2 * c) / (1 + sympy.exp(c)) ** 2
    assert is_zero(slope - differentiated)
    assert not is_zero(slope - differentiated + sympy.exp(c) / (1 + sympy.exp(c)) ** 3)
    assert not is_zero(slope - sympy.exp(c) / (1 + sympy.exp(2 * c)))
