"""Printing Problems for the web: MathML from the same LaTeX the sheets use, and figures as inline SVG.

Mathematics goes through ``derivbook.mathtex`` (SymPy's LaTeX) and then latex2mathml, so the HTML shows
exactly what the answer key prints; a template never computes.
"""

from __future__ import annotations

import html
from typing import Any

from latex2mathml.converter import convert
from markupsafe import Markup

from derivbook import mathtex
from derivbook.model import Figure, Math


def mathml(latex: str, display: bool = False) -> Markup:
    """LaTeX math as a MathML element (display or inline); nothing for empty LaTeX."""
    if not latex.strip():
        return Markup("")
    element = convert(latex)
    if display:
        element = element.replace('display="inline"', 'display="block"', 1)
    return Markup(element)


def math(value: Any, display: bool = False) -> Markup:
    """A SymPy value (or Tex snippet, vector, chain) as MathML."""
    return mathml(mathtex.tex(value, inline=False), display)


def approx(value: Any, places: int, significant: bool = False) -> Markup:
    """Rounded decimals as MathML."""
    return mathml(mathtex.approx(value, places, significant))


def prose(text: str) -> Markup:
    """A derivation's own text: ``$…$`` spans become MathML, the rest is escaped."""
    parts = str(text).split("$")
    return Markup("".join(mathml(part) if odd else html.escape(part) for odd, part in zip([0, 1] * len(parts), parts)))


def paragraph(pieces) -> Markup:
    """A statement paragraph (prose and Math pieces) as HTML."""
    pieces = (pieces,) if isinstance(pieces, str) else pieces
    return Markup("".join(math(p.body, p.display) if isinstance(p, Math) else prose(p) for p in pieces))


SCALE = 4.0  # SVG pixels per millimetre of the printed plot
SHADE_COLOURS = {75: "#404040", 40: "#999", 12: "#e0e0e0"}
LINE_STYLES = {"contour": 'stroke="#a6a6a6" stroke-width="1"', "light": 'stroke="#737373" stroke-width="3"',
               "dashed": 'stroke="#000" stroke-width="2" stroke-dasharray="8 5"'}
SOLID = 'stroke="#000" stroke-width="2"'


def svg(figure: Figure) -> Markup:
    """A figure as inline SVG, from the same layout (derivbook.plot) the printed sheet draws.

    Labels are HTML with MathML inside ``foreignObject``, so ``$\\sqrt{d}$`` reads as it does on paper.
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

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
             f'height="{height:.0f}" role="img">']
    for bar in plot.bars:
        parts.append(f'<rect x="{X(bar.x):.1f}" y="{Y(bar.height):.1f}" width="{bar.width * SCALE:.1f}" '
                     f'height="{bar.height * SCALE:.1f}" fill="{SHADE_COLOURS.get(bar.shade, "#999")}" stroke="#000"/>')
    for line in plot.lines:
        points = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in line.points)
        style = LINE_STYLES.get(line.style, SOLID)
        parts.append(f'<polyline points="{points}" fill="none" {style}/>')
    for mark in plot.marks:
        x, y = X(mark.x), Y(mark.y)
        if mark.shape == "cross":
            parts.append(f'<path d="M{x - 5:.1f},{y - 5:.1f}L{x + 5:.1f},{y + 5:.1f}M{x - 5:.1f},{y + 5:.1f}L{x + 5:.1f},{y - 5:.1f}" stroke="#000" stroke-width="2"/>')
        elif mark.shape == "ring":
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5.2" fill="none" stroke="#000" stroke-width="1.2"/>')
        else:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{3 if mark.shape == "big" else 2}" fill="#000"/>')
    parts.append(f'<rect x="{X(0):.1f}" y="{Y(plot.height):.1f}" width="{plot.width * SCALE:.1f}" '
                 f'height="{plot.height * SCALE:.1f}" fill="none" stroke="#000"/>')
    for tick in plot.xticks:
        parts.append(f'<path d="M{X(tick.at):.1f},{Y(0):.1f}v-{tick_px}M{X(tick.at):.1f},{Y(plot.height):.1f}v{tick_px}" stroke="#000"/>')
        parts.append(label(X(tick.at), Y(-g.TICK_LABEL), mathml(tick.label), "t", 11))
    for tick in plot.yticks:
        parts.append(f'<path d="M{X(0):.1f},{Y(tick.at):.1f}h{tick_px}M{X(plot.width):.1f},{Y(tick.at):.1f}h-{tick_px}" stroke="#000"/>')
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
            parts.append(f'<rect x="{x + 6:.1f}" y="{y - 6:.1f}" width="11" height="12" fill="{SHADE_COLOURS.get(int(sample[3:]), "#999")}" stroke="#000"/>')
        parts.append(label(x + 30, y, prose(text), "l", 12, 160))
    parts.append("</svg>")
    return Markup("".join(parts))


def variant_pages(workbook, variant) -> dict[str, bytes]:
    """The page of one variant (its problems, and the worked key behind a disclosure)."""
    from derivbook.render import html_environment

    items = [{"number": n, "problem": p, "points": r.points}
             for n, (p, r) in enumerate(zip(variant.problems, workbook.requests), start=1)]
    page = html_environment().get_template("html/variant.html.j2").render(
        title=workbook.title, course=workbook.course, instructions=workbook.instructions, variant=variant, items=items)
    return {f"variant-{variant.id}.html": page.encode()}


def index_entry(variant) -> list:
    """What the index page lists of a variant: its id, its student's name, its page."""
    return [variant.id, variant.student.name if variant.student else None, f"variant-{variant.id}.html"]


def index_page(workbook, listed: list) -> bytes:
    """The index of every variant's page."""
    from derivbook.render import html_environment

    return html_environment().get_template("html/index.html.j2").render(
        title=workbook.title, course=workbook.course, seed=workbook.seed, variants=listed).encode()
