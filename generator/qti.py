"""IMS QTI 1.2 for Canvas (classic quizzes and New Quizzes) and the other LMSs that import QTI.

The package (``<workbook>-qti.zip``) holds one assessment: one question group per problem of the workbook
(a ``section`` with ``selection_number`` 1 and Canvas's ``points_per_item``), so that each student is
drawn one question of each problem, worth the spec's points (``DEFAULT_POINTS`` when the spec gives none).

**Why one number per question.** Canvas grades a number only in a ``numerical_question``, and that
question has exactly one answer field (Canvas's importer takes an item with one ``render_fib
fibtype="Decimal"`` as numerical; New Quizzes' importer refuses a second field). The one question type
with several fields, ``fill_in_multiple_blanks_question``, compares typed text with listed strings: it
would mark 0.02663 wrong where the contract accepts it. And a group draws its questions independently, so
several questions cannot be tied to one variant. So every question of a problem's group is one *entry*
of one variant's answer (a number of a vector or matrix, or a scalar part): the student sees their
variant's whole problem and types the one number asked, and Canvas grades it numerically within the
answer contract's tolerance. The worked solution with every answer is the question's general feedback.

Per number: the exact value with a margin of the contract's tolerance (``<or>`` of ``<varequal>`` and
``<vargte>``/``<varlte>``, as Canvas writes its own ``exact_answer``), zero margin for integers; a part
that is right up to sign accepts both signs; a part that is right up to scale (or in any order) is asked
under the convention the question states. Diagnosed mistakes are the general "incorrect" feedback, each
with the number it leads to (a Canvas numerical answer is always a correct one, so a mistake cannot be an
answer of its own). Mathematics is MathML (the LaTeX the sheets print, converted); figures are SVG files
in the package, shown with ``<img src="$IMS-CC-FILEBASE$/…">``.
"""

from __future__ import annotations

import hashlib
import html
import re
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal
from typing import Any

import sympy

from derivbook import contract, mathtex
from derivbook.model import BuildError, Math, Step

DEFAULT_POINTS = 1  # a problem's points when the spec gives none (Canvas's own default for a question)
NAMESPACE = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
SCHEMA_LOCATION = f"{NAMESPACE} http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd"
FILEBASE = "$IMS-CC-FILEBASE$"  # Canvas resolves it to the folder the package's files are imported into
FIGURES = "figures"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed: the same spec and seed give the same bytes
SEPARATE = ("scale", "column-scale", "unordered")  # freedoms a single entry cannot be graded under, but for a convention


def key(workbook) -> str:
    """A short id for the package: Canvas matches imported questions by id, so two workbooks never share one."""
    text = repr((workbook.name, workbook.title, str(workbook.seed)))
    return "derivbook-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def points(workbook, number: int) -> int:
    """The points of problem ``number``: the spec's, or ``DEFAULT_POINTS``."""
    given = workbook.requests[number - 1].points
    return DEFAULT_POINTS if given is None else given


# --- text -------------------------------------------------------------------------------------------------

TITLE_MATH = {r"\sqrt": "√", r"^\top": "ᵀ", r"\top": "ᵀ", r"\cdot": "·", r"\times": "×"}


def plain(title: str) -> str:
    """A title as plain text (group names show no markup): ``$1/\\sqrt{d}$`` becomes 1/√d."""
    text = title.replace("$", "")
    for command, symbol in TITLE_MATH.items():
        text = text.replace(command, symbol)
    return re.sub(r"\\([A-Za-z]+)", r"\1", text).replace("{", "").replace("}", "")


def _mathml(latex: str, display: bool = False) -> str:
    from derivbook import web

    return str(web.mathml(latex, display))


def prose(text: str) -> str:
    """A derivation's text: ``$…$`` becomes MathML, the rest is escaped."""
    parts = str(text).split("$")
    return "".join(_mathml(p) if odd else html.escape(p) for odd, p in zip([0, 1] * len(parts), parts))


