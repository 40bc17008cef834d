"""The on-disk cache: general derivations, precompiled preambles, compiled PDFs and whole builds.

Everything is keyed by content: a derivation's result by the package's source (and, for a derivation from
outside the package, the source of its own folder), the SymPy version and its arguments; a PDF by the bytes
of its LaTeX and the pdflatex version; a whole build by its inputs, the source of the whole package and of
the derivations outside it. A stale entry can never be used, only left behind; ``make clean`` (or
``rm -r`` of the folder) empties it. ``DERIVBOOK_CACHE`` moves it, ``DERIVBOOK_CACHE=off`` turns it off.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import pickle
import re
import sys
import tempfile
from pathlib import Path

PACKAGES = ("derivbook", "derivbook.derivations", "derivbook.templates")
_enabled = True


def set_enabled(enabled: bool) -> None:
    """Turn the cache on or off for what this process does next (``--no-cache``)."""
    global _enabled
    _enabled = enabled


def directory() -> Path | None:
    """The cache folder, or None when caching is off."""
    setting = os.environ.get("DERIVBOOK_CACHE", "")
    if not _enabled or setting.lower() == "off":
        return None
    if setting:
        return Path(setting)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "derivbook"


def digest(*parts) -> str:
    """A SHA-256 over bytes and strings, in order."""
    h = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode()
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of every source file of the package and of the SymPy version: any edit changes it."""
    parts = []
    for package in PACKAGES:  # each package's own folder: siblings in the repository, nested when installed
        folder = Path(importlib.util.find_spec(package).origin).parent
        files = sorted(p for p in folder.glob("*") if p.suffix in (".py", ".j2")) + sorted(folder.glob("html/*.j2"))
        parts += [f"{package}/{p.relative_to(folder)}\0".encode() + p.read_bytes() for p in files]
    return digest(sympy_version(), *parts)


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
    """SymPy's version (its ``release.py``) read without importing SymPy, nor importlib.metadata: that
    import alone was 30 ms of every start, --help and unchanged rebuilds included."""
    release = Path(importlib.util.find_spec("sympy").origin).with_name("release.py").read_text()
    version = re.search(r"""__version__\s*=\s*['"]([^'"]+)['"]""", release)
    return version.group(1) if version else release


def load(kind: str, key: str) -> bytes | None:
    """The cached bytes of an entry, or None."""
    folder = directory()
    if folder is None:
        return None
    try:
        return (folder / kind / key).read_bytes()
    except OSError:
        return None


def store(kind: str, key: str, data: bytes) -> None:
    """Save an entry atomically; a cache that cannot be written is skipped silently."""
    folder = directory()
    if folder is None:
        return
    try:
        (folder / kind).mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=folder / kind, prefix=".part-")
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temp, folder / kind / key)
    except OSError:
        pass


def path_of(kind: str, key: str) -> Path | None:
    """Where an entry lives (for files TeX must read, such as formats), or None when caching is off."""
    folder = directory()
    return None if folder is None else folder / kind / key


def derive_once(function):
    """Memoise a derivation's general result in memory and on disk (pickled SymPy objects).

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


def build_key(spec_bytes: bytes, roster_bytes: bytes | None, options: dict, tex: str) -> str:
    """The key of a whole build: its input bytes, its options (with the digest of the derivations outside
    the package, ``registry.fingerprint``), the package source and the tools."""
    import sys

    return digest("build", code_version(), tex, sys.version_info[:2], spec_bytes, roster_bytes or b"", sorted(options.items()))


def load_build(key: str) -> tuple[dict, dict[str, bytes]] | None:
    """(summary, files) of a build made before from the same inputs, or None."""
    data = load("builds", key)
    if data is None:
        return None
    try:
        entry = pickle.loads(data)
        return entry["summary"], entry["files"]
    except Exception:
        return None


def store_build(key: str, summary: dict, files: dict[str, bytes]) -> None:
    """Remember a whole build's files, so the same inputs are published again without any work."""
    store("builds", key, pickle.dumps({"summary": summary, "files": files}))
