"""Moodle XML: every field accepts the key's rounded value and every other correct answer (the contract's
tolerance), integers exactly; marks are the spec's points; one category per problem; plain names; mistakes
answered with their explanation; boxes of one width; figures embedded.

The cloze syntax is read here as Moodle's own parser reads it (question/type/multianswer/questiontype.php:
ANSWER_REGEX and ANSWER_ALTERNATIVE_REGEX), and an accepted interval is Moodle's "nominal" one
(question/type/numerical/question.php: answer ± (tolerance + 10⁻¹⁴·max(|tolerance|, |answer|)))."""

import base64
import json
import math
import re
import xml.etree.ElementTree as ET

import pytest

from derivbook import moodle, spec
from derivbook.build import build
from tests.test_web import every_derivation_spec

FIELD = re.compile(r"\{(\d*):NUMERICAL:((?:\\.|[^\\}])*)\}")  # a cloze field; \} inside feedback is escaped
ALTERNATIVE = re.compile(r"^(=|%(-?\d+(?:\.\d*)?)%)?(.+?)(?:#(.*))?$", re.DOTALL)
NUMBER = r"-?(?:[0-9]+[.,]?[0-9]*|[.,][0-9]+)(?:[eE][-+]?[0-9]+)?"  # Moodle's NUMBER_REGEX
EPSILON = 1e-14  # 10^-precision: PHP's precision is 14


@pytest.fixture(scope="module")
def moodle_build(tmp_path_factory):
    folder = tmp_path_factory.mktemp("moodle")
    path = every_derivation_spec(folder)
    text = path.read_text().replace('title = "Every derivation"', 'title = "Week 3 / every derivation"')
    path.write_text(text)
    workbook = spec.load(path)
    out = folder / "out"
    build(workbook, out, ("moodle", "json"))
    root = ET.parse(out / f"{workbook.name}-moodle.xml").getroot()
    return root, json.loads((out / "answers.json").read_text()), workbook


def split_category_path(path):
    """Moodle's question/format.php split_category_path."""
    return [name.replace("//", "/").strip() for name in re.split(r"(?<!/)/(?!/)", path)]


def alternatives(body):
    """A field's answers: (fraction, value text, tolerance text, feedback), as Moodle splits them on ~."""
    out = []
    for alternative in re.split(r"(?<!\\)~", body):
        fraction, percent, answer, feedback = ALTERNATIVE.match(alternative).groups()
        value, _, tolerance = answer.partition(":")
        assert re.fullmatch(NUMBER, value) and re.fullmatch(NUMBER, tolerance or "0"), alternative
        out.append((100.0 if fraction == "=" else float(percent or 0), value, tolerance or "0", feedback or ""))
    return out


def interval(value, tolerance):
    value, tolerance = float(value), abs(float(tolerance))
    slack = tolerance + EPSILON * max(tolerance, abs(value), EPSILON)
    return value - slack, value + slack


def leaves(value):
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def rounded(value, rounding):
    """The decimal the key prints and a student types: rounded as the contract says."""
    if "decimal_places" in rounding:
        return float(f"{value:.{rounding['decimal_places']}f}")
    return float(f"{value:.{rounding['significant_figures'] - 1}e}")


def questions_by_problem(root):
    """[(category path, [questions])] in file order."""
    grouped = []
    for element in root:
        if element.get("type") == "category":
            grouped.append((element.find("category/text").text, []))
        else:
            grouped[-1][1].append(element)
    return grouped


def test_one_category_per_problem_holding_every_variant_with_plain_names_and_idnumbers(moodle_build):
    root, answers, workbook = moodle_build
    grouped = questions_by_problem(root)
    assert len(grouped) == len(workbook.requests)
    ids = [v["id"] for v in answers["variants"]]
    for number, (path, questions) in enumerate(grouped, start=1):
        names = split_category_path(path)
        title = moodle.plain_title(workbook.requests[number - 1].derivation.title)
        assert names == ["$course$", "top", "Week 3 / every derivation", f"{number:02d} {title}"]  # "/" in a title kept
        assert [q.find("idnumber").text for q in questions] == [f"{i}/{number}" for i in ids]
        for question, variant in zip(questions, ids):
            name = question.find("name/text").text
            assert name == f"{number:02d} {title} [{variant}]"
            assert "\\" not in name and "$" not in name and "{" not in name


