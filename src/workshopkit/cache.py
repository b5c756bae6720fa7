"""Execution cache: a passed lesson is not run again while nothing it depends on has changed.

A lesson's key is the SHA-256 of:

- the cache format and workshopkit's version;
- the lesson's cells (type, source, metadata) and its header;
- the parameters (`-p` over `[execution.parameters]`), the cell timeout and the output cap;
- the kernel: its name, its spec (argv, env) and its environment's identity (the Python version
  and every installed distribution with its version);
- the environment variables named in `[execution] env`: each one's value, or "unset";
- every file of the lesson's scratch copy (`lessonfiles.list_folder`): its path in the folder and
  the SHA-256 of its content; a symlinked file or folder counts by what it points at. Other lessons
  sharing the folder, and their Jupyter pairs (`<lesson>.ipynb`), are left out: they have keys of
  their own.

Files are hashed `CHUNK` bytes at a time. A file of `BIG` bytes or more is read once: its digest is
kept in `<root>/.workshopkit/file-hashes.json` under its real path with its device, inode, size,
mtime and ctime, and reused while all five are unchanged (any write changes the ctime, which
`touch` cannot set back). A digest is kept only for a file whose mtime and ctime are older than
the hashing by `SETTLE_NS`, so that a write in the same clock tick cannot go unseen.

Entries live in `<root>/.workshopkit/cache/<lesson-id>/<key>/`, are written to a temporary folder
then renamed into place, and an entry that fails to read back is discarded with a warning, never
trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .discover import is_lesson
from .fileio import write_atomic
from .lessonfiles import FolderFile, file_sha256, list_folder, special_kind, workshop_root
from .model import Diagnostic, LessonResult, Severity, Status

if TYPE_CHECKING:
    from .model import Lesson, LessonPlan

CACHE_DIR = ".workshopkit"
ENTRY_FORMAT = 1
HASHES_NAME = "file-hashes.json"
BIG = 1 << 20  # files this big or bigger have their digest kept (module doc)
SETTLE_NS = 2_000_000_000


class CacheWarning(UserWarning):
    pass


@lru_cache(maxsize=8)
def environment_identity(argv0: str) -> str:
    """Interpreter version and installed distributions of the kernel's Python."""
    if (
        not argv0
        or Path(argv0).resolve() == Path(sys.executable).resolve()
        or argv0
        in {
            "python",
            "python3",
        }
    ):
        from importlib import metadata

        dists = sorted(
            f"{d.metadata['Name']}=={d.version}"
            for d in metadata.distributions()
            if d.metadata["Name"]
        )
        return hashlib.sha256("\n".join([sys.version, *dists]).encode()).hexdigest()
    script = (
        "import sys, importlib.metadata as m;"
        "print(sys.version);"
        "print('\\n'.join(sorted("
        "f\"{d.metadata['Name']}=={d.version}\" for d in m.distributions())))"
    )
    try:
        out = subprocess.run(
            [argv0, "-c", script], capture_output=True, text=True, timeout=60, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        out = f"unknown:{argv0}"
    return hashlib.sha256(out.encode()).hexdigest()


@lru_cache(maxsize=16)
def kernel_identity(kernel: str) -> str:
    """The kernel spec (argv, env) and the identity of the environment its argv runs."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel:
        return f"missing:{kernel}"
    argv = list(spec.argv)
    env_id = environment_identity(argv[0] if argv else "")
    return json.dumps({"name": kernel, "argv": argv, "env": spec.env, "environment": env_id})


class FileHashes:
    """SHA-256 digests of big files, reused while the file's stat is unchanged (module doc)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, list[Any]] | None = None
        self._dirty = False

    def _load(self) -> dict[str, list[Any]]:
        if self._entries is None:
            self._entries = {}
            if self.path is not None:
                try:
                    data = json.loads(self.path.read_text(encoding="utf-8"))
                    if isinstance(data, dict) and data.get("format") == ENTRY_FORMAT:
                        files = data.get("files")
                        if isinstance(files, dict):
                            self._entries = {
                                k: v
                                for k, v in files.items()
                                if isinstance(v, list) and len(v) == 6
                            }
                except (OSError, ValueError):
                    pass  # absent or damaged: every big file is read again
        return self._entries

    def digest(self, path: Path) -> str:
        """The file's SHA-256 (`<unreadable>` or `<not a regular file>` when it has none)."""
        try:
            info = path.stat()
        except OSError:
            return "<unreadable>"
        if not stat.S_ISREG(info.st_mode):
            return "<not a regular file>"
        if info.st_size < BIG or self.path is None:
            return _read_digest(path)
        entries = self._load()
        key = str(path)
        identity = [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]
        found = entries.get(key)
        if found is not None and found[:5] == identity and isinstance(found[5], str):
            return found[5]
        began = time.time_ns()
        digest = _read_digest(path)
        try:
            after = path.stat()
        except OSError:
            return digest
        settled = max(after.st_mtime_ns, after.st_ctime_ns) < began - SETTLE_NS
        same = [after.st_dev, after.st_ino, after.st_size, after.st_mtime_ns, after.st_ctime_ns]
        if settled and same == identity and not digest.startswith("<"):
            entries[key] = [*identity, digest]
            self._dirty = True
        return digest

    def save(self) -> None:
        """Write the digests back (atomically; entries for files that are gone are dropped)."""
        if not self._dirty or self.path is None or self._entries is None:
            return
        self._dirty = False
        live = {k: v for k, v in self._entries.items() if Path(k).exists()}
        data = json.dumps({"format": ENTRY_FORMAT, "files": live}).encode()
        with contextlib.suppress(OSError):  # a cache of a cache: the next run reads again
            write_atomic(self.path, data, durable=False)


def _read_digest(path: Path) -> str:
    try:
        digest = file_sha256(path)
    except OSError:
        return "<unreadable>"
    return digest if digest is not None else "<not a regular file>"


def lesson_files(lesson: Lesson, root: Path) -> list[FolderFile]:
    """The files of the lesson's scratch copy that belong in its key (module doc)."""
    listing = list_folder(lesson.folder, root)
    lessons = {f.name for f in listing.files if f.name.endswith(".py") and is_lesson(f.source)}
    pairs = {name[: -len(".py")] + ".ipynb" for name in lessons}
    return [f for f in listing.files if f.name not in lessons and f.name not in pairs]


def lesson_key(plan: LessonPlan, hashes: FileHashes | None = None) -> str:
    """The lesson's cache key (see the module doc for what it covers)."""
    lesson = plan.lesson
    hashes = hashes or FileHashes(None)
    digest = hashlib.sha256()

    def feed(label: str, value: Any) -> None:
        digest.update(label.encode())
        digest.update(json.dumps(value, sort_keys=True, default=str).encode())

    feed("format", [ENTRY_FORMAT, __version__])
    feed(
        "cells",
        [[c.cell_type, c.source, dict(c.metadata)] for c in lesson.cells],
    )
    feed("header", lesson.text.split("# %%", 1)[0])
    feed("parameters", dict(plan.parameters))
    feed("kernel", kernel_identity(plan.kernel))
    feed("limits", [plan.timeout, plan.output_limit])
    feed(
        "env",
        [
            [name, None if value is None else hashlib.sha256(value.encode()).hexdigest()]
            for name, value in plan.env
        ],
    )
    for item in lesson_files(lesson, workshop_root(lesson.path, lesson.relpath)):
        feed("asset", [item.name, hashes.digest(item.source)])
    return digest.hexdigest()[:32]


def _warn(message: str) -> None:
    warnings.warn(message, CacheWarning, stacklevel=3)


class Cache:
    """Passed results by lesson id and key; problems go to `on_problem` (a CacheWarning by
    default; the executor attaches them to the lesson's result instead)."""

    def __init__(self, root: Path, on_problem: Callable[[str, str], None] | None = None) -> None:
        self.dir = root / CACHE_DIR / "cache"
        self.hashes = FileHashes(root / CACHE_DIR / HASHES_NAME)
        self.on_problem = on_problem or (lambda lesson_id, message: _warn(message))

    def key(self, plan: LessonPlan) -> str:
        key = lesson_key(plan, self.hashes)
        self.hashes.save()
        return key

    def _entry(self, lesson_id: str, key: str) -> Path:
        return self.dir / lesson_id / key

    def get(self, key: str, lesson: Lesson) -> LessonResult | None:
        entry = self._entry(lesson.id, key)
        if not entry.exists():
            return None
        try:
            data = json.loads((entry / "result.json").read_text(encoding="utf-8"))
            notebook = entry / "executed.ipynb"
            content = notebook.read_bytes()
            digest = hashlib.sha256(content).hexdigest()
            if data.get("format") != ENTRY_FORMAT or data.get("notebook_sha256") != digest:
                raise ValueError("checksum or format mismatch")
            if data["status"] != Status.PASSED.value:
                raise ValueError("not a passed result")
            _check_notebook(content)
            seconds = float(data["seconds"])
            warns = tuple(str(w) for w in data.get("warnings", []))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self.on_problem(
                lesson.id, f"{lesson.relpath}: corrupt cache entry discarded, lesson re-run ({exc})"
            )
            shutil.rmtree(entry, ignore_errors=True)
            return None
        return LessonResult(
            lesson.id,
            lesson.relpath,
            Status.PASSED,
            seconds,
            cached=True,
            notebook=notebook,
            warnings=warns,
        )

    def put(self, key: str, lesson: Lesson, result: LessonResult) -> LessonResult:
        """Store a passed result and its notebook; returns it pointing at the stored copy."""
        if result.status is not Status.PASSED or result.notebook is None:
            return result
        final = self._entry(lesson.id, key)
        tmp: Path | None = None
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{key}.tmp-", dir=final.parent))
            # a copy: if storing fails, the result keeps its notebook for the export
            shutil.copyfile(result.notebook, tmp / "executed.ipynb")
            digest = hashlib.sha256((tmp / "executed.ipynb").read_bytes()).hexdigest()
            record = {
                "format": ENTRY_FORMAT,
                "id": lesson.id,
                "path": lesson.relpath,
                "status": result.status.value,
                "seconds": result.seconds,
                "notebook_sha256": digest,
                "warnings": list(result.warnings),
            }
            with (tmp / "result.json").open("w", encoding="utf-8") as fh:
                json.dump(record, fh, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            if final.exists():
                shutil.rmtree(final)
            tmp.replace(final)
            for old in final.parent.iterdir():  # one entry per lesson: drop superseded ones
                # (but not another process's entry still being written, unless it is stale)
                if old != final and (not old.name.startswith(".") or _stale(old)):
                    shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            self.on_problem(lesson.id, f"{final}: could not write cache entry ({exc})")
            return result
        _cleanup_scratch(result.notebook)
        return replace(result, notebook=final / "executed.ipynb")


def _check_notebook(content: bytes) -> None:
    """Raise ValueError unless `content` is a version-4 notebook's JSON (a checksum only proves
    the file is the one stored, not that what was stored can be read)."""
    try:
        nb = json.loads(content)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ValueError(f"the stored notebook is not JSON: {exc}") from None
    if not isinstance(nb, dict) or nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        raise ValueError("the stored notebook is not a version-4 notebook")
    if not all(isinstance(cell, dict) and "cell_type" in cell for cell in nb["cells"]):
        raise ValueError("the stored notebook has a cell that is not a cell")


def state_problems(root: Path) -> list[Diagnostic]:
    """What stops workshopkit from keeping its cache and reports in `<root>/.workshopkit/`: that
    name, or one it needs inside, taken by a file of another kind. Reported before any kernel
    starts, instead of a traceback after every lesson has run."""
    found: list[Diagnostic] = []
    expected = [
        (CACHE_DIR, stat.S_ISDIR, "a folder"),
        (f"{CACHE_DIR}/cache", stat.S_ISDIR, "a folder"),
        (f"{CACHE_DIR}/{HASHES_NAME}", stat.S_ISREG, "a file"),
        (f"{CACHE_DIR}/report.json", stat.S_ISREG, "a file"),
    ]
    for name, is_kind, kind in expected:
        path = root / name
        try:
            mode = path.stat().st_mode  # a symlink to a folder elsewhere is fine
        except FileNotFoundError:
            if not path.is_symlink():
                continue
            what = "a broken symlink"
        except OSError:
            break  # a parent is not a folder: reported already
        else:
            if is_kind(mode):
                continue
            what = "a folder" if stat.S_ISDIR(mode) else "a file"
            what = what if stat.S_ISDIR(mode) or stat.S_ISREG(mode) else special_kind(mode)
        message = (
            f"workshopkit keeps its cache and reports here and needs {kind}, but this is "
            f"{what}; move it away (workshopkit recreates what it needs)"
        )
        found.append(Diagnostic(name, 0, Severity.ERROR, message))
        break
    return found


def _stale(path: Path, seconds: float = 3600) -> bool:
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


def _cleanup_scratch(notebook: Path) -> None:
    scratch = notebook.parent
    if scratch.name.startswith("workshopkit-") and scratch.parent == Path(tempfile.gettempdir()):
        shutil.rmtree(scratch, ignore_errors=True)
