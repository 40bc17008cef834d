"""Lays out a derivation's Figure as a plot: axes, ticks and marks in millimetres, for LaTeX's picture mode.

A pgfplots axis costs more pdflatex time than the rest of a sheet; the same plot drawn with LaTeX's
``picture`` environment (pict2e) from coordinates computed here costs a small part of it (docs/performance.md). This
module only does arithmetic (scales, nice ticks, dashes); ``templates/_figure.tex.j2`` draws the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

WIDTH, HEIGHT = 96.0, 42.0  # the frame of a plot, in mm
TICK, TICK_LABEL = 1.2, 1.4  # tick length; gap between the frame and a tick label
XLABEL, YLABEL = 7.0, 15.0  # how far below / left of the frame the axis labels sit
LEFT, BOTTOM, TOP = 18.0, 13.0, 5.0  # room around the frame for labels (above it: the ·10ⁿ factor)
LEGEND_GAP, LEGEND = 3.0, 40.0  # the legend's distance from the frame, and the room it takes on the right
SHADES = (75, 40, 12)  # bar fills, percent black, one per group
DASH, GAP = 2.2, 1.3  # mm


@dataclass
class Tick:
    at: float  # mm along the axis
    label: str  # LaTeX math


@dataclass
class Line:
    points: list[tuple[float, float]]
    style: str  # "curve", "dashed", "light", "contour", "path"

    @property
    def pieces(self) -> list[list[tuple[float, float]]]:
        """The polylines to draw: the whole line, or its dashes."""
        return dashed(self.points) if self.style == "dashed" else [self.points]


@dataclass
class Mark:
    x: float
    y: float
    shape: str  # "dot", "big", "ring", "cross"


@dataclass
class Bar:
    x: float
    width: float
    height: float
    shade: int


@dataclass
class Note:
    x: float
    y: float
    text: str  # LaTeX math
    anchor: str  # picture-mode makebox position, e.g. "br"


@dataclass
class Plot:
    width: float
    height: float
    xlabel: str
    ylabel: str
    xticks: list[Tick] = field(default_factory=list)
    yticks: list[Tick] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (sample style, prose label), right of the frame
    yscale: str = ""  # e.g. "10^{-4}" when the y tick labels are divided by it

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The whole drawing, labels and legend included: (left, bottom, width, height) around the frame."""
        right = LEGEND if self.legend else 4.0
        return -LEFT, -BOTTOM, LEFT + self.width + right, BOTTOM + self.height + TOP


@dataclass
class Axis:
    """A map from data to millimetres, linear or logarithmic (base 2 or 10), with its ticks."""

    low: float
    high: float
    length: float
    base: int = 0  # 0: linear

    def __call__(self, value: float) -> float:
        value = math.log(value, self.base) if self.base else value
        return (value - self.low) / (self.high - self.low) * self.length

    def ticks(self, values: list[float] | None = None) -> tuple[list[Tick], str]:
        """Ticks at nice values (or at ``values``), labelled; and the power of ten factored out, if any."""
        if self.base:
            powers = range(math.ceil(self.low - 1e-9), math.floor(self.high + 1e-9) + 1)
            return [Tick((p - self.low) / (self.high - self.low) * self.length, f"{self.base}^{{{p}}}") for p in powers], ""
        if values is None:
            step = nice_step((self.high - self.low) / 5)
            first = math.ceil(self.low / step - 1e-9)
            values = [k * step for k in range(first, math.floor(self.high / step + 1e-9) + 1)]
        else:
            step = 1
        largest = max(abs(v) for v in values) or 1
        power = math.floor(math.log10(largest)) if largest < 1e-2 or largest >= 1e4 else 0
        places = max(0, -math.floor(math.log10(step / 10**power) + 1e-9))
        ticks = [Tick(self(v), number(v / 10**power, places)) for v in values]
        return ticks, (f"10^{{{power}}}" if power else "")


def nice_step(raw: float) -> float:
    """The tick spacing nearest above ``raw`` of the form 1, 2 or 5 times a power of ten."""
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw * (1 - 1e-9))


def number(value: float, places: int) -> str:
    text = f"{value:.{places}f}"
    return "0" if float(text) == 0 else text


def padded(low: float, high: float, floor_zero: bool = False) -> tuple[float, float]:
    """A data range with 5 % room on each side (starting at zero when asked, as for bars)."""
    if high <= low:
        low, high = low - 1, high + 1
    room = 0.05 * (high - low)
    return (0.0 if floor_zero and low >= 0 else low - room), high + room


