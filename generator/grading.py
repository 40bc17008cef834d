"""Grading: a build's answers.json and a file of student responses become marks and diagnoses.

The key is the build's answers.json: each answer part's exact value (SymPy's own output, so it is parsed
with ``sympify``), its answer contract and its declared mistakes. A student's cell is read by
``derivbook.answer_syntax`` (never by ``sympify``) and judged by ``derivbook.contract.agrees`` — the one
equivalence rule every export uses — in a worker process that is killed if it overruns
(``derivbook.bounded``).

How points are shared (``POINTS_RULE``, also in docs/grading.md and the command's help): a problem's
points (the spec's ``points``; one per part when the spec gives none) are split equally among its parts.
A part whose answer is unique earns its share in proportion to the entries that are right (7 of 9 entries
of a 3×3 matrix earn 7/9 of it); a part that may be written several ways (up to sign, scale or order)
earns all of its share or nothing. A blank, unreadable or wrongly shaped answer earns nothing.
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sympy

from derivbook import answer_syntax, contract
from derivbook.model import UserError

SCHEMA = 2  # the answers.json schema this grader reads
CELL_SECONDS = 3.0  # the time limit of one comparison (reading a cell and judging it)
PAGE_SECONDS = 300.0  # rebuilding one variant's problems and writing its feedback page (trusted work)
MAX_RESPONSES_BYTES = 64 << 20
SHOWN = 300  # characters of a cell shown back on a feedback page

POINTS_RULE = (
    "A problem's points (the spec's points; one per part when it gives none) are split equally among its "
    "answer parts. A part with a unique answer earns its share in proportion to its entries that are right; "
    "a part that may be written several ways (up to sign, scale or order) earns all or nothing. Blank, "
    "unreadable or wrongly shaped answers earn nothing."
)
REASONS = ("blank", "unreadable", "wrong")  # besides "" (right) and the names of diagnosed mistakes
STUDENT_COLUMNS = {"variant": "variant", "student": "student", "name": "student", "student name": "student",
                   "id": "id", "student id": "id", "student_id": "id"}


@dataclass
class PartKey:
    """One answer part of one problem of one variant, as answers.json records it."""

    column: str  # "5.jacobian"
    number: int  # the problem's number
    name: str  # the part's name
    record: dict  # answers.json's answer.<part>: exact, latex, value, contract, mistakes
    points: float  # this part's share of the problem's points


@dataclass
class VariantKey:
    index: int
    id: str
    student: str | None
    student_id: str | None
    problems: list[dict]  # answers.json's problem records
    parts: dict[str, PartKey]  # by column


@dataclass
class Key:
    """A build's answer key, as grading reads it."""

    title: str
    variants: list[VariantKey]
    columns: list[str]  # every answer part's column, in the sheet's order
    points: list[float]  # each problem's points, by position

    def variant(self, variant_id: str) -> VariantKey | None:
        wanted = variant_id.strip().upper()
        return next((v for v in self.variants if v.id.upper() == wanted), None)


@dataclass
class Response:
    """One row of the responses file."""

    row: int  # the row in the file as a spreadsheet numbers it (the header is row 1)
    variant: VariantKey
    student: str
    student_id: str
    cells: dict[str, str]  # column -> what the student wrote


@dataclass
class Mark:
    """What one part earned, and why."""

    column: str
    points: float
    max: float
    why: str  # "" (right), "blank", "unreadable", "wrong", or a diagnosed mistake's name
    written: str = ""
    note: str = ""  # what could not be read, the shape that was expected, how many entries were right
    read_as: str | None = None  # LaTeX of how the cell was read
    explanation: str | None = None  # the diagnosed mistake's explanation (derivation prose with $…$)
    misshapen: bool = False  # read, but not in the answer's form (a vector where a matrix is asked for)


@dataclass
class Sheet:
    """One student's graded responses."""

    response: Response
    marks: dict[str, Mark] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(mark.points for mark in self.marks.values())

    @property
    def max(self) -> float:
        return sum(mark.max for mark in self.marks.values())


# -- the key ----------------------------------------------------------------------------------------------


def answers_path(build: Path) -> Path:
    """answers.json of a build folder (or the file itself)."""
    return build if build.suffix == ".json" and not build.is_dir() else build / "answers.json"


