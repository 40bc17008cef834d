"""Finds derivations: the package's own, installed packs', and those in folders the user names.

A derivation is one Python file named after its ``ID`` (``adam_update.py`` declares ``ID = "adam-update"``).
A :class:`Catalog` searches, in this order:

1. the package's own folder, ``derivbook.derivations``;
2. installed packs: each entry point of the group ``derivbook.derivations`` names a package (its value,
   ``mycourse.derivations``) whose folder holds derivation files, imported as that package's modules;
3. the folders of ``DERIVBOOK_PATH`` (separated by ``os.pathsep``);
4. the folders handed to it: a spec's ``derivations`` key, ``--derivations``.

An id may be defined in one place only: a second file of the same name is refused, naming both. Files
whose names start with ``_`` or ``test_``, and ``conftest.py``, are not derivations (helpers and tests live
beside them). A file from a folder is imported by its path, under a module name that spells the path
(``by_path_name``), so that any process — a forked helper, or one unpickling an object the module
defined — can import it again; a :class:`Derivation` holds that name and the path, never the module.

The declarations (``ID``, ``TITLE``, ``TOPIC``, ``PARAMS``) are read from the source with ``ast``, so
``derivbook list``, ``--help`` and spec validation start without loading SymPy; a file whose declarations are
not literals (``high=MAX_STEPS``) is imported to read them. A module is otherwise imported the first time
one of its problems is generated. Every mistake in a file is a :class:`UserError` naming the file and line.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import os
import pickle
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from derivbook import cache, derivations
from derivbook.model import UserError
from derivbook.params import Param

DECLARATIONS = ("ID", "TITLE", "TOPIC", "PARAMS")
FUNCTIONS = {"generate": "params, dice", "exact_answer": "inputs, params", "numeric_answer": "inputs, params"}
ID_FORM = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
MAX_ID, MAX_TITLE, MAX_TOPIC = 60, 120, 40
TYPES = {"int": int, "float": float, "str": str}
ENTRY_POINTS = "derivbook.derivations"
BY_PATH = "_derivbook_file_"  # + the file's absolute path in hex: see by_path_name


@dataclass(frozen=True)
class Derivation:
    """A registered derivation: its declarations, where its source is, and its module (imported on use).

    Picklable (it travels to helper processes with each problem request): it holds the module's name and
    the file's path, never the module.
    """

    id: str
    title: str
    topic: str
    params: tuple[Param, ...]
    path: str  # the source file, as found (for messages)
    module_name: str  # its import name: derivbook.derivations.<stem>, <pack>.<stem>, or by_path_name(path)

    @property
    def module(self) -> ModuleType:
        """The derivation's module, imported on first use; an import that fails is the file's error."""
        try:
            return importlib.import_module(self.module_name)
        except Exception as error:
            raise import_failure(Path(self.path), error) from error

    @property
    def builtin(self) -> bool:
        return self.module_name.startswith("derivbook.derivations.")


# --- importing files by path ----------------------------------------------------------------------


def by_path_name(path: Path) -> str:
    """The module name a derivation file outside any package is imported under: its absolute path, spelled
    in hex, so that the name alone says where the file is (see ``_ByPath``) and no two files share one."""
    return BY_PATH + str(Path(path).resolve()).encode().hex()


class _ByPath:
    """Imports the modules named by ``by_path_name`` from the file their name spells, in any process."""

    @staticmethod
    def find_spec(name: str, path=None, target=None):
        if not name.startswith(BY_PATH):
            return None
        try:
            file = bytes.fromhex(name[len(BY_PATH):]).decode()
        except ValueError:
            return None
        return importlib.util.spec_from_file_location(name, file)


if not any(isinstance(finder, _ByPath) for finder in sys.meta_path):
    sys.meta_path.append(_ByPath())


def import_failure(path: Path, error: BaseException) -> UserError:
    """A module that failed to import, as a one-line error naming its file and the line that failed."""
    if isinstance(error, UserError):
        return error
    line = getattr(error, "lineno", None) if isinstance(error, SyntaxError) else None
    frame, file = error.__traceback__, Path(path).resolve()
    while frame is not None:
        if Path(frame.tb_frame.f_code.co_filename).resolve() == file:
            line = frame.tb_lineno
        frame = frame.tb_next
    return UserError(f"{_at(path, line)}importing it failed: {type(error).__name__}: {error}")


def _at(path: Path, line: int | None) -> str:
    return f"{path}:{line}: " if line else f"{path}: "


# --- reading one file's declarations --------------------------------------------------------------


class _NotLiteral(Exception):
    """A declaration the ``ast`` reader cannot evaluate: the module is imported instead."""


def is_derivation_file(path: Path) -> bool:
    """Whether a file in a derivations folder is a derivation (not a helper, a test or conftest.py)."""
    return path.suffix == ".py" and not path.name.startswith(("_", "test_")) and path.name != "conftest.py"


def id_problem(derivation_id) -> str | None:
    """What is wrong with an id, or None: lowercase words and digits joined by hyphens, like adam-update."""
    if (isinstance(derivation_id, str) and ID_FORM.fullmatch(derivation_id) and len(derivation_id) <= MAX_ID
            and not derivation_id.startswith("test-")):
        return None
    return (f"an id is lowercase letters and digits in words joined by hyphens, like 'adam-update' (at most "
            f"{MAX_ID} characters, not starting with 'test-'), not {derivation_id!r}")


def read_declarations(path: Path, module_name: str | None = None, source: bytes | None = None) -> Derivation:
    """A derivation's declarations, checked; read from its source, or by importing it when they are not
    literals. Raises UserError naming the file and line of the first problem."""
    return _read(Path(path), module_name or by_path_name(path), source)[0]


def _read(path: Path, module_name: str, source: bytes | None = None) -> tuple[Derivation, bool]:
    """The declarations, and whether they were read from the source alone (so may be remembered by it)."""
    if source is None:
        source = _source(path)
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as error:
        raise UserError(f"{_at(path, error.lineno)}syntax error: {error.msg}") from None
    except ValueError as error:  # null bytes
        raise UserError(f"{path}: not Python source ({error})") from None
    lines, bound, functions = {}, set(), {}
    for node in tree.body:
        if isinstance(node, ast.Assign) or isinstance(node, ast.AnnAssign) and node.value is not None:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    bound.add(target.id)
                    if target.id in DECLARATIONS:
                        lines[target.id] = node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions[node.name] = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    missing = [n for n in DECLARATIONS if n not in lines] + [f"def {f}({a})" for f, a in FUNCTIONS.items()
                                                               if f not in functions and f not in bound]
    if missing:
        raise UserError(f"{path}: no {', '.join(missing)} (a derivation declares ID, TITLE, TOPIC and PARAMS and "
                        "defines generate, exact_answer and numeric_answer; see docs/authoring.md)")
    where = {name: node.lineno for name, node in lines.items()}
    try:
        if any(f not in functions for f in FUNCTIONS):
            raise _NotLiteral  # bound by an import or an assignment: only the module knows what it is
        values = {name: _literal(node.value, name, path) for name, node in lines.items()}
    except _NotLiteral:
        module = _import(path, module_name)
        values = {name: getattr(module, name, None) for name in DECLARATIONS}
        for name in FUNCTIONS:
            _check_function(path, name, getattr(module, name, None), functions.get(name))
        return _checked(path, module_name, values, where), False
    for name, node in functions.items():
        if name in FUNCTIONS:
            _check_signature(path, name, node)
    return _checked(path, module_name, values, where), True


def _source(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise UserError(f"{path}: cannot read it ({error.strerror})") from None


def _literal(node: ast.expr, name: str, path: Path):
    if name != "PARAMS":
        try:
            return ast.literal_eval(node)
        except Exception:  # a name, a call, an f-string
            raise _NotLiteral from None
    if not isinstance(node, (ast.Tuple, ast.List)):
        raise _NotLiteral
    return tuple(_param(call, path) for call in node.elts)


def _param(call: ast.expr, path: Path) -> Param:
    if not (isinstance(call, ast.Call) and (getattr(call.func, "id", None) or getattr(call.func, "attr", None)) == "Param"):
        raise _NotLiteral
    try:
        args = [TYPES[a.id] if isinstance(a, ast.Name) and a.id in TYPES else ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: TYPES[k.value.id] if isinstance(k.value, ast.Name) and k.value.id in TYPES
                  else ast.literal_eval(k.value) for k in call.keywords}
    except Exception:  # a name such as MAX_STEPS, an expression
        raise _NotLiteral from None
    if any(k is None for k in kwargs):  # Param(**options)
        raise _NotLiteral
    try:
        return Param(*args, **kwargs)
    except TypeError as error:
        raise UserError(f"{_at(path, call.lineno)}PARAMS: {error}") from None


def _import(path: Path, module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except Exception as error:
        raise import_failure(path, error) from error


def _check_signature(path: Path, name: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
    """The engine calls ``generate(params, dice)`` and ``exact_answer(inputs, params)``: two positional
    arguments (the README once documented ``exact_answer(inputs)``, which fails only when called)."""
    args = node.args
    positional = len(args.posonlyargs) + len(args.args)
    required = positional - len(args.defaults)
    keyword_only = any(default is None for default in args.kw_defaults)
    if isinstance(node, ast.AsyncFunctionDef) or required > 2 or (positional < 2 and not args.vararg) or keyword_only:
        raise UserError(f"{_at(path, node.lineno)}{name} must be a function of ({FUNCTIONS[name]}): the engine calls "
                        f"{name}({FUNCTIONS[name]})")


def _check_function(path: Path, name: str, function, node) -> None:
    line = node.lineno if node is not None else None
    if not callable(function):
        raise UserError(f"{_at(path, line)}{name} must be a function of ({FUNCTIONS[name]})")
    import inspect

    try:
        inspect.signature(function).bind(None, None)
    except TypeError:
        raise UserError(f"{_at(path, line)}{name} must be a function of ({FUNCTIONS[name]}): the engine calls "
                        f"{name}({FUNCTIONS[name]})") from None
    except ValueError:  # a builtin without a signature: trust it
        pass


def _checked(path: Path, module_name: str, values: dict, lines: dict) -> Derivation:
    """The Derivation the values declare, or a UserError naming the first bad declaration and its line."""

    def refuse(name: str, message: str):
        raise UserError(f"{_at(path, lines.get(name))}{message}")

    derivation_id, title, topic, params = (values[name] for name in DECLARATIONS)
    if (problem := id_problem(derivation_id)) is not None:
        refuse("ID", f"ID: {problem}")
    if derivation_id.replace("-", "_") != path.stem:
        refuse("ID", f"declares ID {derivation_id!r}, so the file must be named {derivation_id.replace('-', '_')}.py")
    if not (isinstance(title, str) and title.strip() and len(title) <= MAX_TITLE and "\n" not in title):
        refuse("TITLE", f"TITLE must be a one-line string of at most {MAX_TITLE} characters")
    if title.count("$") % 2:
        refuse("TITLE", "TITLE has an unbalanced $: mathematics goes between a pair, as in 'Why attention scales by $1/\\sqrt{d}$'")
    if not (isinstance(topic, str) and topic.strip() and len(topic) <= MAX_TOPIC and "\n" not in topic):
        refuse("TOPIC", f"TOPIC must be a short word or phrase (at most {MAX_TOPIC} characters), such as 'calculus'")
    if not (isinstance(params, (tuple, list)) and all(isinstance(p, Param) for p in params)):
        refuse("PARAMS", "PARAMS must be a tuple of Param(...) (an empty tuple () when there are none)")
    names = set()
    for param in params:
        if problem := _param_problem(param, names):
            refuse("PARAMS", f"PARAMS {param.name!r}: {problem}")
        names.add(param.name)
    return Derivation(derivation_id, " ".join(title.split()), " ".join(topic.split()), tuple(params), str(path),
                      module_name)


def _param_problem(param: Param, names: set) -> str | None:
    """What is wrong with a declared parameter, or None."""
    if not (isinstance(param.name, str) and param.name.isidentifier()) or param.name in names:
        return "the name must be a Python identifier, once in PARAMS"
    if param.type not in TYPES.values():
        return "the type must be int, float or str"
    if not isinstance(param.help, str):
        return "help must be a string"
    if param.choices:
        if not isinstance(param.choices, tuple):
            return "choices must be a tuple"
    elif param.type is str:
        return "a str parameter needs choices=(...)"
    else:
        try:
            ordered = param.low <= param.high
        except TypeError:
            ordered = False
        if not ordered:
            return ("an int or float parameter needs low= and high= (low <= high), or choices=(...): a spec must "
                    "not be able to ask for any size")
    try:
        for value in (param.default, *param.choices):
            param.check(value, "")
    except (UserError, TypeError):
        return f"the default and every choice must be {param.allowed()} ({param.default!r} given)"
    return None


# --- the declarations cache -----------------------------------------------------------------------

_remembered: dict[str, Derivation] = {}


def declared(path: Path, module_name: str) -> Derivation:
    """A file's declarations, read once per content: remembered on disk, keyed by the file's path, its
    module name, its bytes and the reader's own source (declarations read by importing are not remembered
    on disk: they may depend on other files)."""
    source = _source(path)
    key = cache.digest(*_parser(), str(path), module_name, source)
    if key in _remembered:
        return _remembered[key]
    stored = cache.load("declarations", key)
    found = None
    if stored is not None:
        try:
            found = pickle.loads(stored)
        except Exception:  # an unreadable entry is read afresh
            found = None
    if found is None:
        found, literal = _read(path, module_name, source)
        if literal:
            cache.store("declarations", key, pickle.dumps(found))
    _remembered[key] = found
    return found


@functools.lru_cache(maxsize=1)
def _parser() -> tuple[bytes, bytes]:
    """The code that reads declarations and the records it makes: part of each cached declaration's key."""
    from derivbook import params

    return Path(__file__).read_bytes(), Path(params.__file__).read_bytes()


