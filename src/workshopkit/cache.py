"""Execution cache: a passed lesson is not run again while nothing it depends on has changed.

The key hashes the lesson's cells (sources, types, metadata), the parameters, the kernel's name
and spec, the kernel environment's identity (interpreter version and installed distributions) and
the lesson folder's other files. Entries live in `<root>/.workshopkit/cache/<lesson-id>/<key>/`,
are written to a temporary folder then renamed into place, and an entry that fails to read back
is discarded with a warning, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
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
from .model import LessonResult, Status

if TYPE_CHECKING:
    from .execute import LessonPlan
    from .model import Lesson

CACHE_DIR = ".workshopkit"
ENTRY_FORMAT = 1
_ASSET_SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", "dist", "build", ".workshopkit"}


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


def _asset_files(lesson: Lesson) -> list[Path]:
    files: list[Path] = []
    for folder, dirs, names in os.walk(lesson.folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _ASSET_SKIP_DIRS)
        for name in sorted(names):
            path = Path(folder) / name
            if name.startswith(".") or name.endswith((".pyc", ".ipynb")) or is_lesson(path):
                continue  # other lessons sharing the folder have keys of their own
            files.append(path)
    return files


def lesson_key(plan: LessonPlan) -> str:
    lesson = plan.lesson
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
    for path in _asset_files(lesson):
        rel = path.relative_to(lesson.folder).as_posix()
        try:
            data = path.read_bytes() if not path.is_symlink() else str(path.readlink()).encode()
        except OSError:
            data = b"<unreadable>"
        feed("asset", [rel, hashlib.sha256(data).hexdigest()])
    return digest.hexdigest()[:32]


def _warn(message: str) -> None:
    warnings.warn(message, CacheWarning, stacklevel=3)


class Cache:
    """Passed results by lesson id and key; problems go to `on_problem` (a CacheWarning by
    default; the executor attaches them to the lesson's result instead)."""

    def __init__(self, root: Path, on_problem: Callable[[str, str], None] | None = None) -> None:
        self.dir = root / CACHE_DIR / "cache"
        self.on_problem = on_problem or (lambda lesson_id, message: _warn(message))

    def key(self, plan: LessonPlan) -> str:
        return lesson_key(plan)

    def _entry(self, lesson_id: str, key: str) -> Path:
        return self.dir / lesson_id / key

    def get(self, key: str, lesson: Lesson) -> LessonResult | None:
        entry = self._entry(lesson.id, key)
        if not entry.exists():
            return None
        try:
            data = json.loads((entry / "result.json").read_text(encoding="utf-8"))
            notebook = entry / "executed.ipynb"
            digest = hashlib.sha256(notebook.read_bytes()).hexdigest()
            if data.get("format") != ENTRY_FORMAT or data.get("notebook_sha256") != digest:
                raise ValueError("checksum or format mismatch")
            if data["status"] != Status.PASSED.value:
                raise ValueError("not a passed result")
            seconds = float(data["seconds"])
            warns = tuple(str(w) for w in data.get("warnings", []))
        except (OSError, ValueError, KeyError, TypeError) as exc:
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


def _stale(path: Path, seconds: float = 3600) -> bool:
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


def _cleanup_scratch(notebook: Path) -> None:
    scratch = notebook.parent
    if scratch.name.startswith("workshopkit-") and scratch.parent == Path(tempfile.gettempdir()):
        shutil.rmtree(scratch, ignore_errors=True)
