"""Workbook specs (TOML) and command-line overrides, validated completely before any work starts."""

from __future__ import annotations

import csv
import io
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from derivbook.engine import Request, request
from derivbook.model import UserError
from derivbook.registry import Catalog, folders
from derivbook.typeset import unprintable

PAPERS = ("a4", "letter")
MAX_VARIANTS = 5000
MAX_TEXT = {"title": 120, "course": 120, "instructions": 600, "name": 80}
SPEC_KEYS = ("title", "course", "instructions", "seed", "paper", "variants", "roster", "derivations", "problem")
PROBLEM_KEYS = ("derivation", "points", "space")
DEFAULT_SPACE = 6.0  # centimetres of room under each problem on the worksheet
DEFAULT_INSTRUCTIONS = (
    "Show your working. Give exact answers (fractions, square roots, logarithms); "
    "where a decimal is asked for, round it to four places."
)


@dataclass(frozen=True)
class Student:
    """One roster row: the name printed on the sheet, and an optional id printed beside it."""

    name: str
    id: str | None = None


@dataclass
class Workbook:
    """A validated plan: what to print, for how many variants, from which seed."""

    name: str
    title: str
    course: str | None
    instructions: str | None
    seed: int
    paper: str
    students: list[Student | None]
    requests: list[Request] = field(default_factory=list)


def _typed(value, kind, where: str, what: str):
    if not isinstance(value, kind) or isinstance(value, bool):
        raise UserError(f"{where}: {what}")
    return value


def printable_text(text: str, where: str, limit: int) -> str:
    """A user's string that TeX can print: not too long, and every character in the fonts."""
    text = " ".join(text.split())
    if len(text) > limit:
        raise UserError(f"{where}: longer than {limit} characters ({len(text)})")
    bad = unprintable(text)
    if bad:
        raise UserError(f"{where}: the sheet's fonts cannot print {bad}; use Latin letters")
    return text


