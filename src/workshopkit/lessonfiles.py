"""What a lesson sees of its folder: the files of its scratch copy, which its cache key hashes.

One walk of a lesson's folder (`list_folder`) serves the scratch copy the lesson runs in
(`execute.prepare_scratch`), its cache key (`cache.lesson_key`) and `check`'s warnings about
what is left out (`export.assets.check_assets`):

- left out by name: hidden files and folders, `__pycache__`, `dist`, `dist.*`, `build`,
  `_build`, `node_modules`, `site-packages`, `*.pyc`, and virtual environments (a folder holding
  `pyvenv.cfg`): `IGNORED_FOLDERS`, the one definition discovery and assets use too;
- a symlink is followed: its target is listed as a file or folder of the lesson's own, under
  the link's name. The scratch copy holds a copy of the content, never a link, so a lesson that
  writes to it cannot reach the target; the key hashes the content, not the link text. Left
  out, with a warning: a broken link, a link that resolves outside the workshop root, a link to
  a folder that holds it (a loop);
- anything but regular files and folders (named pipes, sockets, devices) is left out with a
  warning: reading one can block forever or never end.

Nothing here imports nbformat or jupytext: `check` can afford it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CHUNK",
    "FolderFile",
    "FolderListing",
    "LeftOut",
    "copy_listing",
    "file_sha256",
    "ignored_folder",
    "is_virtualenv",
    "list_folder",
    "listings_remembered",
    "special_kind",
    "within",
    "workshop_root",
]

CHUNK = 1 << 20  # bytes read at a time when hashing: memory stays flat whatever the file size
# The one definition of the folders that never hold a lesson's files (scratch copy, cache key,
# assets) nor lessons (discovery, which also skips `_`-prefixed folders): hidden ones, build
# output (`dist`, `dist.*`, `build`, `_build`), caches and installed packages, virtualenvs.
IGNORED_FOLDERS = frozenset(
    {"__pycache__", "dist", "build", "_build", "node_modules", "site-packages"}
)
IGNORED_SUFFIXES = (".pyc",)


@dataclass(frozen=True, slots=True)
class FolderFile:
    """A regular file the lesson sees at `name` (relative to its folder, POSIX)."""

    name: str
    source: Path  # the real file, symlinks resolved
    size: int


@dataclass(frozen=True, slots=True)
class LeftOut:
    """Something in a lesson's folder that is neither copied nor hashed, and why."""

    path: Path  # as the lesson's folder shows it (through any linked folder)
    reason: str  # special | broken | outside | loop | unreadable
    detail: str  # what it is: "a named pipe", "a broken symlink", ...

    @property
    def message(self) -> str:
        return f"{self.detail}: left out of lesson scratch copies, cache keys and downloads" + (
            " (reading it could block or never end)" if self.reason == "special" else ""
        )


@dataclass(frozen=True, slots=True)
class FolderListing:
    folders: tuple[str, ...]  # every sub-folder, parents first
    files: tuple[FolderFile, ...]  # sorted by name
    left_out: tuple[LeftOut, ...]


def ignored_folder(name: str) -> bool:
    """Whether a folder of this name is left out of a lesson's files (by name alone)."""
    return name.startswith(".") or name in IGNORED_FOLDERS or name.startswith("dist.")


def is_virtualenv(folder: Path) -> bool:
    """A virtual environment of any name (it holds `pyvenv.cfg`), left out like `venv/`."""
    return (folder / "pyvenv.cfg").exists()


def _ignored_file(name: str) -> bool:
    return name.startswith(".") or name.endswith(IGNORED_SUFFIXES)


def special_kind(mode: int) -> str:
    """What a non-regular, non-folder file is, for a message."""
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def workshop_root(lesson_path: Path, relpath: str) -> Path:
    """The workshop root of a lesson at `lesson_path`, known as `relpath` from the root."""
    return lesson_path.parents[len(Path(relpath).parts) - 1]