def load_key(build: Path) -> Key:
    """The answer key of a build, from its answers.json."""
    path = answers_path(build)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: not found; grade a build folder made with --format json (one of the default formats)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"{path}: not a readable answers.json ({error})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else None
        raise UserError(f"{path}: answers.json schema {found!r}; this derivbook grades schema {SCHEMA}: rebuild the workbook")
    return key_from_records(data.get("title", ""), data["variants"], data.get("points"))


def key_from_records(title: str, variants: list[dict], points: list | None = None) -> Key:
    """A Key from answers.json's variant records (and the spec's points per problem, if known)."""
    made = []
    columns: list[str] = []
    first = variants[0]["problems"] if variants else []
    shares = [float(p) if isinstance(p, (int, float)) else None for p in (points or [])]
    shares += [None] * (len(first) - len(shares))
    for index, record in enumerate(variants):
        parts = {}
        for position, problem in enumerate(record["problems"]):
            names = list(problem["answer"])
            total = shares[position] if position < len(shares) and shares[position] is not None else float(len(names))
            for name in names:
                column = f"{problem['number']}.{name}"
                parts[column] = PartKey(column, problem["number"], name, problem["answer"][name], total / len(names))
                if column not in columns:
                    columns.append(column)
        made.append(VariantKey(index, record["id"], record.get("student"), record.get("student_id"), record["problems"], parts))
    problem_points = [s if s is not None else float(len(p["answer"])) for s, p in zip(shares, first)]
    return Key(title, made, columns, problem_points)


def key_from_problems(title: str, problems: list, points: list | None = None) -> Key:
    """A one-variant Key for problems made in this process (``derivbook practice``)."""
    from derivbook import answers

    record = {"id": "practice", "student": None,
              "problems": [answers.problem_record(n, p) for n, p in enumerate(problems, start=1)]}
    return key_from_records(title, [record], points)


def template(key: Key) -> str:
    """The empty responses sheet: the header, and one row per variant with its id, student and student id."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["variant", "student", "id", *key.columns])
    for variant in key.variants:
        writer.writerow([variant.id, _safe(variant.student or ""), _safe(variant.student_id or ""), *[""] * len(key.columns)])
    return out.getvalue()


def write_template(build: Path, path: Path) -> Path:
    """Write the empty responses sheet of a build to ``path`` (not over a folder)."""
    key = load_key(build)
    if path.is_dir():
        raise UserError(f"--template {path}: is a folder; give a file name such as responses.csv")
    try:
        path.write_text(template(key), encoding="utf-8")
    except OSError as error:
        raise UserError(f"--template {path}: cannot write it ({error.strerror})") from None
    return path


def _safe(text: str) -> str:
    """A cell a spreadsheet shows as text, not runs as a formula (=, +, -, @ first)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# -- the responses file -----------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _decode(raw: bytes, path: Path) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UserError(f"{path}: row 1: the file is UTF-16 text; save it as 'CSV UTF-8'")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        start = raw.rfind(b"\n", 0, error.start) + 1
        row = raw.count(b"\n", 0, error.start) + 1
        before = raw[start:error.start].decode("latin-1")
        header = raw[:raw.find(b"\n")].decode("utf-8", "replace") if b"\n" in raw else ""
        separator = _separator(header.splitlines()[0] if header else "") or ","
        column = len(next(csv.reader([before], delimiter=separator), [""]))
        raise UserError(f"{path}: row {row}, column {column}: byte 0x{raw[error.start]:02X} is not UTF-8 text; "
                        "save the file as 'CSV UTF-8'") from None


def _separator(header: str) -> str | None:
    """The separator whose split of the header names the most columns derivbook knows."""
    best, found = None, 0
    for candidate in (",", ";", "\t"):
        names = next(csv.reader([header], delimiter=candidate), [])
        known = sum(1 for n in names if _fold(n) in STUDENT_COLUMNS or re.fullmatch(r"\d+\.\w+", n.strip()))
        if known > found:
            best, found = candidate, known
    return best


def _column_of(name: str, key: Key) -> str | None:
    folded = _fold(name)
    if folded in STUDENT_COLUMNS:
        return STUDENT_COLUMNS[folded]
    if name.strip() in key.columns:
        return name.strip()
    matches = [c for c in key.columns if c.casefold() == folded.replace(" ", "")]
    return matches[0] if len(matches) == 1 else None


