"""Grading a class: marks, diagnoses, bounds on hostile cells, the files written, and `derivbook practice`."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path

import pytest
import sympy
from click.testing import CliRunner

from derivbook import answer_syntax, contract, grading, plaintext, reports
from derivbook.answers import exact_text
from derivbook.bounded import Failed, Overrun, Workers
from derivbook.cli import main
from derivbook.engine import make_problem
from derivbook.params import resolve
from derivbook.registry import catalog, get

DIAGONAL = "no-outer-product"  # softmax-jacobian's declared mistake: the Jacobian answered with diag(s)


@pytest.fixture(scope="module")
def class_build(tmp_path_factory):
    """A roster build (answers.json only) of the default workbook for three students."""
    return grading.class_answers(tmp_path_factory.mktemp("class"), 3)


@pytest.fixture(scope="module")
def key(class_build):
    return grading.load_key(class_build)


def _responses(key, rows: list[dict]) -> list[grading.Response]:
    return [grading.Response(n + 2, key.variants[n], "", "", cells) for n, cells in enumerate(rows)]


def _simulated(key, kind: str) -> list[dict]:
    return [{c: grading.simulated_cell(v.parts[c].record, kind) for c in v.parts} for v in key.variants]


def test_exact_answers_and_decimals_rounded_as_asked_earn_full_marks_and_off_by_one_nothing(key):
    assert key.columns[0] == "1.Q" and "5.jacobian" in key.columns and len(key.columns) > 30
    exact, decimal, off = (_simulated(key, kind)[n] for n, kind in enumerate(("exact", "decimal", "off-by-one")))
    sheets = grading.grade(key, _responses(key, [exact, decimal, off]))
    for sheet in sheets[:2]:
        wrong = {c: (m.why, m.note, sheet.response.cells[c]) for c, m in sheet.marks.items() if m.why}
        assert not wrong
        assert sheet.total == pytest.approx(sheet.max) and sheet.max == pytest.approx(sum(key.points))
    assert all(m.points == 0 and m.why not in ("", "blank", "unreadable") for m in sheets[2].marks.values())
    assert sheets[2].total == 0


def test_exact_only_gives_decimals_nothing_where_an_exact_answer_is_asked(key):
    decimal = _simulated(key, "decimal")[0]
    sheet = grading.grade(key, _responses(key, [decimal]), exact_only=True)[0]
    for column, mark in sheet.marks.items():
        integer = key.variants[0].parts[column].record["contract"]["rounding"] is None
        assert (mark.why == "") == integer, (column, mark.why, decimal[column])


def test_points_are_shared_equally_among_parts_and_by_entries(key):
    variant = key.variants[0]
    record = variant.parts["5.jacobian"].record
    jacobian = grading.key_value(record["exact"])
    assert variant.parts["5.jacobian"].points == pytest.approx(key.points[4] / 2)
    changed = jacobian.copy()
    changed[0, 0] += 1
    cells = {"5.jacobian": answer_syntax.answer_text(changed), "5.softmax": ""}
    mark = grading.grade(key, _responses(key, [cells]))[0].marks["5.jacobian"]
    assert mark.why == "wrong" and mark.note == "8 of 9 entries right"
    assert mark.points == pytest.approx(mark.max * 8 / 9)
    assert grading.grade(key, _responses(key, [{}]))[0].marks["5.softmax"].why == "blank"


def test_every_declared_mistake_is_diagnosed_by_name(key):
    mistakes = [(v, c, m) for v in key.variants for c, part in v.parts.items() for m in part.record["mistakes"]]
    assert any(m["name"] == DIAGONAL for _, c, m in mistakes if c == "5.jacobian")
    for variant, column, mistake in mistakes:
        record = variant.parts[column].record
        text = answer_syntax.answer_text(grading.key_value(mistake["exact"]))
        try:
            answer_syntax.read(text)
        except answer_syntax.Unreadable:  # beyond what a student types (exp(1024)/(1 + exp(1024))): its decimals
            text = json.dumps(mistake["value"])
        response = grading.Response(2, variant, "", "", {column: text})
        mark = grading.grade(key, [response])[0].marks[column]
        terms = grading.contract_of(column.split(".", 1)[1], record)
        agreeing = [m["name"] for m in record["mistakes"]
                    if contract.agrees(terms, grading.key_value(m["exact"]), grading.conform(
                        grading.key_value(record["exact"]), answer_syntax.read(text)))]
        assert mark.why == agreeing[0] and mark.points < mark.max, (column, mistake["name"], mark)
        assert mark.explanation == next(m["explanation"] for m in record["mistakes"] if m["name"] == mark.why)


def test_shapes_a_student_may_simplify_are_accepted(key):
    right = sympy.Matrix([[0, 24]])
    assert grading.conform(right, [0, 24]) == [[0, 24]]
    assert grading.conform(right, [[0], [24]]) == [[0, 24]]
    assert grading.conform([sympy.Integer(8)], sympy.Integer(8)) == [8]
    assert grading.conform(sympy.Integer(8), [8]) == 8
    assert grading.conform({"W": right, "b": [1]}, {"w": [0, 24], "B": 1}) == {"W": [[0, 24]], "b": [1]}
    assert grading.conform({"W": right, "b": [1]}, [[[0, 24]], [1]]) == {"W": [[0, 24]], "b": [1]}
    with pytest.raises(grading.Shape, match="2×2 matrix"):
        grading.conform(sympy.Matrix([[1, 2], [3, 4]]), [1, 2, 3, 4])
    variant = key.variants[0]
    decimal_comma = grading.grade(key, [grading.Response(2, variant, "", "", {"3.scaled_variance": "0,5"})])
    assert "point" in decimal_comma[0].marks["3.scaled_variance"].note


HOSTILE = ["__import__('os').system('touch /tmp/derivbook-pwned-grade')", "9^9^9^9", "1" * 100_000,
           "\x00\x1b[2J", "exp(exp(exp(9)))", "[" * 500, "(1+10^-30)^(10^30)", "lambda x: x"]


def test_hostile_cells_earn_nothing_run_nothing_and_grading_ends_within_its_bound(key):
    rows = [{c: HOSTILE[(n + k) % len(HOSTILE)] for k, c in enumerate(v.parts)} for n, v in enumerate(key.variants)]
    started = time.perf_counter()
    sheets = grading.grade(key, _responses(key, rows))
    elapsed = time.perf_counter() - started
    cells = sum(len(s.marks) for s in sheets)
    assert elapsed < cells * grading.CELL_SECONDS / 2 and elapsed < 30
    for sheet in sheets:
        assert sheet.total == 0
        assert {m.why for m in sheet.marks.values()} == {"unreadable"}
    assert not Path("/tmp/derivbook-pwned-grade").exists()


def test_a_comparison_that_overruns_is_stopped_and_the_rest_is_graded(key, monkeypatch):
    original = answer_syntax.read

    def slow(text):
        if text == "slow":
            time.sleep(60)
        return original(text)

    monkeypatch.setattr(answer_syntax, "read", slow)
    variant = key.variants[0]
    cells = {"11.l1": "slow", "11.l2": grading.simulated_cell(variant.parts["11.l2"].record, "exact")}
    started = time.perf_counter()
    sheet = grading.grade(key, [grading.Response(2, variant, "", "", cells)], seconds=1.0)[0]
    assert time.perf_counter() - started < 10
    assert sheet.marks["11.l1"].why == "unreadable" and "longer than 1 s" in sheet.marks["11.l1"].note
    assert sheet.marks["11.l2"].why == ""


def _sleep(seconds):
    time.sleep(seconds)
    return seconds


def _fail():
    raise ValueError("no")


def test_workers_kill_a_task_past_its_limit_and_carry_on():
    with Workers(2) as workers:
        started = time.perf_counter()
        results = dict(workers.run([("slow", _sleep, (30,)), ("quick", _sleep, (0,)), ("bad", _fail, ())], 1.0))
        assert time.perf_counter() - started < 5
        assert isinstance(results["slow"], Overrun) and results["quick"] == 0
        assert isinstance(results["bad"], Failed) and "ValueError" in results["bad"].reason
        assert dict(workers.run([("again", _sleep, (0,))], 1.0)) == {"again": 0}


def test_key_values_read_as_sympify_reads_them():
    for derivation in catalog().values():
        for seed in (1, 2):
            problem = make_problem(derivation, resolve(derivation.params, {}, derivation.id), seed)
            for part in problem.answer.values():
                text = exact_text(part.value)
                assert grading.key_value(text) == sympy.sympify(text), (derivation.id, part.name, text)
                record = {"contract": contract.of(part).record(part.value)}
                assert grading.contract_of(part.name, record) == contract.of(part)


def test_grade_writes_grades_csv_feedback_pages_and_a_report(class_build, key, tmp_path):
    rows = _simulated(key, "exact")
    rows[1] = _simulated(key, "off-by-one")[1]
    rows[1]["5.jacobian"] = answer_syntax.answer_text(sympy.diag(*grading.key_value(key.variants[1].parts["5.softmax"].record["exact"])))
    rows[2] = {c: "" for c in key.columns}
    rows[2]["1.Q"] = "<script>alert('x')</script>"
    responses = tmp_path / "responses.csv"
    with responses.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["variant", "student", "id", *key.columns])
        for variant, row in zip(key.variants, rows):
            writer.writerow([variant.id, variant.student, "", *[row.get(c, "") for c in key.columns]])
    out = tmp_path / "grades"
    result = CliRunner().invoke(main, ["grade", str(class_build), str(responses), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "graded 3 student(s)" in result.output
    table = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8"))))
    header = (out / "grades.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:7] == ["variant", "student", "id", "total", "max", "1.Q", "1.Q:why"]
    assert float(table[0]["total"]) == float(table[0]["max"]) and table[0]["5.jacobian:why"] == ""
    assert table[1]["5.jacobian:why"] == DIAGONAL and table[1]["1.Q:why"] == "wrong"
    assert table[2]["1.Q:why"] == "unreadable" and table[2]["2.S:why"] == "blank"
    pages = sorted((out / "feedback").glob("*.html"))
    assert len(pages) == 3
    page = next(p for p in pages if p.name.startswith(key.variants[1].id)).read_text(encoding="utf-8")
    assert DIAGONAL in page and "<math" in page and "worked solution" in page and "viewport" in page
    hostile = next(p for p in pages if p.name.startswith(key.variants[2].id)).read_text(encoding="utf-8")
    assert "<script>" not in hostile and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in hostile
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.count("<svg") == 4 and report.count('role="img"') == 4
    assert DIAGONAL in report and "Score distribution" in report and 'href="feedback/' in report


def test_no_key_leaves_the_answers_and_solutions_out(class_build, key, tmp_path):
    rows = _simulated(key, "off-by-one")
    responses = tmp_path / "r.csv"
    responses.write_text(grading.simulated_responses(key, ("off-by-one",)), encoding="utf-8")
    outcome = grading.grade_build(class_build, responses, tmp_path / "g", with_key=False)
    page = (tmp_path / "g" / "feedback" / reports.page_names(outcome.sheets)[0]).read_text(encoding="utf-8")
    assert "worked solution" not in page and "<dt>Answer</dt>" not in page
    assert rows[0]["1.Q"] in page.replace("&#39;", "'")


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_a_malformed_responses_file_is_refused_naming_row_and_column(class_build, key, tmp_path):
    first, second = key.variants[0].id, key.variants[1].id
    cases = {
        "unknown variant": (f"variant,1.Q\n{first},\nZ-ZZZZ,\n", r"row 3, column 1 \(variant\): no variant 'Z-ZZZZ'"),
        "unknown column": (f"variant,1.Q,5.jacobain\n{first},,\n", r"row 1, column 3 \('5.jacobain'\).*did you mean 5.jacobian"),
        "duplicate row": (f"variant,1.Q\n{first},1\n{second},2\n{first},3\n", r"row 4: a second row for variant .* \(the first is row 2\)"),
        "duplicate column": (f"variant,1.Q,1.Q\n{first},1,2\n", r"row 1, column 3 \('1.Q'\): the same column as column 2"),
        "ragged row": (f"variant,1.Q\n{first},[1, 2]\n", r"row 2 has 3 fields but the header has 2"),
        "wrong student": (f"variant,student\n{first},Nobody\n", r"row 2, column 2 \(student\): variant .* is Student 001's"),
    }
    for name, (text, message) in cases.items():
        result = CliRunner().invoke(main, ["grade", str(class_build), str(_write(tmp_path / "r.csv", text))])
        assert result.exit_code == 2, (name, result.output)
        assert re.search(message, result.output), (name, result.output)
        assert len(result.output.strip().splitlines()) == 1
    latin = _write(tmp_path / "latin.csv", f"variant,student\n{first},Zoë\n", "cp1252")
    result = CliRunner().invoke(main, ["grade", str(class_build), str(latin)])
    assert result.exit_code == 2 and "row 2, column 2: byte 0xEB is not UTF-8" in result.output
    assert "CSV UTF-8" in result.output


def test_responses_as_teachers_export_them_are_read(class_build, key, tmp_path):
    first = key.variants[0]
    exact = grading.simulated_cell(first.parts["5.softmax"].record, "exact")
    text = f"\ufeffVariant;Student;5.softmax\r\n{first.id.lower()};{first.student};{exact}\r\n;;\r\n"
    responses = grading.read_responses(key, _write(tmp_path / "semi.csv", text))
    assert len(responses) == 1 and responses[0].variant is first and responses[0].cells["5.softmax"] == exact
    by_name = grading.read_responses(key, _write(tmp_path / "names.csv", f"student,5.softmax\n{first.student},1\n"))
    assert by_name[0].variant is first


def test_template_lists_every_variant_and_part(class_build, key, tmp_path):
    path = tmp_path / "sheet.csv"
    result = CliRunner().invoke(main, ["grade", str(class_build), "--template", str(path)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == ["variant", "student", "id", *key.columns]
    assert [r[:2] for r in rows[1:]] == [[v.id, v.student] for v in key.variants]
    assert grading.read_responses(key, path)  # the empty sheet reads back


def test_practice_asks_each_part_grades_it_and_shows_the_solution(monkeypatch):
    derivation = get("softmax-jacobian")
    problem = make_problem(derivation, resolve(derivation.params, {}, derivation.id), 5)
    softmax = answer_syntax.answer_text(problem.answer["softmax"].value)
    jacobian = answer_syntax.answer_text(problem.answer["jacobian"].value)
    result = CliRunner().invoke(main, ["practice", "softmax-jacobian", "--seed", "5"], input=f"help\n{softmax}\n{jacobian}\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("✓ right") == 2 and "You answered 2 of 2 parts right" in result.output
    assert "Worked solution" in result.output and "\\frac" not in result.output and "Numbers (3" in result.output
    diagonal = answer_syntax.answer_text(sympy.diag(*problem.answer["softmax"].value))
    result = CliRunner().invoke(main, ["practice", "softmax-jacobian", "--seed", "5"], input=f"2 3\n1/3\n[1, 0, 0]\n{diagonal}\n")
    assert result.exit_code == 0, result.output
    assert "two numbers in a row" in result.output  # unreadable: asked again
    assert "expected a vector of 3, got a number" in result.output  # not the answer's form: asked again
    assert "✗ not right" in result.output and DIAGONAL in result.output and "is missing" in result.output
    assert "You answered 0 of 2 parts right" in result.output


def test_practice_of_a_workbook_stops_on_quit():
    result = CliRunner().invoke(main, ["practice", "llm-foundations", "--seed", "1"], input="\nquit\n")
    assert result.exit_code == 0, result.output
    assert "14 problem(s)" in result.output and "– skipped" in result.output and "You answered 0 of 1" in result.output


def test_show_prints_readable_plain_text_not_latex_or_repr():
    for derivation_id in ("softmax-jacobian", "attention-scores", "lr-schedule", "gradient-clipping", "pca"):
        result = CliRunner().invoke(main, ["show", derivation_id])
        assert result.exit_code == 0, result.output
        assert "\\" not in result.output and "Matrix(" not in result.output and "Sum(" not in result.output
    assert "QKᵀ" in CliRunner().invoke(main, ["show", "attention-scores"]).output


@pytest.mark.parametrize(("latex", "text"), [
    (r"\frac{\partial s_i}{\partial z_j}", "∂sᵢ/∂zⱼ"),
    (r"QK^\top", "QKᵀ"),
    (r"S/\sqrt{d}", "S/√d"),
    (r"\sqrt{x + 1}", "√(x + 1)"),
    (r"\alpha \le \beta", "α ≤ β"),
    (r"\operatorname{diag}(s) - s s^{\top}", "diag(s) - s sᵀ"),
    (r"\ln 2 + e^{2}", "ln 2 + e²"),
    (r"\cos\frac{\pi t}{T}", "cos(πt/T)"),
    (r"\cos\frac{\pi (t - w)}{T - w}", "cos((π(t - w))/(T - w))"),
    (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", "[[1, 2], [3, 4]]"),
    (r"\mathbb{R}^{n}", "ℝⁿ"),
    (r"\lVert g \rVert_2", "‖g‖₂"),
])
def test_latex_becomes_readable_unicode(latex, text):
    assert plaintext.latex_text(latex) == text


def test_every_derivation_right_answers_earn_full_marks_and_wrong_ones_nothing(tmp_path):
    spec = tmp_path / "every.toml"
    spec.write_text('title = "Every derivation"\n' + "".join(f'[[problem]]\nderivation = "{d}"\n' for d in catalog()),
                    encoding="utf-8")
    key = grading.load_key(grading.class_answers(tmp_path / "build", 3, spec=spec, seed=11))
    rows = [_simulated(key, kind)[n] for n, kind in enumerate(("exact", "decimal", "off-by-one"))]
    sheets = grading.grade(key, _responses(key, rows))
    for sheet in sheets[:2]:
        assert {c: (m.why, m.note, sheet.response.cells[c]) for c, m in sheet.marks.items() if m.why} == {}
    assert {c: m.why for c, m in sheets[2].marks.items() if m.points or m.why in ("", "unreadable")} == {}
    exact_only = grading.grade(key, _responses(key, [_simulated(key, "decimal")[0]]), exact_only=True)[0]
    for column, mark in exact_only.marks.items():
        assert (mark.why == "") == (key.variants[0].parts[column].record["contract"]["rounding"] is None), column