def within(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder` or inside it, comparing `Path`s' text (so both must be absolute
    and free of `..`: resolved, or `os.path.normpath`-ed). As `folder in path.parents`, without
    building a `Path` per parent (a hot spot when 10,000 lessons are checked)."""
    inner, outer = str(path), str(folder)
    return inner == outer or inner.startswith(outer if outer.endswith("/") else outer + "/")


# Within `listings_remembered()` (one pipeline run), each folder is walked once: the cache key,
# the scratch copy and the assets' check of one lesson, and every lesson sharing the folder,
# see the same listing (n lessons in one folder would otherwise walk it n times each).
_REMEMBERED: dict[tuple[Path, Path], FolderListing] | None = None


@contextlib.contextmanager
def listings_remembered() -> Iterator[None]:
    """Remember each folder's listing until the outermost of these ends."""
    global _REMEMBERED
    outermost = _REMEMBERED is None
    if outermost:
        _REMEMBERED = {}
    try:
        yield
    finally:
        if outermost:
            _REMEMBERED = None


def list_folder(folder: Path, root: Path) -> FolderListing:
    """The files a lesson in `folder` sees, under the workshop `root` (see the module doc)."""
    remembered = _REMEMBERED
    if remembered is None:
        return _list_folder(folder, root)
    listing = remembered.get((folder, root))
    if listing is None:
        listing = remembered[(folder, root)] = _list_folder(folder, root)
    return listing


def _list_folder(folder: Path, root: Path) -> FolderListing:
    real_root = Path(os.path.realpath(root))
    start = Path(os.path.realpath(folder))
    # a link to the folder or to any folder above it (up to the root) would contain itself
    above = {start, *(p for p in start.parents if within(p, real_root))}
    folders: list[str] = []
    files: list[FolderFile] = []
    left: list[LeftOut] = []

    def visit(real: Path, rel: str, stack: frozenset[Path]) -> None:
        try:
            with os.scandir(real) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            detail = f"an unreadable folder ({exc.strerror})"
            left.append(LeftOut(folder / rel, "unreadable", detail))
            return
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            child = f"{rel}/{name}" if rel else name
            shown = folder / child
            try:
                if entry.is_symlink():
                    target = Path(os.path.realpath(entry.path))
                    try:
                        info = target.stat()
                    except OSError:
                        left.append(LeftOut(shown, "broken", "a broken symlink"))
                        continue
                    if not within(target, real_root):
                        left.append(
                            LeftOut(shown, "outside", "a symlink pointing outside the workshop")
                        )
                        continue
                else:
                    target = Path(entry.path)
                    info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                left.append(LeftOut(shown, "unreadable", f"unreadable ({exc.strerror})"))
                continue
            if stat.S_ISDIR(info.st_mode):
                if ignored_folder(name) or is_virtualenv(target):
                    continue
                if target in stack:
                    left.append(LeftOut(shown, "loop", "a symlink to a folder that holds it"))
                    continue
                folders.append(child)
                visit(target, child, stack | {target})
            elif stat.S_ISREG(info.st_mode):
                if not _ignored_file(name):
                    files.append(FolderFile(child, target, info.st_size))
            else:
                left.append(LeftOut(shown, "special", special_kind(info.st_mode)))

    visit(start, "", frozenset(above))
    return FolderListing(tuple(folders), tuple(files), tuple(left))


def copy_listing(listing: FolderListing, dest: Path) -> None:
    """Copy what `listing` holds into the new folder `dest`: real copies, never links."""
    dest.mkdir()
    for name in listing.folders:
        (dest / name).mkdir()
    for item in listing.files:
        shutil.copy2(item.source, dest / item.name)


def file_sha256(path: Path) -> str | None:
    """The SHA-256 of a regular file, read `CHUNK` bytes at a time; None if it is not one
    (opened without blocking, so a named pipe swapped in meanwhile cannot hang)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb", buffering=0) as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        digest = hashlib.sha256()
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while True:
            count = fh.readinto(buffer)
            if not count:
                break
            digest.update(view[:count])
        return digest.hexdigest()