def read_responses(key: Key, path: Path, notice: Callable[[str], None] | None = None) -> list[Response]:
    """The rows of a responses file, each matched to its variant; a malformed file is a UserError naming
    the row and column (unknown variant or column, duplicate row or column, wrong encoding, ragged row)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: responses file not found") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a responses file") from None
    if len(raw) > MAX_RESPONSES_BYTES:
        raise UserError(f"{path}: {len(raw)} bytes; a responses file may have at most {MAX_RESPONSES_BYTES}")
    text = _decode(raw, path)
    header_line = next((line for line in text.splitlines() if line.strip(" ,;\t")), "")
    separator = _separator(header_line)
    if separator is None:
        raise UserError(f"{path}: row 1: no column derivbook knows in the header {header_line[:80]!r}; "
                        "expected variant, student, id and answer columns such as "
                        f"{key.columns[0] if key.columns else '1.x'} (write an empty sheet with --template)")
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        return _rows(key, path, text, separator, notice)
    except csv.Error as error:
        raise UserError(f"{path}: not a readable CSV file ({error})") from None
    finally:
        csv.field_size_limit(limit)


def _rows(key: Key, path: Path, text: str, separator: str, notice) -> list[Response]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    header: list[str] | None = None
    row = 0
    columns: list[str | None] = []
    responses: list[Response] = []
    seen: dict[tuple, int] = {}
    while True:
        row = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        if not any(f.strip() for f in fields):
            continue
        if header is None:
            header = fields
            columns = _header(key, path, row, fields)
            continue
        if len(fields) > len(header):
            extra = fields[len(header):]
            if any(f.strip() for f in extra):
                raise UserError(f"{path}: row {row} has {len(fields)} fields but the header has {len(header)} "
                                f"(an answer with commas, such as [1/2, 1/3], needs quotes, or use ; as the separator)")
        fields = fields[:len(header)] + [""] * (len(header) - len(fields))
        values = dict.fromkeys(("variant", "student", "id"), "")
        cells: dict[str, str] = {}
        for number, (column, value) in enumerate(zip(columns, fields), start=1):
            if column is None:
                if value.strip():
                    raise UserError(f"{path}: row {row}, column {number}: a value under an empty header")
            elif column in values:
                values[column] = " ".join(value.split())
            else:
                cells[column] = value
        variant = _find_variant(key, path, row, columns, values)
        student = values["student"] or variant.student or ""
        student_id = values["id"] or variant.student_id or ""
        for column, value in cells.items():
            if value.strip() and column not in variant.parts:
                raise UserError(f"{path}: row {row}, column {columns.index(column) + 1} ({column}): "
                                f"variant {variant.id} has no such answer part")
        identity = (variant.id, _fold(student))
        if identity in seen:
            raise UserError(f"{path}: row {row}: a second row for variant {variant.id}"
                            + (f" and student {student}" if student else "") + f" (the first is row {seen[identity]})")
        seen[identity] = row
        responses.append(Response(row, variant, student, student_id, cells))
    if header is None:
        raise UserError(f"{path}: empty; write an empty sheet to fill in with --template")
    missing = [c for c in key.columns if c not in columns]
    if missing and notice:
        notice(f"{path.name} has no column for {len(missing)} answer part(s) ({', '.join(missing[:6])}"
               f"{', …' if len(missing) > 6 else ''}): graded as blank")
    return responses


def _header(key: Key, path: Path, row: int, fields: list[str]) -> list[str | None]:
    columns: list[str | None] = []
    for number, name in enumerate(fields, start=1):
        if not name.strip():
            columns.append(None)
            continue
        column = _column_of(name, key)
        if column is None:
            near = difflib.get_close_matches(name.strip(), key.columns + ["variant", "student", "id"], n=1)
            hint = f"; did you mean {near[0]}?" if near else f" (the columns are variant, student, id, {', '.join(key.columns[:4])}, …)"
            raise UserError(f"{path}: row {row}, column {number} ({name.strip()!r}): not a column of this build{hint}")
        if column in columns:
            raise UserError(f"{path}: row {row}, column {number} ({name.strip()!r}): the same column as "
                            f"column {columns.index(column) + 1}")
        columns.append(column)
    if not any(c in ("variant", "student", "id") for c in columns):
        raise UserError(f"{path}: row {row}: the header needs a column variant (or id, or student) to find each row's variant")
    return columns


def _find_variant(key: Key, path: Path, row: int, columns: list, values: dict) -> VariantKey:
    def where(column: str) -> str:
        return f"{path}: row {row}, column {columns.index(column) + 1} ({column})"

    if values["variant"]:
        variant = key.variant(values["variant"])
        if variant is None:
            ids = [v.id for v in key.variants]
            near = difflib.get_close_matches(values["variant"].upper(), ids, n=1)
            hint = f"did you mean {near[0]}?" if near else f"its variants are {', '.join(ids[:5])}{', …' if len(ids) > 5 else ''}"
            raise UserError(f"{where('variant')}: no variant {values['variant']!r} in this build; {hint}")
        if values["student"] and variant.student and _fold(values["student"]) != _fold(variant.student):
            raise UserError(f"{where('student')}: variant {variant.id} is {variant.student}'s, not {values['student']}'s")
        if values["id"] and variant.student_id and values["id"] != variant.student_id:
            raise UserError(f"{where('id')}: variant {variant.id} is student id {variant.student_id}'s, not {values['id']}'s")
        return variant
    if values["id"]:
        found = [v for v in key.variants if v.student_id == values["id"]]
        if len(found) != 1:
            raise UserError(f"{where('id')}: no variant of this build belongs to student id {values['id']!r}")
        return found[0]
    if values["student"]:
        found = [v for v in key.variants if v.student and _fold(v.student) == _fold(values["student"])]
        if len(found) != 1:
            problem = "more than one variant belongs to" if found else "no variant of this build belongs to"
            raise UserError(f"{where('student')}: {problem} {values['student']!r}; give the variant id")
        return found[0]
    raise UserError(f"{path}: row {row}: no variant, id or student to find the row's variant by")


# -- judging one cell (in a worker process) ---------------------------------------------------------------

_KEY: Key | None = None  # the key the workers were forked with
_PARSED: dict = {}  # (variant, column) -> (right value, contract, mistakes), parsed once per worker


def contract_of(name: str, record: dict) -> contract.Contract:
    """The answer contract of a part, from its answers.json record."""
    Contract = contract.Contract
    terms = record["contract"]
    rounding = terms.get("rounding")
    if rounding is None:
        return Contract(name, True, None, False, terms["freedom"], terms.get("convention"))
    significant = "significant_figures" in rounding
    places = rounding["significant_figures" if significant else "decimal_places"]
    return Contract(name, False, places, significant, terms["freedom"], terms.get("convention"))


def key_value(exact: str) -> Any:
    """A value of answers.json (our own SymPy output, trusted) as SymPy objects.

    Read with the answer grammar where it can (four times faster than ``sympify``, and exact: the key holds
    no decimals), else with ``sympify``; tests check both give the same values for every derivation.
    """
    text = exact.strip()
    try:
        if text.startswith("Matrix(") and text.endswith(")"):
            rows = answer_syntax.read(text[len("Matrix("):-1])
            if isinstance(rows, list) and rows and all(isinstance(row, list) for row in rows):
                return sympy.Matrix(rows)
        elif not text.startswith("{"):
            return answer_syntax.read(text)
    except answer_syntax.Unreadable:
        pass
    return sympy.sympify(text)


def _parsed(variant: int, column: str):
    if (variant, column) not in _PARSED:
        part = _KEY.variants[variant].parts[column]
        record = part.record
        mistakes = [(m["name"], key_value(m["exact"]), m["explanation"]) for m in record.get("mistakes", [])]
        _PARSED[(variant, column)] = (key_value(record["exact"]), contract_of(part.name, record), mistakes)
    return _PARSED[(variant, column)]


class Shape(ValueError):
    """An answer of the wrong form (a vector where a matrix is asked for)."""


def describe(value: Any) -> str:
    """The form of an answer value in words: a number, a vector of 3, a 2×3 matrix, named parts …"""
    if isinstance(value, dict):
        return "named parts " + ", ".join(f"{k} ({describe(v)})" for k, v in value.items())
    if isinstance(value, sympy.MatrixBase):
        return f"a {value.rows}×{value.cols} matrix"
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], (list, tuple, sympy.MatrixBase)):
            inner = describe(value[0])
            return f"a list of {len(value)}: each {inner}"
        return f"a vector of {len(value)}"
    return "a number"


def _flat(value: Any) -> list:
    return [e for item in value for e in (_flat(item) if isinstance(item, list) else [item])] if isinstance(value, list) else [value]


def conform(right: Any, given: Any) -> Any:
    """``given`` in the nesting of ``right`` (matrices as lists of rows), or :class:`Shape`.

    Lenient only where nothing is ambiguous: a one-row or one-column matrix, or a vector, may be written
    flat or as one row or column; a one-entry answer may drop its brackets; named parts may be given in
    the key's order without names.
    """
    if isinstance(right, dict):
        if isinstance(given, list) and len(given) == len(right):
            given = dict(zip(right, given))
        if not isinstance(given, dict):
            raise Shape(f"expected {describe(right)}")
        names = {}
        for name in given:
            match = name if name in right else next((k for k in right if k.casefold() == name.casefold()), None)
            if match is None or match in names.values():
                raise Shape(f"{name} is not one of the parts asked for ({', '.join(right)})")
            names[name] = match
        if len(names) != len(right):
            raise Shape(f"expected every part: {', '.join(right)}")
        by_key = {names[name]: value for name, value in given.items()}
        return {k: conform(v, by_key[k]) for k, v in right.items()}
    if isinstance(right, sympy.MatrixBase):
        rows, cols = right.shape
        if isinstance(given, list) and len(given) == rows and all(isinstance(r, list) and len(r) == cols for r in given) \
                and not any(isinstance(e, list) for r in given for e in r):
            return given
        flat = _flat(given)
        if (rows == 1 or cols == 1) and len(flat) == rows * cols and _depth(given) <= 2 and _is_line(given):
            return [flat[r * cols:(r + 1) * cols] for r in range(rows)]
        raise Shape(f"expected {describe(right)}, got {_described(given)}")
    if isinstance(right, (list, tuple)):
        if right and isinstance(right[0], (list, tuple, sympy.MatrixBase, dict)):
            if not isinstance(given, list) or len(given) != len(right):
                raise Shape(f"expected {describe(right)}, got {_described(given)}")
            return [conform(r, g) for r, g in zip(right, given)]
        flat = _flat(given)
        if len(flat) == len(right) and _depth(given) <= 2 and _is_line(given):
            return flat
        raise Shape(f"expected {describe(right)}, got {_described(given)}")
    if isinstance(given, list):
        flat = _flat(given)
        if len(flat) == 1:
            return flat[0]
        raise Shape(f"expected a number, got {_described(given)}")
    return given


def _depth(value: Any) -> int:
    return 1 + max((_depth(v) for v in value), default=0) if isinstance(value, list) else 0


def _is_line(value: Any) -> bool:
    """A scalar, a flat list, one row [[…]] or one column [[a], [b]]."""
    if not isinstance(value, list) or not any(isinstance(v, list) for v in value):
        return True
    return all(isinstance(v, list) for v in value) and (len(value) == 1 or all(len(v) == 1 for v in value))


def _described(value: Any) -> str:
    if isinstance(value, dict):
        return "named parts " + ", ".join(value)
    if isinstance(value, list):
        if value and all(isinstance(v, list) for v in value):
            widths = {len(v) for v in value}
            if len(widths) == 1 and not any(isinstance(e, list) for v in value for e in v):
                return f"a {len(value)}×{widths.pop()} matrix"
            return f"a list of {len(value)} lists"
        return f"a vector of {len(value)}"
    return "a number"


def read_as(right: Any, given: Any) -> str:
    """LaTeX of how a cell was read, in the key's form (a matrix shown as a matrix), decimals as written."""
    printer = _printer()

    def tex(r, g):
        if isinstance(r, dict):
            return r",\quad ".join(f"{k} = {tex(r[k], g[k])}" for k in r)
        if isinstance(r, sympy.MatrixBase):
            return printer.doprint(sympy.Matrix(g))
        if isinstance(r, (list, tuple)):
            if r and isinstance(r[0], (list, tuple, sympy.MatrixBase, dict)):
                return r",\quad ".join(tex(a, b) for a, b in zip(r, g))
            return r"\left(" + r",\ ".join(tex(a, b) for a, b in zip(r, g)) + r"\right)"
        return printer.doprint(g)

    return tex(right, given)


