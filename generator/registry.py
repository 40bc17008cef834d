"""Finds every derivation module in the ``derivations`` package by its presence.

The declarations (ID, TITLE, TOPIC, PARAMS) are read from each module's source without importing it, so
``derivbook list``, ``--help`` and spec validation start without loading SymPy; a module is imported the
first time one of its problems is generated.
"""

from __future__ import annotations

import ast
import functools
import importlib
import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from derivbook import cache, derivations
from derivbook.model import UserError
from derivbook.params import Param

FUNCTIONS = ("generate", "exact_answer", "numeric_answer")
TOPICS = ("linear algebra", "calculus", "probability")
TYPES = {"int": int, "float": float, "str": str}


@dataclass(frozen=True)
class Derivation:
    """A registered derivation: its declarations, and its module (imported on first use)."""

    id: str
    title: str
    topic: str
    params: tuple[Param, ...]
    module_name: str

    @property
    def module(self) -> ModuleType:
        return importlib.import_module(f"derivbook.derivations.{self.module_name}")


def _param(call: ast.Call, where: str) -> Param:
    if not (isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Param"):
        raise TypeError(f"{where}: PARAMS must be a tuple of Param(...) calls")
    args = [TYPES[a.id] if isinstance(a, ast.Name) and a.id in TYPES else ast.literal_eval(a) for a in call.args]
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    return Param(*args, **kwargs)


def read_declarations(path: Path) -> Derivation:
    """A derivation's declarations, parsed from its source file (literal values only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: dict = {}
    functions = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in ("ID", "TITLE", "TOPIC"):
                found[name] = ast.literal_eval(node.value)
            elif name == "PARAMS":
                found[name] = tuple(_param(call, str(path)) for call in node.value.elts)
        elif isinstance(node, ast.FunctionDef):
            functions.add(node.name)
    missing = [n for n in ("ID", "TITLE", "TOPIC", "PARAMS") if n not in found] + [f for f in FUNCTIONS if f not in functions]
    if missing:
        raise TypeError(f"derivations/{path.name} lacks {', '.join(missing)}")
    if found["ID"].replace("-", "_") != path.stem:
        raise TypeError(f"derivations/{path.name} declares ID {found['ID']!r}; the file must be named after it")
    if found["TOPIC"] not in TOPICS:
        raise TypeError(f"derivations/{path.name}: TOPIC must be one of {TOPICS}")
    return Derivation(found["ID"], found["TITLE"], found["TOPIC"], found["PARAMS"], path.stem)


def _folder() -> Path:
    return Path(derivations.__file__).parent


@lru_cache(maxsize=1)
def catalog() -> dict[str, Derivation]:
    """Every derivation, by id, in the order of their file names."""
    found = [_declared(p.stem) for p in sorted(_folder().glob("*.py")) if not p.name.startswith("_")]
    return {d.id: d for d in found}


@functools.cache
def _declared(stem: str) -> Derivation:
    """Read from the source, or from the cache when this very source (and parser) was read before: parsing a
    spec's 14 derivations took 30 ms of every build."""
    path = _folder() / f"{stem}.py"
    key = cache.digest(*_parser(), path.read_bytes())
    stored = cache.load("declarations", key)
    if stored is not None:
        return pickle.loads(stored)
    found = read_declarations(path)
    cache.store("declarations", key, pickle.dumps(found))
    return found


@lru_cache(maxsize=1)
def _parser() -> tuple[bytes, bytes]:
    """The code that reads declarations and the records it makes: part of each cached declaration's key."""
    from derivbook import params

    return Path(__file__).read_bytes(), Path(params.__file__).read_bytes()


def get(derivation_id: str, where: str = "derivation") -> Derivation:
    """The derivation with this id, or a UserError listing the known ids.

    A file is named after its id, so a spec's derivations are read without parsing the whole catalog.
    """
    stem = derivation_id.replace("-", "_")
    if stem.isidentifier() and not stem.startswith("_") and (_folder() / f"{stem}.py").is_file():
        derivation = _declared(stem)
        if derivation.id == derivation_id:
            return derivation
    known = catalog()
    raise UserError(f"{where}: unknown derivation {derivation_id!r} (known: {', '.join(known)})")