def dashed(points: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """A polyline (in mm) cut into dashes, for pict2e, which draws only solid lines."""
    dashes, current, drawn, on = [], [points[0]], 0.0, True
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        length, done = math.hypot(x1 - x0, y1 - y0), 0.0
        while length - done > 1e-9:
            left = (DASH if on else GAP) - drawn
            take = min(left, length - done)
            done += take
            drawn += take
            point = (x0 + (x1 - x0) * done / length, y0 + (y1 - y0) * done / length)
            if on:
                current.append(point)
            if drawn >= (DASH if on else GAP) - 1e-9:
                if on:
                    dashes.append(current)
                on, drawn, current = not on, 0.0, [point]
    if on and len(current) > 1:
        dashes.append(current)
    return dashes


def away(point: tuple[float, float], neighbours: list[tuple[float, float]], text: str, gap: float = 2.0) -> Note:
    """A label beside ``point``, on the side facing away from its nearest neighbour (the next iterate, or the
    last one), so that it never sits on another mark."""
    nearest = min(neighbours, key=lambda q: math.dist(point, q))
    dx, dy = point[0] - nearest[0], point[1] - nearest[1]
    if math.hypot(dx, dy) < 1e-9:
        dx, dy = 1.0, -1.0
    length = math.hypot(dx, dy)
    ux, uy = dx / length, dy / length
    anchor = ("b" if uy >= 0 else "t") + ("l" if ux >= 0 else "r")
    return Note(point[0] + gap * ux, point[1] + gap * uy, text, anchor)


def layout(kind: str, data: dict) -> Plot:
    """The plot of a Figure's data: what to draw where, in mm, with the frame's lower left corner at (0, 0)."""
    plot = Plot(WIDTH, HEIGHT, data.get("xlabel", ""), data.get("ylabel", ""))
    if kind == "bars":
        series = data["series"]
        categories = sorted({x for s in series for x, _ in s})
        x = Axis(categories[0] - 0.6, categories[-1] + 0.6, plot.width)
        y = Axis(*padded(0, max(v for s in series for _, v in s), floor_zero=True), plot.height)
        slot = x(1) - x(0)
        width = 0.8 * slot / len(series)
        for g, points in enumerate(series):
            for cx, value in points:
                left = x(cx) - 0.4 * slot + g * width
                plot.bars.append(Bar(left, width, y(value), SHADES[g % len(SHADES)]))
        plot.xticks, _ = x.ticks(categories)
        plot.legend = [(f"bar{SHADES[g % len(SHADES)]}", label) for g, label in enumerate(data["groups"])]
    elif kind == "lines":
        everything = [p for s in data["series"] for p in s["points"]] + [tuple(data["mark"])]
        xs, ys = [p[0] for p in everything], [p[1] for p in everything]
        x = Axis(*padded(math.log2(min(xs)), math.log2(max(xs))), plot.width, 2)
        y = Axis(*padded(math.log10(min(ys)), math.log10(max(ys))), plot.height, 10)
        for index, s in enumerate(data["series"]):
            points = [(x(a), y(b)) for a, b in s["points"]]
            plot.lines.append(Line(points, "curve" if index == 0 else "dashed"))
            plot.marks += [Mark(px, py, "dot") for px, py in points]
        plot.marks.append(Mark(x(data["mark"][0]), y(data["mark"][1]), "ring"))
        plot.legend = [("curve" if index == 0 else "dashed", s["label"]) for index, s in enumerate(data["series"])]
    elif kind in ("schedule", "curve-path"):
        second = data["marks"] if kind == "schedule" else data["path"]
        everything = list(data["curve"]) + list(second)
        x = Axis(*padded(min(p[0] for p in everything), max(p[0] for p in everything)), plot.width)
        y = Axis(*padded(min(p[1] for p in everything), max(p[1] for p in everything), floor_zero=kind == "schedule"),
                 plot.height)
        plot.lines.append(Line([(x(a), y(b)) for a, b in data["curve"]], "light"))
        if kind == "curve-path":
            plot.lines.append(Line([(x(a), y(b)) for a, b in second], "path"))
        plot.marks += [Mark(x(a), y(b), "big" if kind == "schedule" else "dot") for a, b in second]
    elif kind == "contour-path":
        everything = [p for c in data["contours"] for p in c] + list(data["path"]) + [tuple(data["minimum"])]
        (xl, xh), (yl, yh) = (padded(min(p[i] for p in everything), max(p[i] for p in everything)) for i in (0, 1))
        scale = min(70 / (xh - xl), 60 / (yh - yl))  # one mm per unit in both directions: circles stay round
        plot.width, plot.height = (xh - xl) * scale, (yh - yl) * scale
        x, y = Axis(xl, xh, plot.width), Axis(yl, yh, plot.height)
        plot.lines += [Line([(x(a), y(b)) for a, b in c], "contour") for c in data["contours"]]
        plot.lines.append(Line([(x(a), y(b)) for a, b in data["path"]], "path"))
        plot.marks += [Mark(x(a), y(b), "dot") for a, b in data["path"]]
        plot.marks.append(Mark(x(data["minimum"][0]), y(data["minimum"][1]), "cross"))
        points = [(x(a), y(b)) for a, b in data["path"]]
        minimum = (x(data["minimum"][0]), y(data["minimum"][1]))
        plot.notes += [away(points[0], [*points[1:], minimum], "x_0"), away(minimum, points, "x^{*}")]
    else:
        raise ValueError(f"unknown figure kind {kind!r}")
    if not plot.xticks:
        plot.xticks, _ = x.ticks()
    plot.yticks, plot.yscale = y.ticks()
    return plot
