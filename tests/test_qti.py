"""The QTI 1.2 package, read back the way Canvas's importer reads it.

The reader follows what Canvas reads (canvas-lms gems/plugins/qti_exporter after the QTI 1.2 → 2.1
conversion, and the ``qti`` gem New Quizzes imports with): the manifest's ``imsqti_xmlv1p2`` resource and
its files; a ``section`` with ``selection_ordering`` is a question group (``selection_number``,
``selection_extension/points_per_item``); an item's ``question_type`` and ``points_possible`` metadata; a
numerical answer is each ``respcondition`` that sets ``SCORE``: ``varequal`` is the exact answer and the
margin is ``varlte`` minus it (classic) or it minus ``vargte`` (New Quizzes); a typed number is right when
it lies within the margin, compared as decimals (Canvas compares BigDecimals).
"""

import re
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal

import pytest
import sympy

from derivbook import contract, mathtex, qti, spec
from derivbook.build import build
from derivbook.registry import catalog
from tests.helpers import derived

Q = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CP = "{http://www.imsglobal.org/xsd/imscp_v1p1}"
IDS = sorted(catalog())
IMAGE = re.compile(r'<img src="\$IMS-CC-FILEBASE\$/([^"]+)"')
TYPED_MISTAKE = re.compile(r"If you typed about ([-0-9.]+):")


def spec_text() -> str:
    problems = []
    for k, derivation in enumerate(IDS, start=1):
        points = "" if k == len(IDS) else f"points = {k % 4 * 5}\n"  # 0, 5, 10, 15 … and one left to the default
        problems.append(f'[[problem]]\nderivation = "{derivation}"\n{points}')
    return 'title = "Every derivation"\nseed = 11\nvariants = 2\n' + "".join(problems)


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qti")
    path = folder / "every.toml"
    path.write_text(spec_text())
    workbook = spec.load(path)
    build(workbook, folder / "out", ("qti",))
    return workbook, folder / "out" / "every-qti.zip", derived(workbook)


def fields(item) -> dict:
    return {f.findtext(f"{Q}fieldlabel"): f.findtext(f"{Q}fieldentry") for f in item.iter(f"{Q}qtimetadatafield")}


def answers(item) -> list[tuple[Decimal, Decimal]]:
    """(exact, margin) of every numerical answer, as Canvas reads them."""
    found = []
    for condition in item.iter(f"{Q}respcondition"):
        if not any(s.get("varname") == "SCORE" for s in condition.findall(f"{Q}setvar")):
            continue
        exact = Decimal(condition.findtext(f".//{Q}varequal"))
        upper, lower = Decimal(condition.findtext(f".//{Q}varlte")), Decimal(condition.findtext(f".//{Q}vargte"))
        assert condition.find(f".//{Q}vargt") is None  # Canvas would read strict bounds as a precision answer
        assert upper - exact == exact - lower  # classic reads the upper margin, New Quizzes the lower
        found.append((exact, upper - exact))
    return found


def graded(accepted: list, typed: str) -> bool:
    number = Decimal(typed)
    return any(exact - margin <= number <= exact + margin for exact, margin in accepted)


def read(path):
    """The package as Canvas reads it: groups of questions, each with its points, answers, text and feedback."""
    package = zipfile.ZipFile(path)
    manifest = ET.fromstring(package.read("imsmanifest.xml"))
    resources = list(manifest.iter(f"{CP}resource"))
    quizzes = [r for r in resources if r.get("type") == "imsqti_xmlv1p2"]
    assert len(quizzes) == 1
    files = {f.get("href") for r in resources if r.get("type") == "webcontent" for f in r.iter(f"{CP}file")}
    root = ET.fromstring(package.read(quizzes[0].find(f"{CP}file").get("href")))
    assert root.tag == f"{Q}questestinterop"
    groups = []
    for section in root.iter(f"{Q}section"):
        selection = section.find(f"{Q}selection_ordering/{Q}selection")
        if selection is None:
            continue
        questions = []
        for item in section.findall(f"{Q}item"):
            feedback = {f.get("ident"): f.findtext(f".//{Q}mattext") for f in item.findall(f"{Q}itemfeedback")}
            questions.append({
                "ident": item.get("ident"), "fields": fields(item), "answers": answers(item), "feedback": feedback,
                "text": item.findtext(f"{Q}presentation/{Q}material/{Q}mattext"),
                "fibs": [(f.get("fibtype"), r.tag) for r in item.iter(f"{Q}response_str") for f in r.iter(f"{Q}render_fib")],
                "children": [c.tag.removeprefix(Q) for c in item],
                "links": [d.get("linkrefid") for d in item.iter(f"{Q}displayfeedback")],
            })
        groups.append({"title": section.get("title"), "pick": int(selection.findtext(f"{Q}selection_number")),
                       "points": float(selection.findtext(f"{Q}selection_extension/{Q}points_per_item")),
                       "questions": questions})
    return package, files, groups


def key_prints(part, value) -> list[str]:
    """What the answer key prints for one number: the exact integer, or the decimal rounded as the contract
    asks (mathtex's own rounding, digit-grouping spaces taken out)."""
    terms = contract.of(part)
    value = sympy.sympify(value)
    shown = [str(int(value))] if value.is_Integer else []
    if terms.integer or value == 0:  # the key prints a zero as 0
        return shown
    if terms.significant:
        mantissa, exponent = re.fullmatch(r"([-0-9.]+) \\times 10\^\{(-?\d+)\}", mathtex.scientific(value, terms.places)).groups()
        return [*shown, str(Decimal(mantissa).scaleb(int(exponent)))]
    return [*shown, mathtex.decimal(value, terms.places).replace(r"\,", "")]


