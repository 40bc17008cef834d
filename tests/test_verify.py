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


def test_an_equality_only_simplify_sees_is_still_found():
    # the quick tests only ever say "zero"; the rewrites after them see the whole difference, as before
    right = (3 + 5 * sqrt(3) / (log(29) - 1)) * (sqrt(3) - sqrt(2))
    written = (3 + 5 * sqrt(3) / (log(29) - 1)) * sqrt(5 - 2 * sqrt(6))
    assert is_zero(right - written)


def test_logs_of_large_rationals_are_not_factored():
    # a product of two 21-digit primes, as a student may type: factoring it would take minutes
    p, q = sympy.nextprime(10**20 + 12345), sympy.nextprime(3 * 10**20 + 777)
    assert prime_logs(log(p * q)) == log(p * q)
    assert prime_logs(log(Rational(7, p * q))) == log(Rational(7, p * q))
    assert prime_logs(log(Rational(12, 7))) == 2 * log(2) + log(3) - log(7)
