"""Printing Problems for the web: MathML from the same LaTeX the sheets use, and figures as inline SVG.

Mathematics goes through ``derivbook.mathtex`` (SymPy's LaTeX) and then latex2mathml, so the HTML shows
exactly what the answer key prints; a template never computes. ``--format html`` writes two pages per
variant: the student's sheet (``sheet-<id>.html``: no worked solution and no answer anywhere in it, not even
hidden) and the teacher's key (``key-<id>.html``), and an index naming which is which.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from functools import lru_cache
from typing import Any

from latex2mathml.converter import convert
from markupsafe import Markup

from derivbook import mathtex
from derivbook.model import Figure, Math

MATHML = "http://www.w3.org/1998/Math/MathML"
M = "{" + MATHML + "}"
THIN = "0.1667em"  # TeX's thin space, between a function name and its argument
OPENING = set("([{⟨|‖")
CLOSING = set(")]}⟩|‖")
SIGNS = {"−", "-", "+", "±", "∓"}

ET.register_namespace("", MATHML)


def mathml(latex: str, display: bool = False, displaystyle: bool = False) -> Markup:
    """LaTeX math as a MathML element; nothing for empty LaTeX.

    ``display``: a block on its own line; ``displaystyle``: inline, but at display size (full-size
    fractions, limits under sums), as in a table of worked steps. Function names (ln, cos, softmax …) are
    upright with a function application and TeX's thin spaces around them ("2 ln 2", not "2ln2"); a leading
    minus (after an opening bracket, a relation or a comma) is a sign, set tight to its number ("(−2)").
    """
    if not latex.strip():
        return Markup("")
    return Markup(_mathml(latex, display, displaystyle))


@lru_cache(maxsize=8192)
def _mathml(latex: str, display: bool, displaystyle: bool) -> str:
    root = ET.fromstring(convert(latex.replace("\\allowbreak", "")))  # a line-break hint latex2mathml would print
    _symbols(root)
    _operators(root)
    _fences(root)
    if display:
        root.set("display", "block")
    if display or displaystyle:
        root.set("displaystyle", "true")
    return ET.tostring(root, encoding="unicode")


def _is_function(element: ET.Element) -> bool:
    """A function name: latex2mathml makes ``\\ln`` an ``mi`` and ``\\det``, ``\\operatorname{…}`` an ``mo``."""
    text = (element.text or "").strip()
    return element.tag in (M + "mi", M + "mo") and len(text) > 1 and text.isalpha() and not len(element)


def _opens(element: ET.Element | None) -> bool:
    """Whether an element begins with an opening bracket (then no space goes between a function and it)."""
    while element is not None and element.tag == M + "mrow" and len(element):
        element = element[0]
    return element is not None and element.tag == M + "mo" and (element.text or "") in OPENING and element.get("form") != "postfix"


def _is_space(element: ET.Element) -> bool:
    return element.tag == M + "mspace" or (element.tag == M + "mtext" and not (element.text or "").strip())


def _last(out: list) -> ET.Element | None:
    """The last element that is not a space."""
    return next((e for e in reversed(out) if not _is_space(e)), None)


def _is_operator(element: ET.Element) -> bool:
    """An operator other than a closing bracket: what a sign may follow."""
    text = element.text or ""
    return element.tag == M + "mo" and not (text in CLOSING and element.get("form") != "prefix") and not _is_function(element)


FIXED = {M + tag for tag in ("mfrac", "mroot", "msub", "msup", "msubsup", "munder", "mover", "munderover", "mmultiscripts")}


def _operators(parent: ET.Element) -> None:
    children = list(parent)
    for child in children:
        _operators(child)
    if parent.tag in FIXED:  # a fraction's or a script's children are its arguments, each in its place
        return
    out: list[ET.Element] = []
    for index, child in enumerate(children):
        base = child[0] if child.tag in (M + "msub", M + "msup", M + "msubsup", M + "munder", M + "mover") and len(child) else child
        if _is_function(base):
            if child.tag == M + "msub" and base.text.strip() in LIMITS:
                # lim, max … take their limits under them at display size and beside them inline, as in TeX
                child.tag = M + "munder"
                base.tag = M + "mo"
                base.attrib = {"movablelimits": "true", "lspace": "0", "rspace": "0"}
            else:
                base.tag = M + "mi"
                base.attrib = {"mathvariant": "normal"}
            if out and not _is_space(out[-1]) and not _is_operator(out[-1]):
                out.append(ET.Element(M + "mspace", width=THIN))
            out.append(child)
            after = children[index + 1] if index + 1 < len(children) else None
            apply = ET.Element(M + "mo")
            apply.text = "\u2061"  # function application: invisible, tells a reader "ln applied to 2"
            out.append(apply)
            if after is not None and not _opens(after):
                out.append(ET.Element(M + "mspace", width=THIN))
            continue
        if child.tag == M + "mo" and (child.text or "") in SIGNS and (_last(out) is None or _is_operator(_last(out))):
            child.set("form", "prefix")
        out.append(child)
    if len(out) != len(children):
        for child in children:
            parent.remove(child)
        parent.extend(out)


LARGE = {"∑", "∏"}
LIMITS = {"lim", "max", "min", "sup", "inf", "argmax", "argmin", "limsup", "liminf"}
ORDINARY = {"∞": True, "∇": True, "∂": False}  # symbol: set upright
SCRIPTS = {M + "msub": M + "munder", M + "msup": M + "mover", M + "msubsup": M + "munderover"}
TALL = {M + tag for tag in ("mfrac", "mtable", "msqrt", "mroot", "munder", "mover", "munderover")}


def _symbols(root: ET.Element) -> None:
    """Operators TeX sets as ordinary symbols: ∞, ∂, ∇ (no spaces around them), and the solidus and the
    bars of |x| and ‖x‖ (\\lvert, \\rVert), set tight: 1/2, not 1 / 2."""
    for element in root.iter(M + "mo"):
        if element.text in ORDINARY:
            element.tag = M + "mi"
            element.attrib = {"mathvariant": "normal"} if ORDINARY[element.text] else {}
        elif element.text in ("/", "|", "‖"):
            element.set("lspace", "0")
            element.set("rspace", "0")


def _fences(element: ET.Element) -> None:
    """Brackets of ``\\left( … \\right)`` around nothing taller than a line keep their text size: a stretchy
    bracket around a plain number is drawn loose ("( 2, −1 )"); around a fraction or a matrix it grows."""
    for child in element:
        _fences(child)
    if element.tag in SCRIPTS and len(element) and element[0].tag == M + "mo" and element[0].text in LARGE:
        element.tag = SCRIPTS[element.tag]  # ∑ with limits: under and over it at display size, beside it inline
    if element.tag != M + "mrow" or len(element) < 2:
        return
    first, last = element[0], element[-1]
    fenced = all(e.tag == M + "mo" and e.get("stretchy") == "true" and e.get("minsize") is None for e in (first, last))
    if fenced and first.get("form") == "prefix" and not any(e.tag in TALL for e in element.iter()):
        for bracket in (first, last):
            bracket.set("stretchy", "false")


def math(value: Any, display: bool = False, displaystyle: bool = False) -> Markup:
    """A SymPy value (or Tex snippet, vector, chain) as MathML."""
    return mathml(mathtex.tex(value, inline=False), display, displaystyle)


def display_math(value: Any) -> Markup:
    """A value at display size, inline (a cell of worked steps, an answer)."""
    return math(value, displaystyle=True)


def approx(value: Any, places: int, significant: bool = False) -> Markup:
    """Rounded decimals as MathML, at display size."""
    return mathml(mathtex.approx(value, places, significant), displaystyle=True)


PUNCTUATION = re.compile(r"^[.,;:!?)\]]+")


def _glued(pieces: list[tuple[bool, str]]) -> Markup:
    """Math and text pieces joined, a punctuation mark right after mathematics kept on its line."""
    out = []
    for index, (is_math, text) in enumerate(pieces):
        if not is_math:
            out.append(text)
            continue
        following = pieces[index + 1][1] if index + 1 < len(pieces) and not pieces[index + 1][0] else ""
        mark = PUNCTUATION.match(following)
        if not mark or not text:
            out.append(text)
            continue
        out.append(f'<span class="nobr">{text}{mark.group()}</span>')
        pieces[index + 1] = (False, following[mark.end():])
    return Markup("".join(out))


def _prose_pieces(text: str) -> list[tuple[bool, str]]:
    parts = str(text).split("$")
    return [(True, str(mathml(part))) if odd else (False, html.escape(part)) for odd, part in zip([0, 1] * len(parts), parts)]


def prose(text: str) -> Markup:
    """A derivation's own text: ``$…$`` spans become MathML, the rest is escaped."""
    return _glued(_prose_pieces(text))


