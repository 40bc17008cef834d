"""Publishing a build's files: staged in a directory next to the target, then swapped in whole.

A failed or interrupted build leaves the previous output exactly as it was; two builds into one
directory take turns (a lock beside it); a directory that derivbook did not write is never replaced.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from derivbook.model import BuildError, UserError

MARKER = ".derivbook-output"  # present in every directory derivbook wrote, so it may replace it
LOCK_WAIT = 120.0  # seconds a build waits for another one writing to the same directory


def check_target(out_dir: Path) -> None:
    """Refuse, before any work, an output path that derivbook may not (or cannot) replace."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
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


@contextmanager
def locked(out_dir: Path, wait: float = LOCK_WAIT, notice=None):
    """Hold the lock of ``out_dir`` (a file beside it); wait up to ``wait`` seconds for another build."""
    lock_path = out_dir.parent / f".{out_dir.name}.lock"
    with open(lock_path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if notice:
                notice(f"waiting for another build into {out_dir} to finish (lock {lock_path.name})")
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise BuildError(f"{out_dir}: another build is still writing there after {wait:.0f} s; try again later") from None
                    time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


def publish(files: dict[str, bytes], out_dir: Path, notice=None) -> list[Path]:
    """Make ``out_dir`` hold exactly ``files``: write them to a staging directory, then swap it in."""
    check_target(out_dir)
    with locked(out_dir, notice=notice):
        staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.staging-"))
        try:
            for name, data in files.items():
                (staging / name).write_bytes(data)
            (staging / MARKER).write_text("written by derivbook; the next build replaces this directory whole\n")
            os.chmod(staging, 0o755)
            if not out_dir.exists():
                os.rename(staging, out_dir)
            elif _exchange(staging, out_dir):
                shutil.rmtree(staging)  # now holds the previous output
            else:
                previous = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old-"))
                os.rename(out_dir, previous / "old")
                os.rename(staging, out_dir)
                shutil.rmtree(previous)
        except OSError as error:
            raise BuildError(f"{out_dir}: could not write the output ({error.strerror or error})") from None
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / name for name in files]
