"""Stage 4: execute lessons with papermill, several at once, each in a scratch copy of its folder.

Nothing here raises for a fault inside a lesson: every lesson ends as a `LessonResult`. Kernels
run in worker threads of this one process (so jupyter_client's port cache prevents port races),
start in their scratch folder through nbclient's `resources.metadata.path` (papermill's `cwd=` is
a process-wide `os.chdir`), and are killed with their whole process group when a lesson ends,
times out or the run is interrupted.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import ExitCode, InfrastructureError
from .model import (
    TAG_RAISES,
    TAG_SKIP,
    Lesson,
    LessonError,
    LessonResult,
    Status,
    Workshop,
    cell_tags,
)
from .notebookchecks import missing_error_warnings
from .strict import strict_results

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from .cache import Cache
    from .engine import KernelWatch

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
CELL_LINE = re.compile(r"Cell In\[(\d+)\], line (\d+)")
SHELL_ESCAPE = re.compile(r"^\s*!(?!=)\S")
SCRIPT_FALSE = re.compile(r"^\s*%%script\s+false\b")
TRACEBACK_LINES = 30
DEFAULT_KERNEL = "python3"
ENGINE_NAME = "workshopkit"
KERNEL_TAG = "WORKSHOPKIT_KERNEL"  # in each kernel's environment, inherited by its children


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What `workshopkit run` was asked; None means "as workshop.toml says"."""

    jobs: int | None = None
    timeout: int | None = None
    lesson_timeout: int | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    kernel: str | None = None
    use_cache: bool = True
    require_gpu: bool = False
    output_limit: int = 1 << 20
    start_timeout: int = 60
    strict: bool = False  # every lesson warning fails the lesson (strict.py)


@dataclass(frozen=True, slots=True)
class RunEvent:
    kind: Literal["start", "done"]
    lesson: Lesson
    result: LessonResult | None = None


@dataclass(frozen=True, slots=True)
class RunReport:
    results: tuple[LessonResult, ...]
    kernels_started: int
    seconds: float
    rule_errors: tuple[str, ...] = ()  # event rules broken by what the lessons' decks show

    @property
    def exit_code(self) -> ExitCode:
        if any(r.error is not None and r.error.kind == "infrastructure" for r in self.results):
            return ExitCode.INFRASTRUCTURE
        if self.rule_errors or any(r.status is Status.FAILED for r in self.results):
            return ExitCode.LESSON_FAILED
        return ExitCode.OK


@dataclass(frozen=True, slots=True)
class LessonPlan:
    """Everything needed to run one lesson, resolved from the lesson, config and options."""

    lesson: Lesson
    kernel: str
    timeout: int
    lesson_timeout: int
    parameters: Mapping[str, Any]
    output_limit: int
    start_timeout: int
    env: tuple[tuple[str, str | None], ...] = ()  # `[execution] env`: name, value (None: unset)


