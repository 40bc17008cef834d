"""Moodle XML: one question per problem and variant, in a category named after the workbook.

A problem whose answer is one number becomes a ``numerical`` question; any other becomes a ``cloze``
question with one NUMERICAL field per number. Mathematics is TeX between ``\\(`` ``\\)`` for Moodle's
MathJax filter; the worked steps are the general feedback; HTML text is wrapped in CDATA.
"""

from __future__ import annotations

import html
from typing import Any
from xml.sax.saxutils import escape

import sympy

from derivbook import mathtex
from derivbook.model import Math, Step

RELATIVE_TOLERANCE = 1e-3  # answers within 0.1 % are accepted
MINIMUM_TOLERANCE = 1e-6


def tolerance(value: float) -> float:
    """The accepted error of a numeric answer: 0.1 % of it, and never less than 10⁻⁶."""
    return max(abs(value) * RELATIVE_TOLERANCE, MINIMUM_TOLERANCE)


def number(value: Any) -> float:
    return float(sympy.N(value, 20))


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _prose(text: str) -> str:
    parts = str(text).split("$")
    return "".join(f"\\({html.escape(p)}\\)" if odd else html.escape(p) for odd, p in zip([0, 1] * len(parts), parts))


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


def feedback_html(problem) -> str:
    rows = []
    for item in problem.steps:
        if isinstance(item, Step):
            equation = html.escape(f"{mathtex.tex(item.lhs)} {mathtex.tex(item.relation)} {mathtex.tex(item.rhs)}")
            rows.append(f"<p>\\({equation}\\) <em>({_prose(item.reason)})</em></p>")
        else:
            rows.append(f"<p><strong>{_prose(item)}</strong></p>")
    return "".join(rows)


def entries(label: Any, value: Any) -> list[tuple[str, float]]:
    """Every number of an answer part with a label for it (LaTeX), in reading order."""
    name = mathtex.tex(label)
    if isinstance(value, dict):
        return [e for key, v in value.items() for e in entries(f"{name}_{{\\mathrm{{{key}}}}}", v)]
    if isinstance(value, sympy.MatrixBase):
        return [(f"({name})_{{{r + 1}{c + 1}}}", number(value[r, c])) for r in range(value.rows) for c in range(value.cols)]
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], (list, tuple, sympy.MatrixBase)):
            return [e for k, v in enumerate(value) for e in entries(f"{name}^{{({k + 1})}}", v)]
        return [(f"({name})_{{{k + 1}}}", number(v)) for k, v in enumerate(value)]
    return [(name, number(value))]


def _name(number_: int, problem, variant) -> str:
    return f"<name><text>{escape(f'{number_:02d} {problem.title.replace(chr(36), str())} [{variant.id}]')}</text></name>"


def _question(number_: int, problem, variant) -> str:
    """One question element for a problem of a variant."""
    parts = list(problem.answer.values())
    fields = [e for part in parts for label, value in part.lines() for e in entries(label, value)]
    intro = statement_html(problem) + (
        f"<p><small>Variant {html.escape(variant.id)}. Decimal answers within 0.1&nbsp;% are accepted.</small></p>"
    )
    feedback = f'<generalfeedback format="html"><text>{cdata(feedback_html(problem))}</text></generalfeedback>'
    name = _name(number_, problem, variant)
    grading = f"<defaultgrade>{len(fields)}</defaultgrade><penalty>0.3333333</penalty><hidden>0</hidden>"
    if len(fields) == 1:
        value = fields[0][1]
        text = f'<questiontext format="html"><text>{cdata(intro)}</text></questiontext>'
        answer = (f'<answer fraction="100" format="moodle_auto_format"><text>{value!r}</text><tolerance>{tolerance(value)!r}</tolerance>'
                  '<feedback format="html"><text></text></feedback></answer>')
        units = "<unitgradingtype>0</unitgradingtype><unitpenalty>0.1000000</unitpenalty><showunits>3</showunits><unitsleft>0</unitsleft>"
        return f'<question type="numerical">{name}{text}{feedback}{grading}{answer}{units}</question>'
    blanks = "".join(
        f"<p>\\({html.escape(label)}\\) = {{1:NUMERICAL:={value!r}:{tolerance(value)!r}}}</p>" for label, value in fields
    )
    text = f'<questiontext format="html"><text>{cdata(intro + blanks)}</text></questiontext>'
    return f'<question type="cloze">{name}{text}{feedback}{grading}</question>'


HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n'
TAIL = "</quiz>\n"


def category(workbook, number: int) -> str:
    """The category of the workbook's problem ``number``, holding every variant of it."""
    title = workbook.requests[number - 1].derivation.title.replace("$", "")
    path = escape(f"$course$/top/{workbook.title}/{number:02d} {title}")
    return f'<question type="category"><category><text>{path}</text></category></question>\n'


def question(workbook, number: int, variant) -> str:
    """The question of problem ``number`` of a variant."""
    return _question(number, variant.problems[number - 1], variant) + "\n"
