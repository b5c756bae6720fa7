"""Execution cache: a passed lesson is not run again while nothing it depends on has changed.

A lesson's key is the SHA-256 of what can change its execution:

- the cache format and workshopkit's version;
- its code cells, in order: source and metadata, less what only changes how a cell is shown
  (`slideshow`, and the tags `PRESENTATION_TAGS`: solution, exercise, show-in-slides);
  markdown and raw cells are never sent to the kernel and are left out, unless one carries a
  tag papermill acts on (`PAPERMILL_TAGS`: it injects parameters after such a cell, or drops
  it), in which case every cell counts, as written;
- its header, less the presentation fields of the `workshopkit:` block (title, level, minutes,
  tags, requires, objectives, kind; `resources` stays);
- the parameters (`-p` over `[execution.parameters]`), the cell timeout and the output cap;
- the kernel: its name, its spec (argv, env) and its environment's identity (the Python version
  and every installed distribution with its version: for workshopkit's own Python, the names of
  the distributions' metadata folders, `name-version.dist-info`);
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

Markdown, raw cells and header text are outside the key, but every consumer must see them as
they are now. Each entry records the `view_key` (the SHA-256 of the lesson's text) it ran with.
When the lesson's text differs, the entry's executed notebook is merged with the lesson's
current cells (`merged_notebook`): every cell and the header come from the lesson as it is, the
code cells carry the outputs, execution counts and run metadata they ran with, and papermill's
injected cells follow the cell they followed. The merge is kept beside the entry as
`view-<view key>.ipynb` with its checksum and warnings in `view-<view key>.json` (one view per
entry, rebuilt if either is damaged); the result's warnings, which name `path:line (cell n)`,
are moved to where their code cells are now (`relocate_warnings`).
A merge that cannot map every code cell is a miss: the lesson runs again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .discover import is_lesson
from .fileio import write_atomic
from .lessonfiles import FolderFile, file_sha256, list_folder, special_kind, workshop_root
from .model import (
    TAG_EXERCISE,
    TAG_PARAMETERS,
    TAG_SHOW_IN_SLIDES,
    TAG_SOLUTION,
    Diagnostic,
    LessonResult,
    Severity,
    Status,
    tags_from,
)

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from .model import Lesson, LessonPlan

CACHE_DIR = ".workshopkit"
ENTRY_FORMAT = 1
KEY_FORMAT = 2  # 2: only what can change execution (module doc)
VIEW_PREFIX = "view-"
# Tags that only change how a code cell is shown or exported, never how it runs.
PRESENTATION_TAGS = frozenset({TAG_SOLUTION, TAG_EXERCISE, TAG_SHOW_IN_SLIDES})
PRESENTATION_METADATA = frozenset({"slideshow"})
# Tags papermill acts on in any cell: inject parameters after it, replace it, drop it.
PAPERMILL_TAGS = frozenset({TAG_PARAMETERS, "injected-parameters", "papermill-error-cell-tag"})
# Header fields that change no run (`resources` does: a GPU lesson is skipped where none is).
PRESENTATION_HEADER = frozenset(
    {"id", "title", "level", "minutes", "tags", "requires", "objectives", "kind"}
)
# Metadata a run adds to a cell (papermill's status and times, nbclient's timings).
RUN_METADATA = frozenset({"papermill", "execution", "ExecuteTime"})
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
        return _own_environment()
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


@lru_cache(maxsize=1)
def _own_environment() -> str:
    """This interpreter's version and every distribution on its path, by the name of its
    metadata folder (`name-version.dist-info`, `.egg-info`): any install, upgrade or removal
    renames one. Listing folders, rather than parsing each distribution's metadata, keeps a warm
    build fast (about 1 ms against 150 ms for 100 distributions)."""
    names: set[str] = set()
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as found:
                names.update(
                    item.name for item in found if item.name.endswith((".dist-info", ".egg-info"))
                )
        except OSError:
            continue  # a zip, or a folder that is gone
    return hashlib.sha256("\n".join([sys.version, *sorted(names)]).encode()).hexdigest()


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


def execution_cells(lesson: Lesson) -> list[list[Any]]:
    """The cells as the key sees them: what can change the run (module doc)."""
    sensitive = any(
        c.cell_type != "code" and PAPERMILL_TAGS.intersection(tags_from(c.metadata))
        for c in lesson.cells
    )
    if sensitive:
        return [[c.cell_type, c.source, dict(c.metadata)] for c in lesson.cells]
    return [
        ["code", c.source, _run_metadata(c.metadata)] for c in lesson.cells if c.cell_type == "code"
    ]


def _run_metadata(metadata: Any) -> dict[str, Any]:
    kept = {k: v for k, v in dict(metadata).items() if k not in PRESENTATION_METADATA}
    tags = [t for t in tags_from(metadata) if t not in PRESENTATION_TAGS]
    kept.pop("tags", None)
    if tags:  # no tags and `tags: []` run alike
        kept["tags"] = tags
    return kept


def execution_header(lesson: Lesson) -> dict[str, Any]:
    """The header's `jupyter:` mapping less the presentation fields of its `workshopkit:`."""
    header = dict(lesson.notebook_metadata)
    block = header.get("workshopkit")
    if isinstance(block, dict):
        header["workshopkit"] = {k: v for k, v in block.items() if k not in PRESENTATION_HEADER}
    return header


