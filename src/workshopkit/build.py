"""`workshopkit build`: check, run, assemble and export, then replace `dist/` atomically.

```
open_workshop + check_assets      exit 2 on any error, before a kernel starts
output folder checks + lock       exit 2: not writable, not a dist, inside a lesson's folder,
                                  build in progress (pid N)
run_lessons                       exit 1 if a lesson failed (dist kept unless keep_going)
export_workshop -> dist.tmp-<pid>/dist   exit 3 on disk full / write errors, naming the path
swap: dist -> dist.old-<pid>/dist, dist.tmp-<pid>/dist -> dist, remove both folders
```

Everything is written into `<name>.tmp-<pid>/<name>` beside the output folder (so on the same
file system), flushed, and renamed into place only when the whole export succeeded. Two builds
of the same output exclude each other with `.<name>.lock` beside it: an `flock` held for the
whole build (released by the kernel even if the builder is killed with -9) plus the holder's
pid for the message.

Every folder a build makes beside the output (`<name>.tmp-<pid>`, `<name>.old-<pid>`) is
created new and holds a marker, `.workshopkit-build`, written first: the kind, the output's
name, the builder's pid, process start time and boot id, and a random token. The output's own
content sits one level down, so the marker never reaches `dist/`. The next build removes a
leftover only when its marker is valid and names a build that is gone (pid dead, or alive with
another start time, or another boot), and puts `<name>.old-<pid>/<name>` back as the output if
a kill came between the two renames and there is no output. A folder merely named like a
leftover (`dist.old-20240101`, `dist.tmp-2`) is never touched nor renamed.

On KeyboardInterrupt or SIGTERM the temporary folder is removed, `dist/` is left as it was and
the exception propagates, so the CLI exits 130 or 143. Expected failures are returned as a
`BuildOutcome`, never raised; the CLI only prints it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ExitCode, WorkshopkitError
from .model import Diagnostic, LessonResult, Status, Workshop

if TYPE_CHECKING:
    from .execute import RunEvent, RunOptions
    from .export import ExportResult

__all__ = ["BuildInProgress", "BuildLock", "BuildOutcome", "build", "default_output"]

DIST = "dist"
MARKER = ".workshopkit-build"  # inside every folder a build creates beside the output
MARKER_TAG = "build-folder"


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    """What a build did; `exit_code` follows DESIGN.md §6."""

    exit_code: ExitCode
    results: tuple[LessonResult, ...] = ()
    dist: Path | None = None  # the output folder
    written: bool = False  # whether this build replaced it
    messages: tuple[str, ...] = ()  # lines for the user, in order
    diagnostics: tuple[Diagnostic, ...] = ()  # validation and asset problems (errors and warnings)
    export: ExportResult | None = field(default=None, repr=False)
    seconds: float = 0.0
    kernels_started: int = 0


class BuildInProgress(WorkshopkitError):
    """Another build holds the lock of this output folder."""

    def __init__(self, pid: int | None, lock: Path) -> None:
        self.pid = pid
        shown = f"pid {pid}" if pid else "pid unknown"
        super().__init__(f"build in progress ({shown}); lock file {lock}")


def default_output(root: Path) -> Path:
    return root / DIST


# --------------------------------------------------------------------------------------------
# Lock


def _process_start(pid: int) -> str:
    """The process's start time in clock ticks (from /proc), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19] if ")" in stat else ""


def pid_alive(pid: int, start: str = "") -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not (start and _process_start(pid) and _process_start(pid) != start)


