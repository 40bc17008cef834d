"""Where a build writes: a staging folder beside the target, swapped in whole, and a scratch folder for TeX.

- Nothing half-written is ever visible: files are staged beside the output folder and the two folders are
  exchanged atomically at the end; a failed or interrupted build leaves the previous output untouched.
- derivbook never deletes a file it did not write: the output folder's manifest lists what derivbook wrote;
  anything else found there (a teacher's notes) is carried into the new output as a hard link, so it is in
  the output folder at every moment, whatever interrupts the swap.
- A build of the same plan in other formats adds to the output instead of replacing it; a regenerated
  sheet (``--variant``) is refused where a class build lives.
- Leftovers of killed builds (their staging and scratch folders, recognised by a lock no live process
  holds) are removed by the next build.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import glob
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from derivbook.model import BuildError, UserError

MANIFEST = ".derivbook-output"  # in every folder derivbook wrote: what it wrote there, and from which plan
LOCK = ".derivbook-lock"  # in a staging or scratch folder, locked for as long as its build runs
PARTS = ".parts"  # pieces of whole-class files (answers.json, print files …), joined before publishing
LEGACY_AGE = 600  # seconds: a lock-less leftover of an older version this old is no live build's
SETTLING = 1.0  # seconds: a folder with a free lock this young may be one a build has made and not yet locked


LEGACY_NAMES = ("worksheet*", "answer-key*", "answers.json", "print-worksheets.pdf", "answer-keys.pdf", "*.html",
                "*-moodle.xml")  # what an older version wrote, in a folder whose marker lists nothing


def check_target(out_dir: Path) -> None:
    """Refuse, before any work, an output path that derivbook may not (or cannot) write."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir() and os.path.ismount(out_dir):
        raise UserError(f"{out_dir}: is a mount point, which derivbook cannot replace as a whole; build into a folder "
                        f"inside it (--out {out_dir / 'build'})")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MANIFEST).exists():
        raise UserError(f"{out_dir}: exists, is not empty and was not written by derivbook; choose a new or empty directory")
    parent = out_dir.parent
    blocking = next((p for p in (parent, *parent.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise UserError(f"{blocking}: is a file, so {out_dir} cannot be a directory")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"{parent}: cannot create the output directory ({error.strerror})") from None
    try:  # a real probe: os.access says yes to root even on a read-only file system
        tempfile.TemporaryFile(dir=parent).close()
    except OSError as error:
        raise UserError(f"{parent}: cannot write there ({error.strerror}), so not {out_dir.name} either") from None


def manifest(out_dir: Path) -> dict | None:
    """What derivbook recorded of the build in ``out_dir``, or None."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except OSError:
        return None
    except ValueError:  # an older version's marker (text, not JSON), or a damaged one
        data = None
    if not (isinstance(data, dict) and isinstance(data.get("files"), dict)):
        # what an older version wrote there goes by its names; a class or a single sheet, it cannot say
        names = {p.name for pattern in LEGACY_NAMES for p in out_dir.glob(pattern) if p.is_file()}
        data = {"key": None, "formats": [], "variants": None, "files": {name: ["", -1] for name in names}}
    return data


def unchanged(out_dir: Path, key: str, formats: tuple[str, ...]) -> dict | None:
    """The manifest of ``out_dir`` when it already holds this very build in these formats, intact."""
    found = manifest(out_dir)
    if found is None or found.get("key") != key or not set(formats) <= set(found.get("formats", ())):
        return None
    for name, (kind, size) in found["files"].items():
        if kind in formats and not _size_is(out_dir / name, size):
            return None
    return found


def _size_is(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


@contextlib.contextmanager
def _held(folder: Path) -> Iterator[None]:
    """A lock file in ``folder``, locked while the build runs: a folder whose lock is free is a leftover."""
    with open(folder / LOCK, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _abandoned(folder: Path) -> bool:
    try:
        age = time.time() - folder.stat().st_mtime
        with open(folder / LOCK) as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return age > SETTLING  # not a folder whose build is between making it and locking it
    except BlockingIOError:
        return False
    except OSError:  # no lock file: an older version's folder, or one killed before it locked
        with contextlib.suppress(OSError):
            return time.time() - folder.stat().st_mtime > LEGACY_AGE
        return False


def sweep(parent: Path, patterns: tuple[str, ...]) -> None:
    """Remove the leftovers of killed builds in ``parent``: derivbook's own folders no live build holds."""
    for pattern in patterns:
        for folder in parent.glob(pattern):
            if folder.is_dir() and not folder.is_symlink() and _abandoned(folder):
                shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A private temporary folder for a build's TeX runs (and its formats when there is no cache)."""
    root = Path(tempfile.gettempdir())
    sweep(root, ("derivbook-build-*", "derivbook-tex-*", "derivbook-formats-*", "derivbook-fmt-*"))
    folder = Path(tempfile.mkdtemp(prefix="derivbook-build-", dir=root))
    try:
        with _held(folder):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Staging:
    """A build's output as it is made, in a folder beside ``out_dir``; ``publish`` swaps it in."""

    def __init__(self, out_dir: Path, notice=None) -> None:
        self.out_dir, self.notice = out_dir, notice
        self.files: dict[str, tuple[str, int]] = {}  # name -> (format, size)
        self.folder: Path | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Staging:
        check_target(self.out_dir)
        name = glob.escape(self.out_dir.name)
        if not self.out_dir.exists():  # a build killed between the two renames of the fallback swap
            with contextlib.suppress(OSError, StopIteration):
                set_aside = next(self.out_dir.parent.glob(f".{name}.old-*/old"))
                os.rename(set_aside, self.out_dir)
                set_aside.parent.rmdir()
        sweep(self.out_dir.parent, (f".{name}.staging-*", f".{name}.old-*"))
        self.folder = Path(tempfile.mkdtemp(dir=self.out_dir.parent, prefix=f".{name}.staging-"))
        self._stack.callback(shutil.rmtree, self.folder, True)
        self._stack.enter_context(_held(self.folder))
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def add(self, kind: str, files: dict[str, bytes]) -> None:
        """Write files of one format (names relative to the output; ``.parts/…`` for pieces)."""
        try:
            for name, data in files.items():
                path = self.folder / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                if not name.startswith(PARTS + "/"):
                    self.files[name] = (kind, len(data))
        except OSError as error:
            raise BuildError(f"{self.out_dir}: could not write the output ({error.strerror or error})") from None

    def record(self, kind: str, name: str) -> None:
        """A file a writer wrote into the staging folder itself."""
        self.files[name] = (kind, (self.folder / name).stat().st_size)

    def parts(self, kind: str) -> Path:
        """The folder of one format's pieces."""
        return self.folder / PARTS / kind

    def publish(self, key: str, formats: tuple[str, ...], summary: dict) -> list[Path]:
        """Make ``out_dir`` this build: its files, what it kept of the previous output, and a manifest."""
        shutil.rmtree(self.folder / PARTS, ignore_errors=True)
        try:
            with _locked(self.out_dir.parent):  # another build may have published meanwhile: read it now
                previous = manifest(self.out_dir) if self.out_dir.is_dir() else None
                if previous and previous.get("key") not in (None, key) and self.notice:
                    self.notice(f"replacing the build in {self.out_dir} (seed {previous.get('seed')}, "
                                f"{previous.get('variants')} variant(s)); your own files there are kept")
                formats = self._carry_over(previous, key, formats)
                record = {"key": key, "formats": sorted(formats), **summary,
                          "files": {name: list(entry) for name, entry in sorted(self.files.items())}}
                (self.folder / MANIFEST).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
                os.chmod(self.folder, self.out_dir.stat().st_mode & 0o7777 if self.out_dir.is_dir() else 0o755)
                (self.folder / LOCK).unlink()  # still held through its open file; the output must not keep it
                if not self.out_dir.exists():
                    os.rename(self.folder, self.out_dir)
                elif _exchange(self.folder, self.out_dir):
                    _reconcile(self.folder, self.out_dir, set((previous or {}).get("files", {})))
                else:
                    self._replace_without_exchange()
                (self.out_dir.parent / f".{self.out_dir.name}.lock").unlink(missing_ok=True)  # an older version's
        except OSError as error:
            raise BuildError(f"{self.out_dir}: could not write the output ({error.strerror or error})") from None
        return [self.out_dir / name for name in sorted(self.files)]

    def _carry_over(self, previous: dict | None, key: str, formats: tuple[str, ...]) -> set[str]:
        """Hard-link into the new output what it keeps of the old one: every file derivbook did not write,
        and, when the plan is the same, the files of the formats not built this time. Returns the formats
        the new output then holds."""
        if not self.out_dir.is_dir():
            return set(formats)
        ours = (previous or {}).get("files", {})
        same_plan = previous is not None and previous.get("key") == key
        kept = set(formats)
        for entry in os.scandir(self.out_dir):
            name = entry.name
            if name in (MANIFEST, LOCK):
                continue
            if name in ours and ours[name][1] >= 0 and not _size_is(Path(entry.path), ours[name][1]):
                kept_as = _edited_name(name, self.folder)  # derivbook wrote it, someone changed it since: kept
                if self.notice:
                    self.notice(f"{self.out_dir / name} was changed since derivbook wrote it: kept as {kept_as}")
                _link(Path(entry.path), self.folder / kept_as)
                continue
            if name in self.files:
                if name in ours:
                    continue  # rebuilt now
                raise UserError(f"{self.out_dir / name}: derivbook did not write this file and would replace it; move it away")
            if name in ours:
                kind = ours[name][0]
                if not same_plan or kind in formats:
                    continue  # derivbook's own file of an older plan, or of a format rebuilt now
                self.files[name] = (kind, ours[name][1])
                kept.add(kind)
            _link(Path(entry.path), self.folder / name)
        return kept

    def _replace_without_exchange(self) -> None:
        """Where folders cannot be exchanged atomically: two renames (the old output kept until the end)."""
        old = Path(tempfile.mkdtemp(dir=self.out_dir.parent, prefix=f".{self.out_dir.name}.old-"))
        os.rename(self.out_dir, old / "old")
        os.rename(self.folder, self.out_dir)
        shutil.rmtree(old)


def _edited_name(name: str, folder: Path) -> str:
    """A free name for a teacher's edited copy of a file derivbook wrote: ``answer-key (edited).pdf``."""
    stem, dot, suffix = name.rpartition(".") if "." in name else (name, "", "")
    for k in range(1, 1000):
        candidate = f"{stem} (edited{'' if k == 1 else f' {k}'}){dot}{suffix}"
        if not (folder / candidate).exists():
            return candidate
    raise BuildError(f"{folder}: too many edited copies of {name}")


def _link(source: Path, target: Path) -> None:
    """``source`` (a file, a symlink or a folder of them) at ``target`` too, sharing its data (hard links)."""
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
    elif source.is_dir():
        target.mkdir()
        os.chmod(target, source.stat().st_mode & 0o7777)
        for entry in os.scandir(source):
            _link(Path(entry.path), target / entry.name)
    else:
        os.link(source, target)


def _reconcile(old: Path, new: Path, ours: set[str]) -> None:
    """After the swap: what is still in the old output and not derivbook's (a file written there after its
    files were linked into the new one) moves over, newer than what was linked."""
    for entry in os.scandir(old):
        if entry.name in ours or entry.name in (MANIFEST, LOCK):
            continue
        source, target = Path(entry.path), new / entry.name
        if entry.is_dir(follow_symlinks=False) and target.is_dir() and not target.is_symlink():
            _reconcile(source, target, set())
        elif not target.is_dir() and (not target.exists() or not source.samefile(target)):
            os.replace(source, target)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """The output's parent folder, locked while a build swaps its output in (builds take turns)."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    if ctypes.get_errno() in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))