def paragraph(pieces) -> str:
    pieces = (pieces,) if isinstance(pieces, str) else pieces
    return "".join(_mathml(mathtex.tex(p.body), p.display) if isinstance(p, Math) else prose(p) for p in pieces)


def number_text(value: float) -> str:
    """A decimal for QTI (no exponent, every digit of the float)."""
    return format(Decimal(repr(value)), "f")


# --- the numbers of an answer part --------------------------------------------------------------------------


def entries(part) -> list[tuple[tuple, Any, str, str]]:
    """(path, exact value, LaTeX name, where in words) of every number of an answer part, in reading order.

    Paths are ``contract.leaves`` paths, so a mistake's value at the same entry is found by its path.
    """
    if not part.items:
        return _walk(part.value, (), mathtex.tex(part.label))
    keys = list(part.value) if isinstance(part.value, dict) else range(len(part.value))
    return [e for k, label in zip(keys, part.items) for e in _walk(part.value[k], (k,), mathtex.tex(label))]


def _walk(value: Any, path: tuple, name: str) -> list:
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in _walk(v, (*path, k), rf"{name}_{{\mathrm{{{k}}}}}")]
    if isinstance(value, sympy.MatrixBase):
        if value.cols == 1 or value.rows == 1:
            size = max(value.rows, value.cols)
            return [((*path, r, c), value[r, c], rf"\left({name}\right)_{{{max(r, c) + 1}}}", f"entry {max(r, c) + 1} of {size}")
                    for r in range(value.rows) for c in range(value.cols)]
        return [((*path, r, c), value[r, c], rf"\left({name}\right)_{{{r + 1}{c + 1}}}", f"row {r + 1}, column {c + 1}")
                for r in range(value.rows) for c in range(value.cols)]
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], (list, tuple, dict, sympy.MatrixBase)):
            return [e for k, v in enumerate(value) for e in _walk(v, (*path, k), rf"{name}^{{({k + 1})}}")]
        return [((*path, k), v, rf"\left({name}\right)_{{{k + 1}}}", f"entry {k + 1} of {len(value)}")
                for k, v in enumerate(value)]
    return [(path, value, name, "")]


def accepted(part, value: Any) -> list[tuple[float, float]]:
    """(exact, margin) of every accepted answer for one number of a part, from its contract."""
    terms = contract.of(part)
    exact = float(sympy.N(value, 30))
    margin = terms.tolerance(value)
    if terms.freedom in ("sign", "column-sign") and exact != 0:
        return [(exact, margin), (-exact, margin)]
    return [(exact, margin)]


def printed(part, value: Any) -> str:
    """The number as the key prints it: an integer as it is, any other rounded as its contract asks."""
    terms = contract.of(part)
    if sympy.sympify(value).is_Integer:
        return str(int(sympy.sympify(value)))
    if terms.significant:
        return format(Decimal(f"{float(sympy.N(value, 30)):.{terms.places - 1}e}"), "f")
    return f"{float(sympy.N(value, 30)):.{terms.places or contract.DECIMAL_PLACES}f}"  # a mistake's fraction in a count


def typing_hint(part, value: Any) -> str:
    """What the student types, from the contract (Canvas reads a number, never a fraction)."""
    terms = contract.of(part)
    if terms.integer:
        return "Type a whole number: digits, a minus sign if it is negative, no spaces or separators."
    if terms.significant:
        how = f"a decimal number rounded to {terms.places} significant figures, with a point (1/7000 is typed {printed(part, sympy.Rational(1, 7000))})"
    else:
        how = f"a decimal number rounded to {terms.places} decimal places, with a point (1/7 is typed {printed(part, sympy.Rational(1, 7))})"
    if sympy.sympify(value).is_Integer:
        how = "a whole number, or " + how
    return f"Type {how}; a fraction or an expression cannot be typed here."


# --- one question -----------------------------------------------------------------------------------------


def _field(parent, label: str, entry: str) -> None:
    field = ET.SubElement(parent, "qtimetadatafield")
    ET.SubElement(field, "fieldlabel").text = label
    ET.SubElement(field, "fieldentry").text = entry


