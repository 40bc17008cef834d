"""Renders Problems into LaTeX documents through Jinja templates configured for TeX.

Every plain string that reaches the output is escaped by the environment's ``finalize`` hook, so a template
cannot forget it; LaTeX made by SymPy or by derivations is marked trusted (PyLaTeX's ``NoEscape``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
from pylatex.utils import NoEscape, escape_latex

from derivbook import cache, mathtex
from derivbook.contract import DECIMAL_PLACES
from derivbook.model import Math, Step

TEMPLATE_PACKAGE = "derivbook.templates"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Characters that T1 fonts turn into something else (<< into a guillemet, ' into a curly quote, ,, into
# a low quote; escape_latex already breaks the -- dash): printed as themselves, exactly as typed.
_LITERAL = [
    (re.compile(r",(?=,)"), ",{}"),
    (re.compile("<"), r"\\textless{}"),
    (re.compile(">"), r"\\textgreater{}"),
    (re.compile("'"), r"\\textquotesingle{}"),
    (re.compile("`"), r"\\textasciigrave{}"),
    (re.compile('"'), r"\\textquotedbl{}"),
    (re.compile(r"\\\^\{\}"), r"\\textasciicircum{}"),
]


@lru_cache(maxsize=4096)
def plain(text: str) -> NoEscape:
    """Escape a string for LaTeX so it prints literally; control characters dropped, whitespace folded.

    (Spec and roster strings with control characters are refused before they get here.) Remembered: most
    prose recurs in every variant, and escaping it was a third of rendering.
    """
    text = re.sub(r"\s+", " ", _CONTROL.sub("", unicodedata.normalize("NFC", text)))
    # a run of 20+ characters without a space may break anywhere after each 20 (else it runs off the page)
    pieces = [piece for word in re.split(r"(\S{20})", text) for piece in ([word] if word else [])]
    escaped = r"\allowbreak{}".join(_escape(piece) for piece in pieces) if len(pieces) > 1 else _escape(text)
    return NoEscape(escaped)


def _escape(text: str) -> str:
    escaped = escape_latex(text)
    for pattern, replacement in _LITERAL:
        escaped = pattern.sub(replacement, escaped)
    return escaped


def finalize(value: Any) -> Any:
    """Jinja's hook on every printed value: trusted LaTeX passes, strings are escaped, nothing else prints."""
    if isinstance(value, (NoEscape, jinja2.Undefined)):  # Undefined raises when printed (StrictUndefined)
        return value
    if isinstance(value, str):
        return plain(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if value is None:
        return ""
    raise TypeError(f"a template printed a {type(value).__name__}; print strings, numbers or trusted LaTeX")


def prose(text: str) -> NoEscape:
    """A derivation's own text: ``$…$`` spans are its LaTeX math, everything else is escaped.

    Only for text written in ``derivations/``; never for user strings, which go through ``finalize``.
    """
    parts = text.split("$")
    if len(parts) % 2 == 0:
        raise ValueError(f"unbalanced $ in derivation text: {text!r}")
    return NoEscape("".join(f"${part}$" if odd else plain(part) for odd, part in zip([0, 1] * len(parts), parts)))


def _separator(piece) -> bool:
    return isinstance(piece, str) and piece.strip(" ,.;:") in ("", "and")


def paragraph(pieces: tuple) -> NoEscape:
    """A statement paragraph: derivation prose and Math pieces (or one prose string), as LaTeX.

    A paragraph of nothing but mathematics and separators (matrices given as data) is one centred display.
    """
    pieces = (pieces,) if isinstance(pieces, str) else pieces
    if pieces and all(isinstance(p, Math) or _separator(p) for p in pieces):
        body = ""
        for piece in pieces:
            if isinstance(piece, Math):
                body += mathtex.tex(piece)
            else:
                word = piece.strip(" ")
                body += {"and": r",\quad\text{and}\quad ", ",": r",\quad "}.get(word, word)
        return NoEscape(f"\\[{body}\\]")
    out = []
    for piece in pieces:
        if isinstance(piece, Math):
            body = mathtex.tex(piece, inline=not piece.display)
            out.append(f"\\[{body}\\]" if piece.display else f"\\({body}\\)")
        else:
            out.append(prose(str(piece)))
    return NoEscape("".join(out))


def tex(value: Any) -> NoEscape:
    """SymPy values (or Tex snippets) as trusted LaTeX math."""
    return NoEscape(mathtex.tex(value))


def approx(value: Any, places: int, significant: bool = False) -> NoEscape:
    """Rounded decimals of an answer value as trusted LaTeX math."""
    return NoEscape(mathtex.approx(value, places, significant))


def mm(value: float) -> NoEscape:
    """A length in millimetres for picture mode (\\unitlength is 1 mm): two decimals are 10 µm."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return NoEscape("0" if text in ("", "-0") else text)


def points(line: list) -> NoEscape:
    """A polyline's points for pict2e: ``(x,y)(x,y)…`` in millimetres."""
    return NoEscape("".join(f"({mm(x)},{mm(y)})" for x, y in line))


def plot(figure) -> Any:
    """A Figure laid out for drawing (derivbook.plot): positions in mm, ticks, legend."""
    from derivbook.plot import layout

    return layout(figure.kind, figure.data)


def whole(value: Any) -> bool:
    """An answer value that is a whole number (a decimal beside it would only repeat it: 0 ≈ 0)."""
    return not isinstance(value, (list, tuple, dict)) and getattr(value, "is_Integer", False) is True


def step_groups(steps: list) -> list[tuple[str | None, list[Step]]]:
    """Worked steps split into (heading, steps) groups: each group is typeset as one aligned display."""
    groups: list[tuple[str | None, list[Step]]] = []
    for item in steps:
        if isinstance(item, Step):
            if not groups:
                groups.append((None, []))
            groups[-1][1].append(item)
        else:
            groups.append((item, []))
    return [group for group in groups if group[1]]


NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def in_words(number: int) -> str:
    """A small count as a word, as prose writes it ("four places"); larger ones in digits."""
    return NUMBER_WORDS[number] if 0 <= number < len(NUMBER_WORDS) else str(number)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja's own cache of compiled templates (checked against each template's source), in derivbook's
    cache folder: a process then loads the templates instead of compiling them."""
    folder = cache.path_of("jinja", "")
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one Jinja environment for LaTeX templates."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(TEMPLATE_PACKAGE, "."),
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        line_statement_prefix=None,
        line_comment_prefix="%#",
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        finalize=finalize,
        bytecode_cache=_bytecode_cache(),
        auto_reload=False,  # templates do not change during a build: no stat of each one at every use
    )
    env.filters.update(
        tex=tex, approx=approx, paragraph=paragraph, prose=prose, step_groups=step_groups, mm=mm, points=points,
        plot=plot, trusted=NoEscape,
    )
    env.tests["step"] = lambda item: isinstance(item, Step)
    env.tests["whole"] = whole
    from derivbook import plot as plot_geometry  # the figure partial's spacings, shared with the SVG

    env.globals["plot_geometry"] = plot_geometry
    env.globals["decimal_places"] = in_words(DECIMAL_PLACES)  # the answer key's note says the contract's rounding
    return env


@lru_cache(maxsize=1)
def html_environment() -> jinja2.Environment:
    """The Jinja environment for HTML pages: HTML autoescaping; mathematics as MathML markup."""
    from derivbook import web

    env = jinja2.Environment(
        loader=jinja2.PackageLoader(TEMPLATE_PACKAGE, "."),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters.update(math=web.math, display_math=web.display_math, approx=web.approx, prose=web.prose,
                       paragraph=web.paragraph, svg=web.svg, step_groups=step_groups)
    env.globals["decimal_places"] = in_words(DECIMAL_PLACES)
    env.tests["whole"] = whole
    return env


def render(template: str, **context: Any) -> str:
    """Render one template with the given context."""
    return environment().get_template(template).render(**context)


DOCUMENTS = (("worksheet", "worksheet.tex.j2"), ("answer-key", "answer-key.tex.j2"))  # (kind, template), in writers.KINDS order


@dataclass(frozen=True)
class Document:
    """One LaTeX document of a build: its file stem, its kind, its variant and its source."""

    stem: str
    kind: str
    variant: Any
    source: str


def documents(workbook, variants: list, single: bool) -> list[Document]:
    """The worksheet and the answer key of every variant, as LaTeX (``single``: named without the id)."""
    out = []
    for variant in variants:
        items = [{"number": n, "problem": p, "points": r.points, "space": f"{r.space:g}"}
                 for n, (p, r) in enumerate(zip(variant.problems, workbook.requests), start=1)]
        for kind, template in DOCUMENTS:
            source = render(template, title=workbook.title, course=workbook.course, instructions=workbook.instructions,
                            paper=workbook.paper, variant=variant, items=items)
            out.append(Document(kind if single else f"{kind}-{variant.id}", kind, variant, source))
    return out
