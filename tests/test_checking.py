"""``derivbook check``: overfull lines in the typeset sheets and degenerate answers fail it, named."""

import pytest
import sympy
from click.testing import CliRunner

from derivbook import batch, checking, texbuild
from derivbook.cli import main
from derivbook.model import AnswerPart, Math, Problem, Tex
from derivbook.registry import get
from derivbook.seeding import Dice

DOCUMENT = r"""\documentclass{article}
\begin{document}
%s
\end{document}
"""
WIDE = r"\problemheading{2}{x}" + "\n" + r"\[x = " + " + ".join(f"a_{{{k}}}" for k in range(60)) + r"\]"


def test_a_batch_records_its_overfull_lines_located_and_keeps_them_in_the_cache():
    preamble_free = [DOCUMENT % "A short line.", DOCUMENT % (r"\newcommand{\problemheading}[2]{}" + "\n" + WIDE)]
    batch = texbuild.compile_batch(preamble_free, ["first", "second"])
    (line,) = batch.overfull
    assert line.startswith("second: problem 2, line 5: Overfull \\hbox (") and "pt too wide" in line
    assert texbuild.compile_batch(preamble_free, ["first", "second"]).overfull == batch.overfull  # from the cache


def test_overfull_lines_are_read_from_every_form_of_the_message():
    log = ("Overfull \\hbox (28.1pt too wide) in paragraph at lines 7--8\n"
           "Overfull \\hbox (0.5pt too wide) in alignment at lines 9--12\n"
           "Overfull \\hbox (3.0pt too wide) detected at line 10\n"
           "Overfull \\vbox (3.0pt too high) has occurred while \\output is active\n")
    sources = [DOCUMENT % "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight"]
    found = batch.overfull_lines(log, [3], sources, ["doc"])
    assert found == ("doc: line 7: Overfull \\hbox (28.1pt too wide) in paragraph",
                     "doc: line 9: Overfull \\hbox (0.5pt too wide) in alignment",
                     "doc: line 10: Overfull \\hbox (3.0pt too wide) detected")


def test_parameter_sets_add_the_corners_where_the_widest_lines_are():
    sets = checking.parameter_sets(get("mlp-backprop"))
    assert {"activation": "tanh", "inputs": 3, "hidden": 3, "outputs": 2} in sets
    assert len(sets) == len({tuple(sorted(s.items())) for s in sets})  # none twice
    assert checking.parameter_sets(get("softmax-jacobian")) == [{"n": 3}, {"n": 2}, {"n": 6}]


@pytest.fixture
def softmax(monkeypatch):
    """The softmax-jacobian module, whose generate a test may replace."""
    return get("softmax-jacobian").module


def test_a_line_into_the_margin_fails_check_naming_derivation_parameters_and_line(softmax, monkeypatch):
    original = softmax.generate

    def wide(params, dice):
        problem = original(params, dice)
        problem.statement.append((Math(Tex(" + ".join(f"a_{{{k}}}" for k in range(60))), display=True),))
        return problem

    monkeypatch.setattr(softmax, "generate", wide)
    result = CliRunner().invoke(main, ["check", "--only", "softmax-jacobian", "--seeds", "1"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if "softmax-jacobian: overfull: " in line]
    assert len(lines) == 2 * 3  # a worksheet and a key for each of the 3 parameter sets
    assert "softmax-jacobian: overfull: n=6, seed " in result.output
    assert all(", worksheet: problem 1, line " in line or ", answer-key: problem 1, line " in line for line in lines)
    assert all("pt too wide)" in line and "a_{0} + a_{1}" in line for line in lines)  # the line itself is shown
    assert "6 overfull line(s) of 1 pt or more" in result.output


def test_check_typesets_nothing_with_typeset_seeds_0(softmax, monkeypatch):
    monkeypatch.setattr(checking, "overfull", lambda *args: pytest.fail("typeset"))
    result = CliRunner().invoke(main, ["check", "--only", "softmax-jacobian", "--seeds", "1", "--typeset-seeds", "0"])
    assert result.exit_code == 0, result.output


def test_an_answer_that_never_varies_fails_check(softmax, monkeypatch):
    original = softmax.generate
    monkeypatch.setattr(softmax, "generate", lambda params, dice: original(params, Dice(1)))  # every seed alike
    result = CliRunner().invoke(main, ["check", "--only", "softmax-jacobian", "--seeds", "8", "--typeset-seeds", "0"])
    assert result.exit_code == 1, result.output
    assert "softmax-jacobian: degenerate: n=3: answer part 'softmax' is the same in all 8 instances" in result.output
    assert "softmax-jacobian: degenerate: n=6: answer part 'jacobian' is the same in all 8 instances" in result.output
    assert "6 degenerate answer part(s)" in result.output
    fewer = CliRunner().invoke(main, ["check", "--only", "softmax-jacobian", "--seeds", "3", "--typeset-seeds", "0"])
    assert fewer.exit_code == 0 and "degenerate answers not checked" in fewer.output  # 3 seeds cannot tell


def _problem(value, seed: int) -> Problem:
    return Problem({}, [], [], [], {"g": AnswerPart("g", Tex("g"), value)}, params={"n": 2}, seed=seed)


def test_a_part_zero_in_every_instance_is_degenerate_unless_declared_constant(softmax, monkeypatch):
    derivation = get("softmax-jacobian")
    zeros = [_problem([sympy.Integer(0), sympy.log(2) - sympy.log(2)], seed) for seed in range(8)]
    assert checking.degenerate_parts(derivation, {"n": 2}, zeros) == [
        "n=2: answer part 'g' is zero in all 8 instances"]
    varied = [_problem([sympy.Integer(seed % 2), sympy.Integer(0)], seed) for seed in range(8)]
    assert checking.degenerate_parts(derivation, {"n": 2}, varied) == []
    assert checking.degenerate_parts(derivation, {"n": 2}, zeros[:7]) == []  # too few to tell
    monkeypatch.setattr(softmax, "CONSTANT_PARTS", {"g": "zero for every input: the point of the part"}, raising=False)
    assert checking.degenerate_parts(derivation, {"n": 2}, zeros) == []