@functools.lru_cache(maxsize=1)
def _printer():
    from derivbook.mathtex import WorkbookPrinter

    class AsWritten(WorkbookPrinter):
        def _print_Float(self, expr):
            text = f"{float(expr):.12g}"
            if "e" in text:
                mantissa, power = text.split("e")
                return rf"{mantissa} \times 10^{{{int(power)}}}"
            return text

    return AsWritten()


_DECIMAL_COMMA = re.compile(r"\s*[-+\u2212]?\d+,\d+\s*")


def judge(variant: int, column: str, text: str, exact_only: bool) -> dict:
    """Judge one cell against the key the workers were forked with: a dict with ``fraction`` (of the part's
    points), ``why``, ``note``, ``read_as`` and the diagnosed mistake's ``explanation``."""
    right, terms, mistakes = _parsed(variant, column)
    try:
        given = answer_syntax.read(text)
    except answer_syntax.Unreadable as error:
        return {"fraction": 0.0, "why": "unreadable", "note": str(error)}
    try:
        given = conform(right, given)
    except Shape as error:
        if _DECIMAL_COMMA.fullmatch(text) and not isinstance(right, (list, dict, sympy.MatrixBase)):
            return {"fraction": 0.0, "why": "unreadable", "note": "write a decimal with a point: 0.5, not 0,5"}
        return {"fraction": 0.0, "why": "wrong", "note": str(error), "misshapen": True}
    if terms.freedom == "unique":
        nested = contract.shaped(right, lambda e: e) if not isinstance(right, dict) else right
        pairs = list(zip([e for _, e in contract.leaves(nested)], [e for _, e in contract.leaves(given)]))
        right_entries = sum(1 for r, g in pairs if contract.agrees(terms, r, g, exact_only))
        fraction = right_entries / len(pairs)
        note = f"{right_entries} of {len(pairs)} entries right" if 0 < right_entries < len(pairs) else ""
    else:
        fraction = 1.0 if contract.agrees(terms, right, given, exact_only) else 0.0
        note = ""
    if fraction == 1.0:
        return {"fraction": 1.0, "why": "", "note": ""}
    if exact_only and terms.freedom == "unique" and _decimal_where_exact(right, given):
        note = (note + "; " if note else "") + "decimals earn nothing here: an exact answer is asked for"
    shown = read_as(right, given)
    for name, value, explanation in mistakes:
        if contract.agrees(terms, value, given):
            return {"fraction": fraction, "why": name, "note": note, "read_as": shown, "explanation": explanation}
    return {"fraction": fraction, "why": "wrong", "note": note, "read_as": shown}