def _material(parent, text: str) -> None:
    ET.SubElement(ET.SubElement(parent, "material"), "mattext", texttype="text/html").text = text


def figure_name(variant, number: int) -> str:
    return f"{FIGURES}/{variant.id}-{number:02d}.svg"


def _figure(problem, variant, number: int) -> str:
    alt = html.escape(f"Figure of problem {number}: {plain(problem.title)}", quote=True)
    return f'<p><img src="{FILEBASE}/{figure_name(variant, number)}" alt="{alt}"></p>'


def question_html(problem, variant, number: int, part, name: str, where: str, value: Any) -> str:
    """The question: the variant's problem, then the one number to type."""
    body = [f"<p>{paragraph(p)}</p>" for p in problem.statement]
    if problem.figure and problem.figure.on_worksheet:
        body.append(_figure(problem, variant, number))
    body.append("<p>The problem asks:</p>")
    body.append('<ol type="a">' + "".join(f"<li>{paragraph(t)}</li>" for t in problem.tasks) + "</ol>")
    terms = contract.of(part)
    ask = f"<p><strong>Answer here:</strong> {_mathml(name)}"
    if where:
        ask += f", {html.escape(where)} of {_mathml(mathtex.tex(part.label))}"
    ask += ".</p>"
    body.append(ask)
    if part.convention and terms.freedom in SEPARATE:
        body.append(f"<p>Give it under the convention: {prose(part.convention)}.</p>")
    elif terms.freedom in ("sign", "column-sign"):
        body.append("<p>Either sign is accepted" + (f" (the key follows the convention: {prose(part.convention)})" if part.convention else "") + ".</p>")
    body.append(f"<p>{html.escape(typing_hint(part, value))}</p>")
    body.append(f"<p><small>Variant {html.escape(variant.id)}, problem {number}.</small></p>")
    return "<div>" + "".join(body) + "</div>"


def solution_html(problem, variant, number: int) -> str:
    """The worked solution and every answer, as the key prints them (the general feedback)."""
    rows = ["<p><strong>Worked solution</strong></p>"]
    for item in problem.steps:
        if isinstance(item, Step):
            equation = f"{mathtex.tex(item.lhs)} {mathtex.tex(item.relation)} {mathtex.tex(item.rhs)}"
            rows.append(f"<p>{_mathml(equation, True)}<em>{prose(item.reason)}</em></p>")
        else:
            rows.append(f"<p><strong>{prose(item)}</strong></p>")
    if problem.figure and not problem.figure.on_worksheet:
        rows.append(_figure(problem, variant, number))
    rows.append("<p><strong>Answer</strong></p>")
    for part in problem.answer.values():
        for label, value in part.lines():
            latex = f"{mathtex.tex(label)} = {mathtex.tex(value)}"
            if part.decimals:
                latex += rf" \approx {mathtex.approx(value, part.decimals, part.significant)}"
            rows.append(f"<p>{_mathml(latex, True)}</p>")
    return "<div>" + "".join(rows) + "</div>"


def mistakes_html(problem, part, path: tuple, value: Any) -> str:
    """The diagnosed mistakes that lead to a different number at this entry, with that number."""
    rows = []
    for mistake in problem.mistakes:
        if mistake.part != part.name:
            continue
        wrong = dict(contract.leaves(mistake.value))[path]
        shown = float(printed(part, wrong))
        if any(abs(candidate - exact) <= margin for candidate in (float(sympy.N(wrong, 30)), shown)
               for exact, margin in accepted(part, value)):
            continue  # the slip does not show at this entry, or not once it is rounded as the sheet asks
        rows.append(f"<li>If you typed about {html.escape(printed(part, wrong))}: {prose(mistake.explanation)}</li>")
    return "<div><p>Common mistakes:</p><ul>" + "".join(rows) + "</ul></div>" if rows else ""


