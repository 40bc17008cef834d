"""The contract, held for every registered derivation: the package's, installed packs' and DERIVBOOK_PATH's.

Generic: nothing here names a derivation, so a new one is tested the moment it is registered. For each:
seeds at every edge of every parameter range (``checking.parameter_sets``), each instance verified exactly
and numerically; each declared mistake told apart from the right answer on one of them at least, and refused
as an answer; a tampered answer leaf refused by each check on its own, naming the part.

``DERIVBOOK_CONFORMANCE_SEEDS`` raises the seeds per parameter set (default 2; ``derivbook check`` runs 20).
"""

import dataclasses
import os
import re

import pytest
import sympy

from derivbook.checking import parameter_sets
from derivbook.engine import make_problem
from derivbook.model import VerificationError
from derivbook.params import resolve
from derivbook.registry import Derivation, catalog
from derivbook.seeding import problem_seed

SEEDS = int(os.environ.get("DERIVBOOK_CONFORMANCE_SEEDS", "2"))
DERIVATIONS = list(catalog().values())


def seed_of(derivation: Derivation, params: dict, index: int) -> int:
    return problem_seed(index, 0, f"conformance/{derivation.id}/{sorted(params.items())}")


def verifies_everywhere(derivation: Derivation, monkeypatch, seeds: int = SEEDS) -> tuple[int, set[str]]:
    """Make ``seeds`` instances at each parameter set (make_problem raises on any failed check); then each
    mistake the instances declared must have been told apart from the right answer on at least one of them,
    and be refused by verification as an answer. The number of instances and the mistakes' names."""
    module = derivation.module
    honest, made, declared, kept = module.generate, 0, set(), {}

    def generate(params, dice):
        problem = honest(params, dice)
        declared.update(m.name for m in problem.mistakes)
        return problem

    with monkeypatch.context() as patch:
        patch.setattr(module, "generate", generate)
        for params in parameter_sets(derivation):
            for index in range(seeds):
                seed = seed_of(derivation, params, index)
                problem = make_problem(derivation, params, seed)
                assert problem.derivation == derivation.id and problem.answer
                for mistake in problem.mistakes:
                    kept.setdefault(mistake.name, (params, seed, mistake))
                made += 1
        for params in parameter_sets(derivation):  # a mistake seen on no instance yet: a few more seeds
            for index in range(seeds, seeds + 20):
                if set(kept) == declared:
                    break
                seed = seed_of(derivation, params, index)
                for mistake in make_problem(derivation, params, seed).mistakes:
                    kept.setdefault(mistake.name, (params, seed, mistake))
    assert set(kept) == declared, f"never told apart from the right answer: {sorted(declared - set(kept))}"
    for params, seed, mistake in kept.values():
        with monkeypatch.context() as patch:
            _with_answer(patch, derivation, mistake.part, mistake.value)
            with pytest.raises(VerificationError, match=rf"answer {re.escape(mistake.part)}\b"):
                make_problem(derivation, params, seed)
    return made, declared


def nudged(value):
    """``value`` with its first scalar leaf moved by a millionth of (its size + 1): never by nothing."""
    if isinstance(value, dict):
        first = next(iter(value))
        return {**value, first: nudged(value[first])}
    if isinstance(value, sympy.MatrixBase):
        moved = value.as_mutable()
        moved[0] = nudged(moved[0])
        return type(value)(moved)
    if isinstance(value, (list, tuple)):
        return type(value)([nudged(value[0]), *value[1:]])
    leaf = sympy.sympify(value)
    return leaf + sympy.Rational(1, 10**6) * (abs(leaf) + 1)


def _with_answer(monkeypatch, derivation: Derivation, name: str, value) -> None:
    """From now on, ``generate`` puts ``value`` in place of answer part ``name``."""
    module = derivation.module
    honest = module.generate

    def generate(params, dice):
        problem = honest(params, dice)
        problem.answer[name] = dataclasses.replace(problem.answer[name], value=value)
        return problem

    monkeypatch.setattr(module, "generate", generate)


def refuses_tampering(derivation: Derivation, monkeypatch) -> list[str]:
    """For each answer part: one leaf nudged is refused by the exact check, and — with the exact check told
    to agree — by the numeric check, each naming the part. The parts tried."""
    params = resolve(derivation.params, {}, derivation.id)
    seed = seed_of(derivation, params, 0)
    honest = make_problem(derivation, params, seed)
    module = derivation.module
    for name, part in honest.answer.items():
        wrong = nudged(part.value)
        named = rf"^{re.escape(derivation.id)} \(seed {seed}\): answer {re.escape(name)}\b"
        with monkeypatch.context() as patch:
            _with_answer(patch, derivation, name, wrong)
            with pytest.raises(VerificationError, match=named + ".* failed the exact check"):
                make_problem(derivation, params, seed)
            claimed = {n: (wrong if n == name else p.value) for n, p in honest.answer.items()}
            patch.setattr(module, "exact_answer", lambda inputs, params, claimed=claimed: claimed)
            with pytest.raises(VerificationError, match=named + ".* failed the numeric check"):
                make_problem(derivation, params, seed)
    return list(honest.answer)


@pytest.mark.parametrize("derivation", DERIVATIONS, ids=lambda d: d.id)
def test_many_seeds_at_every_parameter_edge_verify_twice_and_mistakes_are_real(derivation, monkeypatch):
    made, _ = verifies_everywhere(derivation, monkeypatch)
    assert made == SEEDS * len(parameter_sets(derivation))


@pytest.mark.parametrize("derivation", DERIVATIONS, ids=lambda d: d.id)
def test_each_check_alone_refuses_a_tampered_answer_naming_its_part(derivation, monkeypatch):
    assert refuses_tampering(derivation, monkeypatch)


def test_the_nudge_moves_exactly_one_leaf_of_every_shape():
    for value in (sympy.Rational(1, 3), -1, [0, 2], sympy.Matrix([[1, 2], [3, 4]]), {"a": [sympy.sqrt(2)], "b": 1},
                  [sympy.ImmutableMatrix([1, 2])]):
        moved = nudged(value)
        pairs = list(zip(_leaves(value), _leaves(moved)))
        assert sum(a != b for a, b in pairs) == 1 and len(pairs) == len(list(_leaves(value)))


def _leaves(value):
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, sympy.MatrixBase):
        value = list(value)
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _leaves(item)]
    return [sympy.sympify(value)]
