"""The on-disk cache: general derivations, precompiled preambles, compiled PDFs, small facts about the tools.

Everything is keyed by content: a derivation's result by the package's source (and, for a derivation from
outside the package, the source of its own folder), the SymPy version and its arguments; a PDF by the bytes
of its LaTeX and the pdflatex version. A stale entry can never be used, only left behind: entries not used for a while are pruned, least recently used first, when the folder
outgrows its bound (``DERIVBOOK_CACHE_SIZE``, default 500 MB). ``DERIVBOOK_CACHE`` moves the folder (default
``~/.cache/derivbook``), ``DERIVBOOK_CACHE=off`` or ``--no-cache`` turns it off, ``derivbook cache info`` and
``derivbook cache clear`` show and empty it.

A command opens the cache it uses (``open_cache``) and makes it the current one for what it does
(``using``); worker processes are handed its folder. Outside that, nothing is cached.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import pickle
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from derivbook.model import UserError

KINDS = ("derive", "formats", "pdf", "declarations", "printable", "tex-version", "jinja")  # the folders it writes
DEFAULT_LIMIT = 500 * 1024**2
UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


@dataclass(frozen=True)
class Cache:
    """A cache folder (None: caching is off) and the size it is kept under."""

    folder: Path | None
    limit: int = DEFAULT_LIMIT

    def load(self, kind: str, key: str) -> bytes | None:
        """The cached bytes of an entry (marked as just used), or None."""
        if self.folder is None:
            return None
        path = self.folder / kind / key
        try:
            data = path.read_bytes()
            os.utime(path)
        except OSError:
            return None
        return data

    def store(self, kind: str, key: str, data: bytes) -> None:
        """Save an entry atomically; a cache that cannot be written is skipped silently."""
        if self.folder is None:
            return
        try:
            (self.folder / kind).mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=self.folder / kind, prefix=".part-")
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temp, self.folder / kind / key)
        except OSError:
            pass

    def path_of(self, kind: str, key: str) -> Path | None:
        """Where an entry lives (for files TeX reads, such as formats), or None when caching is off."""
        return None if self.folder is None else self.folder / kind / key

    def entries(self) -> list[os.DirEntry]:
        """Every file the cache holds, in the folders it writes."""
        found = []
        for kind in KINDS if self.folder is not None else ():
            with contextlib.suppress(OSError), os.scandir(self.folder / kind) as listing:
                found += [entry for entry in listing if entry.is_file(follow_symlinks=False)]
        return found

    def prune(self) -> int:
        """Remove the least recently used entries until the cache is within its bound; bytes removed."""
        entries = self.entries()
        total = sum(entry.stat().st_size for entry in entries)
        removed = 0
        for entry in sorted(entries, key=lambda e: e.stat().st_mtime):
            if total - removed <= self.limit:
                break
            with contextlib.suppress(OSError):
                size = entry.stat().st_size
                os.unlink(entry.path)
                removed += size
        return removed

    def clear(self) -> int:
        """Remove every entry (only files in the folders the cache writes); bytes removed."""
        removed = 0
        for entry in self.entries():
            with contextlib.suppress(OSError):
                size = entry.stat().st_size
                os.unlink(entry.path)
                removed += size
        return removed


NO_CACHE = Cache(None)
_current = NO_CACHE


def open_cache(enabled: bool = True, warn: Callable[[str], None] | None = None) -> Cache:
    """The cache a command uses, from the environment: its folder if it can be written, else none (and
    one warning line: the build goes on without it)."""
    setting = os.environ.get("DERIVBOOK_CACHE", "")
    if not enabled or setting.lower() == "off":
        return NO_CACHE
    folder = Path(setting).expanduser() if setting else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "derivbook"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()  # a real probe: os.access says yes to root on a read-only disk
    except OSError as error:
        if warn:
            warn(f"warning: the cache folder {folder} cannot be used ({error.strerror or error}); going on without a cache")
        return NO_CACHE
    return Cache(folder, size_limit(os.environ.get("DERIVBOOK_CACHE_SIZE", "")))


def size_limit(text: str) -> int:
    """``DERIVBOOK_CACHE_SIZE`` as bytes: a number with an optional K, M or G (``2G``, ``300M``)."""
    if not text.strip():
        return DEFAULT_LIMIT
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)i?B?\s*", text, re.IGNORECASE)
    if not match:
        raise UserError(f"DERIVBOOK_CACHE_SIZE={text!r}: expected a size such as 500M or 2G")
    return int(float(match.group(1)) * UNITS[match.group(2).upper()])


@contextlib.contextmanager
def using(cache: Cache) -> Iterator[Cache]:
    """Make ``cache`` the one that what runs inside uses (derivations, TeX, templates)."""
    global _current
    previous, _current = _current, cache
    try:
        yield cache
    finally:
        _current = previous


def current() -> Cache:
    return _current


def load(kind: str, key: str) -> bytes | None:
    return _current.load(kind, key)


def store(kind: str, key: str, data: bytes) -> None:
    _current.store(kind, key, data)


def path_of(kind: str, key: str) -> Path | None:
    return _current.path_of(kind, key)


def digest(*parts) -> str:
    """A SHA-256 over bytes and strings, in order."""
    h = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode()
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


PACKAGES = ("derivbook", "derivbook.derivations", "derivbook.templates")


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of every source file of the package and of the SymPy version: any edit changes it."""
    parts = []
    for package in PACKAGES:  # each package's own folder: siblings in the repository, nested when installed
        folder = Path(importlib.util.find_spec(package).origin).parent
        files = sorted(p for p in folder.glob("*") if p.suffix in (".py", ".j2")) + sorted(folder.glob("*/*.j2"))
        parts += [f"{package}/{p.relative_to(folder)}\0".encode() + p.read_bytes() for p in files]
    return digest(sympy_version(), sys.version_info[:2], *parts)


