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