def test_every_field_accepts_the_rounded_key_and_every_correct_answer_and_integers_exactly(moodle_build):
    root, answers, _ = moodle_build
    by_id = {v["id"]: v for v in answers["variants"]}
    checked = integers = 0
    for question in root.iter("question"):
        if question.get("type") == "category":
            continue
        assert question.get("type") == "cloze"
        variant, number = question.find("idnumber").text.split("/")
        problem = by_id[variant]["problems"][int(number) - 1]
        text = question.find("questiontext/text").text
        fields = FIELD.findall(text)
        expected = [(part["contract"], v, t) for part in problem["answer"].values()
                    for v, t in zip(leaves(part["value"]), leaves(part["contract"]["tolerance"]))]
        assert len(fields) == len(expected), problem["derivation"]
        for (_, body), (terms, value, tolerance) in zip(fields, expected):
            fraction, right, given_tolerance, _ = alternatives(body)[0]
            assert fraction == 100.0
            low, high = interval(right, given_tolerance)
            assert low <= value - tolerance and value + tolerance <= high  # every answer the contract accepts
            if terms["rounding"] is None:
                assert given_tolerance == "0" and float(right) == value  # an integer, exactly
                integers += 1
            else:
                assert float(given_tolerance) == pytest.approx(tolerance, rel=1e-15)  # the contract's, not our own
                assert low <= rounded(value, terms["rounding"]) <= high
            checked += 1
    assert checked > 350 and integers > 80, (checked, integers)


def test_a_question_s_mark_is_its_points_in_integer_field_weights(moodle_build):
    root, _, workbook = moodle_build
    for number, (_, questions) in enumerate(questions_by_problem(root), start=1):
        points = workbook.requests[number - 1].points
        for question in questions:
            weights = [int(w) for w, _ in FIELD.findall(question.find("questiontext/text").text)]
            assert sum(weights) == points == int(question.find("defaultgrade").text)
            assert max(weights) - min(weights) <= 1  # shared evenly


