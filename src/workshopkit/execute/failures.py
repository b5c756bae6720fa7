"""What went wrong, as a `LessonError`: the one mapping from what a papermill run raised (and what
the kernel's events said meanwhile) to the `LessonError.from_*` constructor that fits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..model import Lesson, LessonError, LessonPlan, TimeLimit, strip_ansi
from .locate import first_failed_cell, locate, short_traceback
from .plan import kernel_argv
from .processes import exit_description, stderr_tail

if TYPE_CHECKING:
    from nbformat import NotebookNode
    from papermill.exceptions import PapermillExecutionError

    from .lesson import LessonKernel


def lesson_error(
    exc: Exception, plan: LessonPlan, kernel: LessonKernel, stderr_log: Path
) -> LessonError:
    """The error of a lesson whose papermill run raised `exc`."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return cell_error(plan.lesson, exc, kernel.notebook)
    at, ran = kernel.where(plan.lesson)
    if isinstance(exc, CellTimeoutError):
        limit = TimeLimit.OUTPUT if "IOPub" in str(exc) else TimeLimit.CELL
        return LessonError.from_timeout(at, limit, plan.timeout, ran)
    if kernel.timed_out.is_set():  # the lesson's timer killed the kernel
        return LessonError.from_timeout(at, TimeLimit.LESSON, plan.lesson_timeout, ran)
    if kernel.run_cancelled():  # so did an interrupt
        return LessonError.from_interrupt(at)
    tail = stderr_tail(stderr_log)
    if isinstance(exc, DeadKernelError):
        return LessonError.from_dead_kernel(at, exit_description(kernel.process), tail)
    if kernel.starting:
        return LessonError.from_startup(at, plan.kernel, kernel_argv(plan.kernel), exc, tail)
    return LessonError.from_exception(at, exc, tail)


def cell_error(
    lesson: Lesson, exc: PapermillExecutionError, nb: NotebookNode | None
) -> LessonError:
    """A cell raised: located at the line its traceback names, in the first cell that failed."""
    index = first_failed_cell(nb)
    if index is None:
        index = exc.cell_index
    traceback = short_traceback(exc.traceback)
    at = locate(lesson, nb, index, traceback)
    return LessonError.from_cell_error(at, exc.ename, strip_ansi(str(exc.evalue)), traceback)
