"""Moodle XML: one cloze question per problem and variant, one category per problem of the workbook.

What a question holds, and why (checked against Moodle's own importer, ``qformat_xml`` and the cloze parser):

- **Fields.** One ``{w:NUMERICAL:…}`` field per number of the answer (each entry of a vector or matrix),
  in reading order, labelled. The right answer is the exact value (to the 14 significant digits Moodle
  stores); its tolerance is the answer contract's (``derivbook.contract``): half a unit of the rounding the
  sheet asks for, so the key's printed rounded value and every correctly rounded decimal are inside; zero
  for a part whose entries are integers. Moodle's number parser reads ``3/7`` as 3, so the question asks
  for a decimal with a point, rounded as each part says (or a whole number).
- **Marks.** Moodle marks a cloze question by the sum of its field weights (it ignores ``defaultgrade``), so
  a problem's points ``P`` are shared over its ``n`` fields: field ``k`` (from 0) weighs
  ``⌊(k+1)P/n⌋ − ⌊kP/n⌋`` — every number ⌊P/n⌋ or ⌈P/n⌉ marks, the larger ones spread evenly, summing
  to ``P`` exactly. With fewer points than numbers some fields weigh 0: still checked, with feedback. A
  spec without points gives every number 1 mark.
- **Freedom.** A part whose answer is not unique (an eigenvector's scale, a direction's sign) has fixed
  fields only under the convention its question states (the derivation states it; the question repeats
  it beside the fields); without a convention it is left to paper.
- **Mistakes.** A declared mistake (``Problem.mistakes``) answers its wrong value in each field where it
  differs from the right one beyond both tolerances: ``~%0%value:tolerance#explanation``.
- **Box width.** Moodle sizes a field's box from its longest stored answer, so a field would give away its
  answer's length: every field gets one more wrong answer, ``PAD``, as long as any answer Moodle stores.
- **Tasks to explain or show** cannot be answered in a cloze field: the question says they are answered on
  paper. A problem with no field at all becomes an essay question.
- Categories ``$course$/top/<workbook>/<NN problem>``: "random question from category" then gives each
  student one variant of each problem. Names are plain text; ``idnumber`` is ``<variant id>/<problem number>``
  as in answers.json. Figures are SVG files embedded the XML way (``@@PLUGINFILE@@``). Mathematics is TeX
  between ``\\(`` ``\\)`` for Moodle's MathJax filter; the worked steps are the general feedback.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any
from xml.sax.saxutils import escape

import sympy

from derivbook import contract, mathtex, web
from derivbook.model import Math, Step

# The longest text Moodle stores for a numerical answer: PHP writes a float with 14 significant digits
# (``precision``), at most 20 characters ("-0.00012345678901234"). Every field gets this wrong answer (a
# number nobody types, 0 marks) so that every box is as wide as the widest.
PAD = "-0.00099999999999999"
DIGITS = 14  # significant digits of an answer Moodle stores; rounding to them moves it by < 10⁻¹⁴ of itself
WRITTEN = re.compile(r"\b(explain|show|say|why|what does|what do|describe|interpret|sketch)\b", re.IGNORECASE)
CHECK = re.compile(r"\bcheck\b", re.IGNORECASE)


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _prose(text: str) -> str:
    parts = str(text).split("$")
    return "".join(f"\\({html.escape(p)}\\)" if odd else html.escape(p) for odd, p in zip([0, 1] * len(parts), parts))


def _tex(value: Any, display: bool = False) -> str:
    body = html.escape(mathtex.tex(value))
    return f"\\(\\displaystyle {body}\\)" if display else f"\\({body}\\)"


def _paragraph(pieces) -> str:
    pieces = (pieces,) if isinstance(pieces, str) else pieces
    out = []
    for piece in pieces:
        if isinstance(piece, Math):
            body = html.escape(mathtex.tex(piece.body))
            out.append(f"\\[{body}\\]" if piece.display else f"\\({body}\\)")
        else:
            out.append(_prose(piece))
    return "".join(out)


def statement_html(problem) -> str:
    paragraphs = "".join(f"<p>{_paragraph(p)}</p>" for p in problem.statement)
    tasks = "".join(f"<li>{_paragraph(t)}</li>" for t in problem.tasks)
    return f'{paragraphs}<ol type="a">{tasks}</ol>'


def written_tasks(problem) -> list[str]:
    """The letters of the tasks that ask for words (explain, show, say which …), not only numbers."""
    letters = []
    for index, task in enumerate(problem.tasks):
        words = " ".join(p for p in ((task,) if isinstance(task, str) else task) if isinstance(p, str))
        words = re.sub(r"\$[^$]*\$", " ", words)
        if WRITTEN.search(words) or (CHECK.search(words) and "compute" not in words.lower()):
            letters.append(chr(ord("a") + index))
    return letters


# ---- the fields ----

@dataclass(frozen=True)
class Field:
    """One number a student types: its label (TeX), the right value and its tolerance, the mistakes it
    recognises ((value, tolerance, explanation)), and its weight."""

    part: str
    label: str
    value: Any
    tolerance: float
    integer: bool
    mistakes: tuple = ()
    weight: int = 1


def number_text(value: Any) -> tuple[str, float]:
    """A value as Moodle keeps it (an integer exactly, anything else to 14 significant digits, as PHP
    stores a float) and how far that is from the exact value."""
    value = sympy.sympify(value)
    if value.is_Integer:
        return str(int(value)), 0.0
    exact = sympy.N(value, 30)
    text = f"{float(exact):.{DIGITS}g}"
    return text, float(abs(sympy.Float(text, 30) - exact))


def tolerance_text(tolerance: float) -> str:
    """A tolerance as Moodle keeps it, rounded up to 14 significant digits (never narrower)."""
    if tolerance == 0:
        return "0"
    exact = Decimal(repr(float(tolerance)))
    rounded = exact.quantize(Decimal(1).scaleb(exact.adjusted() - DIGITS + 1), rounding=ROUND_CEILING)
    mantissa, _, exponent = f"{rounded:.{DIGITS - 1}e}".partition("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def answer_text(value: Any, tolerance: float) -> str:
    """``value:tolerance`` of a numerical answer: the contract's tolerance widened by the distance from the
    exact value to the 14 digits Moodle keeps of it (at most 5·10⁻¹⁴ of it), so that the accepted interval
    holds every answer the contract accepts."""
    text, shift = number_text(value)
    return f"{text}:{tolerance_text(tolerance + shift if tolerance or shift else 0.0)}"


def labels(label: Any, value: Any) -> list[str]:
    """A label (LaTeX) for every number of an answer, in the reading order of ``contract.leaves``."""
    name = mathtex.tex(label)
    if isinstance(value, dict):
        return [e for key, v in value.items() for e in labels(f"{name}_{{\\mathrm{{{key}}}}}", v)]
    base = name if SYMBOL.fullmatch(name) else f"({name})"
    if isinstance(value, sympy.MatrixBase):
        return [f"{base}_{{{r + 1}{c + 1}}}" for r in range(value.rows) for c in range(value.cols)]
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], (list, tuple, dict, sympy.MatrixBase)):
            return [e for k, v in enumerate(value) for e in labels(f"{name}^{{({k + 1})}}", v)]
        named = _tuple_names(name)
        if len(named) == len(value):  # the label names each entry: (\lambda_1, \lambda_2)
            return named
        return [f"{base}_{{{k + 1}}}" for k in range(len(value))]
    return [name]


SYMBOL = re.compile(r"[A-Za-z]|\\[A-Za-z]+")  # one letter: its entries are V_{12}, not (V)_{12}


def _tuple_names(name: str) -> list[str]:
    """The entries of a label written as a tuple, ``(a, b, c)``; nothing for any other label."""
    inner = re.fullmatch(r"\s*(?:\\left)?\((.*?)(?:\\right)?\)\s*", name, re.DOTALL)
    if not inner:
        return []
    pieces, depth, current = [], 0, ""
    for char in inner.group(1):
        depth += char in "{([" and 1 or -(char in "})]")
        if depth < 0:  # the opening bracket closed before the end: (a)(b) is not a tuple
            return []
        if char == "," and depth == 0:
            pieces.append(current)
            current = ""
        else:
            current += char
    pieces.append(current)
    pieces = [p.strip().removeprefix("\\ ").strip() for p in pieces]
    return pieces if depth == 0 and all(pieces) else []


def gradable(part) -> bool:
    """Whether fixed fields can mark the part: its answer is unique, or the question states the convention
    that picks the one the key prints."""
    return part.freedom == "unique" or bool(part.convention)


def weights(points: int | None, count: int) -> list[int]:
    """Integer marks of ``count`` fields summing to ``points``: ⌊(k+1)P/n⌋ − ⌊kP/n⌋ for field k (each
    ⌊P/n⌋ or ⌈P/n⌉, the larger spread evenly); one each without points."""
    if points is None:
        return [1] * count
    return [(k + 1) * points // count - k * points // count for k in range(count)]


def feedback_text(explanation: str) -> str:
    """A mistake's explanation as a cloze field's feedback: plain text (a feedback popup is not typeset by
    MathJax), HTML-escaped twice (Moodle decodes it once before storing it as HTML), the cloze syntax's
    own characters escaped."""
    text = html.escape(html.escape(web.plain(explanation), quote=False), quote=False)
    return text.replace("\\", "").replace("}", "\\}").replace("#", "\\#").replace("~", "-")


def fields(problem, points: int | None) -> list[Field]:
    """Every number of the problem's gradable answer parts, with its tolerance, mistakes and weight."""
    out = []
    for part in problem.answer.values():
        if not gradable(part):
            continue
        terms = contract.of(part)
        names = [label for item_label, item in part.lines() for label in labels(item_label, item)]
        values = [entry for _, entry in contract.leaves(part.value)]
        if len(names) != len(values):
            raise ValueError(f"{problem.derivation}: answer {part.name} has {len(values)} numbers but {len(names)} labels")
        # a wrong value is typed as the sheet asks for a decimal, even where the right one is an integer
        decimal = dataclasses.replace(terms, integer=False, places=terms.places or contract.DECIMAL_PLACES)
        wrong = [([e for _, e in contract.leaves(m.value)], m.explanation) for m in problem.mistakes if m.part == part.name]
        for index, (name, value) in enumerate(zip(names, values)):
            right, tolerance = float(sympy.N(value, 30)), terms.tolerance(value)
            recognised, seen = [], []
            for entries, explanation in wrong:
                entry = entries[index]
                mistaken = float(sympy.N(entry, 30))
                slack = terms.tolerance(entry) if sympy.sympify(entry).is_Integer else decimal.tolerance(entry)
                if abs(mistaken - right) <= tolerance + slack or any(abs(mistaken - s) <= slack for s in seen):
                    continue  # not told apart from the right answer here, or already recognised
                seen.append(mistaken)
                recognised.append((entry, slack, explanation))
            out.append(Field(part.name, name, value, tolerance, terms.integer, tuple(recognised)))
    marks = weights(points, len(out))
    return [Field(f.part, f.label, f.value, f.tolerance, f.integer, f.mistakes, w) for f, w in zip(out, marks)]