def test_one_group_per_problem_drawing_one_question_worth_the_spec_points(package):
    workbook, path, variants = package
    _, _, groups = read(path)
    assert len(groups) == len(IDS)
    for number, group in enumerate(groups, start=1):
        points = workbook.requests[number - 1].points
        assert group["pick"] == 1
        assert group["points"] == (qti.DEFAULT_POINTS if points is None else points)
        assert group["title"] == f"Problem {number}: {qti.plain(workbook.requests[number - 1].derivation.title)}"
        numbers = sum(len(list(contract.leaves(part.value))) for v in variants for part in v.problems[number - 1].answer.values())
        assert len(group["questions"]) == numbers  # every number of every variant's answer is a question
        for question in group["questions"]:
            assert question["fields"]["question_type"] == "numerical_question"
            assert float(question["fields"]["points_possible"]) == group["points"]
    assert groups[-1]["points"] == qti.DEFAULT_POINTS and groups[3]["points"] == 0


def test_every_number_is_graded_within_the_contract_and_the_printed_key_is_accepted(package):
    _, path, variants = package
    _, _, groups = read(path)
    by_id = {v.id: v for v in variants}
    checked = integers = signs = 0
    for number, group in enumerate(groups, start=1):
        for question in group["questions"]:
            variant_id, position = re.fullmatch(rf".*-{number:02d}-([A-Z]-[A-Z0-9]{{4}})-(\d\d)", question["ident"]).groups()
            problem = by_id[variant_id].problems[number - 1]
            numbers = [(part, value) for part in problem.answer.values() for _, value in contract.leaves(part.value)]
            part, value = numbers[int(position) - 1]
            terms, accepted = contract.of(part), question["answers"]
            exact = float(sympy.N(value, 30))
            assert float(accepted[0][0]) == pytest.approx(exact, rel=1e-15, abs=1e-300)
            assert all(float(margin) == terms.tolerance(value) for _, margin in accepted)  # the contract's, no other
            for typed in key_prints(part, value):
                assert graded(accepted, typed), (problem.derivation, part.name, typed, accepted)
            neighbour = exact + (1 if terms.integer else 3 * terms.tolerance(value) or 1e-6)  # a zero has no rounding
            assert not graded(accepted, repr(neighbour)) or (terms.freedom == "sign" and abs(exact) < 3 * terms.tolerance(value))
            if terms.integer:
                assert [m for _, m in accepted] == [0]
                integers += 1
            if terms.freedom == "sign" and exact != 0:
                assert graded(accepted, key_prints(part, -value)[-1])
                signs += 1
            assert question["fibs"] == [("Decimal", f"{Q}response_str")]  # one field: Canvas's numerical question
            assert "<math" in question["text"]
            checked += 1
    assert checked > 400 and integers > 50 and signs >= 4


def test_figures_are_files_in_the_package_and_shown_where_the_sheets_show_them(package):
    _, path, variants = package
    zip_file, files, groups = read(path)
    shown = set()
    for number, group in enumerate(groups, start=1):
        for question in group["questions"]:
            variant_id = re.fullmatch(r".*-([A-Z]-[A-Z0-9]{4})-\d\d", question["ident"]).group(1)
            figure = next(v for v in variants if v.id == variant_id).problems[number - 1].figure
            in_text, in_feedback = IMAGE.findall(question["text"]), IMAGE.findall(question["feedback"]["general_fb"])
            expected = [] if figure is None else [f"figures/{variant_id}-{number:02d}.svg"]
            assert (in_text, in_feedback) == ((expected, []) if figure is not None and figure.on_worksheet else ([], expected))
            shown.update(in_text + in_feedback)
    assert len(shown) == 2 * sum(p.figure is not None for p in variants[0].problems) > 0
    assert shown == files == {n for n in zip_file.namelist() if n.startswith("figures/")}
    for name in shown:
        assert ET.fromstring(zip_file.read(name)).tag == "{http://www.w3.org/2000/svg}svg"


def test_the_worked_solution_and_the_diagnosed_mistakes_are_feedback(package):
    _, path, variants = package
    _, _, groups = read(path)
    diagnosed = set()
    for number, group in enumerate(groups, start=1):
        for question in group["questions"]:
            assert "Worked solution" in question["feedback"]["general_fb"]
            assert set(question["links"]) == set(question["feedback"])  # every feedback shown is there, and used
            incorrect = question["feedback"].get("general_incorrect_fb")
            if incorrect:
                typed = TYPED_MISTAKE.findall(incorrect)
                assert typed and not any(graded(question["answers"], t) for t in typed)  # a mistake is never accepted
                diagnosed.add(number)
    assert diagnosed == {n for v in variants for n, p in enumerate(v.problems, start=1) if p.mistakes}


def test_items_follow_the_qti_content_model_canvas_reads(package):
    _, path, _ = package
    _, _, groups = read(path)
    for group in groups:
        for question in group["questions"]:
            # item (…, itemmetadata?, …, presentation?, resprocessing*, itemfeedback*) in the IMS QTI 1.2 DTD
            children = question["children"]
            assert children[:3] == ["itemmetadata", "presentation", "resprocessing"]
            assert set(children[3:]) <= {"itemfeedback"}


def test_the_same_spec_and_seed_give_the_same_bytes(package, tmp_path):
    workbook, path, _ = package
    build(workbook, tmp_path / "again", ("qti",))
    assert (tmp_path / "again" / "every-qti.zip").read_bytes() == path.read_bytes()
    names = zipfile.ZipFile(path).namelist()
    assert names == sorted(names) and {i.date_time for i in zipfile.ZipFile(path).infolist()} == {qti.ZIP_TIME}
