"""The model's LessonError: built from what failed (`from_*`), with an ErrorKind."""

from __future__ import annotations

import json
import pickle

import pytest

from workshopkit.model import (
    ErrorKind,
    LessonError,
    Location,
    TimeLimit,
)

AT = Location("lessons/a.py", 12, 3)


def test_a_cell_error_is_the_lessons_fault() -> None:
    error = LessonError.from_cell_error(AT, "ValueError", "boom", "Traceback ...")
    assert (error.path, error.line, error.cell) == ("lessons/a.py", 12, 3)
    assert (error.ename, error.evalue, error.traceback) == ("ValueError", "boom", "Traceback ...")
    assert error.kind is ErrorKind.ERROR
    assert str(error) == "lessons/a.py:12 (cell 3): ValueError: boom"


def test_a_prompt_for_input_gets_a_hint() -> None:
    error = LessonError.from_cell_error(AT, "StdinNotImplementedError", "raw_input was called")
    assert error.evalue == (
        "raw_input was called (lessons must not prompt for input: input() and getpass() "
        "cannot be answered)"
    )


@pytest.mark.parametrize(
    ("limit", "ran", "ename", "evalue"),
    [
        (
            TimeLimit.CELL,
            "5.3 s",
            "CellTimeoutError",
            "cell timed out after 5.3 s (limit 5 s: --timeout / [execution] timeout); "
            "kernel stopped",
        ),
        (
            TimeLimit.CELL,
            "",
            "CellTimeoutError",
            "cell timed out after 5 s (limit 5 s: --timeout / [execution] timeout); kernel stopped",
        ),
        (
            TimeLimit.OUTPUT,
            "5.3 s",
            "IOPubTimeout",
            "the cell finished but its output did not all arrive (IOPub timeout): output may be "
            "incomplete; print less, or less often",
        ),
        (
            TimeLimit.LESSON,
            "2.0 s",
            "LessonTimeout",
            "lesson timed out after 5 s (limit: --lesson-timeout / [execution] lesson_timeout), "
            "in a cell running for 2.0 s; kernel killed",
        ),
        (
            TimeLimit.LESSON,
            "",
            "LessonTimeout",
            "lesson timed out after 5 s (limit: --lesson-timeout / [execution] lesson_timeout); "
            "kernel killed",
        ),
    ],
)
def test_timeouts_name_their_limit(limit: TimeLimit, ran: str, ename: str, evalue: str) -> None:
    error = LessonError.from_timeout(AT, limit, 5, ran)
    assert (error.ename, error.evalue, error.kind) == (ename, evalue, ErrorKind.TIMEOUT)
    assert (error.line, error.cell) == (12, 3)


def test_a_dead_kernel_keeps_the_end_of_its_stderr() -> None:
    error = LessonError.from_dead_kernel(AT, "kernel died: exit code 3", "Fatal: boom")
    assert (error.ename, error.evalue) == ("DeadKernelError", "kernel died: exit code 3")
    assert (error.kind, error.traceback) == (ErrorKind.KERNEL_DIED, "Fatal: boom")


def test_a_kernel_that_would_not_start_is_infrastructure() -> None:
    exc = RuntimeError("\x1b[31mKernel died before replying to kernel_info\x1b[0m")
    error = LessonError.from_startup(Location("a.py", 1), "wk", "python -m wk", exc, "tail")
    assert error.kind is ErrorKind.INFRASTRUCTURE and error.cell is None
    assert error.ename == "RuntimeError"
    assert error.evalue == (
        "kernel 'wk' would not start: Kernel died before replying to kernel_info "
        "(argv: python -m wk)"
    )
    assert error.traceback == "tail"


def test_interrupts_and_other_exceptions() -> None:
    interrupted = LessonError.from_interrupt(AT)
    assert (interrupted.ename, interrupted.evalue) == ("Interrupted", "the run was interrupted")
    assert interrupted.kind is ErrorKind.ERROR
    other = LessonError.from_exception(AT, ValueError("\x1b[1mbad header\x1b[0m"), "log")
    assert (other.ename, other.evalue, other.traceback) == ("ValueError", "bad header", "log")
    assert other.kind is ErrorKind.ERROR


def test_an_executor_fault_is_infrastructure_when_the_os_failed() -> None:
    full = LessonError.from_executor_fault(AT, OSError(28, "No space left on device"))
    assert full.kind is ErrorKind.INFRASTRUCTURE
    assert full.evalue == "could not execute the lesson: [Errno 28] No space left on device"
    bug = LessonError.from_executor_fault(AT, KeyError("x"))
    assert (bug.kind, bug.ename) == (ErrorKind.ERROR, "KeyError")


def test_not_executed_and_no_gpu() -> None:
    missing = LessonError.from_not_executed(AT, "cells 4-5 not executed (SystemExit in cell 3)")
    assert (missing.ename, missing.kind) == ("NotExecuted", ErrorKind.NOT_EXECUTED)
    gpu = LessonError.from_missing_gpu(Location("a.py", 8))
    assert (gpu.ename, gpu.kind, gpu.line) == ("NoGPU", ErrorKind.INFRASTRUCTURE, 8)
    assert gpu.evalue == "needs a GPU and none is visible (--require-gpu)"


def test_a_kind_given_as_text_becomes_its_enum() -> None:
    error = LessonError("a.py", 1, None, "E", "e", "", "timeout")
    assert error.kind is ErrorKind.TIMEOUT
    assert error.kind == "timeout" and str(error.kind) == "timeout"
    assert error == LessonError("a.py", 1, None, "E", "e", "", ErrorKind.TIMEOUT)
    with pytest.raises(ValueError, match="'slow'"):
        LessonError("a.py", 1, None, "E", "e", "", "slow")


def test_json_says_the_kind_as_text() -> None:
    data = LessonError.from_dead_kernel(AT, "kernel died").to_json()
    assert data["kind"] == "kernel-died" and type(data["kind"]) is str
    assert json.loads(json.dumps(data)) == data


def test_errors_survive_pickling() -> None:
    """Results cross process boundaries (an executor running lessons elsewhere)."""
    error = LessonError.from_timeout(AT, TimeLimit.CELL, 5, "6.1 s")
    again = pickle.loads(pickle.dumps(error))
    assert again == error and again.kind is ErrorKind.TIMEOUT
