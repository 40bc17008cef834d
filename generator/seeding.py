"""Per-problem seeds from a stable hash, and draws that stay the same on every Python version."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def problem_seed(workbook_seed: int, variant: int | str, key: str) -> int:
    """The seed of one problem: a SHA-256 of the workbook seed, the variant (its number, or its student)
    and the problem's key.

    The key names the problem by its derivation id and its occurrence among problems with that id, not
    by its position, so inserting or removing another problem leaves this one's numbers unchanged.
    """
    digest = hashlib.sha256(f"derivbook/{workbook_seed}/{variant}/{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class Dice:
    """Seeded draws for a derivation, built only on ``random.random()``.

    ``random.random()`` is the one output Python guarantees stable across versions; ``randint`` and
    ``choice`` have changed their internals before, so they are rebuilt here from it.
    """

    def __init__(self, seed: int):
        self._rng = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        """A uniform integer in ``[low, high]``."""
        return low + min(int(self._rng.random() * (high - low + 1)), high - low)

    def choice(self, options: Sequence[T]) -> T:
        """One of ``options``, uniformly."""
        return options[self.integer(0, len(options) - 1)]

    def sample(self, options: Sequence[T], k: int) -> list[T]:
        """``k`` distinct elements of ``options`` in random order."""
        pool = list(options)
        return [pool.pop(self.integer(0, len(pool) - 1)) for _ in range(k)]

    def shuffled(self, items: Sequence[T]) -> list[T]:
        """A random permutation of ``items``."""
        return self.sample(items, len(items))

    def sign(self) -> int:
        """+1 or -1."""
        return self.choice((1, -1))

    def gaussian(self) -> float:
        """A standard normal draw (Box–Muller on ``random()``), for Monte Carlo checks."""
        import math

        u1, u2 = 1.0 - self._rng.random(), self._rng.random()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
