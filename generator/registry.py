"""Finds every derivation module in the ``derivations`` package by its presence."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType

import derivations
from generator.model import UserError
from generator.params import Param

REQUIRED = ("ID", "TITLE", "TOPIC", "PARAMS", "generate", "exact_answer", "numeric_answer")
TOPICS = ("linear algebra", "calculus", "probability")


@dataclass(frozen=True)
class Derivation:
    """A registered derivation: its declarations and the module that implements them."""

    id: str
    title: str
    topic: str
    params: tuple[Param, ...]
    module: ModuleType


def _load(name: str) -> Derivation:
    module = importlib.import_module(f"derivations.{name}")
    missing = [attr for attr in REQUIRED if not hasattr(module, attr)]
    if missing:
        raise TypeError(f"derivations/{name}.py lacks {', '.join(missing)}")
    if module.ID.replace("-", "_") != name:
        raise TypeError(f"derivations/{name}.py declares ID {module.ID!r}; the file must be named after it")
    if module.TOPIC not in TOPICS:
        raise TypeError(f"derivations/{name}.py: TOPIC must be one of {TOPICS}")
    return Derivation(module.ID, module.TITLE, module.TOPIC, tuple(module.PARAMS), module)


@lru_cache(maxsize=1)
def catalog() -> dict[str, Derivation]:
    """Every derivation, by id, in the order of their module names."""
    names = sorted(m.name for m in pkgutil.iter_modules(derivations.__path__) if not m.name.startswith("_"))
    found = [_load(name) for name in names]
    return {d.id: d for d in found}


def get(derivation_id: str, where: str = "derivation") -> Derivation:
    """The derivation with this id, or a UserError listing the known ids."""
    known = catalog()
    if derivation_id not in known:
        raise UserError(f"{where}: unknown derivation {derivation_id!r} (known: {', '.join(known)})")
    return known[derivation_id]
