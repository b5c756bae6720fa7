"""File writing for the export stage: every write is flushed to disk and names its path on failure.

Exports write into a fresh temporary folder that replaces `dist/` only when everything succeeded
(see `workshopkit.build`), so a failed write never leaves a half-written file where users look.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from ..errors import InfrastructureError

__all__ = [
    "ExportError",
    "copy_file",
    "copy_tree",
    "durable",
    "flushing",
    "fsync_dir",
    "fsync_tree",
    "reraise_as_export",
    "write_bytes",
    "write_text",
]

COPY_CHUNK = 1 << 20


class ExportError(InfrastructureError):
    """Writing the export failed (disk full, permissions, ...): exit 3, naming the path."""

    def __init__(self, message: str, *, path: str | None = None, errno_: int | None = None) -> None:
        self.errno = errno_
        super().__init__(message, path=path)


def describe_os_error(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    if exc.errno == errno.EDQUOT:
        return "disk quota exceeded"
    return exc.strerror or str(exc)


@contextlib.contextmanager
def reraise_as_export(path: Path, action: str = "cannot write") -> Iterator[None]:
    """Turn an `OSError` raised while writing `path` into an `ExportError` naming it."""
    try:
        yield
    except ExportError:
        raise
    except OSError as exc:
        shown = str(exc.filename) if exc.filename else str(path)
        message = f"{action}: {describe_os_error(exc)}"
        raise ExportError(message, path=shown, errno_=exc.errno) from exc


_DURABLE: ContextVar[bool] = ContextVar("workshopkit_export_durable", default=True)


@contextlib.contextmanager
def durable(flushed: bool) -> Iterator[None]:
    """Whether what is written meanwhile is flushed to disk (`serve`'s preview is not: a build
    rewrites it, and a file a crash cut short differs from its record, so it is rendered)."""
    token = _DURABLE.set(flushed)
    try:
        yield
    finally:
        _DURABLE.reset(token)


def flushing() -> bool:
    """Whether files written now are flushed to disk (`durable`)."""
    return _DURABLE.get()


def _fsync_file(fd: int) -> None:
    if not _DURABLE.get():
        return
    with contextlib.suppress(OSError):  # some filesystems (e.g. certain FUSE) refuse fsync
        os.fsync(fd)


def write_bytes(path: Path, data: bytes) -> Path:
    """Write `data` to `path` (parents created), flushed to disk. Raises `ExportError`."""
    with reraise_as_export(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            fh.write(data)
            fh.flush()
            _fsync_file(fh.fileno())
    return path


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def copy_file(source: Path, target: Path) -> Path:
    """Copy a file's content (not its metadata) to `target`, flushed to disk."""
    with reraise_as_export(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, COPY_CHUNK)
            dst.flush()
            _fsync_file(dst.fileno())
    return target


def copy_tree(source: Path, target: Path, *, skip: frozenset[str] = frozenset()) -> list[Path]:
    """Copy the regular files under `source` (sorted, symlinks not followed) to `target`."""
    written: list[Path] = []
    for folder, dirs, names in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in skip and not d.startswith("."))
        here = Path(folder)
        for name in sorted(names):
            path = here / name
            if name in skip or name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            written.append(copy_file(path, target / path.relative_to(source)))
    return written


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (renames, new files) to disk; a no-op where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        _fsync_file(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush every folder under `root` (files are flushed as they are written)."""
    for folder, _, _ in os.walk(root):
        fsync_dir(Path(folder))
