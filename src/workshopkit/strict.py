"""`--strict` (or `[execution] strict = true`): every warning is an error.

Warnings are problems a workshop can live with today but should not ship: a missing image, a
`raises-exception` cell that no longer raises, a shell command whose exit status nobody checks,
placeholder text left from the starters, a tag one spelling away from a known one. Under strict,
`check` (and the check stage of `run` and `build`) turns every warning diagnostic into an error
(exit 2), and `run` and `build` fail every lesson whose result carries a warning located at one
of its lines (exit 1). Notes about the machinery rather than the lesson (a kernel that needed a
second start, a damaged cache entry that was discarded) carry no line and stay notes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from .model import Diagnostic, LessonError, LessonResult, Location, Severity, Status

__all__ = ["STRICT_NOTE", "lesson_warnings", "promote", "strict_result", "strict_results"]

STRICT_NOTE = " [--strict]"


def promote(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Every warning as an error, marked so the reader knows why it is one."""
    return tuple(
        replace(d, severity=Severity.ERROR, message=d.message + STRICT_NOTE)
        if d.severity is Severity.WARNING
        else d
        for d in diagnostics
    )


def _located(relpath: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(relpath)}:(\d+)(?: \(cell (\d+)\))?: ?(.*)$", re.S)


def lesson_warnings(result: LessonResult) -> list[tuple[int, int | None, str]]:
    """The result's warnings about the lesson itself: (line, cell, text), in order."""
    pattern = _located(result.path)
    found = []
    for warning in result.warnings:
        match = pattern.match(warning)
        if match:
            cell = int(match.group(2)) if match.group(2) else None
            found.append((int(match.group(1)), cell, match.group(3)))
    return found


def strict_result(result: LessonResult) -> LessonResult:
    """A passed result with warnings about the lesson, failed at its first one."""
    if result.status is not Status.PASSED:
        return result
    found = lesson_warnings(result)
    if not found:
        return result
    line, cell, text = found[0]
    more = f" (and {len(found) - 1} more warning{'s' * (len(found) > 2)})" if len(found) > 1 else ""
    error = LessonError.from_strict_warning(
        Location(result.path, line, cell), f"{text}{more}{STRICT_NOTE}"
    )
    return replace(result, status=Status.FAILED, error=error)


def strict_results(results: Iterable[LessonResult]) -> tuple[LessonResult, ...]:
    return tuple(strict_result(r) for r in results)