def item(workbook, number: int, variant, position: int, part, path, value, name, where, feedback: str) -> ET.Element:
    """The numerical question asking for one number of a variant's answer."""
    problem = variant.problems[number - 1]
    ident = f"{key(workbook)}-{number:02d}-{variant.id}-{position:02d}"
    node = ET.Element("item", ident=ident, title=f"{number:02d} {plain(problem.title)} [{variant.id}] {position}")
    meta = ET.SubElement(ET.SubElement(node, "itemmetadata"), "qtimetadata")
    answers = accepted(part, value)
    _field(meta, "question_type", "numerical_question")
    _field(meta, "points_possible", str(points(workbook, number)))
    _field(meta, "original_answer_ids", ",".join(str(k + 1) for k in range(len(answers))))
    presentation = ET.SubElement(node, "presentation")
    _material(presentation, question_html(problem, variant, number, part, name, where, value))
    response = ET.SubElement(presentation, "response_str", ident="response1", rcardinality="Single")
    ET.SubElement(ET.SubElement(response, "render_fib", fibtype="Decimal"), "response_label", ident="answer1")

    processing = ET.SubElement(node, "resprocessing")
    ET.SubElement(ET.SubElement(processing, "outcomes"), "decvar", maxvalue="100", minvalue="0", varname="SCORE", vartype="Decimal")
    _other(processing, "general_fb")
    for exact, margin in answers:  # Canvas's own numerical exact_answer: the value, or within the margin
        condition = ET.SubElement(processing, "respcondition", {"continue": "No"})
        either = ET.SubElement(ET.SubElement(condition, "conditionvar"), "or")
        value_text, margin_text = Decimal(repr(exact)), Decimal(repr(margin))
        ET.SubElement(either, "varequal", respident="response1").text = number_text(exact)
        both = ET.SubElement(either, "and")
        ET.SubElement(both, "vargte", respident="response1").text = format(value_text - margin_text, "f")
        ET.SubElement(both, "varlte", respident="response1").text = format(value_text + margin_text, "f")
        ET.SubElement(condition, "setvar", action="Set", varname="SCORE").text = "100"
    wrong = mistakes_html(problem, part, path, value)
    if wrong:
        _other(processing, "general_incorrect_fb")
    _feedback(node, "general_fb", feedback)
    if wrong:
        _feedback(node, "general_incorrect_fb", wrong)
    return node


def _other(processing, feedback: str) -> None:
    condition = ET.SubElement(processing, "respcondition", {"continue": "Yes"})
    ET.SubElement(ET.SubElement(condition, "conditionvar"), "other")
    ET.SubElement(condition, "displayfeedback", feedbacktype="Response", linkrefid=feedback)


def _feedback(node, ident: str, text: str) -> None:
    _material(ET.SubElement(ET.SubElement(node, "itemfeedback", ident=ident), "flow_mat"), text)


def questions(workbook, number: int, variant) -> str:
    """Every question of problem ``number`` of a variant: one per number of its answer."""
    problem = variant.problems[number - 1]
    feedback = solution_html(problem, variant, number)
    out, position = [], 0
    for part in problem.answer.values():
        terms = contract.of(part)
        if terms.freedom in SEPARATE and not part.convention:
            raise BuildError(f"{problem.derivation}: answer {part.name} is right only {contract.describe(terms.freedom)}; "
                             "a single entry of it can be asked only under a stated convention")
        for path, value, name, where in entries(part):
            position += 1
            node = item(workbook, number, variant, position, part, path, value, name, where, feedback)
            out.append(ET.tostring(node, encoding="unicode") + "\n")
    return "".join(out)


def figures(workbook, variant) -> dict[str, bytes]:
    """The SVG file of every figure of a variant (in the question, or in the solution if the sheet leaves it out)."""
    from derivbook import web

    return {figure_name(variant, n): ('<?xml version="1.0" encoding="UTF-8"?>\n' + str(web.svg(p.figure)) + "\n").encode()
            for n, p in enumerate(variant.problems, start=1) if p.figure}


# --- the package ------------------------------------------------------------------------------------------


