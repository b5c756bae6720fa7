"""Stage 1: find the lesson files under a workshop root."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from .lessonfiles import ignored_folder, is_virtualenv
from .load import has_workshopkit_block

# Discovery also skips folders that hold no lessons by convention (a lesson's files may still
# be in them): `_`-prefixed ones (drafts, `_static`) and the usual names of virtualenvs.
NO_LESSONS = frozenset({"venv", "env"})


def _skip_dir(folder: Path, name: str) -> bool:
    return (
        ignored_folder(name)
        or name.startswith("_")
        or name in NO_LESSONS
        or is_virtualenv(folder / name)
    )


# What `is_lesson` found, by path, with the file's stat when it was read: lessons that share a
# folder are each asked about all the others (the cache key leaves them out), so a workshop of
# n lessons in one folder would read n * n headers.
_FOUND: dict[Path, tuple[tuple[int, int, int, int], bool]] = {}


def is_lesson(path: Path) -> bool:
    """A `.py` file whose Jupytext header holds a `workshopkit` block."""
    if path.suffix != ".py":
        return False
    try:
        info = path.stat()
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return False
    stamp = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    known = _FOUND.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    try:
        with path.open("rb") as fh:
            head = fh.read(16384)
    except OSError:
        return False
    found = has_workshopkit_block(head.decode("utf-8", errors="replace"))
    _FOUND[path] = (stamp, found)
    return found


def discover(
    root: Path, paths: Iterable[Path] = (), skipped: list[Path] | None = None
) -> list[Path]:
    """Lesson files under `root` (or under the given files and folders), sorted by path.

    Hidden and `_`-prefixed folders, `dist/`, build folders, caches and virtualenvs are skipped.
    A file named explicitly is returned if it is a lesson, whatever folder it sits in. The `.py`
    files found in the folders searched that are not lessons (no `workshopkit` block: helper
    modules, scripts, a lesson whose header was lost) are appended to `skipped`, sorted, so
    `check` can say how many there are.
    """
    wanted = [p.resolve() for p in paths] or [root.resolve()]
    found: set[Path] = set()
    not_lessons: set[Path] = set()
    for start in wanted:
        if start.is_file():
            if is_lesson(start):
                found.add(start)
            continue
        for folder, dirs, files in os.walk(start):
            here = Path(folder)
            dirs[:] = sorted(d for d in dirs if not _skip_dir(here, d))
            for name in files:
                candidate = here / name
                if not name.endswith(".py") or name.startswith("."):
                    continue
                if is_lesson(candidate):
                    found.add(candidate)
                elif skipped is not None and candidate.is_file():
                    not_lessons.add(candidate)
    real_root = root.resolve()
    prefix = str(real_root).rstrip("/") + "/"

    def key(path: Path) -> str:  # the path from the root (a string: 10,000 of them)
        text = str(path)
        return text[len(prefix) :] if text.startswith(prefix) else text

    if skipped is not None:
        skipped.extend(sorted(not_lessons, key=key))
    return sorted(found, key=key)