# --- where derivations come from ------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One folder of derivation files: how it was named (for messages) and the package its files are
    imported as (None: each file by its path)."""

    folder: Path
    origin: str
    package: str | None = None

    def files(self) -> dict[str, Path]:
        """Its derivation files by name (without .py), sorted."""
        return {p.stem: p for p in sorted(self.folder.glob("*.py")) if is_derivation_file(p)}

    def module_name(self, path: Path) -> str:
        return f"{self.package}.{path.stem}" if self.package else by_path_name(path)


def builtin_source() -> Source:
    return Source(Path(derivations.__file__).parent, "built in", "derivbook.derivations")


@functools.lru_cache(maxsize=1)
def installed_packs() -> tuple[tuple[str, str, str], ...]:
    """(distribution, entry point name, value) of each entry point in the group ``derivbook.derivations``.

    Read from the ``entry_points.txt`` of each distribution on ``sys.path``, as ``importlib.metadata`` finds
    them (a test holds the two equal) but without importing it, which would cost every command about as
    much as the rest of its start. Installed packages do not change while a command runs.
    """
    found, seen = [], set()
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            distribution = re.sub(r"[-_.]+", "-", name.rsplit(".", 1)[0].split("-")[0]).lower()
            if distribution in seen:  # the first on sys.path shadows the others, as for imports
                continue
            seen.add(distribution)
            try:
                text = Path(entry or ".", name, "entry_points.txt").read_text(encoding="utf-8")
            except OSError:
                continue
            found += [(distribution, key, value) for key, value in _group(text, ENTRY_POINTS)]
    return tuple(found)


def _group(text: str, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of one ``[group]`` of an entry_points.txt."""
    entries, inside = [], False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            inside = line[1:-1].strip() == group
        elif inside and "=" in line and not line.startswith(("#", ";")):
            key, value = line.split("=", 1)
            entries.append((key.strip(), value.strip()))
    return entries


