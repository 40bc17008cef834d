"""The stress test behind ``derivbook check``: many seeds, every edge of every parameter range."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from derivbook.engine import make_problem
from derivbook.params import resolve
from derivbook.registry import Derivation
from derivbook.seeding import problem_seed


@dataclass
class Report:
    """What checking one derivation found."""

    instances: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def parameter_sets(derivation: Derivation) -> list[dict]:
    """The defaults, then each ranged or enumerated parameter at each of its edges, the others at default."""
    sets = [resolve(derivation.params, {}, derivation.id)]
    for param in derivation.params:
        edges = (param.choices[0], param.choices[-1]) if param.choices else (param.low, param.high)
        for edge in edges:
            if edge is not None and edge != param.default:
                sets.append(resolve(derivation.params, {param.name: edge}, derivation.id))
    return sets


def check_derivation(derivation: Derivation, seeds: int) -> Report:
    """Generate and verify ``seeds`` instances for every parameter set; collect every failure."""
    report = Report()
    started = time.perf_counter()
    for params in parameter_sets(derivation):
        for index in range(seeds):
            seed = problem_seed(index, 0, f"check/{derivation.id}/{sorted(params.items())}")
            report.instances += 1
            try:
                make_problem(derivation, params, seed)
            except Exception as error:  # every failure is reported, none stops the run
                report.failures.append(f"{params} seed {seed}: {type(error).__name__}: {error}")
    report.seconds = time.perf_counter() - started
    return report


def chosen(only: tuple[str, ...]) -> list[Derivation]:
    """The derivations ``derivbook check`` looks at: those named, or all."""
    from derivbook.registry import catalog, get

    return [get(i, "--only") for i in only] if only else list(catalog().values())
