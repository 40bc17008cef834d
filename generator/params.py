"""Declared parameters of a derivation: defaults, types, allowed ranges, and their validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from derivbook.model import UserError


@dataclass(frozen=True)
class Param:
    """One parameter a workbook spec may set for a derivation."""

    name: str
    type: type  # int, float or str
    default: Any
    help: str
    low: Any = None
    high: Any = None
    choices: tuple = ()

    def allowed(self) -> str:
        """What values are allowed, in words, for error messages and `derivbook list`."""
        if self.choices:
            return "one of " + ", ".join(str(c) for c in self.choices)
        kind = {int: "an integer", float: "a number", str: "a string"}[self.type]
        if self.low is not None and self.high is not None:
            return f"{kind} from {self.low} to {self.high}"
        return kind

    def check(self, value: Any, where: str) -> Any:
        """Return ``value`` if it is allowed, else raise a UserError naming ``where`` and what is allowed."""
        ok_type = isinstance(value, self.type) and not isinstance(value, bool)
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok_type = float(value), True
        if not ok_type:
            raise UserError(f"{where}: {self.name} must be {self.allowed()}, got {value!r}")
        if self.choices and value not in self.choices:
            raise UserError(f"{where}: {self.name} must be {self.allowed()}, got {value!r}")
        if self.low is not None and not (self.low <= value <= self.high):
            raise UserError(f"{where}: {self.name} must be {self.allowed()}, got {value!r}")
        return value

    def parse(self, text: str, where: str) -> Any:
        """Parse a command-line value (``--set n=4``) with this parameter's type, then check it."""
        try:
            value = self.type(text) if self.type is not int else int(text, 10)
        except ValueError:
            raise UserError(f"{where}: {self.name} must be {self.allowed()}, got {text!r}") from None
        return self.check(value, where)


def resolve(declared: tuple[Param, ...], given: dict, where: str) -> dict:
    """Validate ``given`` against the declared parameters and fill in defaults."""
    names = {p.name: p for p in declared}
    unknown = sorted(set(given) - set(names))
    if unknown:
        allowed = ", ".join(names) or "none"
        raise UserError(f"{where}: unknown parameter {unknown[0]!r} (allowed: {allowed})")
    return {p.name: p.check(given[p.name], where) if p.name in given else p.default for p in declared}