def kernel_environment() -> dict[str, str]:
    """The environment kernels start with: this process's, minus what would change how a lesson
    behaves. Under `pytest --lessons`, PYTEST_CURRENT_TEST would make ipykernel stop capturing
    file-descriptor output, so a subprocess's prints would bypass the notebook (and the cap)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def gpu_available() -> bool:
    """Whether a GPU is visible: `WORKSHOPKIT_GPU=0/1` decides, else an NVIDIA or DXG device."""
    forced = os.environ.get("WORKSHOPKIT_GPU")
    if forced is not None:
        return forced.strip().lower() in {"1", "true", "yes"}
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in {"", "-1"}:
        return False
    return any(Path(p).exists() for p in ("/dev/nvidia0", "/dev/dxg", "/dev/kfd"))


def available_kernels() -> dict[str, str]:
    from jupyter_client.kernelspec import KernelSpecManager

    return {name: str(path) for name, path in KernelSpecManager().find_kernel_specs().items()}


def plan_lessons(
    workshop: Workshop, lessons: Sequence[Lesson], options: RunOptions
) -> list[LessonPlan]:
    """Resolve kernels, timeouts and parameters; raise InfrastructureError for unknown kernels."""
    cfg = workshop.config.execution
    parameters = {**cfg.parameters, **options.parameters}
    plans = [
        LessonPlan(
            lesson=lesson,
            kernel=options.kernel or cfg.kernel or lesson.kernel or DEFAULT_KERNEL,
            timeout=options.timeout or cfg.timeout,
            lesson_timeout=options.lesson_timeout or cfg.lesson_timeout,
            parameters=parameters,
            output_limit=options.output_limit,
            start_timeout=options.start_timeout,
            env=tuple((name, os.environ.get(name)) for name in cfg.env),
        )
        for lesson in lessons
    ]
    needed = {plan.kernel for plan in plans}
    if needed:
        known = available_kernels()
        missing = sorted(needed - set(known))
        if missing:
            raise _no_such_kernel(workshop, plans, missing, known, options)
    return plans


def _no_such_kernel(
    workshop: Workshop,
    plans: Sequence[LessonPlan],
    missing: Sequence[str],
    known: Mapping[str, str],
    options: RunOptions,
) -> InfrastructureError:
    """Where the unknown kernel was asked for: --kernel, workshop.toml or a lesson header."""
    available = (
        f"available: {', '.join(sorted(known)) or 'none'}; install one with "
        "`python -m ipykernel install --user --name NAME`"
    )
    names = ", ".join(repr(m) for m in missing)
    if options.kernel:
        return InfrastructureError(f"no such kernel {names} (--kernel); {available}")
    if workshop.config.execution.kernel:
        return InfrastructureError(
            f"no such kernel {names} ([execution] kernel); {available}",
            path=workshop.config.relpath,
            line=workshop.config.line_of("execution.kernel"),
        )
    users = [p.lesson for p in plans if p.kernel in missing]
    first = users[0]
    line = next(
        (n for n, text in enumerate(first.text.split("\n"), 1) if "kernelspec" in text),
        first.line_of(""),
    )
    others = (
        f" (and {len(users) - 1} more lesson{'s' * (len(users) > 2)})" if len(users) > 1 else ""
    )
    return InfrastructureError(
        f"no such kernel {names} in the lesson's kernelspec{others}; {available}",
        path=first.relpath,
        line=line,
    )


class KernelRegistry:
    """Every live kernel of this run, so an interrupt can kill them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: set[KernelWatch] = set()
        self.started = 0
        self.cancelled = threading.Event()

    def add(self, watch: KernelWatch) -> None:
        with self._lock:
            self._watches.add(watch)
            self.started += 1
        if self.cancelled.is_set():
            kill_kernel(watch)

    def remove(self, watch: KernelWatch) -> None:
        with self._lock:
            self._watches.discard(watch)

    def kill_all(self) -> None:
        self.cancelled.set()
        with self._lock:
            watches = list(self._watches)
        for watch in watches:
            kill_kernel(watch)


def kill_kernel(watch: KernelWatch) -> None:
    """Kill a kernel, its process group (the kernel starts its own session) and every process
    that carries its tag in its environment (children that started sessions of their own,
    daemons), then reap it."""
    process = watch.process
    if process is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        process.kill()
    if watch.tag:
        for pid in _tagged_processes(watch.tag):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        process.wait(timeout=5)


