"""Running one planned lesson with papermill, on this machine: the building block of the local
executor (`pool.LocalExecutor`), and of any executor that runs lessons in local kernels.

Nothing here raises for a fault inside a lesson: every lesson ends as a `LessonResult`. The kernel
starts in the lesson's scratch folder through nbclient's `resources.metadata.path` (papermill's
`cwd=` is a process-wide `os.chdir`), and is killed with every process the lesson started
(`processes.kill_kernel`) when the lesson ends, times out or the run is interrupted.
"""

from __future__ import annotations

import enum
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import nbformat
import papermill

from ..engine import ENGINE_NAME, KernelContext, KernelEvents, register, restore_expected_errors
from ..model import (
    Lesson,
    LessonError,
    LessonPlan,
    LessonResult,
    Location,
    Status,
    TimeLimit,
)
from .failures import lesson_error
from .judge import judge
from .locate import locate
from .processes import KernelRegistry, kernel_environment, kill_kernel
from .scratch import Scratch, prepare_scratch

if TYPE_CHECKING:
    import subprocess

    from nbformat import NotebookNode

    from ..forkkernel import ForkServers


class Stage(enum.Enum):
    NEW = "new"  # until the kernel is launched
    STARTING = "starting"  # until it answers
    READY = "ready"


class LessonKernel(KernelEvents):
    """One lesson's kernel as the executor sees it: what the engine reported (from the thread the
    lesson runs in), and how to kill it (from a timer, or an interrupt in another thread)."""

    def __init__(
        self,
        on_start: Callable[[LessonKernel], None] = lambda kernel: None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> None:
        self.tag = uuid.uuid4().hex  # in the kernel's environment: finds its children
        self.stage = Stage.NEW
        self.process: subprocess.Popen[bytes] | None = None  # on Linux, its launcher (`reaper`)
        self.process_start: int | None = None
        # The code cell executing now (or last), as an index into the executed notebook, and
        # when it started: timeouts and dead kernels carry no cell of their own.
        self.cell_index: int | None = None
        self.cell_began: float | None = None
        self.truncated: dict[int, int] = {}  # cell index -> bytes dropped
        self.startup_failures: list[str] = []  # start-up attempts that failed and were retried
        self.notebook: NotebookNode | None = None  # as far as it ran
        self.timed_out = threading.Event()  # killed by the lesson's timer
        self._on_start = on_start
        self.run_cancelled = cancelled

    def kernel_starting(self) -> None:
        self.stage = Stage.STARTING

    def kernel_started(self, process: subprocess.Popen[bytes] | None, start: int | None) -> None:
        self.process, self.process_start = process, start
        self._on_start(self)

    def kernel_ready(self) -> None:
        self.stage = Stage.READY

    def startup_failed(self, message: str) -> bool:
        if self.run_cancelled() or self.timed_out.is_set():
            return False
        self.startup_failures.append(message)
        return True

    def cell_started(self, index: int) -> None:
        self.cell_index = index
        self.cell_began = time.monotonic()

    def output_truncated(self, index: int, dropped: int) -> None:
        self.truncated[index] = dropped

    def output_cleared(self, index: int) -> None:
        self.truncated.pop(index, None)

    def notebook_ran(self, nb: NotebookNode) -> None:
        self.notebook = nb

    @property
    def starting(self) -> bool:
        """Launched, but not answering yet."""
        return self.stage is Stage.STARTING

    def kill(self) -> None:
        if self.process is not None:
            kill_kernel(self.process, self.process_start, self.tag)

    def time_out(self) -> None:
        self.timed_out.set()
        self.kill()

    def where(self, lesson: Lesson) -> tuple[Location, str]:
        """The cell running now (or last), and for how long ("3.2 s"; "": no cell ran)."""
        ran = ""
        if self.cell_began is not None:
            ran = f"{time.monotonic() - self.cell_began:.1f} s"
        return locate(lesson, self.notebook, self.cell_index), ran


class Clock:
    """A lesson's own time: from its start, less the time its kernel waited for a free job.

    Entered (as the kernel context's gate) when the lesson's cells start; the lesson timeout
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

    def __enter__(self) -> Clock:
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


def run_lesson(
    plan: LessonPlan,
    kernels: KernelRegistry | None = None,
    gate: Any = None,
    forks: ForkServers | None = None,
) -> LessonResult:
    """Run one lesson through papermill. Returns a result for every outcome; never raises.

    `kernels` holds the run's live kernels (an interrupt kills them all); `gate` (a semaphore)
    bounds how many lessons execute cells at once; `forks`, the run's fork servers, forks the
    kernel from one where it can (None: exec it).
    """
    started = time.monotonic()
    try:
        return _run_lesson(plan, kernels or KernelRegistry(), gate, forks)
    except Exception as exc:  # a bug or an OS fault must not stop other lessons
        error = LessonError.from_executor_fault(_header(plan.lesson), exc)
        return _failed(plan.lesson, error, time.monotonic() - started)


def _run_lesson(
    plan: LessonPlan, kernels: KernelRegistry, gate: Any, forks: ForkServers | None
) -> LessonResult:
    from ..load import to_notebook

    lesson = plan.lesson
    kernel = LessonKernel(on_start=kernels.add, cancelled=kernels.cancelled.is_set)
    clock = Clock(gate, plan.lesson_timeout, kernel.time_out)
    try:
        nb = to_notebook(lesson)
    except Exception as exc:  # a lesson jupytext cannot read is the lesson's fault
        return _failed(lesson, LessonError.from_exception(_header(lesson), exc), clock.seconds())
    if kernels.cancelled.is_set():
        return _failed(lesson, LessonError.from_interrupt(_header(lesson)), clock.seconds())
    scratch = prepare_scratch(lesson)
    with scratch.stderr_log.open("wb") as stderr:
        context = KernelContext(
            env=kernel_environment(kernel.tag, plan.env),
            stderr=stderr,
            startup_dir=scratch.folder,
            output_limit=plan.output_limit,
            gate=clock,
            events=kernel,
            fork_servers=forks,
        )
        try:
            result = _execute(plan, nb, context, scratch, kernel, clock)
        except Exception as exc:
            stderr.flush()
            error = lesson_error(exc, plan, kernel, scratch.stderr_log)
            result = _failed(lesson, error, clock.seconds())
        finally:
            clock.cancel()
            kernel.kill()
            kernels.remove(kernel)
    result = _noting_retries(result, lesson, kernel.startup_failures)
    scratch.finish(keep_notebook=result.notebook is not None)
    return result


def _execute(
    plan: LessonPlan,
    nb: NotebookNode,
    context: KernelContext,
    scratch: Scratch,
    kernel: LessonKernel,
    clock: Clock,
) -> LessonResult:
    """The lesson's run, if papermill raises nothing: judged, its notebook kept if it passed."""
    register()
    _compile_validator()
    executed = papermill.execute_notebook(
        nb,
        None,
        parameters=dict(plan.parameters),
        engine_name=ENGINE_NAME,
        kernel_name=plan.kernel,
        progress_bar=False,
        start_timeout=plan.start_timeout,
        execution_timeout=plan.timeout,
        resources={"metadata": {"path": str(scratch.work)}},
        context=context,
    )
    restore_expected_errors(executed)
    lesson = plan.lesson
    if kernel.timed_out.is_set():  # killed after its last cell: still over its time
        at, _ = kernel.where(lesson)
        error = LessonError.from_timeout(at, TimeLimit.LESSON, plan.lesson_timeout)
        return _failed(lesson, error, clock.seconds())
    result = judge(lesson, executed, clock.seconds(), kernel.truncated, plan.output_limit)
    if result.status is Status.PASSED:
        nbformat.write(executed, str(scratch.notebook))  # type: ignore[no-untyped-call]
        result = replace(result, notebook=scratch.notebook)
    return result


_VALIDATOR_LOCK = threading.Lock()


def _compile_validator() -> None:
    """Compile nbformat's notebook schema once, before papermill validates a notebook: nbformat
    compiles it on first use (40 ms), in every thread that gets there before the first one is
    done, so the first lessons of a run, starting together, would each compile it."""
    from nbformat.validator import get_validator

    with _VALIDATOR_LOCK:
        get_validator(4, nbformat.v4.nbformat_minor)  # type: ignore[no-untyped-call]


def _header(lesson: Lesson) -> Location:
    return Location(lesson.relpath, lesson.line_of(""))


def _failed(lesson: Lesson, error: LessonError, seconds: float) -> LessonResult:
    return LessonResult(lesson.id, lesson.relpath, Status.FAILED, seconds, error)


def _noting_retries(result: LessonResult, lesson: Lesson, failures: list[str]) -> LessonResult:
    """`result`, with a warning if its kernel's start-up had to be retried."""
    if not failures:
        return result
    retried = "; ".join(dict.fromkeys(failures))
    note = (
        f"{lesson.relpath}: kernel start-up failed {len(failures)} time(s) "
        f"({retried}); {'passed on retry' if result.ok else 'retried'}"
    )
    return replace(result, warnings=(note, *result.warnings))
