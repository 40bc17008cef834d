from pathlib import Path

import pytest

from derivbook import spec
from derivbook.model import UserError

SPEC = """\
title = "Week 3"
course = "CS 4xx"
seed = 11

[[problem]]
derivation = "softmax-jacobian"
n = 3

[[problem]]
derivation = "cross-entropy-mle"
points = 5

[[problem]]
derivation = "softmax-jacobian"
"""


def write(tmp_path: Path, text: str, name: str = "week.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_spec_loads_with_defaults_and_keys(tmp_path):
    workbook = spec.load(write(tmp_path, SPEC))
    assert (workbook.title, workbook.course, workbook.seed, workbook.paper) == ("Week 3", "CS 4xx", 11, "a4")
    assert [r.key for r in workbook.requests] == ["softmax-jacobian#0", "cross-entropy-mle#0", "softmax-jacobian#1"]
    assert workbook.requests[1].points == 5 and workbook.requests[1].params == {"k": 4, "max_count": 9}
    assert workbook.students == [None]


def test_overrides_by_position_and_by_id(tmp_path):
    path = write(tmp_path, SPEC)
    workbook = spec.load(path, seed=5, variants=3, sets=("2.k=3", "softmax-jacobian.n=5"))
    assert workbook.seed == 5 and len(workbook.students) == 3
    assert workbook.requests[1].params["k"] == 3
    assert [workbook.requests[i].params["n"] for i in (0, 2)] == [5, 5]


@pytest.mark.parametrize(
    "text, sets, message",
    [
        ("titel = 'x'\n", (), "unknown key 'titel'"),
        ("title = 3\n[[problem]]\nderivation='softmax-jacobian'\n", (), "title must be a string"),
        ("title = 'x'\n", (), "at least one \\[\\[problem\\]\\]"),
        ("[[problem]]\nderivation='softmax'\n", (), "problem 1: unknown derivation 'softmax'"),
        ("[[problem]]\nderivation='softmax-jacobian'\nn=9\n", (), "problem 1: n must be an integer from 2 to 6, got 9"),
        ("[[problem]]\nderivation='softmax-jacobian'\nm=1\n", (), "unknown parameter 'm'"),
        ("[[problem]]\nderivation='softmax-jacobian'\n", ("3.n=4",), "problem 3 does not exist"),
        ("[[problem]]\nderivation='softmax-jacobian'\n", ("1.n=four",), "n must be an integer"),
        ("[[problem]]\nderivation='softmax-jacobian'\n", ("n=4",), "expected TARGET.KEY=VALUE"),
        ("paper = 'a5'\n[[problem]]\nderivation='softmax-jacobian'\n", (), "paper must be one of a4, letter"),
        ("seed = = 1\n", (), "not valid TOML"),
    ],
)
def test_bad_specs_are_one_line_errors_naming_the_file(tmp_path, text, sets, message):
    path = write(tmp_path, text)
    with pytest.raises(UserError, match=message) as caught:
        spec.load(path, sets=sets)
    assert "\n" not in str(caught.value)
    if not sets:
        assert str(caught.value).startswith(str(path))


def test_roster_with_bom_and_crlf(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_bytes("\ufeffname,id\r\nZoë Dvořák,1\r\nSeán O'Brien,2\r\n".encode())
    workbook = spec.load(write(tmp_path, SPEC), roster=roster)
    assert workbook.students == [spec.Student("Zoë Dvořák", "1"), spec.Student("Seán O'Brien", "2")]


def test_missing_spec_file(tmp_path):
    with pytest.raises(UserError, match="spec file not found"):
        spec.load(tmp_path / "nope.toml")


TINY = "[[problem]]\nderivation = 'softmax-jacobian'\nn = 2\n"


def test_spec_saved_with_a_bom_is_read(tmp_path):
    path = tmp_path / "week.toml"
    path.write_bytes(("\ufeff" + SPEC).encode())
    assert spec.load(path).title == "Week 3"


def test_tilde_in_roster_paths_is_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "class.csv").write_text("name\nAda\n")
    (tmp_path / "sub").mkdir()
    in_spec = write(tmp_path / "sub", "roster = '~/class.csv'\n" + TINY)
    assert [s.name for s in spec.load(in_spec).students] == ["Ada"]
    assert [s.name for s in spec.load(write(tmp_path, TINY), roster=Path("~/class.csv")).students] == ["Ada"]
    assert spec.resolve_spec("~/week.toml") == tmp_path / "week.toml"


def test_roster_key_is_relative_to_the_spec_folder(tmp_path, monkeypatch):
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "class.csv").write_text("name\nAda\nAlan\n")
    monkeypatch.chdir(tmp_path)
    workbook = spec.load(write(tmp_path / "course", "roster = 'class.csv'\n" + TINY))
    assert [s.name for s in workbook.students] == ["Ada", "Alan"]