def _tagged_processes(tag: str) -> list[int]:
    """Processes whose environment holds `KERNEL_TAG=tag` (Linux /proc; elsewhere none)."""
    needle = f"{KERNEL_TAG}={tag}".encode()
    found: list[int] = []
    try:
        entries = os.scandir("/proc")
    except OSError:
        return found
    me = os.getpid()
    with entries:
        for entry in entries:
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            try:
                environ = Path(entry.path, "environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                found.append(int(entry.name))
    return found


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def short_traceback(lines: Sequence[str]) -> str:
    text = strip_ansi("\n".join(lines)).strip("\n")
    parts = text.split("\n")
    if len(parts) > TRACEBACK_LINES:
        parts = ["...", *parts[-TRACEBACK_LINES:]]
    return "\n".join(parts)


def _source_of(cell: NotebookNode) -> tuple[int, int | None]:
    from .load import SOURCE_KEY

    where = cell.get("metadata", {}).get(SOURCE_KEY, {})
    return int(where.get("line", 0)), where.get("cell")


def _traceback_offset(traceback: str, exec_count: int | None) -> int:
    """Line offset inside the failing cell, from its `Cell In[n], line L` traceback frame."""
    found = [(int(count), int(line)) for count, line in CELL_LINE.findall(traceback)]
    if not found:
        return 0
    for count, line in found:
        if count == exec_count:
            return max(0, line - 1)
    return max(0, found[0][1] - 1)


def _locate(
    lesson: Lesson, nb: NotebookNode | None, index: int | None, traceback: str = ""
) -> tuple[int, int | None]:
    """The `.py` line and 1-based cell number of executed-notebook cell `index`."""
    if nb is None or index is None or not 0 <= index < len(nb.cells):
        return lesson.line_of(""), None
    line, number = _source_of(nb.cells[index])
    if not line:  # papermill's injected-parameters cell: point at the parameters cell
        for cell in nb.cells[:index][::-1]:
            line, number = _source_of(cell)
            if line:
                break
        return line or lesson.line_of(""), number
    return line + _traceback_offset(traceback, nb.cells[index].get("execution_count")), number


def _first_failed_cell(nb: NotebookNode | None) -> int | None:
    if nb is None:
        return None
    for index, cell in enumerate(nb.cells):
        papermill = cell.get("metadata", {}).get("papermill", {})
        if papermill.get("exception") or papermill.get("status") == "failed":
            return index
    for index, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", [])
        if TAG_RAISES not in cell_tags(cell) and any(
            o.get("output_type") == "error" for o in outputs
        ):
            return index
    return None


def _not_executed(nb: NotebookNode) -> list[int]:
    """Indexes of code cells that should have run but did not."""
    missing = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code" or not cell.get("source", "").strip():
            continue
        if TAG_SKIP in cell_tags(cell):
            continue
        if cell.get("execution_count") is None:
            missing.append(index)
    return missing


def _ranges(numbers: Sequence[int]) -> str:
    out: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out)


def _exit_description(watch: KernelWatch) -> str:
    process = watch.process
    code = None
    if process is not None:
        # nbclient notices a dead kernel from its heartbeat; the exit status may lag a little.
        with contextlib.suppress(Exception):
            code = process.wait(timeout=2)
    if code is None:
        return "kernel died"
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hint = ", likely out of memory" if sig == signal.SIGKILL else ""
        return f"kernel died: signal {sig} ({name}){hint}"
    if code in (137, 128 + 9):
        return f"kernel died: exit code {code} (signal 9), likely out of memory"
    return f"kernel died: exit code {code}"


STDERR_NOISE = (
    "unencrypted",
    "without encryption",
    "KeyboardInterrupt caught in kernel",
    "To connect another client",
)


def _stderr_tail(path: Path | None, lines: int = 15) -> str:
    if path is None or not path.exists():
        return ""
    with path.open("rb") as fh:  # the tail only: a kernel may write a lot to stderr
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 64 * 1024))
        text = strip_ansi(fh.read().decode("utf-8", errors="replace"))
    kept = [ln for ln in text.splitlines() if ln.strip() and not any(n in ln for n in STDERR_NOISE)]
    return "\n".join(kept[-lines:])