def cloze(field: Field) -> str:
    """One cloze field: the right answer, the recognised mistakes, and the padding answer."""
    answers = [f"={answer_text(field.value, field.tolerance)}"]
    answers += [f"%0%{answer_text(v, t)}#{feedback_text(e)}" for v, t, e in field.mistakes]
    answers.append(f"%0%{PAD}:0")
    return f"{{{field.weight}:NUMERICAL:{'~'.join(answers)}}}"


def rounding_hint(part) -> str:
    """What to type for a part, from its contract."""
    terms = contract.of(part)
    if terms.integer or all(sympy.sympify(e).is_Integer for _, e in contract.leaves(part.value)):
        return "a whole number"
    if terms.significant:
        example = f"{1.234567:.{terms.places - 1}f}"
        return f"{terms.places} significant figures, e.g. {example}e-4 for {example} × 10⁻⁴"
    places = terms.places
    return f"a decimal rounded to {places} place{'s' if places != 1 else ''}"


def answer_boxes(problem, items: list[Field]) -> str:
    """The question's fields, part by part, each with what to type."""
    rows, at = [], 0
    for part in problem.answer.values():
        if not gradable(part):
            rows.append(f"<p><em>{_tex(part.label)} is answered on paper: any answer {html.escape(contract.describe(part.freedom))}.</em></p>")
            continue
        count = len(list(contract.leaves(part.value)))
        mine, at = items[at:at + count], at + count
        hint = rounding_hint(part)
        note = f" — {html.escape(part.convention)}" if part.convention and part.freedom != "unique" else ""
        rows.append(f"<p>{_tex(part.label)}: {html.escape(hint)}{note}.</p>")
        rows.append("".join(f"<p>\\({html.escape(f.label)}\\) = {cloze(f)}</p>" for f in mine))
    return "".join(rows)