def _decimal_where_exact(right: Any, given: Any) -> bool:
    nested = contract.shaped(right, lambda e: e) if not isinstance(right, dict) else right
    return any(g.has(sympy.Float) and not sympy.sympify(r).is_Integer
               for (_, r), (_, g) in zip(contract.leaves(nested), contract.leaves(given)))


# -- grading a class ----------------------------------------------------------------------------------------


def grade(key: Key, responses: list[Response], exact_only: bool = False, workers=None,
          seconds: float = CELL_SECONDS) -> list[Sheet]:
    """Every response judged against the key: a Sheet per row, a Mark per answer part."""
    from derivbook.bounded import Failed, Overrun, Workers

    global _KEY
    sheets = [Sheet(r) for r in responses]
    tasks = []
    for place, sheet in enumerate(sheets):
        variant = sheet.response.variant
        for column, part in variant.parts.items():
            text = sheet.response.cells.get(column, "")
            written = text if len(text) <= SHOWN else text[:SHOWN] + "…"
            if not text.strip():
                sheet.marks[column] = Mark(column, 0.0, part.points, "blank")
            else:
                sheet.marks[column] = Mark(column, 0.0, part.points, "", written)
                tasks.append(((place, column), judge, (variant.index, column, text, exact_only)))
    _prepare()
    if _KEY is not key:
        _KEY = key
        _PARSED.clear()
        if workers is not None:
            workers.close()  # forked with another key
    own = workers is None
    pool = workers or Workers(min(_cores(), max(1, len(tasks) // 20)))
    try:
        for (place, column), result in pool.run(tasks, seconds):
            mark = sheets[place].marks[column]
            if isinstance(result, (Overrun, Failed)):
                mark.why, mark.note = "unreadable", f"this answer could not be judged: {result.reason}"
                continue
            mark.points = result["fraction"] * mark.max
            mark.why = result["why"]
            mark.note = result.get("note", "")
            mark.read_as = result.get("read_as")
            mark.explanation = result.get("explanation")
            mark.misshapen = result.get("misshapen", False)
    finally:
        if own:
            pool.close()
    return sheets


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _prepare() -> None:
    """Import what the workers use before they are forked, so each does not import it again."""
    from derivbook import mathtex, verify  # noqa: F401


@dataclass
class Outcome:
    """What ``grade_build`` wrote."""

    sheets: list[Sheet]
    out: Path
    files: list[Path]


def grade_build(build: Path, responses_path: Path, out: Path | None = None, exact_only: bool = False,
                with_key: bool = True, notice: Callable[[str], None] | None = None) -> Outcome:
    """Grade a responses file against a build: grades.csv, a feedback page per student and report.html in
    ``out`` (default: the build's grades/ folder). Files there that derivbook did not write are left alone."""
    from derivbook import reports
    from derivbook.bounded import Workers

    key = load_key(build)
    responses = read_responses(key, responses_path, notice)
    if not responses:
        raise UserError(f"{responses_path}: no response rows under the header")
    out = out or (answers_path(build).parent / "grades")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file, not a folder")
    global _KEY
    _prepare()
    reports.prepare()
    _KEY = key
    _PARSED.clear()
    with Workers(_cores()) as workers:
        sheets = grade(key, responses, exact_only, workers)
        files = reports.write_all(key, sheets, out, exact_only=exact_only, with_key=with_key, workers=workers)
    return Outcome(sheets, out, files)


def simulated_cell(record: dict, kind: str) -> str:
    """What a student might write for a part: ``exact`` (the key's exact value), ``decimal`` (rounded as
    the sheet asks), or ``off-by-one`` (every number of the exact answer plus one). For tests and the
    benchmark."""

    value = sympy.sympify(record["exact"])
    if kind == "exact":
        return answer_syntax.answer_text(value)
    if kind == "off-by-one":
        return answer_syntax.answer_text(contract.shaped(value, lambda e: e + 1))
    rounding = record["contract"]["rounding"]

    def rounded(entry):
        number = float(sympy.N(entry, 30))
        if rounding is None:
            return str(int(entry))
        if "significant_figures" in rounding:
            return f"{number:.{rounding['significant_figures'] - 1}e}"
        text = f"{number:.{rounding['decimal_places']}f}"
        return text.lstrip("-") if float(text) == 0 else text

    return answer_syntax.answer_text(contract.shaped(value, rounded))


def simulated_responses(key: Key, kinds: tuple[str, ...]) -> str:
    """A responses file where variant ``i`` answers every part as ``kinds[i % len(kinds)]``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["variant", "student", "id", *key.columns])
    for variant in key.variants:
        kind = kinds[variant.index % len(kinds)]
        writer.writerow([variant.id, variant.student or "", variant.student_id or "",
                         *[simulated_cell(variant.parts[c].record, kind) if c in variant.parts else "" for c in key.columns]])
    return out.getvalue()


def class_answers(folder: Path, students: int, spec: Path | None = None, seed: int = 1) -> Path:
    """answers.json of a roster build of ``spec`` (default: the default workbook) for ``students`` names,
    made with the library (no PDFs): for tests and the benchmark. Returns the build folder."""
    from derivbook import answers, workbooks
    from derivbook import spec as specs
    from derivbook.engine import derive_variant, plan_variants

    folder.mkdir(parents=True, exist_ok=True)
    roster = folder / "roster.csv"
    roster.write_text("name\n" + "".join(f"Student {n:03d}\n" for n in range(1, students + 1)), encoding="utf-8")
    workbook = specs.load(spec or Path(workbooks.__file__).parent / "llm-foundations.toml", seed=seed, roster=roster)
    records = [answers.variant_record(derive_variant(workbook.requests, workbook.seed, variant))
               for variant in plan_variants(workbook.seed, workbook.students)]
    (folder / "answers.json").write_text(answers.document(workbook, records), encoding="utf-8")
    return folder


def summary(outcome: Outcome) -> str:
    """One line for the terminal: how many students, the mean score, the reasons, where the files are."""
    sheets = outcome.sheets
    mean = sum(s.total / s.max for s in sheets if s.max) / len(sheets) * 100 if sheets else 0.0
    reasons = {}
    for sheet in sheets:
        for mark in sheet.marks.values():
            if mark.why:
                kind = mark.why if mark.why in REASONS else "diagnosed"
                reasons[kind] = reasons.get(kind, 0) + 1
    counted = ", ".join(f"{n} {kind}" for kind, n in sorted(reasons.items())) or "every answer right"
    return (f"graded {len(sheets)} student(s), mean score {mean:.0f} % ({counted}): wrote grades.csv, "
            f"report.html and {len(outcome.files) - 2} feedback page(s) to {outcome.out}")