def _kernel_argv(kernel: str) -> str:
    """The kernelspec's command line, for start-up failures."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        spec = KernelSpecManager().get_kernel_spec(kernel)
        return " ".join(str(a) for a in spec.argv)
    except Exception:  # best effort, for a message
        return "?"


def prepare_scratch(lesson: Lesson, root: Path) -> Path:
    """A temporary copy of the lesson's folder (so lessons that write files leave sources clean).

    It holds what `lessonfiles.list_folder` lists, as real copies: a symlinked file or folder
    becomes a copy of its target, so writing to it never reaches the sources. What is left out
    (named pipes, broken links...) was reported by `check_assets` before the run.
    """
    from .lessonfiles import copy_listing, list_folder

    scratch = Path(tempfile.mkdtemp(prefix=f"workshopkit-{lesson.id}-"))
    work = scratch / "work"
    try:
        copy_listing(list_folder(lesson.folder, root), work)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return work


def _static_warnings(lesson: Lesson, nb: NotebookNode) -> list[str]:
    """Cells that run but can hide a failure: `!cmd` (exit status unchecked), `%%script false`."""
    found: list[str] = []
    for cell in nb.cells:
        line, number = _source_of(cell)
        if cell.get("cell_type") != "code" or not line or TAG_SKIP in cell_tags(cell):
            continue
        source = cell.get("source", "")
        if SCRIPT_FALSE.match(source):
            found.append(
                f"{lesson.relpath}:{line} (cell {number}): cell not executed by its magic "
                f"({source.splitlines()[0].strip()}): counted as skipped"
            )
            continue
        for offset, text in enumerate(source.split("\n")):
            if SHELL_ESCAPE.match(text):
                found.append(
                    f"{lesson.relpath}:{line + offset} (cell {number}): shell command "
                    f"{text.strip()!r}: its exit status is not checked, a failure goes unnoticed "
                    "(use subprocess.run(..., check=True))"
                )
    return found


class _Clock:
    """A lesson's own time: from its start, less the time its kernel waited for a free job.

    Entered (as the kernel watch's gate) when the lesson's cells start; the lesson timeout
    starts then too, so a lesson waiting behind long ones is never killed for their time.
    """

    def __init__(self, gate: Any, timeout: float, on_timeout: Callable[[], None]) -> None:
        self.gate = gate
        self.started = time.monotonic()
        self.waited = 0.0
        self.timer = threading.Timer(timeout, on_timeout)
        self.timer.daemon = True

    def seconds(self) -> float:
        return time.monotonic() - self.started - self.waited

    def __enter__(self) -> _Clock:
        begun = time.monotonic()
        if self.gate is not None:
            self.gate.acquire()
        self.waited += time.monotonic() - begun
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.gate is not None:
            self.gate.release()

    def cancel(self) -> None:
        self.timer.cancel()


def execute_lesson(
    plan: LessonPlan, registry: KernelRegistry, root: Path, gate: Any = None
) -> LessonResult:
    """Run one lesson through papermill. Returns a result for every outcome; never raises.

    `gate` (a semaphore) bounds how many lessons execute cells at once.
    """
    lesson = plan.lesson
    started = time.monotonic()
    try:
        return _execute_lesson(plan, registry, root, gate)
    except Exception as exc:  # a bug or an OS fault must not stop other lessons
        kind = "infrastructure" if isinstance(exc, OSError) else "error"
        error = LessonError(
            lesson.relpath,
            lesson.line_of(""),
            None,
            type(exc).__name__,
            f"could not execute the lesson: {exc}",
            "",
            kind,
        )
        return LessonResult(
            lesson.id, lesson.relpath, Status.FAILED, time.monotonic() - started, error
        )


def _execute_lesson(
    plan: LessonPlan, registry: KernelRegistry, root: Path, gate: Any
) -> LessonResult:
    import nbformat
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    from .engine import KernelWatch, restore_expected_errors
    from .load import to_notebook

    lesson = plan.lesson
    timed_out = threading.Event()
    tag = uuid.uuid4().hex
    watch = KernelWatch(env={**kernel_environment(), KERNEL_TAG: tag})
    watch.tag = tag

    def lesson_timeout() -> None:
        timed_out.set()
        kill_kernel(watch)

    clock = _Clock(gate, plan.lesson_timeout, lesson_timeout)

    def failed(
        kind: str, line: int, cell: int | None, ename: str, evalue: str, tb: str = ""
    ) -> LessonResult:
        error = LessonError(lesson.relpath, line, cell, ename, evalue, tb, kind)
        return LessonResult(lesson.id, lesson.relpath, Status.FAILED, clock.seconds(), error)

    try:
        nb = to_notebook(lesson)
    except Exception as exc:  # a lesson jupytext cannot read is the lesson's fault
        return failed("error", lesson.line_of(""), None, type(exc).__name__, str(exc))
    if registry.cancelled.is_set():
        return failed("error", lesson.line_of(""), None, "Interrupted", "the run was interrupted")
    work = prepare_scratch(lesson, root)
    scratch = work.parent
    stderr_path = scratch / "kernel-stderr.log"
    with stderr_path.open("wb") as stderr:
        watch.stderr = stderr
        watch.startup_dir = scratch
        watch.on_start = registry.add
        watch.may_retry = lambda: not (registry.cancelled.is_set() or timed_out.is_set())
        watch.gate = clock

        def where() -> tuple[int, int | None, str]:
            """Line and cell running now, and for how long (timeouts and dead kernels)."""
            line, number = _locate(lesson, watch.notebook, watch.cell_index)
            ran = ""
            if watch.cell_started is not None:
                ran = f"{time.monotonic() - watch.cell_started:.1f} s"
            return line, number, ran

        result: LessonResult
        try:
            executed = papermill.execute_notebook(
                nb,
                None,
                parameters=dict(plan.parameters),
                engine_name=ENGINE_NAME,
                kernel_name=plan.kernel,
                progress_bar=False,
                start_timeout=plan.start_timeout,
                execution_timeout=plan.timeout,
                resources={"metadata": {"path": str(work)}},
                watch=watch,
                output_limit=plan.output_limit,
            )
            restore_expected_errors(executed)
            if timed_out.is_set():  # killed after its last cell: still over its time
                line, number, ran = where()
                result = failed(
                    "timeout",
                    line,
                    number,
                    "LessonTimeout",
                    f"lesson timed out after {plan.lesson_timeout} s (lesson_timeout)",
                )
            else:
                result = _judge(lesson, executed, clock.seconds(), watch)
            if result.status is Status.PASSED:
                out = scratch / "executed.ipynb"
                nbformat.write(executed, str(out))  # type: ignore[no-untyped-call]
                result = replace(result, notebook=out)
        except PapermillExecutionError as exc:
            nb_run = watch.notebook
            index = _first_failed_cell(nb_run)
            if index is None:
                index = exc.cell_index
            tb = short_traceback(exc.traceback)
            line, number = _locate(lesson, nb_run, index, tb)
            evalue = strip_ansi(str(exc.evalue))
            if exc.ename == "StdinNotImplementedError":
                evalue += (
                    " (lessons must not prompt for input: input() and getpass() cannot be answered)"
                )
            result = failed("error", line, number, exc.ename, evalue, tb)
        except CellTimeoutError as exc:
            line, number, ran = where()
            if "IOPub" in str(exc):
                result = failed(
                    "timeout",
                    line,
                    number,
                    "IOPubTimeout",
                    "the cell finished but its output did not all arrive (IOPub timeout): "
                    "output may be incomplete; print less, or less often",
                )
            else:
                result = failed(
                    "timeout",
                    line,
                    number,
                    "CellTimeoutError",
                    f"cell timed out after {ran or f'{plan.timeout} s'} "
                    f"(limit {plan.timeout} s: --timeout / [execution] timeout); kernel stopped",
                )
        except DeadKernelError:
            line, number, ran = where()
            if timed_out.is_set():
                in_cell = f", in a cell running for {ran}" if ran else ""
                result = failed(
                    "timeout",
                    line,
                    number,
                    "LessonTimeout",
                    f"lesson timed out after {plan.lesson_timeout} s (limit: --lesson-timeout / "
                    f"[execution] lesson_timeout){in_cell}; kernel killed",
                )
            elif registry.cancelled.is_set():
                result = failed("error", line, number, "Interrupted", "the run was interrupted")
            else:
                stderr.flush()
                tail = _stderr_tail(stderr_path)
                result = failed(
                    "kernel-died",
                    line,
                    number,
                    "DeadKernelError",
                    _exit_description(watch),
                    tail,
                )
        except Exception as exc:  # kernel start-up and other infrastructure faults
            stderr.flush()
            tail = _stderr_tail(stderr_path)
            message = strip_ansi(str(exc))
            if timed_out.is_set():
                result = failed(
                    "timeout",
                    lesson.line_of(""),
                    None,
                    "LessonTimeout",
                    f"lesson timed out after {plan.lesson_timeout} s (lesson_timeout)",
                )
            elif registry.cancelled.is_set():
                result = failed(
                    "error", lesson.line_of(""), None, "Interrupted", "the run was interrupted"
                )
            elif watch.stage == "starting":  # the kernel would not start
                argv = _kernel_argv(plan.kernel)
                result = failed(
                    "infrastructure",
                    lesson.line_of(""),
                    None,
                    type(exc).__name__,
                    f"kernel '{plan.kernel}' would not start: {message} (argv: {argv})",
                    tail,
                )
            else:
                line, number, _ = where()
                result = failed("error", line, number, type(exc).__name__, message, tail)
        finally:
            clock.cancel()
            kill_kernel(watch)
            registry.remove(watch)
    if watch.startup_failures:
        retried = "; ".join(dict.fromkeys(watch.startup_failures))
        note = (
            f"{lesson.relpath}: kernel start-up failed {len(watch.startup_failures)} time(s) "
            f"({retried}); {'passed on retry' if result.ok else 'retried'}"
        )
        result = replace(result, warnings=(note, *result.warnings))
    if result.notebook is None:
        shutil.rmtree(scratch, ignore_errors=True)
    else:
        shutil.rmtree(work, ignore_errors=True)
        stderr_path.unlink(missing_ok=True)
    return result


def _judge(lesson: Lesson, nb: NotebookNode, seconds: float, watch: KernelWatch) -> LessonResult:
    """A run that raised nothing can still have failed: cells that never ran (sys.exit part-way)."""
    warnings = [
        f"{lesson.relpath}:{_locate(lesson, nb, index)[0]}: output truncated at "
        f"{watch.output_limit} bytes" + (f" ({dropped} bytes dropped)" if dropped else "")
        for index, dropped in sorted(watch.truncated.items())
    ]
    warnings += _static_warnings(lesson, nb)
    warnings += missing_error_warnings(lesson.relpath, nb)
    missing = _not_executed(nb)
    if missing:
        numbers = [_source_of(nb.cells[i])[1] or i + 1 for i in missing]
        before = [i for i in range(missing[0]) if nb.cells[i].get("cell_type") == "code"]
        line = _source_of(nb.cells[missing[0]])[0] or lesson.line_of("")
        number = numbers[0]
        reason = "the kernel stopped executing"
        if before:
            last = nb.cells[before[-1]]
            last_line, last_number = _source_of(last)
            exits = [
                o
                for o in last.get("outputs", [])
                if o.get("output_type") == "error" and o.get("ename") == "SystemExit"
            ]
            if exits:
                reason = f"SystemExit in cell {last_number}"
                source = last.get("source", "").split("\n")
                offset = next((i for i, text in enumerate(source) if "exit" in text), 0)
                line = (last_line + offset) if last_line else line
                number = last_number or number
            else:
                reason = f"execution stopped after cell {last_number}"
        message = f"cells {_ranges(numbers)} not executed ({reason})"
        if len(numbers) == 1:
            message = f"cell {numbers[0]} not executed ({reason})"
        error = LessonError(
            lesson.relpath, line, number, "NotExecuted", message, "", "not-executed"
        )
        return LessonResult(
            lesson.id, lesson.relpath, Status.FAILED, seconds, error, warnings=tuple(warnings)
        )
    return LessonResult(lesson.id, lesson.relpath, Status.PASSED, seconds, warnings=tuple(warnings))


def run_lessons(
    workshop: Workshop,
    lessons: Sequence[Lesson],
    options: RunOptions,
    on_event: Callable[[RunEvent], None] | None = None,
    registry: KernelRegistry | None = None,
) -> RunReport:
    """Execute `lessons` (cache first), `jobs` at a time; results come back in `lessons` order."""
    from .cache import Cache

    begun = time.monotonic()
    _quiet_papermill()
    registry = registry or KernelRegistry()
    emit = on_event or (lambda event: None)
    plans = plan_lessons(workshop, lessons, options)
    notes: dict[str, list[str]] = {}  # lesson id -> cache problems, shown with its result

    def note(lesson_id: str, message: str) -> None:
        notes.setdefault(lesson_id, []).append(message)

    cache = Cache(workshop.root, on_problem=note)  # always written; read when options.use_cache
    results: dict[str, LessonResult] = {}
    todo: list[tuple[LessonPlan, str | None]] = []
    has_gpu: bool | None = None
    for plan in plans:
        lesson = plan.lesson
        if lesson.meta.gpu:
            has_gpu = gpu_available() if has_gpu is None else has_gpu
            if not has_gpu:
                if options.require_gpu:
                    err = LessonError(
                        lesson.relpath,
                        lesson.line_of("resources"),
                        None,
                        "NoGPU",
                        "needs a GPU and none is visible (--require-gpu)",
                        "",
                        "infrastructure",
                    )
                    results[lesson.id] = LessonResult(
                        lesson.id, lesson.relpath, Status.FAILED, 0.0, err
                    )
                else:
                    results[lesson.id] = LessonResult(
                        lesson.id, lesson.relpath, Status.SKIPPED, 0.0, reason="needs a GPU"
                    )
                emit(RunEvent("done", lesson, results[lesson.id]))
                continue
        key = cache.key(plan)
        hit = cache.get(key, lesson) if options.use_cache else None
        if hit is not None:
            results[lesson.id] = hit
            emit(RunEvent("done", lesson, hit))
            continue
        todo.append((plan, key))
    jobs = max(1, options.jobs or workshop.config.execution.jobs)
    _run_pool(todo, jobs, registry, workshop.root, cache, results, emit)
    for lesson_id, messages in notes.items():
        if lesson_id in results:
            found = results[lesson_id]
            results[lesson_id] = replace(found, warnings=(*messages, *found.warnings))
    ordered = tuple(results[lesson.id] for lesson in lessons if lesson.id in results)
    strict = options.strict or workshop.config.execution.strict
    return RunReport(
        strict_results(ordered) if strict else ordered,
        registry.started,
        time.monotonic() - begun,
    )


def _quiet_papermill() -> None:
    """papermill warns per lesson about parameters a lesson does not declare, and that a lesson
    has no parameters cell: normal when `-p` or `[execution.parameters]` serve many lessons."""
    import logging

    log = logging.getLogger("papermill")
    if log.level == logging.NOTSET:
        log.setLevel(logging.ERROR)


def _run_pool(
    todo: list[tuple[LessonPlan, str | None]],
    jobs: int,
    registry: KernelRegistry,
    root: Path,
    cache: Cache | None,
    results: dict[str, LessonResult],
    emit: Callable[[RunEvent], None],
) -> None:
    if not todo:
        return
    # `jobs` lessons execute cells at once; one more starts its kernel meanwhile (kernel start-up
    # is most of a short lesson's time), so a worker never waits idle for a kernel.
    workers = min(jobs + 1, len(todo))
    gate = threading.BoundedSemaphore(jobs)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="workshopkit")
    pending: dict[Future[LessonResult], tuple[LessonPlan, str | None]] = {}
    queue = list(todo)
    try:
        while queue or pending:
            while queue and len(pending) < workers:
                plan, key = queue.pop(0)
                emit(RunEvent("start", plan.lesson))
                pending[pool.submit(execute_lesson, plan, registry, root, gate)] = (plan, key)
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                plan, key = pending.pop(future)
                result = future.result()
                if cache is not None and key is not None and result.status is Status.PASSED:
                    result = cache.put(key, plan.lesson, result)
                results[plan.lesson.id] = result
                emit(RunEvent("done", plan.lesson, result))
    except BaseException:
        registry.kill_all()
        pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + 5
        for future in list(pending):
            with contextlib.suppress(BaseException):
                future.result(timeout=max(0.1, deadline - time.monotonic()))
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def report_json(report: RunReport, workshop: Workshop) -> dict[str, Any]:
    return {
        "workshop": workshop.config.title,
        "python": sys.version.split()[0],
        "seconds": round(report.seconds, 3),
        "kernels_started": report.kernels_started,
        "exit_code": int(report.exit_code),
        "rule_errors": list(report.rule_errors),
        "lessons": [r.to_json() for r in report.results],
    }
