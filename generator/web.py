"""Printing Problems for the web: MathML from the same LaTeX the sheets use, and figures as inline SVG.

Mathematics goes through ``generator.mathtex`` (SymPy's LaTeX) and then latex2mathml, so the HTML shows
exactly what the answer key prints; a template never computes.
"""

from __future__ import annotations

import html
from typing import Any

from latex2mathml.converter import convert
from markupsafe import Markup

from generator import mathtex
from generator.model import Figure, Math


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


def svg(figure: Figure, width: int = 480, height: int = 260) -> Markup:
    """A figure as inline SVG: line series, points and bars on linear or log axes, with labels."""
    data = figure.data
    series: list[tuple[list, str]] = []
    if figure.kind == "contour-path":
        series = [(c, "contour") for c in data["contours"]] + [(data["path"], "path")]
    elif figure.kind == "curve-path":
        series = [(data["curve"], "line"), (data["path"], "path")]
    elif figure.kind == "schedule":
        series = [(data["curve"], "line"), (data["marks"], "points")]
    elif figure.kind == "lines":
        series = [(s["points"], "line" if i == 0 else "dashed") for i, s in enumerate(data["series"])]
    elif figure.kind == "bars":
        series = [(s, "bars") for s in data["series"]]
    logx, logy = data.get("logx", False), data.get("logy", False)
    import math as m

    def tx(v):
        return m.log2(v) if logx else v

    def ty(v):
        return m.log10(v) if logy else v

    points = [(tx(x), ty(y)) for pts, _ in series for x, y in pts]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = (min(min(ys), 0) if figure.kind in ("bars", "schedule") else min(ys)), max(ys)
    if figure.kind == "bars":
        x0, x1 = x0 - 0.6, x1 + 0.6
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)
    left, right, top, bottom = 50, 10, 10, 40

    def sx(x):
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def sy(y):
        return height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">',
             f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" fill="none" stroke="#444"/>']
    shades = ["#333", "#888", "#ccc"]
    for index, (pts, style) in enumerate(series):
        coords = " ".join(f"{sx(tx(x)):.1f},{sy(ty(y)):.1f}" for x, y in pts)
        if style == "bars":
            group = index
            width_bar = (width - left - right) / (x1 - x0) / (len(series) + 1)
            for x, y in pts:
                bx = sx(tx(x)) + (group - len(series) / 2) * width_bar
                parts.append(f'<rect x="{bx:.1f}" y="{sy(ty(y)):.1f}" width="{width_bar:.1f}" height="{sy(y0) - sy(ty(y)):.1f}" fill="{shades[group % 3]}" stroke="#000" stroke-width="0.5"/>')
        elif style == "points":
            parts += [f'<circle cx="{sx(tx(x)):.1f}" cy="{sy(ty(y)):.1f}" r="3.5" fill="#000"/>' for x, y in pts]
        else:
            stroke = {"contour": ' stroke="#aaa" stroke-width="1"', "path": ' stroke="#000" stroke-width="2"',
                      "dashed": ' stroke="#000" stroke-width="1.5" stroke-dasharray="6 4"'}.get(style, ' stroke="#000" stroke-width="1.5"')
            parts.append(f'<polyline points="{coords}" fill="none"{stroke}/>')
            if style == "path":
                parts += [f'<circle cx="{sx(tx(x)):.1f}" cy="{sy(ty(y)):.1f}" r="3" fill="#000"/>' for x, y in pts]
    for label, x, y, anchor, rotate in ((data.get("xlabel", ""), width / 2, height - 8, "middle", ""),
                                         (data.get("ylabel", ""), 14, height / 2, "middle", f' transform="rotate(-90 14 {height / 2})"')):
        text = html.escape(str(label).replace("$", ""))
        parts.append(f'<text x="{x}" y="{y}" text-anchor="{anchor}" font-size="13" font-family="serif"{rotate}>{text}</text>')
    parts.append(f'<text x="{left}" y="{height - bottom + 14}" font-size="11" font-family="serif">{x0 if not logx else 2 ** x0:.3g}</text>')
    parts.append(f'<text x="{width - right}" y="{height - bottom + 14}" text-anchor="end" font-size="11" font-family="serif">{x1 if not logx else 2 ** x1:.3g}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
