"""What `run` and `build` show while they work: a subscriber to the pipeline's events.

On a TTY, a rich progress bar while lessons run and a table of results; elsewhere, one plain line
per lesson. Validation problems are shown as soon as the workshop is validated (before any
kernel starts), the lessons' summary as soon as they ran, and the rest (event rules, what the
export left out, its time, where it wrote) by `finish` once the pipeline ended.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from .pipeline import StageEvent
from .report import diagnostics_summary, lessons_summary, result_line, results_table, run_summary

if TYPE_CHECKING:
    from .execute import RunEvent
    from .model import Diagnostic
    from .pipeline import Event, Outcome


class RunDisplay:
    """Subscribes to the pipeline's events and shows them; the only place that draws progress."""

    def __init__(self, *, command: Literal["run", "build"] = "run", stream: Any = None) -> None:
        from rich.console import Console

        self.console = Console(file=stream or sys.stderr, highlight=False)
        self.command = command
        self.tty = self.console.is_terminal
        self.shown: set[Diagnostic] = set()
        self._progress: Any = None
        self._task: Any = None
        self._status: Any = None
        self._running: list[str] = []

    def __enter__(self) -> RunDisplay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop_live(exc_type, exc, tb)

    def on_event(self, event: Event) -> None:
        if isinstance(event, StageEvent):
            self._on_stage(event)
        else:
            self._on_lesson(event)

    def _on_stage(self, event: StageEvent) -> None:
        outcome = event.outcome
        if event.kind == "done" and event.stage in ("check", "validate"):
            self.show(outcome.diagnostics)
        elif event.stage == "execute" and event.kind == "start":
            self._start_progress(len(outcome.selected))
        elif event.stage == "execute":
            self._stop_live()
            if outcome.run is not None:
                self.summary(outcome)
        elif event.stage == "export" and event.kind == "start" and self.tty:
            self._status = self.console.status("Exporting")
            self._status.__enter__()
        elif event.stage == "export":
            self._stop_live()

    def _on_lesson(self, event: RunEvent) -> None:
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

    def _start_progress(self, total: int) -> None:
        if not self.tty:
            return
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
        self._task = self._progress.add_task("Executing", total=total or None)

    def _stop_live(self, *exc: Any) -> None:
        for live in (self._progress, self._status):
            if live is not None:
                live.__exit__(*(exc or (None, None, None)))
        self._progress = self._status = None

    def print(self, line: str) -> None:
        self.console.print(line, markup=False, soft_wrap=True)

    def show(self, diagnostics: Iterable[Diagnostic]) -> None:
        """Print each diagnostic once, compiler-style."""
        for diagnostic in diagnostics:
            if diagnostic not in self.shown:
                self.shown.add(diagnostic)
                self.print(str(diagnostic))

    def summary(self, outcome: Outcome) -> None:
        """The lessons' results: a table (TTY), each failure's traceback, each lesson's
        warnings, and one line of counts and times."""
        results = outcome.results
        if self.tty:
            self.console.print(results_table(results))
        for result in results:
            if result.error is not None and result.error.traceback:
                if self.tty:
                    self.console.rule(str(result.error), style="red", align="left")
                else:
                    self.print(f"\n{result.error}")
                self.console.print(
                    result.error.traceback, markup=False, soft_wrap=True, highlight=False
                )
            for warning in result.warnings:
                self.print(f"warning: {warning}")
        summarise = lessons_summary if self.command == "build" else run_summary
        self.print(summarise(results, outcome.seconds, outcome.kernels_started))

    def finish(self, outcome: Outcome) -> None:
        """Everything not shown yet, once the pipeline ended."""
        self.show(outcome.diagnostics)
        if outcome.stopped and outcome.workshop is None:  # stopped by validation: exit 2
            self.print(diagnostics_summary(outcome.diagnostics, outcome.lesson_count))
        for rule in outcome.rule_breaks:
            self.print(str(rule))
        broken = sum(1 for rule in outcome.rule_breaks if rule.is_error)
        if broken:
            self.print(f"{broken} event rule{'s' * (broken != 1)} broken (exit 1)")
        if outcome.export is not None:
            self.print(f"export: {outcome.stage_seconds('export', 'swap'):.1f} s")
        for message in outcome.messages:
            self.print(message)
