"""Judging a run that raised nothing: it can still have failed (cells that never ran, after a
`sys.exit()` part-way), and cells that ran can hide a failure (`!cmd`, `%%script false`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..model import TAG_SKIP, Lesson, LessonError, LessonResult, Location, Status, cell_tags
from ..notebookchecks import missing_error_warnings
from .locate import locate, source_of

if TYPE_CHECKING:
    from nbformat import NotebookNode

SHELL_ESCAPE = re.compile(r"^\s*!(?!=)\S")
SCRIPT_FALSE = re.compile(r"^\s*%%script\s+false\b")


def judge(
    lesson: Lesson,
    nb: NotebookNode,
    seconds: float,
    truncated: Mapping[int, int],
    output_limit: int,
) -> LessonResult:
    """The result of a run that raised nothing; `truncated`: bytes dropped, by cell index."""
    warnings = [
        f"{lesson.relpath}:{locate(lesson, nb, index).line}: output truncated at "
        f"{output_limit} bytes" + (f" ({dropped} bytes dropped)" if dropped else "")
        for index, dropped in sorted(truncated.items())
    ]
    warnings += static_warnings(lesson, nb)
    warnings += missing_error_warnings(lesson.relpath, nb)
    missing = not_executed(nb)
    if missing:
        error = _not_executed_error(lesson, nb, missing)
        return LessonResult(
            lesson.id, lesson.relpath, Status.FAILED, seconds, error, warnings=tuple(warnings)
        )
    return LessonResult(lesson.id, lesson.relpath, Status.PASSED, seconds, warnings=tuple(warnings))


def not_executed(nb: NotebookNode) -> list[int]:
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


def _not_executed_error(lesson: Lesson, nb: NotebookNode, missing: Sequence[int]) -> LessonError:
    """Cells `missing` never ran: located at a `sys.exit()` in the last cell that ran, if there
    is one, else at the first cell that did not run."""
    numbers = [source_of(nb.cells[i])[1] or i + 1 for i in missing]
    line = source_of(nb.cells[missing[0]])[0] or lesson.line_of("")
    number = numbers[0]
    reason = "the kernel stopped executing"
    before = [i for i in range(missing[0]) if nb.cells[i].get("cell_type") == "code"]
    if before:
        last = nb.cells[before[-1]]
        last_line, last_number = source_of(last)
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
    message = f"cells {ranges(numbers)} not executed ({reason})"
    if len(numbers) == 1:
        message = f"cell {numbers[0]} not executed ({reason})"
    return LessonError.from_not_executed(Location(lesson.relpath, line, number), message)


def ranges(numbers: Sequence[int]) -> str:
    """`1, 3-5` for [1, 3, 4, 5]."""
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


def static_warnings(lesson: Lesson, nb: NotebookNode) -> list[str]:
    """Cells that run but can hide a failure: `!cmd` (exit status unchecked), `%%script false`."""
    found: list[str] = []
    for cell in nb.cells:
        line, number = source_of(cell)
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
