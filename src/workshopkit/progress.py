"""Live progress for `run` and `build`: a rich progress bar and table on a TTY, else plain lines."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .report import result_line, results_table, run_summary

if TYPE_CHECKING:
    from .execute import RunEvent, RunReport
    from .model import LessonResult


class RunDisplay:
    """Subscribes to execution events and shows them; the only place that draws progress."""

    def __init__(self, total: int, *, stream: Any = None) -> None:
        from rich.console import Console

        self.console = Console(file=stream or sys.stderr, highlight=False)
        self.total = total
        self.tty = self.console.is_terminal
        self._progress: Any = None
        self._task: Any = None
        self._running: list[str] = []

    def __enter__(self) -> RunDisplay:
        if self.tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("Executing", total=self.total or None)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)

    def on_event(self, event: RunEvent) -> None:
        if event.kind == "start":
            self._running.append(event.lesson.id)
        elif event.result is not None:
            if event.lesson.id in self._running:
                self._running.remove(event.lesson.id)
            if self._progress is None:
                self.console.print(result_line(event.result), markup=False, soft_wrap=True)
            else:
                self._progress.advance(self._task)
        if self._progress is not None:
            running = ", ".join(self._running[-3:])
            self._progress.update(
                self._task, description=f"Executing {running}" if running else "Executing"
            )

    def summary(self, report: RunReport) -> None:
        self.summary_of(report.results, report.seconds, report.kernels_started)

    def summary_of(
        self, results: Sequence[LessonResult], seconds: float, kernels_started: int
    ) -> None:
        if self.tty:
            self.console.print(results_table(results))
        for result in results:
            if result.error is not None and result.error.traceback:
                if self.tty:
                    self.console.rule(str(result.error), style="red", align="left")
                else:
                    self.console.print(f"\n{result.error}", markup=False, soft_wrap=True)
                self.console.print(
                    result.error.traceback, markup=False, soft_wrap=True, highlight=False
                )
            for warning in result.warnings:
                self.console.print(f"warning: {warning}", markup=False, soft_wrap=True)
        self.console.print(run_summary(results, seconds, kernels_started), markup=False)