def assessment_head(workbook) -> str:
    title = html.escape(plain(workbook.title), quote=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<questestinterop xmlns="{NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:schemaLocation="{SCHEMA_LOCATION}">\n'
            f'<assessment ident="{key(workbook)}" title="{title}">\n'
            # an Examination is imported by Canvas as a graded quiz (without it, a practice quiz)
            "<qtimetadata><qtimetadatafield><fieldlabel>qmd_assessmenttype</fieldlabel><fieldentry>Examination</fieldentry>"
            '</qtimetadatafield></qtimetadata>\n<section ident="root_section">\n')


ASSESSMENT_TAIL = "</section>\n</assessment>\n</questestinterop>\n"


def group_head(workbook, number: int) -> str:
    """A problem's question group: Canvas draws one of its questions for each student."""
    title = html.escape(f"Problem {number}: {plain(workbook.requests[number - 1].derivation.title)}", quote=True)
    return (f'<section ident="{key(workbook)}-{number:02d}" title="{title}">\n'
            "<selection_ordering><selection><selection_number>1</selection_number>"
            f"<selection_extension><points_per_item>{points(workbook, number)}</points_per_item></selection_extension>"
            "</selection></selection_ordering>\n")


GROUP_TAIL = "</section>\n"


def manifest(workbook, files: list[str]) -> str:
    """imsmanifest.xml: the assessment, and every figure as web content."""
    ident = key(workbook)
    resources = [f'<resource identifier="{ident}-assessment" type="imsqti_xmlv1p2"><file href="{ident}/{ident}.xml"/></resource>']
    resources += [f'<resource identifier="{ident}-{re.sub(r"[^A-Za-z0-9]", "-", name)}" type="webcontent" href="{name}">'
                  f'<file href="{name}"/></resource>' for name in files]
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<manifest identifier="{ident}-manifest" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1">\n'
            "<metadata><schema>IMS Content</schema><schemaversion>1.1.3</schemaversion></metadata>\n"
            "<organizations/>\n<resources>\n" + "\n".join(resources) + "\n</resources>\n</manifest>\n")


def assessment_name(workbook) -> str:
    return f"{key(workbook)}/{key(workbook)}.xml"


def entry(name: str) -> zipfile.ZipInfo:
    """A zip entry with fixed metadata (time, permissions), compressed."""
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3
    return info


def chunk_files(part, kind: str) -> dict[str, bytes]:
    """One chunk's pieces: each problem's questions of the chunk's variants, and their figures."""
    files = {}
    for number in range(1, len(part.workbook.requests) + 1):
        text = "".join(questions(part.workbook, number, variant) for _, variant in part.kept())
        files[part.piece(kind, f".{number:03d}.xml")] = text.encode()
    for _, variant in part.kept():
        files.update({f"{part.piece(kind)}/{name}": data for name, data in figures(part.workbook, variant).items()})
    return files


def write_package(workbook, pieces, target) -> None:
    """The zip, joined from the staged pieces one at a time (entries sorted, fixed times: the same bytes each build)."""
    figure_files = {path.relative_to(folder).as_posix(): path
                    for folder in sorted(p for p in pieces.iterdir() if p.is_dir()) for path in sorted(folder.rglob("*.svg"))}
    numbers = range(1, len(workbook.requests) + 1)
    names = sorted([*figure_files, assessment_name(workbook), "imsmanifest.xml"])
    with zipfile.ZipFile(target, "w") as package:
        for name in names:
            with package.open(entry(name), "w") as out:
                if name == "imsmanifest.xml":
                    out.write(manifest(workbook, sorted(figure_files)).encode())
                elif name in figure_files:
                    out.write(figure_files[name].read_bytes())
                else:
                    out.write(assessment_head(workbook).encode())
                    for number in numbers:
                        out.write(group_head(workbook, number).encode())
                        for piece in sorted(pieces.glob(f"*.{number:03d}.xml")):
                            out.write(piece.read_bytes())
                        out.write(GROUP_TAIL.encode())
                    out.write(ASSESSMENT_TAIL.encode())