def source_digest(folder: Path) -> str:
    """A digest of the Python files of a folder of derivations (tests apart): their names and bytes."""
    files = sorted(p for p in Path(folder).glob("*.py") if not p.name.startswith("test_") and p.name != "conftest.py")
    return digest(*[p.name.encode() + b"\0" + p.read_bytes() for p in files])


def module_source(module_name: str) -> str:
    """What a derive-once result depends on besides the package: nothing for the package's own modules; for
    any other (a derivation from a folder or a pack), the source of its folder (itself and helpers beside
    it), so editing either derives afresh."""
    if module_name == "derivbook" or module_name.startswith("derivbook."):
        return ""
    file = getattr(sys.modules.get(module_name), "__file__", None)
    return source_digest(Path(file).parent) if file else ""


@functools.lru_cache(maxsize=1)
def sympy_version() -> str:
    """SymPy's version (its ``release.py``) read without importing SymPy, nor importlib.metadata: every
    start, ``--help`` and unchanged rebuilds included, would pay for those imports."""
    release = Path(importlib.util.find_spec("sympy").origin).with_name("release.py").read_text()
    version = re.search(r"""__version__\s*=\s*['"]([^'"]+)['"]""", release)
    return version.group(1) if version else release


def derive_once(function):
    """Derive a general result once: memoised in memory and in the cache (pickled SymPy objects).

    The key is the source of the whole package (the derivation and the helpers that prove its claims,
    such as ``prove_equal``), for a derivation outside the package the source of its own folder
    (``module_source``), the SymPy version and the arguments: editing any of them, or upgrading SymPy,
    derives and proves afresh. Use it instead of ``functools.lru_cache`` on ``derive``.
    """
    memory: dict = {}

    @functools.wraps(function)
    def wrapper(*args):
        if args in memory:
            return memory[args]
        key = digest("derive", function.__module__, function.__qualname__, code_version(),
                     module_source(function.__module__), repr(args))
        cached = load("derive", key)
        if cached is not None:
            try:
                memory[args] = pickle.loads(cached)
                return memory[args]
            except Exception:  # an unreadable entry is derived afresh
                pass
        result = function(*args)
        memory[args] = result
        try:
            store("derive", key, pickle.dumps(result))
        except Exception:  # not every SymPy object pickles; the memory cache still holds it
            pass
        return result

    wrapper.cache_clear = memory.clear
    return wrapper