def read_roster(path: Path) -> list[Student]:
    """Student names from a UTF-8 CSV with a header ``name`` (optional ``id``); BOM and CRLF tolerated."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path}: roster file not found") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not a roster file") from None
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text (byte {error.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    if reader.fieldnames is None or "name" not in reader.fieldnames:
        raise UserError(f"{path}: the roster needs a header row with a column 'name'")
    names = []
    try:
        for row in reader:
            where = f"{path}, row {reader.line_num}"
            name = (row.get("name") or "").strip()
            if not name:
                raise UserError(f"{where}: empty name")
            student_id = (row.get("id") or "").strip() or None
            names.append(Student(
                printable_text(name, where, MAX_TEXT["name"]),
                printable_text(student_id, where + " (id)", MAX_TEXT["name"]) if student_id else None,
            ))
            if len(names) > MAX_VARIANTS:
                raise UserError(f"{path}: more than {MAX_VARIANTS} names")
    except csv.Error as error:
        raise UserError(f"{path}, row {reader.line_num}: not valid CSV ({error})") from None
    if not names:
        raise UserError(f"{path}: the roster has no names")
    return names


def parse_set(text: str) -> tuple[str, str, str]:
    """Split ``TARGET.KEY=VALUE`` (``2.n=4`` or ``softmax-jacobian.n=4``)."""
    match = re.fullmatch(r"([^.=\s]+)\.([A-Za-z_][A-Za-z0-9_]*)=(.*)", text)
    if not match:
        raise UserError(f"--set {text!r}: expected TARGET.KEY=VALUE, e.g. 2.n=4 or softmax-jacobian.n=4")
    return match.group(1), match.group(2), match.group(3)


def load(
    path: Path,
    *,
    seed: int | None = None,
    variants: int | None = None,
    roster: Path | None = None,
    paper: str | None = None,
    sets: tuple[str, ...] = (),
    derivations: tuple[Path, ...] = (),
) -> Workbook:
    """Read and validate a spec file, apply the overrides, and return the Workbook to build.

    Derivations are looked up in the package, installed packs, DERIVBOOK_PATH, the spec's own
    ``derivations`` folders (relative to the spec) and ``derivations`` (``--derivations``).
    """
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{where}: spec file not found") from None
    except IsADirectoryError:
        raise UserError(f"{where}: is a directory, not a spec file") from None
    except UnicodeDecodeError:
        raise UserError(f"{where}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{where}: not valid TOML: {error}") from None
    unknown = [key for key in data if key not in SPEC_KEYS]
    if unknown:
        raise UserError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(SPEC_KEYS)})")

    title = _typed(data.get("title", path.stem), str, where, "title must be a string")
    course = _typed(data.get("course", ""), str, where, "course must be a string") or None
    instructions = _typed(data.get("instructions", DEFAULT_INSTRUCTIONS), str, where, "instructions must be a string")
    title = printable_text(title, f"{where}: title", MAX_TEXT["title"]) or path.stem
    course = printable_text(course, f"{where}: course", MAX_TEXT["course"]) if course else None
    instructions = printable_text(instructions, f"{where}: instructions", MAX_TEXT["instructions"])
    base_seed = _typed(data.get("seed", 1), int, where, "seed must be an integer")
    seed = base_seed if seed is None else seed
    if not 0 <= seed < 2**63:
        raise UserError(f"{where}: seed must be an integer from 0 to 2^63-1, got {seed}")
    paper = paper or _typed(data.get("paper", "a4"), str, where, "paper must be a4 or letter")
    if paper not in PAPERS:
        raise UserError(f"{where}: paper must be one of {', '.join(PAPERS)}, got {paper!r}")

    if roster is None and "roster" in data and variants is None:
        roster = path.parent / _typed(data["roster"], str, where, "roster must be a file name")
    if roster is not None:
        students: list[Student | None] = list(read_roster(roster))
    else:
        count = variants if variants is not None else _typed(data.get("variants", 1), int, where, "variants must be an integer")
        if not 1 <= count <= MAX_VARIANTS:
            raise UserError(f"{where}: variants must be an integer from 1 to {MAX_VARIANTS}, got {count}")
        students = [None] * count

    catalog = Catalog([*spec_folders(path, data), *derivations])
    problems = data.get("problem", [])
    if not isinstance(problems, list) or not problems:
        raise UserError(f"{where}: a spec needs at least one [[problem]] table")
    overrides: list[dict] = [{} for _ in problems]
    for text in sets:
        target, key, value = parse_set(text)
        hits = _targets(target, problems, text, catalog)
        for index in hits:
            overrides[index][key] = value

    requests, seen = [], {}
    for index, problem in enumerate(problems):
        at = f"{where}, problem {index + 1}"
        if not isinstance(problem, dict) or "derivation" not in problem:
            raise UserError(f"{at}: each [[problem]] needs a derivation id")
        derivation_id = _typed(problem["derivation"], str, at, "derivation must be a string id")
        derivation = catalog.lookup(derivation_id, at)
        params = {k: v for k, v in problem.items() if k not in PROBLEM_KEYS}
        declared = {p.name: p for p in derivation.params}
        for key, value in overrides[index].items():
            if key not in declared:
                raise UserError(f"--set {key}: unknown parameter for {derivation_id} (allowed: {', '.join(declared) or 'none'})")
            params[key] = declared[key].parse(value, f"--set {derivation_id}.{key}")
        points = problem.get("points")
        if points is not None and not (isinstance(points, int) and not isinstance(points, bool) and 0 <= points <= 1000):
            raise UserError(f"{at}: points must be an integer from 0 to 1000, got {points!r}")
        space = problem.get("space", DEFAULT_SPACE)
        if not (isinstance(space, (int, float)) and not isinstance(space, bool) and 0 <= space <= 16):
            raise UserError(f"{at}: space must be a number of centimetres from 0 to 16, got {space!r}")
        occurrence = seen.get(derivation_id, 0)
        seen[derivation_id] = occurrence + 1
        requests.append(request(derivation, params, f"{derivation_id}#{occurrence}", at, points=points, space=float(space)))

    return Workbook(path.stem, title, course, instructions, seed, paper, students, requests)


def spec_folders(path: Path, data: dict) -> list[Path]:
    """The folders a spec's ``derivations`` key names (relative to the spec), each checked to exist."""
    return folders(data.get("derivations", []), path.parent, f"{path}: derivations")


def _targets(target: str, problems: list, text: str, catalog: Catalog) -> list[int]:
    if target.isdigit():
        number = int(target)
        if not 1 <= number <= len(problems):
            raise UserError(f"--set {text!r}: problem {number} does not exist (the spec has {len(problems)})")
        return [number - 1]
    hits = [i for i, p in enumerate(problems) if isinstance(p, dict) and p.get("derivation") == target]
    if not hits:
        catalog.lookup(target, f"--set {text!r}")
        raise UserError(f"--set {text!r}: the spec has no problem {target!r}")
    return hits