class BuildLock:
    """`.<name>.lock` beside the output folder: an exclusive lock plus the holder's pid."""

    def __init__(self, output: Path) -> None:
        self.path = output.parent / f".{output.name}.lock"
        self._fd: int | None = None
        self.stale_pid: int | None = None  # a previous holder that died without cleaning up

    @staticmethod
    def _parse(text: str) -> tuple[int | None, str]:
        parts = text.split()
        try:
            return int(parts[0]), parts[1] if len(parts) > 1 else ""
        except (IndexError, ValueError):
            return None, ""

    def _read(self, fd: int) -> tuple[int | None, str]:
        os.lseek(fd, 0, os.SEEK_SET)
        return self._parse(os.read(fd, 200).decode("ascii", "replace"))

    def acquire(self) -> None:
        """Take the lock or raise `BuildInProgress`; `OSError` if the folder is not writable."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            self._acquire_exclusive_create()
            return
        for _ in range(5):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid, _ = self._read(fd)
                os.close(fd)
                raise BuildInProgress(pid, self.path) from None
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.fstat(fd).st_ino == self.path.stat().st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the holder removed the file as we opened it: try again
                os.close(fd)
                continue
            pid, _ = self._read(fd)
            if pid is not None and pid != os.getpid():
                self.stale_pid = pid
            self._write_pid(fd)
            self._fd = fd
            return
        raise BuildInProgress(None, self.path)

    def _write_pid(self, fd: int) -> None:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()} {_process_start(os.getpid())}\n".encode("ascii"))
        with contextlib.suppress(OSError):
            os.fsync(fd)

    def _acquire_exclusive_create(self) -> None:  # pragma: no cover - Windows
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                pid, start = self._parse(self.path.read_text(errors="replace"))
                if pid is not None and pid_alive(pid, start):
                    raise BuildInProgress(pid, self.path) from None
                self.stale_pid = pid
                self.path.unlink(missing_ok=True)
                continue
            self._write_pid(fd)
            self._fd = fd
            return
        raise BuildInProgress(None, self.path)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()  # while still holding it: a waiting build re-checks the inode
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> BuildLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# --------------------------------------------------------------------------------------------
# Output folder


def _temp_name(output: Path, kind: str, pid: int) -> Path:
    return output.parent / f"{output.name}.{kind}-{pid}"


def _leftovers(output: Path, kind: str) -> list[Path]:
    """Folders named like this output's leftovers (a name alone proves nothing: see `_owned`)."""
    prefix = f"{output.name}.{kind}-"
    try:
        found = [p for p in output.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return []
    return sorted(p for p in found if p.name[len(prefix) :].isdigit())


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return ""


def _make_owned(path: Path, kind: str, output: Path) -> Path:
    """Create the folder `path` (it must not exist) with a marker proving this build made it:
    the tool, kind and output, this process's pid, start time and boot, and a random token."""
    path.mkdir()
    record = {
        "workshopkit": MARKER_TAG,
        "kind": kind,
        "output": output.name,
        "pid": os.getpid(),
        "start": _process_start(os.getpid()),
        "boot": _boot_id(),
        "token": secrets.token_hex(16),
    }
    fd = os.open(path / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        json.dump(record, fh)
        fh.flush()
        with contextlib.suppress(OSError):
            os.fsync(fh.fileno())
    return path


def _owned(path: Path, kind: str, output: Path) -> dict[str, Any] | None:
    """The marker of a folder this tool made as `kind` for `output`, or None: the folder must be a
    real folder (not a link) holding a regular marker file that names this kind, this output and
    the pid in the folder's name, with a token, a start time and a boot id."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return None
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path / MARKER, flags)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = json.loads(os.read(fd, 4096).decode("ascii"))
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    if not isinstance(data, dict):
        return None
    pid = data.get("pid")
    token = data.get("token")
    suffix = path.name.rsplit("-", 1)[-1]
    valid = (
        data.get("workshopkit") == MARKER_TAG
        and data.get("kind") == kind
        and data.get("output") == output.name
        and isinstance(pid, int)
        and not isinstance(pid, bool)
        and str(pid) == suffix
        and isinstance(token, str)
        and len(token) == 32
        and all(c in "0123456789abcdef" for c in token)
        and isinstance(data.get("start"), str)
        and isinstance(data.get("boot"), str)
    )
    return data if valid else None


def _build_gone(record: dict[str, Any]) -> bool:
    """Whether the build that wrote `record` has ended (called with the output's lock held)."""
    pid, start, boot = record["pid"], record["start"], record["boot"]
    if boot and _boot_id() and boot != _boot_id():
        return True  # the machine restarted since
    if pid == os.getpid() and start == _process_start(pid):
        return True  # an earlier build of this process; we hold the lock, so none runs now
    return not pid_alive(pid, start)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def clean_leftovers(output: Path) -> list[str]:
    """Remove what killed builds left (call with the lock held); returns what was done.

    Only folders that carry this tool's marker, written by a build that is gone, are touched: a
    folder merely named like a leftover (`dist.old-20240101`) is never removed nor renamed.
    """
    notes: list[str] = []
    for old in _leftovers(output, "old"):
        record = _owned(old, "old", output)
        if record is None or not _build_gone(record):
            continue
        previous = old / output.name
        if not os.path.lexists(output) and _real_dir(previous):
            previous.rename(output)
            shutil.rmtree(old)
            notes.append(
                f"restored {output} from {old.name}, left by a build killed while swapping"
            )
            continue
        shutil.rmtree(old)
        notes.append(f"removed {old.name}, left by an interrupted build")
    for tmp in _leftovers(output, "tmp"):
        record = _owned(tmp, "tmp", output)
        if record is None or not _build_gone(record):
            continue
        shutil.rmtree(tmp)
        notes.append(f"removed {tmp.name}, left by an interrupted build")
    return notes


def _real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _name_taken(output: Path) -> str | None:
    """Why this build's own temporary names beside `output` cannot be used, or None."""
    for kind in ("tmp", "old"):
        path = _temp_name(output, kind, os.getpid())
        if os.path.lexists(path):
            return (
                f"{path} exists and was not made by workshopkit (it has no valid marker); "
                "move it away, then build again"
            )
    return None


def _absolute(path: Path) -> Path:
    """`path` made absolute with its parent's symlinks resolved (the last part is kept, so a
    symlinked output folder is still seen as one)."""
    path = Path(os.path.normpath(path.expanduser().absolute()))
    return path.parent.resolve() / path.name


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def output_problem(output: Path, root: Path, lesson_paths: list[Path]) -> str | None:
    """Why `output` must not be replaced by a build, or None."""
    if _is_within(root, output):
        return f"output folder {output} holds the workshop itself; choose another -o"
    if any(_is_within(p, output) for p in lesson_paths):
        return f"output folder {output} holds lessons; choose another -o"
    for lesson in sorted(lesson_paths):
        if _is_within(output, lesson.parent) and _seen_by_lessons(output, lesson.parent):
            return (
                f"output folder {output} is inside the folder of lesson {lesson}: the lessons "
                "there would run with, hash and ship the previous output (never cached, bigger "
                "each build); choose an -o outside lesson folders"
            )
    if output.is_symlink() or (output.exists() and not output.is_dir()):
        return f"output {output} exists and is not a folder"
    if output.is_dir():
        try:
            entries = [p.name for p in output.iterdir()]
        except OSError as exc:
            return f"cannot read output folder {output}: {exc.strerror}"
        if entries and not _is_dist(output):
            return (
                f"refusing to replace {output}: it is not empty and holds no workshopkit "
                "report.json; remove it or choose another -o"
            )
    return None


def _seen_by_lessons(output: Path, folder: Path) -> bool:
    """Whether `output` (inside the lesson folder `folder`), or the leftovers a build puts beside
    it, would be among the lesson's files (`lessonfiles.list_folder`)."""
    from .lessonfiles import ignored_folder

    parts = output.relative_to(folder).parts
    if not parts:
        return True
    if not ignored_folder(parts[0]):
        return True
    return len(parts) == 1 and not ignored_folder(f"{parts[0]}.tmp-0")


def _is_dist(folder: Path) -> bool:
    try:
        data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and str(data.get("generator", "")).startswith("workshopkit")


def source_date_epoch(environ: dict[str, str] | None = None) -> int | None:
    """`SOURCE_DATE_EPOCH` as an int, None when unset; ValueError when it is not an integer."""
    value = (environ if environ is not None else os.environ).get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValueError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, not {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------------
# Signals


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into SystemExit(143) while building, unless someone already handles it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    current = signal.getsignal(signal.SIGTERM)
    if current is not signal.SIG_DFL:
        yield
        return

    def terminated(signum: int, frame: Any) -> None:
        raise SystemExit(int(ExitCode.TERMINATED))

    signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, current)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the two renames of the swap, then deliver them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, frame: caught.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)


def swap_into_place(tmp: Path, output: Path) -> list[str]:
    """Replace `output` by `tmp/<output name>` (`tmp` made by `_make_owned` beside it); returns
    notes. The previous output moves into `<output>.old-<pid>/` (made the same way) and is
    removed last, with `tmp`, which then holds only its marker."""
    from .export._io import fsync_dir

    staged = tmp / output.name
    old = _temp_name(output, "old", os.getpid())
    notes: list[str] = []
    had_old = os.path.lexists(output)
    if had_old:
        _make_owned(old, "old", output)
    with _signals_deferred():
        if had_old:
            output.rename(old / output.name)
        try:
            staged.rename(output)
        except BaseException:
            if had_old and not os.path.lexists(output):
                (old / output.name).rename(output)
            raise
        fsync_dir(output.parent)
    for folder, what in ((old, "the previous output"), (tmp, "the temporary folder")):
        if folder == old and not had_old:
            continue
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            notes.append(f"could not remove {what} {folder}: {exc.strerror}")
    return notes


# --------------------------------------------------------------------------------------------
# The build


def _diagnostic_lines(diagnostics: tuple[Diagnostic, ...]) -> tuple[str, ...]:
    return tuple(str(d) for d in diagnostics)


def build(
    path: Path,
    out: Path | None = None,
    options: RunOptions | None = None,
    *,
    keep_going: bool = False,
    on_event: Callable[[RunEvent], None] | None = None,
) -> BuildOutcome:
    """Build the workshop at or above `path` into `out` (default `<root>/dist`)."""
    from .pipeline import open_workshop

    started = time.monotonic()
    opened = open_workshop(path, strict=bool(options and options.strict))
    if opened.workshop is None:
        return BuildOutcome(
            ExitCode.INVALID,
            diagnostics=opened.diagnostics,
            messages=(f"{len(opened.errors)} error(s): nothing was run or written",),
        )
    workshop = opened.workshop
    diagnostics = opened.diagnostics

    def invalid(message: str, output: Path | None = None) -> BuildOutcome:
        return BuildOutcome(
            ExitCode.INVALID, dist=output, diagnostics=diagnostics, messages=(f"error: {message}",)
        )

    try:
        epoch = source_date_epoch()
    except ValueError as exc:
        return invalid(str(exc))
    output = _absolute(out if out is not None else default_output(workshop.root))
    problem = output_problem(output, workshop.root, [lesson.path for lesson in workshop.lessons])
    if problem:
        return invalid(problem, output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return invalid(f"cannot create {output.parent}: {exc.strerror}", output)
    if output.is_dir() and not os.access(output, os.W_OK | os.X_OK):
        return invalid(f"output folder {output} is not writable; nothing was run", output)

    lock = BuildLock(output)
    try:
        lock.acquire()
    except BuildInProgress as exc:
        return invalid(str(exc), output)
    except OSError as exc:
        return invalid(
            f"output folder {output.parent} is not writable ({exc.strerror}); nothing was run",
            output,
        )
    notes: list[str] = []
    try:
        if lock.stale_pid is not None:
            notes.append(f"a previous build (pid {lock.stale_pid}) did not finish; cleaning up")
        try:
            notes += clean_leftovers(output)
        except OSError as exc:
            return invalid(f"cannot clean up after an interrupted build: {exc}", output)
        taken = _name_taken(output)
        if taken:
            return invalid(taken, output)
        with _sigterm_raises():
            return _run_and_export(
                workshop, output, options, keep_going, on_event, epoch, diagnostics, notes, started
            )
    finally:
        lock.release()


def _run_and_export(
    workshop: Workshop,
    output: Path,
    options: RunOptions | None,
    keep_going: bool,
    on_event: Callable[[RunEvent], None] | None,
    epoch: int | None,
    diagnostics: tuple[Diagnostic, ...],
    notes: list[str],
    started: float,
) -> BuildOutcome:
    from .errors import ValidationFailed
    from .execute import RunOptions, run_lessons
    from .export import ExportError, export_workshop

    def outcome(code: ExitCode, *lines: str, **kw: Any) -> BuildOutcome:
        return BuildOutcome(
            code,
            results=results,
            dist=output,
            diagnostics=diagnostics,
            messages=(*notes, *lines),
            seconds=time.monotonic() - started,
            kernels_started=kernels,
            **kw,
        )

    results: tuple[LessonResult, ...] = ()
    kernels = 0
    try:
        report = run_lessons(workshop, workshop.lessons, options or RunOptions(), on_event)
    except WorkshopkitError as exc:
        return outcome(exc.exit_code, f"error: {exc}", "nothing was written")
    results = report.results
    kernels = report.kernels_started
    code = ExitCode(int(report.exit_code))
    rule_errors = _deck_rules(workshop, results)
    if rule_errors:
        diagnostics = tuple(sorted(set(diagnostics) | set(rule_errors)))
        code = max(code, ExitCode.LESSON_FAILED)
    failed = [r for r in results if r.status is Status.FAILED]
    if code is ExitCode.INFRASTRUCTURE:
        return outcome(code, f"{output} left as it was: lessons could not be run")
    if code is not ExitCode.OK and not keep_going:
        what = f"{len(failed)} lesson(s) failed" if failed else "event rules were broken"
        return outcome(code, f"{output} left as it was: {what} (--keep-going writes it anyway)")

    tmp = _temp_name(output, "tmp", os.getpid())
    created = swapped = False
    try:
        _make_owned(tmp, "tmp", output)  # fails if the name is taken: never someone else's
        created = True
        (tmp / output.name).mkdir()
        exported = export_workshop(workshop, results, tmp / output.name, source_date_epoch=epoch)
        notes += swap_into_place(tmp, output)
        swapped = True
    except ExportError as exc:
        return outcome(ExitCode.INFRASTRUCTURE, f"error: {exc}", f"{output} left as it was")
    except ValidationFailed as exc:
        diagnostics = tuple(sorted(set(diagnostics) | set(exc.diagnostics)))
        return outcome(ExitCode.INVALID, f"error: {exc}", f"{output} left as it was")
    except WorkshopkitError as exc:
        return outcome(exc.exit_code, f"error: {exc}", f"{output} left as it was")
    except OSError as exc:
        where = exc.filename or tmp
        reason = "no space left on device" if exc.errno == errno.ENOSPC else exc.strerror
        return outcome(
            ExitCode.INFRASTRUCTURE, f"error: {where}: {reason}", f"{output} left as it was"
        )
    finally:
        if created and not swapped:
            with contextlib.suppress(OSError):
                _remove(tmp)
    left = f", {len(exported.left_out)} failed lesson(s) marked and left out" if failed else ""
    summary = (
        f"wrote {output} ({len(exported.exported)} lessons, {len(exported.bundles)} "
        f"bundle{'s' * (len(exported.bundles) != 1)}{left})"
    )
    diagnostics = tuple(sorted(set(diagnostics) | set(exported.diagnostics)))
    return outcome(code, summary, written=True, export=exported)


def _deck_rules(workshop: Workshop, results: tuple[LessonResult, ...]) -> list[Diagnostic]:
    """Event rules that need the executed notebooks (lightning slide limits, code shown)."""
    try:
        from .events import check_decks
    except ImportError:  # pragma: no cover - events are optional
        return []
    return [d for d in check_decks(workshop, results) if d.is_error]


if __name__ == "__main__":  # pragma: no cover - manual use: python -m workshopkit.build PATH
    result = build(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
    for line in (*_diagnostic_lines(result.diagnostics), *result.messages):
        print(line, file=sys.stderr)
    sys.exit(int(result.exit_code))