def paragraph(pieces) -> Markup:
    """A statement paragraph (prose and Math pieces) as HTML."""
    pieces = (pieces,) if isinstance(pieces, str) else pieces
    out: list[tuple[bool, str]] = []
    for piece in pieces:
        out += [(True, str(math(piece.body, piece.display)))] if isinstance(piece, Math) else _prose_pieces(piece)
    return _glued(out)


# ---- plain text: question names, category names, figure names for screen readers, short feedback ----


def plain_math(latex: str) -> str:
    """LaTeX math as one line of readable Unicode (``QK^\\top`` → QKᵀ), with no backslash left: for names and
    labels where neither MathML nor MathJax can go (``derivbook.plaintext``, which the terminal uses too)."""
    from derivbook.plaintext import latex_text

    return re.sub(r"\s+", " ", latex_text(latex)).strip().replace("\\", "")


def plain(text: str) -> str:
    """Prose with ``$…$`` math as one line of plain text."""
    from derivbook.plaintext import prose_text

    return re.sub(r"\s+", " ", prose_text(text)).strip().replace("\\", "")


SCALE = 4.0  # SVG pixels per millimetre of the printed plot
SHADE_OPACITY = {75: "0.75", 40: "0.4", 12: "0.12"}  # bar fills: of the text colour, so dark mode inverts them
# Lines and labels are drawn in the text colour (currentColor): black on paper, light in dark mode. The
# lighter lines keep at least 4.5:1 contrast on either background (0.62 of black on white is #616161, 6.2:1).
LINE_STYLES = {"contour": 'stroke="currentColor" stroke-opacity="0.62" stroke-width="1.2"',
               "light": 'stroke="currentColor" stroke-opacity="0.62" stroke-width="3"',
               "dashed": 'stroke="currentColor" stroke-width="2" stroke-dasharray="8 5"'}
