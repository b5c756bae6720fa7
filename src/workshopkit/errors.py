"""Exit codes (DESIGN.md §6) and the few exceptions that cross stage boundaries."""

from __future__ import annotations

import enum
import sys

from .model import Diagnostic

SUPPORTED_PLATFORMS = ("linux", "darwin")


class ExitCode(enum.IntEnum):
    OK = 0
    LESSON_FAILED = 1
    INVALID = 2  # usage, configuration or validation error, before any kernel started
    INFRASTRUCTURE = 3  # no such kernel, kernel would not start, disk full, missing template
    INTERRUPTED = 130
    TERMINATED = 143


class WorkshopkitError(Exception):
    """An error that stops a command, carrying its exit code and a located message."""

    exit_code: ExitCode = ExitCode.INVALID

    def __init__(self, message: str, *, path: str | None = None, line: int = 0) -> None:
        self.message = message
        self.path = path
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class ValidationFailed(WorkshopkitError):
    """Raised by helpers that need a valid workshop; carries every diagnostic."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.is_error]
        super().__init__(f"{len(errors)} error(s) found while validating the workshop")


class InfrastructureError(WorkshopkitError):
    exit_code = ExitCode.INFRASTRUCTURE


def unsupported_platform(platform: str | None = None) -> str | None:
    """Why workshopkit cannot run on this operating system, or None on Linux and macOS.

    Kernels are stopped with process groups and signals, and builds exclude each other with
    `flock` and `/proc`-style liveness checks: on Windows `os.kill(pid, 0)` would terminate the
    process it means to probe. Refusing clearly beats failing half-way through a build."""
    name = platform or sys.platform
    if name.startswith(SUPPORTED_PLATFORMS):
        return None
    return (
        f"workshopkit runs on Linux and macOS, not on {name!r}; on Windows, use WSL "
        "(https://learn.microsoft.com/windows/wsl/) or a Linux container"
    )
