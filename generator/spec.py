"""Workbook specs (TOML), rosters (CSV) and command-line overrides, validated completely before any work starts.

Importing this module is cheap (no SymPy, no derivations): the command line resolves a spec's path with it
before deciding whether a build is needed at all.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from derivbook.model import UserError

if TYPE_CHECKING:
    from derivbook.engine import Request

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
DEFAULT_WORKBOOK = "llm-foundations"

# Roster headers, compared folded (case, spaces, underscores, hyphens and dots ignored: "Student_Name" is
# "studentname"). A full-name column wins over first/last columns; other columns (email, section) are ignored.
NAME_HEADERS = ("name", "fullname", "studentname", "student")
FIRST_HEADERS = ("first", "firstname", "givenname", "forename")
LAST_HEADERS = ("last", "lastname", "surname", "familyname")
ID_HEADERS = ("id", "idnumber", "studentid", "studentnumber", "studentno", "matriculation", "matriculationnumber",
              "matricnumber")
SEPARATORS = {",": "','", ";": "';'", "\t": "tab"}
ROSTER_RULES = (
    "allowed: a header row with a column name (or Full name, Student name, Student), or First name and Last name "
    "(Given name, Surname, Family name), and optionally id (Student ID, Student number, ID number, Matriculation "
    "number); columns separated by ',' ';' or tab"
)


@dataclass(frozen=True)
class Student:
    """One roster row: the name printed on the sheet, and an optional id printed beside it.

    ``occurrence`` tells apart rows that have the same name and no id: 1 for the first such row, 2 for the
    next, and so on.
    """

    name: str
    id: str | None = None
    occurrence: int = 1

    @property
    def key(self) -> str:
        """What identifies this student whatever their row: ``id:<id>`` when the row has an id, else
        ``name:<name>`` (``name:<name>#2`` for the second row of a repeated name). Sorting the roster or
        adding a student leaves every other key unchanged; so does correcting a name when there is an id."""
        if self.id is not None:
            return f"id:{self.id}"
        # a line break cannot be in a name (whitespace is folded), so "Ann" twice never meets a row "Ann#2"
        return f"name:{self.name}" + (f"\n{self.occurrence}" if self.occurrence > 1 else "")


@dataclass
class Workbook:
    """A validated plan: what to print, for how many variants, from which seed."""

    name: str
    title: str
    course: str | None
    instructions: tuple[str, ...]  # paragraphs, in order; empty for none
    seed: int
    paper: str
    students: list[Student | None]
    requests: list[Request] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # one line each, for the command line to print


def _typed(value, kind, where: str, what: str):
    if not isinstance(value, kind) or isinstance(value, bool):
        raise UserError(f"{where}: {what}")
    return value


def did_you_mean(word: str, choices, listing: str | None = None) -> str:
    """"did you mean 'x'?" for the closest of ``choices`` (ignoring case), else what is allowed."""
    choices = list(choices)
    folded = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), folded, n=1, cutoff=0.6)
    if close:
        return f"did you mean {folded[close[0]]!r}?"
    return f"allowed: {listing or ', '.join(choices) or 'none'}"


def printable_text(text: str, where: str, limit: int) -> str:
    """A user's string that TeX can print: not too long, and every character in the fonts."""
    from derivbook.typeset import unprintable

    text = " ".join(unicodedata.normalize("NFC", text).split())
    if len(text) > limit:
        raise UserError(f"{where}: longer than {limit} characters ({len(text)})")
    bad = unprintable(text)
    if bad:
        raise UserError(f"{where}: the sheet's fonts cannot print {bad}; use Latin letters")
    return text


def paragraphs(text: str, where: str, limit: int) -> tuple[str, ...]:
    """A text's paragraphs (separated by blank lines), each printable, together at most ``limit`` characters."""
    parts = tuple(p for p in (" ".join(chunk.split()) for chunk in re.split(r"\n[ \t\r\f\v]*\n", text)) if p)
    printable_text(" ".join(parts), where, limit)
    return tuple(printable_text(p, where, limit) for p in parts)


def bundled_names() -> list[str]:
    """The names of the ready-made workbooks shipped with the package."""
    from derivbook import workbooks  # its folder, as importlib.resources finds it, without importing that

    return sorted(path.stem for path in Path(workbooks.__file__).parent.glob("*.toml"))


def bundled_spec(name: str) -> Path | None:
    """The path of a ready-made workbook shipped with the package, by name."""
    from derivbook import workbooks

    candidate = Path(workbooks.__file__).parent / f"{name}.toml"
    return candidate if candidate.is_file() else None


def resolve_spec(spec: str | None) -> Path:
    """A spec argument as a file path: a path (``~`` expanded), or the name of a bundled workbook, or the
    default one. A name that is neither comes back as a path; ``load`` then says it is not found and lists
    the bundled workbooks."""
    if spec is None:
        return bundled_spec(DEFAULT_WORKBOOK)
    path = Path(spec).expanduser()
    if not path.exists() and "/" not in spec and bundled_spec(spec.removesuffix(".toml")):
        return bundled_spec(spec.removesuffix(".toml"))
    return path


def _fold(header: str) -> str:
    return re.sub(r"[\s_.\-]+", "", header.casefold())


def _roster_text(path: Path) -> str:
    """The roster's text: UTF-8 with or without a BOM; anything else refused with the row and the fix."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: roster file not found") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not a roster file") from None
    except OSError as error:
        raise UserError(f"{path}: cannot read the roster ({error.strerror})") from None
    fix = 'save it as "CSV UTF-8" (Excel: File > Save As > CSV UTF-8; LibreOffice: character set Unicode (UTF-8))'
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UserError(f"{path}: the roster is UTF-16 text (Excel's \"Unicode Text\"), not UTF-8; {fix}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = len((data[:error.start] + b"x").splitlines())
        byte = data[error.start]
        seen = bytes([byte]).decode("cp1252", errors="replace")
        raise UserError(
            f"{path}, row {row}: not UTF-8 text (byte 0x{byte:02X}, {seen!r} in Windows-1252/Latin-1, "
            f"the encoding of a plain \"CSV\" from Excel); {fix}"
        ) from None


def _header(path: Path, line: str, row: int) -> tuple[str, list[str]]:
    """The separator and the header's fields: the separator under which a name column is found (the one
    giving the most columns if several do); ``,`` for a one-column header."""
    found = []
    for separator in SEPARATORS:
        fields = next(csv.reader([line], delimiter=separator), [])
        folded = {_fold(f) for f in fields}
        if folded & set(NAME_HEADERS + FIRST_HEADERS + LAST_HEADERS):
            found.append((len(fields), separator, fields))
    if not found:
        shown = line if len(line) <= 80 else line[:77] + "..."
        raise UserError(f"{path}, row {row}: no name column in the header {shown!r}; {ROSTER_RULES}")
    found.sort(key=lambda item: -item[0])  # stable: ',' before ';' before tab at equal counts
    return found[0][1], found[0][2]


def _column(at: str, fields: list[str], names: tuple[str, ...], role: str, context: str) -> int | None:
    hits = [i for i, f in enumerate(fields) if _fold(f) in names]
    if len(hits) > 1:
        columns = " and ".join(f"{i + 1} ({fields[i]!r})" for i in hits)
        raise UserError(f"{at}: columns {columns} are both read as the {role}; keep one, or rename the "
                        f"other ({context}; {ROSTER_RULES})")
    return hits[0] if hits else None


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def read_roster(path: Path, warnings: list[str] | None = None) -> list[Student]:
    """The students of a roster CSV as teachers export it (see ``ROSTER_RULES``).

    The separator is detected among ``,`` ``;`` and tab; a UTF-8 BOM and CRLF line ends are accepted; empty
    rows (also rows of only separators) are skipped. Refused, naming the row: a row with more fields than the
    header has columns (an unquoted comma in a name would otherwise cut it), a row without a name, two rows
    with the same id. Two rows with the same name and no id are read (each gets their own sheet) and a
    one-line warning naming the rows is appended to ``warnings``.
    """
    path = Path(path).expanduser()
    text = _roster_text(path)
    lines = re.split(r"\r\n|\r|\n", text)  # as the csv reader counts rows
    first = next((i for i, line in enumerate(lines) if line.strip(" \t,;")), None)
    if first is None:
        raise UserError(f"{path}: the roster is empty; {ROSTER_RULES}")
    separator, header = _header(path, lines[first], first + 1)
    context = f"header {lines[first].strip()[:80]!r}, separator {SEPARATORS[separator]}"
    at = f"{path}, row {first + 1}"
    name_at = _column(at, header, NAME_HEADERS, "name", context)
    first_at = _column(at, header, FIRST_HEADERS, "first name", context) if name_at is None else None
    last_at = _column(at, header, LAST_HEADERS, "last name", context) if name_at is None else None
    id_at = _column(at, header, ID_HEADERS, "id", context)
    width = max(i for i, f in enumerate(header) if f.strip()) + 1  # trailing unnamed columns do not count
    name_where = repr(header[name_at]) if name_at is not None else " + ".join(
        repr(header[i]) for i in (first_at, last_at) if i is not None)

    students, rows_of_id, rows_of_name = [], {}, {}
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    try:
        for row in reader:
            if reader.line_num <= first + 1:
                continue  # the header (and blank lines before it)
            at = f"{path}, row {reader.line_num}"
            if not any(f.strip() for f in row):
                continue
            if any(f.strip() for f in row[width:]):
                fix = ('put a name that contains a comma in double quotes ("Lovelace, Ada") or separate the '
                       "columns with ';'" if separator == "," else
                       f"put a field that contains {SEPARATORS[separator]} in double quotes")
                raise UserError(f"{at}: {len(row)} fields, but the header has {width} column{'s' * (width > 1)} "
                                f"({context}): {fix}, or give the extra column a header")
            if name_at is not None:
                name = _cell(row, name_at)
            else:
                name = " ".join(part for part in (_cell(row, first_at), _cell(row, last_at)) if part)
            if not name:
                raise UserError(f"{at}: empty name (column {name_where}; {context})")
            name = printable_text(name, at, MAX_TEXT["name"])
            student_id = printable_text(_cell(row, id_at), f"{at} (id)", MAX_TEXT["name"]) or None
            if student_id is not None:
                if student_id in rows_of_id:
                    raise UserError(f"{path}, rows {rows_of_id[student_id]} and {reader.line_num}: the same id "
                                    f"{student_id!r}; each student needs their own id ({context})")
                rows_of_id[student_id] = reader.line_num
                students.append(Student(name, student_id))
            else:
                rows = rows_of_name.setdefault(name, [])
                rows.append(reader.line_num)
                students.append(Student(name, None, len(rows)))
            if len(students) > MAX_VARIANTS:
                raise UserError(f"{path}: more than {MAX_VARIANTS} names")
    except csv.Error as error:
        raise UserError(f"{path}, row {reader.line_num}: not valid CSV ({error}; {context})") from None
    if not students:
        raise UserError(f"{path}: the roster has no names, only a header ({context})")
    for name, rows in rows_of_name.items():
        if len(rows) > 1 and warnings is not None:
            listed = ", ".join(map(str, rows[:-1])) + f" and {rows[-1]}"
            warnings.append(f"{path}: rows {listed} have the same name {name!r} and no id: each gets their own "
                            f"sheet, told apart only by the variant id; add an id column to tell them apart")
    return students


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

    An option overrides the spec's own key: ``variants`` given here builds that many anonymous variants even
    when the spec names a roster, and ``roster`` given here replaces the spec's roster or variant count. A
    spec holding both ``variants`` and ``roster`` is refused. Derivations are looked up in the package,
    installed packs, DERIVBOOK_PATH, the spec's own ``derivations`` folders (relative to the spec) and
    ``derivations`` (``--derivations``).
    """
    from derivbook.engine import request
    from derivbook.registry import Catalog

    path = Path(path).expanduser()
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise UserError(f"{where}: spec file not found ({_bundled_hint(path)})") from None
    except IsADirectoryError:
        raise UserError(f"{where}: is a directory, not a spec file") from None
    except UnicodeDecodeError:
        raise UserError(f"{where}: not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{where}: not valid TOML: {error}") from None
    for key in data:
        if key not in SPEC_KEYS:
            raise UserError(f"{where}: unknown key {key!r}; {did_you_mean(key, SPEC_KEYS)}")
    if "variants" in data and "roster" in data:
        raise UserError(f"{where}: 'variants' and 'roster' exclude each other (a roster gives one variant per "
                        f"name); keep one")

    title = _typed(data.get("title", path.stem), str, where, "title must be a string")
    course = _typed(data.get("course", ""), str, where, "course must be a string") or None
    instructions = _typed(data.get("instructions", DEFAULT_INSTRUCTIONS), str, where, "instructions must be a string")
    title = printable_text(title, f"{where}: title", MAX_TEXT["title"]) or path.stem
    course = printable_text(course, f"{where}: course", MAX_TEXT["course"]) if course else None
    instructions = paragraphs(instructions, f"{where}: instructions", MAX_TEXT["instructions"])
    base_seed = _typed(data.get("seed", 1), int, where, "seed must be an integer")
    seed = base_seed if seed is None else seed
    if not 0 <= seed < 2**63:
        raise UserError(f"{where}: seed must be an integer from 0 to 2^63-1, got {seed}")
    paper = paper or _typed(data.get("paper", "a4"), str, where, "paper must be a4 or letter")
    if paper not in PAPERS:
        raise UserError(f"{where}: paper must be one of {', '.join(PAPERS)}, got {paper!r}")

    if roster is None and "roster" in data and variants is None:
        roster = spec_roster(path, data["roster"])
    warnings: list[str] = []
    if roster is not None:
        students: list[Student | None] = list(read_roster(Path(roster).expanduser(), warnings))
    else:
        count = variants if variants is not None else _typed(data.get("variants", 1), int, where, "variants must be an integer")
        if not 1 <= count <= MAX_VARIANTS:
            raise UserError(f"{where}: variants must be an integer from 1 to {MAX_VARIANTS}, got {count}")
        students = [None] * count

    catalog = Catalog([*spec_folders(path, data), *derivations])
    problems = data.get("problem", [])
    if isinstance(problems, dict):
        raise UserError(f"{where}: a spec needs at least one [[problem]] table; write each problem as [[problem]] "
                        f"(two brackets), not [problem]")
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
        declared = {p.name: p for p in derivation.params}
        for key in problem:
            if key not in PROBLEM_KEYS and key not in declared:
                raise UserError(f"{at}: unknown parameter {key!r} for {derivation_id}; " + did_you_mean(
                    key, (*PROBLEM_KEYS, *declared),
                    f"{', '.join(PROBLEM_KEYS)}, and its parameters: {', '.join(declared) or 'none'}"))
        params = {k: v for k, v in problem.items() if k not in PROBLEM_KEYS}
        for key, value in overrides[index].items():
            if key not in declared:
                raise UserError(f"--set {key}: unknown parameter for {derivation_id}; "
                                + did_you_mean(key, declared, f"{', '.join(declared) or 'none'}"))
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

    return Workbook(path.stem, title, course, instructions, seed, paper, students, requests, warnings)


def spec_roster(path: Path, value) -> Path:
    """The roster a spec's ``roster`` key names: ``~`` expanded, else relative to the spec's folder."""
    _typed(value, str, str(path), "roster must be a file name")
    named = Path(value).expanduser()
    return named if named.is_absolute() else Path(path).expanduser().parent / named


def _bundled_hint(path: Path) -> str:
    names = bundled_names()
    close = difflib.get_close_matches(path.name.removesuffix(".toml"), names, n=1, cutoff=0.6)
    listing = f"the bundled workbooks are {', '.join(names)}"
    return f"did you mean {close[0]!r}? {listing}" if close and path.parent == Path(".") else listing


def spec_folders(path: Path, data: dict) -> list[Path]:
    """The folders a spec's ``derivations`` key names (relative to the spec), each checked to exist."""
    from derivbook.registry import folders

    return folders(data.get("derivations", []), path.parent, f"{path}: derivations")


def _targets(target: str, problems: list, text: str, catalog) -> list[int]:
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