def pack_sources() -> list[Source]:
    """The folders of the installed packs (``installed_packs``)."""
    sources = []
    for distribution, name, value in installed_packs():
        package = value.split(":")[0].strip()
        where = f"entry point {name} = {value} of {distribution} (group {ENTRY_POINTS})"
        try:
            spec = importlib.util.find_spec(package)
        except Exception as error:  # its parent package failed to import
            raise UserError(f"{where}: cannot find {package}: {type(error).__name__}: {error}") from None
        if spec is None or not spec.submodule_search_locations:
            raise UserError(f"{where}: {package} is not an importable package (reinstall or uninstall {distribution})")
        sources.append(Source(Path(list(spec.submodule_search_locations)[0]), where, package))
    return sources


def environment_folders() -> list[Path]:
    """The folders of ``DERIVBOOK_PATH``, in order."""
    return [Path(entry) for entry in os.environ.get("DERIVBOOK_PATH", "").split(os.pathsep) if entry.strip()]


def folders(names, base: Path, where: str) -> list[Path]:
    """A list of folder names (a spec's ``derivations``), relative to ``base``, each checked to exist."""
    if not (isinstance(names, list) and all(isinstance(n, str) and n.strip() for n in names)):
        raise UserError(f"{where}: must be a list of folder names, e.g. derivations = [\"my_derivations\"]")
    found = []
    for name in names:
        folder = base / name
        if not folder.is_dir():
            raise UserError(f"{where}: no folder {name!r} (looked for {folder}; names are relative to the spec)")
        found.append(folder)
    return found


