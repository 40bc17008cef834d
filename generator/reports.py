"""What grading writes: grades.csv, one feedback page per student, and report.html for the teacher.

Pages are HTML from Jinja templates (templates/grading/) with autoescaping: what a student wrote is
always escaped. Mathematics is MathML (``derivbook.web``); figures are inline SVG drawn here. A feedback
page shows the worked steps of the student's own problems, re-derived from the build's derivation,
parameters and seed (answers.json does not hold steps); a problem whose re-derived answers differ from
answers.json (a build by another derivbook version) is shown without steps, and says so.
"""

from __future__ import annotations

import collections
import csv
import io
import os
import re
import statistics
import tempfile
import unicodedata
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup, escape

from derivbook.grading import PAGE_SECONDS, REASONS, Key, Sheet, _safe
from derivbook.model import BuildError

BAR = "#2f6497"  # bar fill: 4.5:1 or more against white, visible on a dark page too
TRACK = "#8a8a8a33"


def prepare() -> None:
    """Import what feedback pages need before the workers are forked."""
    import jinja2  # noqa: F401
    import latex2mathml.converter  # noqa: F401

    from derivbook import engine, mathtex, params, registry, web  # noqa: F401

    environment()


@lru_cache(maxsize=1)
def environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("derivbook.templates", "grading"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["points"] = points_text
    return env


def points_text(value: float) -> str:
    """Points as a teacher writes them: 5, 2.5, 3.33."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _write(path: Path, data: str) -> Path:
    """Write a file whole (a temporary file beside it, then renamed over it)."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


# -- grades.csv -------------------------------------------------------------------------------------------


def grades_csv(key: Key, sheets: list[Sheet]) -> str:
    """variant, student, id, total, max, then each part's points and ``:why`` (empty when right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["variant", "student", "id", "total", "max", *[n for c in key.columns for n in (c, f"{c}:why")]])
    for sheet in sheets:
        response = sheet.response
        cells = []
        for column in key.columns:
            mark = sheet.marks.get(column)
            cells += [points_text(mark.points), mark.why] if mark else ["", ""]
        writer.writerow([response.variant.id, _safe(response.student), _safe(response.student_id),
                         points_text(sheet.total), points_text(sheet.max), *cells])
    return out.getvalue()


# -- feedback pages -----------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40]


def page_names(sheets: list[Sheet]) -> list[str]:
    """A file name per sheet: the variant id and the student's name, unique within the class."""
    names, used = [], set()
    for sheet in sheets:
        slug = _slug(sheet.response.student)
        name = sheet.response.variant.id + (f"-{slug}" if slug else "")
        if name.casefold() in used:
            name += f"-row{sheet.response.row}"
        used.add(name.casefold())
        names.append(f"{name}.html")
    return names


def rebuilt_problem(record: dict):
    """The problem of an answers.json record, generated again from its derivation, parameters and seed, for
    its statement and worked steps; None if that fails or gives other answers than the record (a build made
    by another derivbook version). The record's answers were verified when it was built, so the equal
    answers are not verified again."""
    from derivbook.answers import exact_text
    from derivbook.params import resolve
    from derivbook.registry import get
    from derivbook.seeding import Dice

    try:
        derivation = get(record["derivation"])
        params = resolve(derivation.params, record["params"], record["derivation"])
        problem = derivation.module.generate(params, Dice(int(record["seed"])))
        problem.derivation, problem.title, problem.params, problem.seed = derivation.id, derivation.title, params, int(record["seed"])
        if set(problem.answer) != set(record["answer"]):
            return None
        if any(exact_text(problem.answer[name].value) != part["exact"] for name, part in record["answer"].items()):
            return None
    except Exception:  # an unknown derivation, changed parameters: the page goes without steps
        return None
    return problem


_REBUILT: dict[tuple, object] = {}  # (variant index, problem number) -> the problem re-generated, in a worker


def _problem_of(variant, record: dict):
    key = (variant.index, record["number"])
    if key not in _REBUILT:
        _REBUILT[key] = rebuilt_problem(record)
    return _REBUILT[key]


@lru_cache(maxsize=50_000)
def _mathml(latex: str, display: bool = False) -> Markup:
    from derivbook import web

    return web.mathml(latex, display)


def _shown(latex: str) -> Markup:
    """An answer beside its label: inline, but drawn in display style (full-size fractions)."""
    return Markup(str(_mathml(latex)).replace("<math ", '<math class="shown" ', 1))


def _math(value, display: bool = False) -> Markup:
    from derivbook import mathtex

    return _mathml(mathtex.tex(value, inline=False), display)


def _prose(text: str) -> Markup:
    """Derivation prose: ``$…$`` spans as MathML (remembered: the same sentences recur), the rest escaped."""
    parts = str(text).split("$")
    return Markup("".join(_mathml(part) if odd else escape(part) for odd, part in zip([0, 1] * len(parts), parts)))


def _paragraph(pieces) -> Markup:
    from derivbook.model import Math

    pieces = (pieces,) if isinstance(pieces, str) else pieces
    return Markup("".join(_math(p.body, p.display) if isinstance(p, Math) else _prose(p) for p in pieces))


STATUS = {"": "right", "blank": "blank", "unreadable": "unreadable", "wrong": "wrong"}


def status(mark) -> str:
    """right, partly, wrong, mistake, blank or unreadable."""
    if mark.why in STATUS:
        return "partly" if mark.why == "wrong" and mark.points > 0 else STATUS[mark.why]
    return "partly" if mark.points > 0 else "mistake"


def _key_answer(record: dict, decimals: bool = True) -> tuple[Markup, Markup | None]:
    """The key's exact answer as MathML, and its rounded decimals (from answers.json's floats) where the
    sheet accepts decimals."""
    import sympy

    from derivbook import mathtex

    exact = _shown(record["latex"])
    rounding = record["contract"].get("rounding")
    if rounding is None or not decimals:
        return exact, None
    significant = "significant_figures" in rounding
    places = rounding["significant_figures" if significant else "decimal_places"]
    value = record["value"]
    if record["exact"].startswith("Matrix("):
        value = sympy.Matrix(value)
    elif isinstance(value, dict):
        value = {k: sympy.Matrix(v) if v and isinstance(v[0], list) else v for k, v in value.items()}
    return exact, _shown(mathtex.approx(value, places, significant))


def feedback_context(sheet: Sheet, title: str, with_key: bool, exact_only: bool) -> dict:
    """Everything the feedback page shows, as escaped or trusted Markup. With the key, a problem on which
    the student lost points is shown with its statement and worked solution (re-generated here)."""
    from derivbook.model import Step
    from derivbook.registry import get
    from derivbook.render import step_groups

    response = sheet.response
    items = []
    for record in response.variant.problems:
        columns = [f"{record['number']}.{name}" for name in record["answer"]]
        marks = [sheet.marks[c] for c in columns if c in sheet.marks]
        complete = all(m.why == "" for m in marks)
        problem = _problem_of(response.variant, record) if with_key and not complete else None
        try:
            heading = _prose(get(record["derivation"]).title)
        except Exception:
            heading = escape(record["derivation"])
        parts = []
        for name, mark in zip(record["answer"], marks):
            part = problem.answer[name] if problem else None
            exact, rounded = _key_answer(record["answer"][name], mark.why != "") if with_key else (None, None)
            parts.append({
                "column": mark.column, "name": name,
                "label": _math(part.label) if part else None, "rebuilt": part is not None,
                "mark": mark, "status": status(mark),
                "read_as": _shown(mark.read_as) if mark.read_as else None,
                "explanation": _prose(mark.explanation) if mark.explanation else None,
                "key": exact, "key_decimal": rounded,
            })
        steps = []
        if problem:
            for heading_text, group in step_groups(problem.steps):
                steps.append((_prose(heading_text) if heading_text else None,
                              [(_math(s.lhs), _math(s.relation), _math(s.rhs), _prose(s.reason))
                               for s in group if isinstance(s, Step)]))
        items.append({
            "number": record["number"], "title": heading, "complete": complete,
            "rebuilt": problem is not None or complete or not with_key,
            "earned": sum(m.points for m in marks), "max": sum(m.max for m in marks),
            "statement": [_paragraph(p) for p in problem.statement] if problem else [],
            "tasks": [_paragraph(t) for t in problem.tasks] if problem else [],
            "parts": parts, "steps": steps, "figure": _figure(problem.figure) if problem and problem.figure else None,
        })
    return {"title": title, "variant": response.variant.id, "student": response.student,
            "student_id": response.student_id, "total": sheet.total, "max": sheet.max,
            "percent": 100 * sheet.total / sheet.max if sheet.max else 0.0,
            "with_key": with_key, "exact_only": exact_only, "problems": items}


def _figure(figure) -> Markup:
    from derivbook import web

    return web.svg(figure)


def feedback_page(sheet: Sheet, title: str, with_key: bool, exact_only: bool, path: str) -> str:
    """Write one student's feedback page (runs in a worker); returns its path."""
    context = feedback_context(sheet, title, with_key, exact_only)
    _write(Path(path), environment().get_template("feedback.html.j2").render(**context))
    return path


# -- report.html --------------------------------------------------------------------------------------------


def _bars(rows: list[tuple[str, float, str]], label: str, width: int = 640) -> Markup:
    """Horizontal bars: (name, length as a fraction of the full width, the value written after the bar)."""
    name_width, value_width, row_height = 230, 60, 24
    track = width - name_width - value_width
    height = row_height * len(rows) + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
             f'style="max-width:{width}px" role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>']
    for row, (name, fraction, text) in enumerate(rows):
        y = 4 + row * row_height
        shown = name if len(name) <= 34 else name[:33] + "…"
        parts.append(f'<text x="{name_width - 8}" y="{y + 16}" text-anchor="end" font-size="13" fill="currentColor">'
                     f'{escape(shown)}</text>')
        parts.append(f'<rect x="{name_width}" y="{y + 3}" width="{track}" height="{row_height - 8}" fill="{TRACK}"/>')
        bar = max(0.0, min(1.0, fraction)) * track
        if bar > 0:
            parts.append(f'<rect x="{name_width}" y="{y + 3}" width="{bar:.1f}" height="{row_height - 8}" fill="{BAR}"/>')
        parts.append(f'<text x="{name_width + track + 6}" y="{y + 16}" font-size="13" fill="currentColor">{escape(text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _histogram(counts: list[int], labels: list[str], label: str, width: int = 640, height: int = 220) -> Markup:
    """Vertical bars over labelled bins, each bar with its count above it."""
    left, bottom, top = 36, 40, 16
    plot_height = height - bottom - top
    step = (width - left - 8) / len(counts)
    highest = max(counts) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
             f'style="max-width:{width}px" role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>']
    parts.append(f'<line x1="{left}" y1="{top + plot_height}" x2="{width - 8}" y2="{top + plot_height}" stroke="currentColor"/>')
    for index, (count, name) in enumerate(zip(counts, labels)):
        x = left + index * step
        bar = plot_height * count / highest
        if count:
            parts.append(f'<rect x="{x + 3:.1f}" y="{top + plot_height - bar:.1f}" width="{step - 6:.1f}" '
                         f'height="{bar:.1f}" fill="{BAR}"/>')
        parts.append(f'<text x="{x + step / 2:.1f}" y="{top + plot_height - bar - 4:.1f}" text-anchor="middle" '
                     f'font-size="12" fill="currentColor">{count}</text>')
        parts.append(f'<text x="{x + step / 2:.1f}" y="{top + plot_height + 16:.1f}" text-anchor="middle" '
                     f'font-size="11" fill="currentColor">{escape(name)}</text>')
    parts.append(f'<text x="{left + (width - left) / 2:.1f}" y="{height - 4}" text-anchor="middle" font-size="12" '
                 f'fill="currentColor">score (% of the maximum)</text>')
    parts.append(f'<text x="12" y="{top + plot_height / 2:.1f}" text-anchor="middle" font-size="12" fill="currentColor" '
                 f'transform="rotate(-90 12 {top + plot_height / 2:.1f})">students</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def report_context(key: Key, sheets: list[Sheet], pages: list[str], exact_only: bool, with_key: bool) -> dict:
    """The numbers report.html shows: scores, success per problem and part, the frequent mistakes."""
    from derivbook.registry import get

    percents = [100 * s.total / s.max if s.max else 0.0 for s in sheets]
    bins = [0] * 10
    for percent in percents:
        bins[min(9, int(percent // 10))] += 1
    bin_labels = [f"{10 * b}–{10 * b + 10}" for b in range(10)]
    first = key.variants[0]
    problems, parts = [], []
    for record in first.problems:
        columns = [f"{record['number']}.{name}" for name in record["answer"]]
        earned = sum(s.marks[c].points for s in sheets for c in columns if c in s.marks)
        possible = sum(s.marks[c].max for s in sheets for c in columns if c in s.marks)
        try:
            derivation_title = get(record["derivation"]).title
        except Exception:
            derivation_title = record["derivation"]
        problems.append({"number": record["number"], "title": _prose(derivation_title),
                         "plain": _plain_title(derivation_title), "rate": earned / possible if possible else 0.0,
                         "points": key.points[record["number"] - 1] if record["number"] <= len(key.points) else None})
        for column in columns:
            marks = [s.marks[column] for s in sheets if column in s.marks]
            counts = collections.Counter(status(m) for m in marks)
            share = sum(m.points for m in marks) / sum(m.max for m in marks) if marks and sum(m.max for m in marks) else 0.0
            parts.append({"column": column, "rate": share, "counts": counts, "n": len(marks)})
    mistakes = collections.Counter()
    explained: dict[tuple, str] = {}
    for sheet in sheets:
        for mark in sheet.marks.values():
            if mark.why and mark.why not in REASONS:
                mistakes[(mark.column, mark.why)] += 1
                explained.setdefault((mark.column, mark.why), mark.explanation or "")
    frequent = [{"column": c, "name": n, "count": k, "share": k / len(sheets),
                 "explanation": _prose(explained[(c, n)]) if explained[(c, n)] else ""}
                for (c, n), k in mistakes.most_common()]
    most = max((m["count"] for m in frequent), default=1)
    figures = {
        "scores": _histogram(bins, bin_labels, "Score distribution: number of students per score band"),
        "problems": _bars([(f"{p['number']}. {p['plain']}", p["rate"], f"{100 * p['rate']:.0f} %") for p in problems],
                          "Success rate per problem: share of its points earned"),
        "parts": _bars([(p["column"], p["rate"], f"{100 * p['rate']:.0f} %") for p in parts],
                       "Success rate per answer part: share of its points earned"),
        "mistakes": _bars([(f"{m['column']} {m['name']}", m["count"] / most, str(m["count"])) for m in frequent[:12]],
                          "Most frequent diagnosed mistakes: number of students") if frequent else None,
    }
    students = [{"variant": s.response.variant.id, "student": s.response.student, "id": s.response.student_id,
                 "total": s.total, "max": s.max, "percent": p, "page": f"feedback/{name}"}
                for s, p, name in zip(sheets, percents, pages)]
    return {
        "title": key.title, "count": len(sheets), "exact_only": exact_only, "with_key": with_key,
        "mean": statistics.fmean(percents) if percents else 0.0,
        "median": statistics.median(percents) if percents else 0.0,
        "bins": list(zip(bin_labels, bins)), "problems": problems, "parts": parts, "mistakes": frequent,
        "figures": figures, "students": students, "statuses": ("right", "partly", "mistake", "wrong", "unreadable", "blank"),
    }


def _plain_title(title: str) -> str:
    from derivbook.plaintext import prose_text

    return prose_text(title)


# -- everything ---------------------------------------------------------------------------------------------


def write_all(key: Key, sheets: list[Sheet], out: Path, exact_only: bool, with_key: bool, workers) -> list[Path]:
    """grades.csv, feedback/<variant>-<name>.html per student, and report.html, in ``out``."""
    from derivbook.bounded import Failed, Overrun

    feedback = out / "feedback"
    feedback.mkdir(parents=True, exist_ok=True)
    written = [_write(out / "grades.csv", grades_csv(key, sheets))]
    pages = page_names(sheets)
    tasks = [(n, feedback_page, (sheet, key.title, with_key, exact_only, str(feedback / name)))
             for n, (sheet, name) in enumerate(zip(sheets, pages))]
    for n, result in workers.run(tasks, PAGE_SECONDS):
        if isinstance(result, (Overrun, Failed)):
            raise BuildError(f"feedback page of row {sheets[n].response.row} ({pages[n]}): {result.reason}")
        written.append(Path(result))
    context = report_context(key, sheets, pages, exact_only, with_key)
    written.append(_write(out / "report.html", environment().get_template("report.html.j2").render(**context)))
    return written