def view_key(lesson: Lesson) -> str:
    """What every consumer of the executed notebook sees of the lesson: all of its text."""
    return hashlib.sha256(lesson.text.encode("utf-8")).hexdigest()[:32]


def lesson_key(plan: LessonPlan, hashes: FileHashes | None = None) -> str:
    """The lesson's cache key (see the module doc for what it covers)."""
    lesson = plan.lesson
    hashes = hashes or FileHashes(None)
    digest = hashlib.sha256()

    def feed(label: str, value: Any) -> None:
        digest.update(label.encode())
        digest.update(json.dumps(value, sort_keys=True, default=str).encode())

    feed("format", [KEY_FORMAT, __version__])
    feed("cells", execution_cells(lesson))
    feed("header", execution_header(lesson))
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


# --------------------------------------------------------------------------------------------
# The executed notebook for the lesson as it is now


def merged_notebook(lesson: Lesson, executed: NotebookNode) -> NotebookNode | None:
    """`executed` (a run of an earlier text of `lesson` with the same key) brought up to the
    lesson's current text, or None when its code cells do not map one to one (module doc)."""
    import copy

    from .load import SOURCE_KEY, to_notebook

    current = to_notebook(lesson)
    groups: list[tuple[Any, list[Any]]] = []  # each lesson cell run, with the cells papermill
    leading: list[Any] = []  # put after it (or before every lesson cell)
    for cell in executed.cells:
        if SOURCE_KEY in cell.get("metadata", {}):
            groups.append((cell, []))
        else:
            (groups[-1][1] if groups else leading).append(cell)
    ran_code = [(cell, after) for cell, after in groups if cell.get("cell_type") == "code"]
    code_now = [cell for cell in current.cells if cell.cell_type == "code"]
    if len(ran_code) != len(code_now):
        return None
    pairs = zip(ran_code, code_now, strict=True)
    if any(ran.get("source") != now.source for (ran, _), now in pairs):
        return None
    by_position = len(groups) == len(current.cells) and all(
        ran.get("cell_type") == now.cell_type
        for (ran, _), now in zip(groups, current.cells, strict=True)
    )
    if not by_position and any(extra for ran, extra in groups if ran.get("cell_type") != "code"):
        return None  # papermill put cells after a text cell that cannot be found again
    ran_code_iter = iter(ran_code)
    cells: list[Any] = list(leading)
    for position, now in enumerate(current.cells):
        if now.cell_type == "code":
            ran, after = next(ran_code_iter)
            cell = copy.deepcopy(ran)
            run_keys = {k: v for k, v in ran.metadata.items() if k in RUN_METADATA}
            cell.metadata = {**run_keys, **copy.deepcopy(dict(now.metadata))}
            cell["id"] = now.get("id", cell.get("id"))
        else:
            cell, after = now, groups[position][1] if by_position else []
        cell.metadata.setdefault("tags", [])  # as papermill's loader gives every cell
        cells.append(cell)
        cells.extend(copy.deepcopy(after))
    merged = copy.deepcopy(executed)
    merged.cells = cells
    merged.metadata.update(copy.deepcopy(dict(current.metadata)))
    if isinstance(merged.metadata.get("papermill"), dict):  # it holds the input, as it was
        merged.metadata["papermill"].pop("input_path", None)
    return merged


