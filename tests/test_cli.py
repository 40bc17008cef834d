import json

import pytest
from click.testing import CliRunner

from derivbook.cli import main
from derivbook.model import UserError
from derivbook.registry import catalog


@pytest.fixture
def runner():
    return CliRunner()


def test_list_shows_every_derivation_with_its_parameters(runner):
    result = runner.invoke(main, ["list"])
    assert result.exit_code == 0
    for derivation in catalog().values():
        assert derivation.id in result.output
        for param in derivation.params:
            assert f"{param.name} = {param.default!r}" in result.output


def test_show_prints_problem_steps_and_verification(runner):
    result = runner.invoke(main, ["show", "softmax-jacobian", "--seed", "3", "--set", "n=2"])
    assert result.exit_code == 0
    assert "z = (ln 2, ln 4)" in result.output  # readable plain text, not SymPy's repr nor LaTeX
    assert "⎡2/9   -2/9⎤" in result.output and "J = ⎢          ⎥" in result.output
    assert "Verified: exact ok, numeric ok" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["show", "softmax"], "unknown derivation 'softmax'"),
        (["show", "softmax-jacobian", "--set", "n=9"], "n must be an integer from 2 to 6, got 9"),
        (["build", "no-such-spec.toml"], "no-such-spec.toml: spec file not found"),
        (["build", "--format", "docx"], "--format: docx is not a format"),
        (["build", "--set", "99.n=3"], "problem 99 does not exist"),
        (["build", "--variants", "2", "--roster", "x.csv"], "exclude each other"),
    ],
)
def test_bad_input_exits_2_with_one_line(runner, args, message, tmp_path):
    result = runner.invoke(main, [*args, *(["--out", str(tmp_path)] if args[0] == "build" else [])])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())


def test_build_json_only_records_overrides(runner, tmp_path):
    args = ["build", "--format", "json", "--seed", "7", "--set", "softmax-jacobian.n=4", "--out", str(tmp_path)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "answers.json").read_text())
    (softmax,) = [p for p in data["variants"][0]["problems"] if p["derivation"] == "softmax-jacobian"]
    assert softmax["params"] == {"n": 4} and len(softmax["inputs"]["z"]) == 4
    assert "wrote 1 files (0 PDFs) to" in result.output


def test_check_reports_every_derivation(runner):
    result = runner.invoke(main, ["check", "--seeds", "2", "--only", "softmax-jacobian", "--only", "attention-scaling"])
    assert result.exit_code == 0, result.output
    assert "derivbook: answers are compared across seeds from --seeds 8" in result.output  # 2 seeds cannot tell
    lines = [line for line in result.output.splitlines() if not line.startswith("derivbook:")]
    assert lines[0].split() == ["derivation", "instances", "failures", "seconds"]
    assert lines[1].split()[:3] == ["softmax-jacobian", "6", "0"]  # defaults and the two edges of n, 2 seeds each


def test_no_arguments_print_the_help_and_exit_0(runner):
    result = runner.invoke(main, [])
    assert result.exit_code == 0 and "Usage: " in result.output and "build" in result.output and "Commands:" in result.output


def test_debug_works_before_and_after_the_command(runner, tmp_path):
    for args in (["--debug", "build", "--format", "docx"], ["build", "--format", "docx", "--debug"]):
        result = runner.invoke(main, [*args, "--out", str(tmp_path / "o")])
        assert isinstance(result.exception, UserError), args  # raised with its traceback, not one line


def test_python_m_derivbook_and_version_and_a_closed_pipe():
    import subprocess
    import sys

    from derivbook import __version__

    version = subprocess.run([sys.executable, "-m", "derivbook", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip() == f"derivbook {__version__}"
    listing = subprocess.Popen([sys.executable, "-m", "derivbook", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    listing.stdout.readline()
    listing.stdout.close()  # `derivbook list | head -1`: the reader has gone
    _, err = listing.communicate(timeout=60)
    assert listing.returncode == 0 and b"Error" not in err and b"internal" not in err, err


def test_show_takes_the_seeds_answers_json_writes(runner):
    result = runner.invoke(main, ["show", "softmax-jacobian", "--seed", str(2**64 - 1)])
    assert result.exit_code == 0, result.output
    assert "\\frac" not in result.output and "Sum(" not in result.output and "Matrix(" not in result.output
    assert runner.invoke(main, ["show", "softmax-jacobian", "--seed", str(2**64)]).exit_code == 2
