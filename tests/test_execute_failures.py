"""The one mapping from what a papermill run raised to the lesson's error (`execute.failures`),
with the exceptions papermill and nbclient raise and the executor's `LessonKernel` in the state
their events leave it in. The same failures with real kernels: test_execute_faults.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import lesson_text, line_of, make_workshop, open_ok
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from papermill.exceptions import PapermillExecutionError

from workshopkit.execute.failures import lesson_error
from workshopkit.execute.lesson import LessonKernel
from workshopkit.execute.plan import RunOptions, plan_lessons
from workshopkit.load import to_notebook
from workshopkit.model import ErrorKind, LessonPlan

TEXT = lesson_text(
    ("n = 1", ["parameters"]),
    "import time",
    "x = 1\ny = x / 0\nz = 2",
    "time.sleep(60)",
)


@pytest.fixture
def plan(tmp_path: Path) -> LessonPlan:
    root = make_workshop(tmp_path / "w", {"lessons/a.py": TEXT}, execution={"timeout": 5})
    workshop = open_ok(root).workshop
    [plan] = plan_lessons(workshop, workshop.lessons, RunOptions(lesson_timeout=30))
    return plan


def ran_to(plan: LessonPlan, index: int, *, fail: bool = False) -> LessonKernel:
    """A kernel that started, answered and ran cells up to `index` (the last one failed)."""
    kernel = LessonKernel()
    kernel.kernel_starting()
    kernel.kernel_started(None, None)
    kernel.kernel_ready()
    nb = to_notebook(plan.lesson)
    for i in range(index + 1):
        kernel.cell_started(i)
        nb.cells[i]["execution_count"] = i + 1
    if fail:
        nb.cells[index].metadata["papermill"] = {"status": "failed", "exception": True}
    kernel.notebook_ran(nb)
    return kernel


def test_a_cell_error_is_located_by_its_traceback(plan: LessonPlan, tmp_path: Path) -> None:
    kernel = ran_to(plan, 2, fail=True)
    tb = [
        "\x1b[0;31mZeroDivisionError\x1b[0m  Traceback (most recent call last)",
        "Cell \x1b[0;32mIn[3], line 2\x1b[0m",
        "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero",
    ]
    exc = PapermillExecutionError(2, 3, "y = x / 0", "ZeroDivisionError", "division by zero", tb)
    error = lesson_error(exc, plan, kernel, tmp_path / "none.log")
    assert (error.line, error.cell) == (line_of(TEXT, "y = x / 0"), 3)
    assert (error.ename, error.evalue, error.kind) == (
        "ZeroDivisionError",
        "division by zero",
        ErrorKind.ERROR,
    )
    assert "\x1b" not in error.traceback and "In[3], line 2" in error.traceback


@pytest.mark.parametrize(
    ("message", "ename"),
    [
        ("Cell execution timed out", "CellTimeoutError"),
        ("Timeout waiting for IOPub output", "IOPubTimeout"),
    ],
)
def test_a_cell_timeout_names_the_running_cell(
    plan: LessonPlan, tmp_path: Path, message: str, ename: str
) -> None:
    error = lesson_error(CellTimeoutError(message), plan, ran_to(plan, 3), tmp_path / "x.log")
    assert (error.ename, error.kind) == (ename, ErrorKind.TIMEOUT)
    assert (error.line, error.cell) == (line_of(TEXT, "time.sleep(60)"), 4)
    if ename == "CellTimeoutError":
        assert "(limit 5 s: --timeout / [execution] timeout)" in error.evalue


def test_a_kernel_killed_by_the_lesson_timeout(plan: LessonPlan, tmp_path: Path) -> None:
    kernel = ran_to(plan, 3)
    kernel.timed_out.set()
    error = lesson_error(DeadKernelError("Kernel died"), plan, kernel, tmp_path / "x.log")
    assert (error.ename, error.kind) == ("LessonTimeout", ErrorKind.TIMEOUT)
    assert error.evalue.startswith("lesson timed out after 30 s")
    assert ", in a cell running for " in error.evalue
    assert (error.line, error.cell) == (line_of(TEXT, "time.sleep(60)"), 4)


def test_a_kernel_killed_by_an_interrupt(plan: LessonPlan, tmp_path: Path) -> None:
    kernel = LessonKernel(cancelled=lambda: True)
    kernel.kernel_starting()
    error = lesson_error(DeadKernelError("Kernel died"), plan, kernel, tmp_path / "x.log")
    assert (error.ename, error.evalue) == ("Interrupted", "the run was interrupted")
    assert (error.line, error.cell) == (plan.lesson.line_of(""), None)


def test_a_dead_kernel_says_how_it_ended(plan: LessonPlan, tmp_path: Path) -> None:
    kernel = ran_to(plan, 3)
    dead = subprocess.Popen([sys.executable, "-c", "import os; os._exit(7)"])
    dead.wait()
    kernel.kernel_started(dead, None)  # type: ignore[arg-type]
    log = tmp_path / "kernel-stderr.log"
    log.write_text("To connect another client\n\x1b[31mMemoryError\x1b[0m in the kernel\n")
    error = lesson_error(DeadKernelError("Kernel died"), plan, kernel, log)
    assert (error.ename, error.kind) == ("DeadKernelError", ErrorKind.KERNEL_DIED)
    assert error.evalue == "kernel died: exit code 7"
    assert error.traceback == "MemoryError in the kernel"
    assert error.cell == 4


def test_a_kernel_that_never_answered(plan: LessonPlan, tmp_path: Path) -> None:
    kernel = LessonKernel()
    kernel.kernel_starting()
    log = tmp_path / "kernel-stderr.log"
    log.write_text("ModuleNotFoundError: No module named 'ipykernel'\n")
    exc = RuntimeError("Kernel died before replying to kernel_info")
    error = lesson_error(exc, plan, kernel, log)
    assert (error.ename, error.kind) == ("RuntimeError", ErrorKind.INFRASTRUCTURE)
    assert error.evalue.startswith(
        "kernel 'python3' would not start: Kernel died before replying to kernel_info (argv: "
    )
    assert error.traceback == "ModuleNotFoundError: No module named 'ipykernel'"
    assert (error.line, error.cell) == (plan.lesson.line_of(""), None)


def test_anything_else_is_the_lessons_error_at_the_running_cell(
    plan: LessonPlan, tmp_path: Path
) -> None:
    error = lesson_error(ValueError("odd reply"), plan, ran_to(plan, 1), tmp_path / "x.log")
    assert (error.ename, error.evalue, error.kind) == ("ValueError", "odd reply", ErrorKind.ERROR)
    assert error.line == line_of(TEXT, "import time")