SOLID = 'stroke="currentColor" stroke-width="2"'
KIND_NAMES = {"bars": "Bar chart", "lines": "Line plot", "schedule": "Plot", "curve-path": "Plot",
              "contour-path": "Contour plot"}


def figure_name(figure: Figure) -> str:
    """What a figure shows, in plain words, for a screen reader (and an image's alt text)."""
    data = figure.data
    name = f"{KIND_NAMES.get(figure.kind, 'Plot')} of {plain(data.get('ylabel', ''))} against {plain(data.get('xlabel', ''))}"
    labels = [plain(s["label"]) for s in data.get("series", []) if isinstance(s, dict) and "label" in s]
    labels += [plain(g) for g in data.get("groups", [])]
    if figure.kind == "contour-path":
        labels.append("contours of the function, the gradient-descent path from x₀ and the minimum x*")
    elif figure.kind == "schedule":
        labels.append("the schedule, with the asked steps marked")
    elif figure.kind == "curve-path":
        labels.append("the function, with the gradient-descent iterates marked")
    return name + (": " + "; ".join(labels) if labels else "")


def svg(figure: Figure, standalone: bool = False) -> Markup:
    """A figure as SVG, from the same layout (derivbook.plot) the printed sheet draws.

    Drawn in ``currentColor`` so that it follows the page's text colour (dark mode included), named for
    screen readers, and scaled to the width it gets (viewBox). ``standalone``: an SVG file (for Moodle),
    black on its own white panel. Labels are HTML with MathML inside ``foreignObject``, so ``$\\sqrt{d}$``
    reads as it does on paper.
    """
    from derivbook import plot as g

    plot = g.layout(figure.kind, figure.data)
    x0, y0, box_width, box_height = plot.box
    width, height = box_width * SCALE, box_height * SCALE
    tick_px = f"{g.TICK * SCALE:.1f}"

    def X(mm: float) -> float:
        return (mm - x0) * SCALE

    def Y(mm: float) -> float:
        return (y0 + box_height - mm) * SCALE

    def label(x: float, y: float, content: str, anchor: str, size: int = 12, box: float = 120) -> str:
        horizontal = "flex-end" if "r" in anchor else "flex-start" if "l" in anchor else "center"
        vertical = "flex-end" if "b" in anchor else "flex-start" if "t" in anchor else "center"
        fx = x - box if "r" in anchor else x if "l" in anchor else x - box / 2
        fy = y - 40 if "b" in anchor else y if "t" in anchor else y - 20
        return (f'<foreignObject x="{fx:.1f}" y="{fy:.1f}" width="{box}" height="40"><div xmlns="http://www.w3.org/1999/xhtml" '
                f'style="display:flex;height:40px;justify-content:{horizontal};align-items:{vertical};'
                f'font:{size}px serif;white-space:nowrap"><span>{content}</span></div></foreignObject>')

    name = html.escape(figure_name(figure))
    colour = ' color="#000"' if standalone else ""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
             f'height="{height:.0f}" role="img" aria-label="{name}" class="figure"{colour}><title>{name}</title>']
    if standalone:
        parts.append(f'<rect width="{width:.0f}" height="{height:.0f}" fill="#fff"/>')
    for bar in plot.bars:
        parts.append(f'<rect x="{X(bar.x):.1f}" y="{Y(bar.height):.1f}" width="{bar.width * SCALE:.1f}" '
                     f'height="{bar.height * SCALE:.1f}" fill="currentColor" fill-opacity="{SHADE_OPACITY.get(bar.shade, "0.4")}" '
                     'stroke="currentColor"/>')
    for line in plot.lines:
        points = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in line.points)
        style = LINE_STYLES.get(line.style, SOLID)
        parts.append(f'<polyline points="{points}" fill="none" {style}/>')
    for mark in plot.marks:
        x, y = X(mark.x), Y(mark.y)
        if mark.shape == "cross":
            parts.append(f'<path d="M{x - 5:.1f},{y - 5:.1f}L{x + 5:.1f},{y + 5:.1f}M{x - 5:.1f},{y + 5:.1f}L{x + 5:.1f},{y - 5:.1f}" stroke="currentColor" stroke-width="2"/>')
        elif mark.shape == "ring":
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5.2" fill="none" stroke="currentColor" stroke-width="1.5"/>')
        else:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{3 if mark.shape == "big" else 2}" fill="currentColor"/>')
    parts.append(f'<rect x="{X(0):.1f}" y="{Y(plot.height):.1f}" width="{plot.width * SCALE:.1f}" '
                 f'height="{plot.height * SCALE:.1f}" fill="none" stroke="currentColor"/>')
    for tick in plot.xticks:
        parts.append(f'<path d="M{X(tick.at):.1f},{Y(0):.1f}v-{tick_px}M{X(tick.at):.1f},{Y(plot.height):.1f}v{tick_px}" stroke="currentColor"/>')
        parts.append(label(X(tick.at), Y(-g.TICK_LABEL), mathml(tick.label), "t", 11))
    for tick in plot.yticks:
        parts.append(f'<path d="M{X(0):.1f},{Y(tick.at):.1f}h{tick_px}M{X(plot.width):.1f},{Y(tick.at):.1f}h-{tick_px}" stroke="currentColor"/>')
        parts.append(label(X(-g.TICK_LABEL), Y(tick.at), mathml(tick.label), "r", 11))
    for note in plot.notes:
        parts.append(label(X(note.x), Y(note.y), mathml(note.text), note.anchor, 11))
    if plot.yscale:
        parts.append(label(X(0), Y(plot.height + 0.5), mathml(r"\cdot\," + plot.yscale), "bl", 11))
    parts.append(label(X(plot.width / 2), Y(-g.XLABEL), prose(plot.xlabel), "t", 13, 300))
    parts.append(f'<g transform="rotate(-90 {X(-g.YLABEL):.1f} {Y(plot.height / 2):.1f})">'
                 f'{label(X(-g.YLABEL), Y(plot.height / 2), prose(plot.ylabel), "", 13, 300)}</g>')
    for row, (sample, text) in enumerate(plot.legend):
        x, y = X(plot.width + g.LEGEND_GAP), Y(plot.height) + 8 + 22 * row
        if not sample.startswith("bar"):
            style = LINE_STYLES.get(sample, SOLID)
            parts.append(f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + 24:.1f}" y2="{y:.1f}" {style}/>')
        else:
            parts.append(f'<rect x="{x + 6:.1f}" y="{y - 6:.1f}" width="11" height="12" fill="currentColor" '
                         f'fill-opacity="{SHADE_OPACITY.get(int(sample[3:]), "0.4")}" stroke="currentColor"/>')
        parts.append(label(x + 30, y, prose(text), "l", 12, 160))
    parts.append("</svg>")
    return Markup("".join(parts))


