import pickle
from collections import Counter

import pytest
import sympy
from click.testing import CliRunner

from derivbook import contract
from derivbook.cli import main
from derivbook.derivations import lr_schedule as mod
from derivbook.mathtex import tex
from derivbook.model import Step
from derivbook.render import paragraph
from tests.helpers import instances


def test_the_derived_schedule_is_the_textbook_formula():
    """The Piecewise derive() returns, at numbers, against the formula written out in plain Python."""
    import math

    general = mod.derive()
    peak, floor, warm, total = 3e-4, 1e-5, 100, 1000
    values = {mod.peak: peak, mod.floor: floor, mod.warm: warm, mod.total: total}
    for step in (0, 50, 99, 100, 101, 550, 999, 1000):
        textbook = peak * step / warm if step < warm else \
            floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * (step - warm) / (total - warm)))
        assert float(general["schedule"].subs({**values, mod.t: step})) == pytest.approx(textbook, rel=1e-12)


@pytest.mark.parametrize("steps", [2, 4, 6])
def test_instances_are_verified_and_nice(steps):
    for problem in instances("lr-schedule", steps=steps):
        inputs = problem.inputs
        rates = problem.answer["lr"].value
        assert len(rates) == steps == len(inputs["steps"]) and inputs["steps"] == sorted(inputs["steps"])
        assert all(inputs["min_lr"] <= r <= inputs["peak"] for r in rates)
        assert any(s < inputs["warmup"] for s in inputs["steps"]) and any(s > inputs["warmup"] for s in inputs["steps"])
        assert problem.answer["at_warmup"].value == [inputs["peak"], inputs["peak"]]
        assert problem.answer["at_end"].value == [inputs["min_lr"], 0]


def test_a_spec_asks_its_steps_for_its_points(tmp_path):
    spec = tmp_path / "schedule.toml"
    spec.write_text('title = "Schedule"\n[[problem]]\nderivation = "lr-schedule"\nsteps = 6\npoints = 3\n')
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(spec), "--format", "tex,json", "--out", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "(3 points)" in (out / "worksheet.tex").read_text()
    assert '"steps": 6' in (out / "answers.json").read_text()


def test_the_question_says_how_to_round_and_the_contract_agrees():
    problem = instances("lr-schedule", seeds=1)[0]
    tasks = " ".join(str(paragraph(task)) for task in problem.tasks)
    assert f"{mod.FIGURES} significant figures" in tasks and "decimal places" not in tasks
    for part in problem.answer.values():
        terms = contract.of(part)
        assert terms.integer or terms.rounding() == {"significant_figures": mod.FIGURES}
    assert not any("sympy" in s.reason.lower() for s in problem.steps if isinstance(s, Step))


def test_mistakes_are_kept_on_every_seed_and_differ():
    problems = instances("lr-schedule")
    assert Counter(m.name for p in problems for m in p.mistakes) == {"off-by-one-step": 25, "decay-over-total": 25}
    for problem in problems:
        wrong = {m.name: m.value for m in problem.mistakes}
        first = problem.inputs["steps"][0]  # a warm-up step: p (t − 1)/w
        assert wrong["off-by-one-step"][0] == problem.inputs["peak"] * sympy.Rational(first - 1, problem.inputs["warmup"])
        for m in problem.mistakes:
            part = problem.answer[m.part]
            assert contract.distinct(contract.of(part), part.value, m.value)


def test_printing_survives_a_trip_between_processes():
    for problem in instances("lr-schedule", seeds=3):
        copy = pickle.loads(pickle.dumps(problem))
        assert [tex(s.rhs) for s in copy.steps if isinstance(s, Step)] == [tex(s.rhs) for s in problem.steps if isinstance(s, Step)]