INSTRUCTIONS = ("<p><strong>Type each answer as a number, with a point for decimals (0.4286, -1.25), rounded as "
                "its part says.</strong> Not a fraction or an expression: Moodle reads 3/7 as 3.</p>")


def feedback_html(problem) -> str:
    """The worked steps, the figure's place, and the answers with the decimals the fields expect."""
    rows = []
    for item in problem.steps:
        if isinstance(item, Step):
            equation = html.escape(f"{mathtex.tex(item.lhs)} {mathtex.tex(item.relation)} {mathtex.tex(item.rhs)}")
            rows.append(f"<p>\\(\\displaystyle {equation}\\) <em>({_prose(item.reason)})</em></p>")
        else:
            rows.append(f"<p><strong>{_prose(item)}</strong></p>")
    return "".join(rows)


def answers_html(problem) -> str:
    lines = []
    for part in problem.answer.values():
        terms = contract.of(part)
        for label, value in part.lines():
            exact = html.escape(f"{mathtex.tex(label)} = {mathtex.tex(value)}")
            rounded = "" if terms.integer else f" \\approx {html.escape(mathtex.approx(value, terms.places, terms.significant))}"
            lines.append(f"<p>\\(\\displaystyle {exact}{rounded}\\)</p>")
    return "<p><strong>Answer</strong></p>" + "".join(lines)