def test_variants_and_roster_together_in_a_spec_are_refused(tmp_path):
    path = write(tmp_path, "variants = 3\nroster = 'class.csv'\n" + TINY)
    with pytest.raises(UserError, match="'variants' and 'roster' exclude each other"):
        spec.load(path)


def test_an_option_overrides_the_specs_own_key(tmp_path):
    (tmp_path / "class.csv").write_text("name\nAda\nAlan\n")
    path = write(tmp_path, "roster = 'class.csv'\n" + TINY)
    assert spec.load(path, variants=4).students == [None] * 4  # --variants: anonymous variants, not the roster
    counted = write(tmp_path, "variants = 4\n" + TINY, "counted.toml")
    assert [s.name for s in spec.load(counted, roster=tmp_path / "class.csv").students] == ["Ada", "Alan"]


@pytest.mark.parametrize(
    "text, sets, message",
    [
        ("titel = 'x'\n" + TINY, (), "unknown key 'titel'; did you mean 'title'?"),
        ("Paper = 'a4'\n" + TINY, (), "unknown key 'Paper'; did you mean 'paper'?"),
        (TINY + "pionts = 3\n", (), "problem 1: unknown parameter 'pionts' for softmax-jacobian; did you mean 'points'?"),
        (TINY + "nn = 3\n", (), "problem 1: unknown parameter 'nn' for softmax-jacobian; did you mean 'n'?"),
        (TINY, ("1.nn=3",), "--set nn: unknown parameter for softmax-jacobian; did you mean 'n'?"),
        (TINY + "zzz = 3\n", (), "'zzz' for softmax-jacobian; allowed: derivation, points, space, and its parameters: n"),
    ],
)
def test_misspelt_keys_get_did_you_mean(tmp_path, text, sets, message):
    with pytest.raises(UserError) as caught:
        spec.load(write(tmp_path, text), sets=sets)
    assert message in str(caught.value)
    assert len(str(caught.value).replace(str(tmp_path), "")) < 160


def test_single_bracket_problem_table_says_how_to_write_it(tmp_path):
    with pytest.raises(UserError, match=r"write each problem as \[\[problem\]\] \(two brackets\)"):
        spec.load(write(tmp_path, "[problem]\nderivation = 'softmax-jacobian'\n"))


def test_unknown_spec_name_lists_the_bundled_workbooks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    names = spec.bundled_names()
    assert {"llm-foundations", "calculus"} <= set(names)
    with pytest.raises(UserError) as caught:
        spec.load(spec.resolve_spec("llm-foundation"))
    message = str(caught.value)
    assert message.startswith("llm-foundation: spec file not found (did you mean 'llm-foundations'?")
    assert f"the bundled workbooks are {', '.join(names)}" in message


def test_resolve_spec_finds_bundled_workbooks_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert spec.resolve_spec("calculus") == spec.bundled_spec("calculus")
    assert spec.resolve_spec("calculus.toml").name == "calculus.toml" and spec.resolve_spec("calculus.toml").is_file()
    assert spec.resolve_spec(None) == spec.bundled_spec("llm-foundations")
    (tmp_path / "calculus.toml").write_text(TINY)
    assert spec.resolve_spec("calculus.toml") == Path("calculus.toml")  # a file here wins over the bundled one


def test_instructions_keep_their_paragraphs(tmp_path):
    text = 'instructions = """\nShow your working.\nNo calculators.\n\n  Answers in  boxes.\n\n\n"""\n' + TINY
    workbook = spec.load(write(tmp_path, text))
    assert workbook.instructions == ("Show your working. No calculators.", "Answers in boxes.")
    assert spec.load(write(tmp_path, "instructions = ''\n" + TINY)).instructions == ()
    assert spec.load(write(tmp_path, TINY)).instructions == (spec.DEFAULT_INSTRUCTIONS,)


def test_instructions_limit_counts_all_paragraphs(tmp_path):
    text = f'instructions = """\n{"x" * 400}\n\n{"y" * 400}\n"""\n' + TINY
    with pytest.raises(UserError, match="instructions: longer than 600 characters"):
        spec.load(write(tmp_path, text))


def test_paragraphs_are_printed_apart_on_the_sheet_and_the_page(tmp_path):
    from click.testing import CliRunner

    from derivbook.cli import main

    text = 'instructions = """\nShow your working.\n\nCalculators are allowed.\n"""\n' + TINY
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(write(tmp_path, text)), "--format", "tex,html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    tex = (out / "worksheet.tex").read_text()
    assert "\\textit{Show your working.}\\par\n\\smallskip \\textit{Calculators are allowed.}\\par" in tex
    html = next(out.rglob("sheet-*.html")).read_text()
    assert "<p><em>Show your working.</em></p>\n<p><em>Calculators are allowed.</em></p>" in html
