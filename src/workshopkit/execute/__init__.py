"""Stage 4: execute lessons with papermill, several at once, each in a scratch copy of its folder.

`run_lessons` is the entry point: it plans each lesson (`plan`), answers what it can without a
kernel (a GPU lesson where there is none, a cached result), and hands the rest to an `Executor`
(`pool`): by default a `LocalExecutor`, which runs each lesson in a kernel of its own
(`lesson.run_lesson`), killed with every process it started (`processes`) when the lesson ends,
times out or the run is interrupted. Nothing here raises for a fault inside a lesson: every lesson
ends as a `LessonResult`, its error built by `failures` and located by `locate`, its warnings
found by `judge`.

    plan.py       options, workshop.toml and headers -> LessonPlan
    pool.py       the Executor protocol, LocalExecutor, run_pool (the worker threads)
    cluster.py    DaskExecutor: each lesson a task on a Dask cluster (`--executor dask`), run
                  there by `lesson.run_lesson`; imported only when asked for
    lesson.py     one lesson through papermill: its kernel's events, its clock, its result
    failures.py   what a run raised -> LessonError (the one mapping)
    locate.py     executed-notebook cell or traceback -> path:line (cell n)
    judge.py      a run that raised nothing: cells not executed, warnings
    scratch.py    the lesson's scratch folder
    processes.py  kernel environment, GPU probe, killing a kernel and what it started
    forkkernel.py kernels forked from a fork server (`kernel_start = "fork"`), its provisioner
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from ..cache import Cache
from ..errors import ExitCode, InfrastructureError
from ..model import (
    ErrorKind,
    Lesson,
    LessonError,
    LessonPlan,
    LessonResult,
    Location,
    Status,
    Workshop,
)
from ..strict import strict_result

if TYPE_CHECKING:
    from ..forkkernel import ForkStats
from .plan import RunOptions, plan_lessons
from .pool import Executor, LocalExecutor, run_pool
from .processes import gpu_available, kernel_environment

__all__ = [
    "Executor",
    "LocalExecutor",
    "RunEvent",
    "RunOptions",
    "RunReport",
    "gpu_available",
    "kernel_environment",
    "plan_lessons",
    "run_lessons",
]


@dataclass(frozen=True, slots=True)
class RunEvent:
    kind: Literal["start", "done"]
    lesson: Lesson
    result: LessonResult | None = None


def run_lessons(
    workshop: Workshop,
    lessons: Sequence[Lesson],
    options: RunOptions,
    on_event: Callable[[RunEvent], None] | None = None,
    executor: Executor | None = None,
) -> RunReport:
    """Execute `lessons` (cache first) with `executor` (a `LocalExecutor` running `jobs` at once
    by default); results come back in `lessons` order."""
    begun = time.monotonic()
    emit = on_event or (lambda event: None)
    plans = plan_lessons(workshop, lessons, options)
    notes: dict[str, list[str]] = {}  # lesson id -> cache problems, shown with its result

    def note(lesson_id: str, message: str) -> None:
        notes.setdefault(lesson_id, []).append(message)

    cache = Cache(workshop.root, on_problem=note)  # always written; read when options.use_cache
    results: dict[str, LessonResult] = {}
    keys: dict[str, str] = {}
    todo: list[LessonPlan] = []
    # an executor that places GPU lessons itself (on a cluster's GPU workers) is given them all
    routed = getattr(executor, "routes_gpu", False) or options.executor == "dask"
    gpu = _GpuCheck(options.require_gpu, routed)
    # Under --strict a warning about the lesson fails it, cached or not; the cache keeps the
    # result as it ran, so dropping --strict passes the lesson again without running it.
    strict = options.strict or workshop.config.execution.strict
    judged = strict_result if strict else (lambda result: result)
    for plan in plans:
        lesson = plan.lesson
        known = gpu.result(lesson) or _cached(plan, cache, keys, options.use_cache)
        if known is None:
            todo.append(plan)
            continue
        known = judged(known)
        results[lesson.id] = known
        emit(RunEvent("done", lesson, known))

    def done(plan: LessonPlan, result: LessonResult) -> None:
        if result.status is Status.PASSED:
            result = cache.put(keys[plan.lesson.id], plan.lesson, result)
        result = judged(result)
        results[plan.lesson.id] = result
        emit(RunEvent("done", plan.lesson, result))

    executor = _run_todo(executor, workshop, options, todo, emit, done)
    for lesson_id, messages in notes.items():
        if lesson_id in results:
            found = results[lesson_id]
            results[lesson_id] = replace(found, warnings=(*messages, *found.warnings))
    return RunReport(
        tuple(results[lesson.id] for lesson in lessons if lesson.id in results),
        executor.kernels_started,
        time.monotonic() - begun,
        getattr(executor, "kernel_start", None),
    )


def _run_todo(
    executor: Executor | None,
    workshop: Workshop,
    options: RunOptions,
    todo: list[LessonPlan],
    emit: Callable[[RunEvent], None],
    done: Callable[[LessonPlan, LessonResult], None],
) -> Executor:
    """Run `todo` with `executor`, or with the one `options` ask for, made here and closed
    afterwards (the fork servers of a `LocalExecutor`, a `DaskExecutor`'s client)."""
    owned = executor is None
    if executor is None:
        executor = _make_executor(workshop, options, bool(todo))
    try:
        run_pool(executor, todo, lambda plan: emit(RunEvent("start", plan.lesson)), done)
    finally:
        close = getattr(executor, "close", None)
        if owned and close is not None:
            close()
    return executor


def _make_executor(workshop: Workshop, options: RunOptions, needed: bool) -> Executor:
    """The executor `options` ask for: a `LocalExecutor`, or a `DaskExecutor` connected to
    `options.scheduler` (only when lessons need running: a warm run needs no cluster)."""
    if options.executor == "dask" and needed:
        from .cluster import DaskExecutor

        if not options.scheduler:
            raise InfrastructureError("--executor dask needs --scheduler tcp://HOST:PORT")
        return DaskExecutor.connect(options.scheduler, require_gpu=options.require_gpu)
    return LocalExecutor(options.jobs or workshop.config.execution.jobs)


class _GpuCheck:
    """The result of a GPU lesson where no GPU is visible (probed once, when first needed);
    none when the executor places GPU lessons itself (`routed`)."""

    def __init__(self, require_gpu: bool, routed: bool = False) -> None:
        self.require_gpu = require_gpu
        self.routed = routed
        self.found: bool | None = None

    def result(self, lesson: Lesson) -> LessonResult | None:
        if not lesson.meta.gpu or self.routed:
            return None
        if self.found is None:
            self.found = gpu_available()
        if self.found:
            return None
        if self.require_gpu:
            at = Location(lesson.relpath, lesson.line_of("resources"))
            error = LessonError.from_missing_gpu(at)
            return LessonResult(lesson.id, lesson.relpath, Status.FAILED, 0.0, error)
        return LessonResult(lesson.id, lesson.relpath, Status.SKIPPED, 0.0, reason="needs a GPU")


def _cached(
    plan: LessonPlan, cache: Cache, keys: dict[str, str], use_cache: bool
) -> LessonResult | None:
    """The cached result of `plan`, if any (its key is kept in `keys` either way)."""
    key = keys[plan.lesson.id] = cache.key(plan)
    return cache.get(key, plan.lesson) if use_cache else None


# --- what executing lessons gave ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunReport:
    """What executing lessons gave (event rules and report.json are the pipeline's business)."""

    results: tuple[LessonResult, ...]
    kernels_started: int
    seconds: float
    kernel_start: ForkStats | None = None  # how the kernels started (None: the executor's secret)

    @property
    def exit_code(self) -> ExitCode:
        if any(
            r.error is not None and r.error.kind == ErrorKind.INFRASTRUCTURE for r in self.results
        ):
            return ExitCode.INFRASTRUCTURE
        if any(r.status is Status.FAILED for r in self.results):
            return ExitCode.LESSON_FAILED
        return ExitCode.OK