def figure_file(figure, variant, number: int) -> tuple[str, str]:
    """An embedded SVG file: the ``<img>`` that shows it and the ``<file>`` element that carries it."""
    name = f"figure-{variant.id}-{number:02d}.svg"
    data = base64.b64encode(str(web.svg(figure, standalone=True)).encode()).decode()
    image = (f'<p><img src="@@PLUGINFILE@@/{name}" alt="{html.escape(web.figure_name(figure))}" '
             'style="max-width:100%;height:auto"></p>')
    return image, f'<file name="{name}" path="/" encoding="base64">{data}</file>'


def plain_title(title: str) -> str:
    """A derivation's title as plain text (a question's or a category's name): no TeX, no backslash."""
    return web.plain(title)


def _text(element: str, body: str, files: str = "") -> str:
    return f'<{element} format="html"><text>{cdata(body)}</text>{files}</{element}>'


def _question(number: int, problem, variant, points: int | None) -> str:
    """One question element for a problem of a variant."""
    items = fields(problem, points)
    intro = statement_html(problem)
    question_files = feedback_files = ""
    figure = ""
    if problem.figure is not None:
        figure, carried = figure_file(problem.figure, variant, number)
        if problem.figure.on_worksheet:
            intro, question_files = intro + figure, carried
        else:
            feedback_files = carried
    paper = written_tasks(problem)
    if paper:
        which = ", ".join(f"({letter})" for letter in paper)
        intro += (f"<p><em>Task{'s' if len(paper) > 1 else ''} {which} also ask{'s' if len(paper) == 1 else ''} for words: "
                  "answer on paper; only the numbers below are marked here.</em></p>")
    name = f"<name><text>{escape(f'{number:02d} {plain_title(problem.title)} [{variant.id}]')}</text></name>"
    idnumber = f"<idnumber>{escape(f'{variant.id}/{number}')}</idnumber>"
    solution = feedback_html(problem) + (figure if not problem.figure or not problem.figure.on_worksheet else "") + answers_html(problem)
    feedback = _text("generalfeedback", solution, feedback_files)
    if not items:  # nothing a field can mark: the whole problem is written
        mark = points if points is not None else 1
        text = _text("questiontext", intro + f"<p><small>Variant {html.escape(variant.id)}.</small></p>", question_files)
        return (f'<question type="essay">{name}{text}{feedback}<defaultgrade>{mark}</defaultgrade><penalty>0</penalty>'
                f'<hidden>0</hidden>{idnumber}<responseformat>editor</responseformat><responserequired>1</responserequired>'
                '<responsefieldlines>15</responsefieldlines><attachments>0</attachments></question>')
    body = intro + INSTRUCTIONS + answer_boxes(problem, items) + f"<p><small>Variant {html.escape(variant.id)}.</small></p>"
    text = _text("questiontext", body, question_files)
    grading = f"<defaultgrade>{sum(f.weight for f in items)}</defaultgrade><penalty>0.3333333</penalty><hidden>0</hidden>"
    return f'<question type="cloze">{name}{text}{feedback}{grading}{idnumber}</question>'


HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n'
TAIL = "</quiz>\n"


def category_name(name: str) -> str:
    """One name of a category path, escaped as Moodle's ``assemble_category_path`` does: a ``/`` doubled,
    a space before a leading and after a trailing one."""
    escaped = name.replace("/", "//")
    if escaped.startswith("/"):
        escaped = " " + escaped
    if escaped.endswith("/"):
        escaped += " "
    return escaped


def category(workbook, number: int) -> str:
    """The category of the workbook's problem ``number``, holding every variant of it."""
    title = plain_title(workbook.requests[number - 1].derivation.title)
    names = ["$course$", "top", category_name(workbook.title), category_name(f"{number:02d} {title}")]
    return f'<question type="category"><category><text>{escape("/".join(names))}</text></category></question>\n'


def question(workbook, number: int, variant) -> str:
    """The question of problem ``number`` of a variant."""
    return _question(number, variant.problems[number - 1], variant, workbook.requests[number - 1].points) + "\n"