def test_weights_share_the_points_evenly():
    assert moodle.weights(10, 3) == [3, 3, 4]
    assert moodle.weights(5, 12) == [0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1] and sum(moodle.weights(5, 12)) == 5
    assert moodle.weights(None, 4) == [1, 1, 1, 1] and moodle.weights(0, 2) == [0, 0]
    for points in range(0, 40):
        for count in range(1, 30):
            marks = moodle.weights(points, count)
            assert sum(marks) == points and set(marks) <= {points // count, -(-points // count)}


def test_the_question_says_what_to_type_and_every_box_is_as_wide_as_the_widest(moodle_build):
    root, _, _ = moodle_build
    for question in root.iter("question"):
        if question.get("type") == "category":
            continue
        text = question.find("questiontext/text").text
        assert "Not a fraction or an expression" in text and "with a point for decimals" in text
        assert re.search(r"a whole number|a decimal rounded to \d+ places?|\d+ significant figures", text)
        for _, body in FIELD.findall(text):
            answers = alternatives(body)
            assert answers[-1][:3] == (0.0, moodle.PAD, "0")  # the padding answer: 0 marks
            assert all(len(value) <= len(moodle.PAD) for _, value, _, _ in answers)  # Moodle sizes a box by the longest


def tolerance_at(entry, rounding):
    """Half a unit of the rounding at ``entry`` (the contract's rule, as answers.json documents it)."""
    if rounding is None:
        return 0.0
    if "decimal_places" in rounding:
        return 0.5 * 10.0 ** -rounding["decimal_places"] * (1 + 1e-9)
    exponent = math.floor(math.log10(abs(entry))) if entry else 0
    return 0.5 * 10.0 ** (exponent - rounding["significant_figures"] + 1) * (1 + 1e-9)


def test_declared_mistakes_are_answered_with_their_explanation(moodle_build):
    root, answers, _ = moodle_build
    by_id = {v["id"]: v for v in answers["variants"]}
    answered = 0
    for question in root.iter("question"):
        if question.get("type") == "category":
            continue
        variant, number = question.find("idnumber").text.split("/")
        problem = by_id[variant]["problems"][int(number) - 1]
        fields = iter(FIELD.findall(question.find("questiontext/text").text))
        for part in problem["answer"].values():
            rounding = part["contract"]["rounding"]
            for index, value in enumerate(leaves(part["value"])):
                found = alternatives(next(fields)[1])
                right_low, right_high = interval(found[0][1], found[0][2])
                wrong = found[1:-1]
                for fraction, text, tol, feedback in wrong:
                    assert fraction == 0 and feedback  # a recognised mistake: no marks, its explanation
                    low, high = interval(text, tol)
                    assert high < right_low or low > right_high  # never overlaps the right answer
                    assert "\\(" not in feedback and "$" not in feedback
                for mistake in part["mistakes"]:
                    entry = leaves(mistake["value"])[index]
                    if abs(entry - value) <= tolerance_at(value, rounding) + tolerance_at(entry, rounding):
                        continue  # this entry of the mistake is right: nothing to tell apart
                    assert any(interval(t, tol)[0] <= entry + tolerance_at(entry, rounding)
                               and entry - tolerance_at(entry, rounding) <= interval(t, tol)[1] for _, t, tol, _ in wrong), mistake["name"]
                    answered += 1
    assert answered > 50


def test_figures_are_embedded_as_files_with_a_name(moodle_build):
    root, answers, _ = moodle_build
    figures = 0
    for question in root.iter("question"):
        files = question.findall(".//file")
        for carried in files:
            data = base64.b64decode(carried.text).decode()
            assert data.startswith("<svg") and 'role="img"' in data and "<title>" in data
            parent = next(e for e in question if carried in list(e))
            image = re.search(r'<img src="@@PLUGINFILE@@/([^"]+)" alt="([^"]+)"', parent.find("text").text)
            assert image and image.group(1) == carried.get("name") and len(image.group(2)) > 20
            figures += 1
    with_figures = {"attention-scaling", "gradient-descent", "lr-schedule", "temperature-sampling"}
    assert figures == len(answers["variants"]) * len(with_figures)


def test_tasks_asking_for_words_are_sent_to_paper(moodle_build):
    root, _, _ = moodle_build
    texts = {q.find("name/text").text: q.find("questiontext/text").text for q in root.iter("question") if q.get("type") == "cloze"}
    gaussian = next(t for n, t in texts.items() if "Gaussian maximum likelihood" in n)
    assert "Task (b) also asks for words: answer on paper" in gaussian
    softmax = next(t for n, t in texts.items() if "softmax Jacobian" in n)
    assert "answer on paper" not in softmax


def test_a_problem_without_points_gives_each_number_one_mark_and_zero_points_none(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('title = "T"\n[[problem]]\nderivation = "vector-norms"\n[[problem]]\nderivation = "softmax-jacobian"\npoints = 0\n')
    build(spec.load(path), tmp_path / "o", ("moodle",))
    questions = [q for q in ET.parse(tmp_path / "o" / "s-moodle.xml").getroot() if q.get("type") == "cloze"]
    first, second = ([int(w) for w, _ in FIELD.findall(q.find("questiontext/text").text)] for q in questions)
    assert first == [1] * len(first) and second == [0] * len(second)


def test_feedback_escapes_the_cloze_syntax():
    text = moodle.feedback_text(r"Sets $\{a\}$ use # and ~ and <b> & $\frac{1}{2}$")
    assert "\\}" in text and "\\#" in text and "~" not in text
    assert "&amp;lt;b&amp;gt;" in text  # Moodle decodes entities once before it stores the feedback as HTML
    assert not re.search(r"(?<!\\)\}", text)


def test_a_part_with_no_convention_for_its_freedom_is_left_to_paper_and_a_problem_of_only_such_parts_is_an_essay(tmp_path):
    import dataclasses

    from derivbook.engine import derive_variant, plan_variants

    path = tmp_path / "s.toml"
    path.write_text('title = "T"\n[[problem]]\nderivation = "pca"\npoints = 6\n')
    workbook = spec.load(path)
    variant = plan_variants(workbook.seed, [None])[0]
    derive_variant(workbook.requests, workbook.seed, variant)
    problem = variant.problems[0]
    free = dataclasses.replace(problem.answer["pc1"], convention=None)  # up to sign, and no rule picks one
    problem.answer = {**problem.answer, "pc1": free}
    question = ET.fromstring(moodle.question(workbook, 1, variant))
    text = question.find("questiontext/text").text
    assert question.get("type") == "cloze" and "is answered on paper" in text
    assert len(FIELD.findall(text)) == sum(len(leaves(p.value if not hasattr(p.value, "tolist") else p.value.tolist()))
                                           for name, p in problem.answer.items() if name != "pc1")
    problem.answer = {name: dataclasses.replace(p, freedom="sign", convention=None) for name, p in problem.answer.items()}
    essay = ET.fromstring(moodle.question(workbook, 1, variant))
    assert essay.get("type") == "essay" and essay.find("defaultgrade").text == "6"
    assert not FIELD.findall(essay.find("questiontext/text").text)