def relocate_warnings(
    warnings: Sequence[str], relpath: str, before: NotebookNode, after: NotebookNode
) -> tuple[str, ...]:
    """`warnings` located at `relpath:line (cell n)` in the code cells of `before`, moved to
    where the same code cells are in `after` (both executed notebooks of the same key)."""
    old = _cell_starts(before)
    new = [(line, number) for line, number, is_code in _cell_starts(after) if is_code]
    pattern = re.compile(rf"^{re.escape(relpath)}:(\d+)(?: \(cell (\d+)\))?(.*)$", re.S)
    moved = []
    for warning in warnings:
        match = pattern.match(warning)
        target = _code_cell_at(old, int(match.group(1))) if match else None
        if match is None or target is None or target[0] >= len(new):
            moved.append(warning)
            continue
        ordinal, offset = target
        line, number = new[ordinal]
        cell = f" (cell {number})" if match.group(2) else ""
        moved.append(f"{relpath}:{line + offset}{cell}{match.group(3)}")
    return tuple(moved)


def _cell_starts(nb: NotebookNode) -> list[tuple[int, int, bool]]:
    """(line, number, is code) of each cell of `nb` that comes from the lesson's file."""
    from .load import SOURCE_KEY

    found = []
    for cell in nb.cells:
        where = cell.get("metadata", {}).get(SOURCE_KEY)
        if isinstance(where, Mapping):
            is_code = cell.get("cell_type") == "code"
            found.append((int(where.get("line", 0)), int(where.get("cell") or 0), is_code))
    return found


def _code_cell_at(starts: Sequence[tuple[int, int, bool]], line: int) -> tuple[int, int] | None:
    """(ordinal among code cells, line offset) of the code cell holding `line`, if any."""
    found = None
    ordinal = -1
    for start, _, is_code in starts:
        if start > line:
            break
        ordinal += is_code
        found = (ordinal, line - start) if is_code else None
    return found


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
        if data.get("view") != view_key(lesson):
            shown = self._view(entry, lesson, content, warns)
            if shown is None:
                return None  # the code cells do not map: run it again
            notebook, warns = shown
        return LessonResult(
            lesson.id,
            lesson.relpath,
            Status.PASSED,
            seconds,
            cached=True,
            notebook=notebook,
            warnings=warns,
        )

    def _view(
        self, entry: Path, lesson: Lesson, content: bytes, warns: tuple[str, ...]
    ) -> tuple[Path, tuple[str, ...]] | None:
        """The entry's notebook merged with the lesson's current text (kept beside the entry as
        `view-<view key>.ipynb`, with its checksum and relocated warnings in `.json`), and its
        warnings relocated; None if the cells do not map."""
        target = entry / f"{VIEW_PREFIX}{view_key(lesson)}.ipynb"
        record = target.with_suffix(".json")
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            kept = json.loads(record.read_text(encoding="utf-8"))
            if kept["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest():
                return target, tuple(str(w) for w in kept["warnings"])
        import nbformat

        executed = nbformat.reads(content.decode("utf-8"), as_version=4)  # type: ignore[no-untyped-call]
        merged = merged_notebook(lesson, executed)
        if merged is None:
            return None
        warns = relocate_warnings(warns, lesson.relpath, executed, merged)
        data = nbformat.writes(merged, version=4).encode("utf-8")  # type: ignore[no-untyped-call]
        kept = {"sha256": hashlib.sha256(data).hexdigest(), "warnings": list(warns)}
        try:
            write_atomic(target, data, durable=False)
            write_atomic(record, json.dumps(kept).encode("utf-8"), durable=False)
            for old in entry.glob(f"{VIEW_PREFIX}*"):  # one view per entry
                if old not in (target, record):
                    old.unlink(missing_ok=True)
        except OSError as exc:
            self.on_problem(lesson.id, f"{target}: could not write the merged notebook ({exc})")
            return None
        return target, warns

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
                "view": view_key(lesson),
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