# ---- pages ----

def sheet_name(variant) -> str:
    return f"sheet-{variant.id}.html"


def key_name(variant) -> str:
    return f"key-{variant.id}.html"


def _items(workbook, variant) -> list[dict]:
    return [{"number": n, "problem": p, "points": r.points, "space": f"{r.space:g}"}
            for n, (p, r) in enumerate(zip(variant.problems, workbook.requests), start=1)]


def variant_pages(workbook, variant) -> dict[str, bytes]:
    """The two pages of one variant: the student's sheet (no answers in it) and the teacher's key."""
    from derivbook.render import html_environment

    env = html_environment()
    context = {"title": workbook.title, "course": workbook.course, "instructions": workbook.instructions,
               "paper": workbook.paper, "variant": variant, "items": _items(workbook, variant)}
    return {sheet_name(variant): env.get_template("html/sheet.html.j2").render(**context).encode(),
            key_name(variant): env.get_template("html/key.html.j2").render(**context).encode()}


def index_entry(variant) -> list:
    """What the index page lists of a variant: its id, its student's name, its sheet and its key."""
    return [variant.id, variant.student.name if variant.student else None, sheet_name(variant), key_name(variant)]


def index_page(workbook, listed: list) -> bytes:
    """The teacher's index of every variant's sheet and key."""
    from derivbook.render import html_environment

    return html_environment().get_template("html/index.html.j2").render(
        title=workbook.title, course=workbook.course, seed=workbook.seed, variants=listed).encode()