def sources(extra: Iterable[Path | str] = ()) -> list[Source]:
    """Every folder a Catalog searches, in order, each once: the package's, installed packs', DERIVBOOK_PATH's,
    then ``extra``'s."""
    chosen = [builtin_source(), *pack_sources()]
    named = [(folder, "DERIVBOOK_PATH") for folder in environment_folders()] + [(Path(f), str(f)) for f in extra]
    for folder, origin in named:
        if not folder.is_dir():
            raise UserError(f"{origin}: no folder {str(folder)!r} to search for derivations")
        chosen.append(Source(folder, origin))
    unique, seen = [], set()
    for source in chosen:
        if (resolved := source.folder.resolve()) not in seen:
            seen.add(resolved)
            unique.append(source)
    return unique


class Catalog(Mapping):
    """The derivations of the package, of installed packs, of ``DERIVBOOK_PATH`` and of ``folders``, by id.

    Made for one command (or one spec) from the folders it is handed: nothing about where to search is
    remembered between catalogs. Files are named after their ids, so finding one id reads one file; an id
    defined by two files is refused when the catalog is made. Iterating reads every file.
    """

    def __init__(self, folders: Iterable[Path | str] = ()) -> None:
        self.sources = sources(folders)
        self._files: dict[str, tuple[Path, Source]] = {}
        self._read: dict[str, Derivation] = {}
        for source in self.sources:
            for stem, path in source.files().items():
                if stem in self._files:
                    first = self._files[stem][0]
                    raise UserError(f"derivation {stem.replace('_', '-')!r} is defined twice: {first} and {path} "
                                    "(ids must be unique: rename one file and its ID)")
                self._files[stem] = (path, source)

    def _derivation(self, stem: str) -> Derivation:
        if stem not in self._read:
            path, source = self._files[stem]
            self._read[stem] = declared(path, source.module_name(path))
        return self._read[stem]

    def __getitem__(self, derivation_id: str) -> Derivation:
        stem = derivation_id.replace("-", "_") if isinstance(derivation_id, str) else None
        if stem in self._files:
            derivation = self._derivation(stem)
            if derivation.id == derivation_id:
                return derivation
        raise KeyError(derivation_id)

    def __iter__(self) -> Iterator[str]:
        return (self._derivation(stem).id for stem in self._files)

    def __len__(self) -> int:
        return len(self._files)

    def file_of(self, derivation_id: str) -> Path | None:
        """The file that would define ``derivation_id`` (without reading it), or None."""
        entry = self._files.get(derivation_id.replace("-", "_"))
        return entry[0] if entry else None

    def lookup(self, derivation_id: str, where: str = "derivation") -> Derivation:
        """The derivation with this id, or a UserError naming ``where`` and listing the known ids."""
        try:
            return self[derivation_id]
        except KeyError:
            pass
        known = list(self)  # reads every file: one misnamed, or broken, is reported here
        raise UserError(f"{where}: unknown derivation {derivation_id!r} (known: {', '.join(known)})")


def fingerprint(extra: Iterable[Path | str] = ()) -> str:
    """A digest of every derivation source outside the package (packs, DERIVBOOK_PATH, ``extra``): with the
    package's own source, what a whole build's cached result depends on. Reads no declarations."""
    return cache.digest(*[f"{s.folder.resolve()}\0{cache.source_digest(s.folder)}" for s in sources(extra)[1:]])


def catalog(folders: Iterable[Path | str] = ()) -> Catalog:
    """A new Catalog of the package's derivations, installed packs', DERIVBOOK_PATH's and ``folders``'."""
    return Catalog(folders)


def get(derivation_id: str, where: str = "derivation", folders: Iterable[Path | str] = ()) -> Derivation:
    """The derivation with this id (see ``Catalog.lookup``)."""
    return Catalog(folders).lookup(derivation_id, where)
