"""Shared test helpers: generate verified instances of a derivation over many seeds."""

from __future__ import annotations

import sympy

from derivbook.engine import make_problem
from derivbook.params import resolve
from derivbook.registry import get
from derivbook.seeding import problem_seed


def instances(derivation_id: str, seeds: int = 25, **params):
    """Verified Problems of one derivation over ``seeds`` seeds (make_problem raises on any failed check)."""
    derivation = get(derivation_id)
    resolved = resolve(derivation.params, params, derivation_id)
    return [make_problem(derivation, resolved, problem_seed(s, 0, f"test/{derivation_id}")) for s in range(seeds)]


def leaves(value):
    """The scalar entries of a nested answer value."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, sympy.MatrixBase):
        yield from value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from leaves(item)
    else:
        yield sympy.sympify(value)


def small_fraction(value, denominator: int = 10_000, numerator: int = 10_000) -> bool:
    """A rational a student can carry by hand."""
    value = sympy.nsimplify(value)
    return value.is_Rational and abs(value.q) <= denominator and abs(value.p) <= numerator


def derived(workbook):
    """Every variant of a workbook with its verified problems (no rendering, no TeX)."""
    from derivbook.engine import derive_variant, plan_variants

    return [derive_variant(workbook.requests, workbook.seed, v) for v in plan_variants(workbook.seed, workbook.students)]
