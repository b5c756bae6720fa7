"""Turn stage results into what people and machines read: text, tables, JSON, annotations.

`report.json` has one schema, whoever writes it: `workshopkit run` (`.workshopkit/report.json`,
or `--report F`), `workshopkit build` (`dist/report.json`, and `--report F`), and a run stopped
before any lesson ran (no such kernel), so that CI never reads an old success. `report_json`
below is the only place it is built; the JSON Schema is `report.schema.json` beside this module
(`SCHEMA_PATH`), and the tests validate every kind of report against it. Version 1 holds:

```
schema           1; raised when a field changes meaning or goes away (a new field keeps it)
generator        "workshopkit <version>"
command          "run" or "build"
workshop         the title in workshop.toml
python           the Python version that ran workshopkit
status           "passed" (exit 0), "failed" (exit 1: a lesson failed or an event rule was
                 broken), "error" (exit 2 or 3: the command could not finish)
exit_code        the command's exit code (0, 1, 2, 3; see the README)
seconds          wall time of executing the lessons (the export is not included)
kernels_started  kernels started (0 when every result came from the cache)
kernel_start     how kernels started: {mode ("fork" | "exec"), forked, exec, fallbacks (why
                 kernels were exec'd in fork mode, each reason once)}; null if none was needed
summary          lessons per status: passed, failed, skipped (and not-run, when some were not)
error            null, or what stopped the command, as printed ("workshop.toml: no such kernel")
event_rules      every event rule finding, {path, line, severity, message}, judged after the
                 lessons ran (severity "error" is a broken rule)
diagnostics      what check and the export found, same fields (warnings when lessons ran)
lessons          one entry per lesson run (build: every lesson), in the workshop's order:
                 id, path, title, level, minutes, status (passed, failed, skipped, not-run),
                 seconds, cached, reason, warnings, exported, and error: null or
                 {path, line, cell, ename, evalue, kind, traceback}
tracks           build only: {id, title, minutes, lessons, left_out, bundle}; bundle is null
                 (no zip written) or {file, size, sha256}
shard            `run --shard K/N` only: {index, count, lessons, plan}: the part, the lesson
                 ids assigned to it, the digest of what the parts were planned from (shard.py)
shards           `merge` only: each part joined, {index, count, lessons, plan, seconds,
                 kernels_started, exit_code}; the merged `seconds` is the longest part's,
                 `kernels_started` their sum
```
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import __version__
from .fileio import write_json_atomic as write_json_atomic  # the one atomic writer
from .fileio import write_text_atomic as write_text_atomic
from .model import Diagnostic, Lesson, LessonResult, Status, Track, Workshop

if TYPE_CHECKING:
    from .errors import WorkshopkitError
    from .forkkernel import ForkStats

SCHEMA = 1
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
GENERATOR = f"workshopkit {__version__}"


def format_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[str]:
    return [str(d) for d in diagnostics]


def github_annotation(kind: str, path: str, line: int, message: str, title: str = "") -> str:
    """A GitHub Actions workflow command; newlines and `%` are escaped as the runner expects."""

    def esc(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def esc_prop(text: str) -> str:
        return esc(text).replace(":", "%3A").replace(",", "%2C")

    props = f"file={esc_prop(path)}"
    if line:
        props += f",line={line}"
    if title:
        props += f",title={esc_prop(title)}"
    return f"::{kind} {props}::{esc(message)}"


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def diagnostics_summary(diagnostics: Sequence[Diagnostic], lessons: int) -> str:
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    noun = "lesson" if lessons == 1 else "lessons"
    parts = [f"{errors} error{'s' * (errors != 1)}", f"{warnings} warning{'s' * (warnings != 1)}"]
    return f"checked {lessons} {noun}: {', '.join(parts)}"


def tracks_json(workshop: Workshop) -> dict[str, Any]:
    return {
        "title": workshop.config.title,
        "tracks": [
            {
                "id": track.id,
                "title": track.title,
                "minutes": track.minutes,
                "lessons": [
                    {
                        "id": lesson.id,
                        "title": lesson.meta.title,
                        "level": lesson.meta.level.value,
                        "minutes": lesson.meta.minutes,
                        "kind": lesson.meta.kind,
                        "requires": list(lesson.meta.requires),
                        "path": lesson.relpath,
                    }
                    for lesson in track.lessons
                ],
            }
            for track in workshop.tracks
        ],
    }


def print_tracks(workshop: Workshop, out: IO[str], as_json: bool = False) -> None:
    if as_json:
        json.dump(tracks_json(workshop), out, indent=2)
        out.write("\n")
        return
    for n, track in enumerate(workshop.tracks):
        if n:
            out.write("\n")
        _print_track(track, out)


def _print_track(track: Track, out: IO[str]) -> None:
    count = len(track.lessons)
    noun = "lesson" if count == 1 else "lessons"
    out.write(f"{track.id}: {track.title} ({count} {noun}, {track.minutes} min)\n")
    width = max((len(lesson.id) for lesson in track.lessons), default=2)
    for i, lesson in enumerate(track.lessons, start=1):
        requires = f"  requires {', '.join(lesson.meta.requires)}" if lesson.meta.requires else ""
        out.write(
            f"  {i:>2}. {lesson.id:<{width}}  {lesson.meta.level.value:<12} "
            f"{lesson.meta.minutes:>3} min  {lesson.meta.title}{requires}\n"
        )


@dataclass(frozen=True, slots=True)
class ReportFacts:
    """What `report.json` says beyond each lesson's own result."""

    command: str = "build"
    exit_code: int | None = None  # None: 1 when a lesson failed, else 0 (an export on its own)
    seconds: float = 0.0
    kernels_started: int = 0
    kernel_start: ForkStats | None = None  # how the kernels started (None: none was needed)
    error: WorkshopkitError | None = None
    event_rules: tuple[Diagnostic, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()


def report_json(
    workshop: Workshop,
    lessons: Sequence[Lesson],
    results: Mapping[str, LessonResult],
    facts: ReportFacts,
    *,
    exported: Iterable[str] = (),
    bundles: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """`report.json` (schema 1, see the module docstring) for `lessons`, in their order.

    `bundles` maps a track id to its zip's `{file, size, sha256}`; a `build` report lists its
    tracks (a track without a zip has `bundle: null`), a `run` report has none."""
    done = set(exported)
    entries = [
        _lesson_entry(lesson, results.get(lesson.id), lesson.id in done) for lesson in lessons
    ]
    counts = {status.value: 0 for status in Status}
    for entry in entries:
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    exit_code = facts.exit_code if facts.exit_code is not None else int(counts["failed"] > 0)
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "generator": GENERATOR,
        "command": facts.command,
        "workshop": workshop.config.title,
        "python": platform.python_version(),
        "status": "passed" if exit_code == 0 else "failed" if exit_code == 1 else "error",
        "exit_code": exit_code,
        "seconds": round(facts.seconds, 3),
        "kernels_started": facts.kernels_started,
        "kernel_start": _kernel_start_json(facts.kernel_start),
        "summary": counts,
        "error": _error_json(facts.error),
        "event_rules": [_diagnostic_json(d) for d in facts.event_rules],
        "diagnostics": [_diagnostic_json(d) for d in facts.diagnostics],
        "lessons": entries,
    }
    if facts.command == "build":
        report["tracks"] = [
            _track_json(track, done, (bundles or {}).get(track.id)) for track in workshop.tracks
        ]
    return report


def _kernel_start_json(stats: ForkStats | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    return {
        "mode": stats.mode,
        "forked": stats.forked,
        "exec": stats.execed,
        "fallbacks": list(stats.fallbacks),
    }


def _lesson_entry(lesson: Lesson, result: LessonResult | None, exported: bool) -> dict[str, Any]:
    entry: dict[str, Any] = (
        result.to_json()
        if result is not None
        else {
            "id": lesson.id,
            "path": lesson.relpath,
            "status": "not-run",
            "seconds": 0.0,
            "cached": False,
            "reason": "not run",
            "error": None,
            "warnings": [],
        }
    )
    entry["title"] = lesson.meta.title
    entry["level"] = lesson.meta.level.value
    entry["minutes"] = lesson.meta.minutes
    entry["exported"] = exported
    return entry


def _track_json(track: Track, done: set[str], bundle: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        "id": track.id,
        "title": track.title,
        "minutes": track.minutes,
        "lessons": [lesson.id for lesson in track.lessons],
        "left_out": [lesson.id for lesson in track.lessons if lesson.id not in done],
        "bundle": dict(bundle) if bundle is not None else None,
    }


def _diagnostic_json(diagnostic: Diagnostic) -> dict[str, Any]:
    return {
        "path": diagnostic.path,
        "line": diagnostic.line,
        "severity": diagnostic.severity.value,
        "message": diagnostic.message,
    }


def _error_json(error: WorkshopkitError | None) -> str | None:
    return str(error) if error is not None else None


def result_line(result: LessonResult) -> str:
    """One plain line per lesson, for logs and non-TTY output."""
    status = "cached" if result.cached else result.status.value
    if result.status is Status.SKIPPED:
        status = f"skipped: {result.reason}"
    line = f"{status:<8} {result.seconds:6.1f}s  {result.path}"
    if result.error is not None:
        line += f"\n         {result.error}"
    return line


def run_summary(results: Sequence[LessonResult], seconds: float, kernels: int) -> str:
    counts = {s: sum(1 for r in results if r.status is s) for s in Status}
    cached = sum(1 for r in results if r.cached)
    parts = [f"{counts[Status.PASSED]} passed", f"{counts[Status.FAILED]} failed"]
    if counts[Status.SKIPPED]:
        parts.append(f"{counts[Status.SKIPPED]} skipped")
    if cached:
        parts.append(f"{cached} cached")
    return f"{', '.join(parts)} in {seconds:.1f}s ({kernels} kernel{'s' * (kernels != 1)} started)"


def lessons_summary(results: Sequence[LessonResult], seconds: float, kernels: int) -> str:
    """`build`'s line about the lessons alone: "lessons: 12 passed (12 cached) in 0.4 s ..."."""
    counts = {s: sum(1 for r in results if r.status is s) for s in Status}
    cached = sum(1 for r in results if r.cached)
    parts = [f"{counts[Status.PASSED]} passed" + (f" ({cached} cached)" if cached else "")]
    if counts[Status.FAILED]:
        parts.append(f"{counts[Status.FAILED]} failed")
    if counts[Status.SKIPPED]:
        parts.append(f"{counts[Status.SKIPPED]} skipped")
    started = f"{kernels} kernel{'s' * (kernels != 1)} started"
    return f"lessons: {', '.join(parts)} in {seconds:.1f} s ({started})"


def results_table(results: Sequence[LessonResult]) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Lesson results", title_justify="left")
    table.add_column("Lesson")
    table.add_column("Status")
    table.add_column("Seconds", justify="right")
    table.add_column("First error", overflow="fold")
    styles = {Status.PASSED: "green", Status.FAILED: "bold red", Status.SKIPPED: "yellow"}
    for r in results:
        status = "cached" if r.cached else str(r.status)
        if r.status is Status.SKIPPED:
            status = f"skipped: {r.reason}"
        table.add_row(
            r.path,
            Text(status, style=styles[r.status]),
            f"{r.seconds:.1f}",
            Text(str(r.error)) if r.error else "",
        )
    return table


def error_annotations(results: Sequence[LessonResult]) -> list[str]:
    return [
        github_annotation(
            "error",
            r.error.path,
            r.error.line,
            f"{r.error.ename}: {r.error.evalue}" if r.error.ename else r.error.evalue,
            title=f"lesson {r.lesson_id} failed",
        )
        for r in results
        if r.error is not None
    ]


def junit_xml(results: Sequence[LessonResult], seconds: float) -> str:
    from xml.etree import ElementTree as ET

    failures = sum(1 for r in results if r.status is Status.FAILED)
    skipped = sum(1 for r in results if r.status is Status.SKIPPED)
    suite = ET.Element(
        "testsuite",
        name="workshopkit",
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{seconds:.3f}",
    )
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="lessons",
            name=r.lesson_id,
            file=r.path,
            time=f"{r.seconds:.3f}",
        )
        if r.error is not None:
            failure = ET.SubElement(
                case, "failure", message=str(r.error), type=r.error.ename or r.error.kind
            )
            failure.text = r.error.traceback
        elif r.status is Status.SKIPPED:
            ET.SubElement(case, "skipped", message=r.reason)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def print_events(workshop: Workshop, out: IO[str], as_json: bool = False) -> None:
    from .events import format_programme, plan_programme

    programmes = [plan_programme(event, workshop) for event in workshop.config.events]
    if as_json:
        data = [
            {
                "id": p.event.id,
                "title": p.event.title,
                "date": p.event.date,
                "start": p.event.start,
                "venue": p.event.venue,
                "budget": p.event.minutes,
                "minutes": p.minutes,
                "items": [
                    {
                        "kind": item.kind,
                        "id": item.lesson.id if item.lesson else None,
                        "title": item.title,
                        "level": item.lesson.meta.level.value if item.lesson else None,
                        "minutes": item.minutes,
                        "start": item.start,
                        "end": item.end,
                        "speaker": item.speaker,
                    }
                    for item in p.items
                ],
            }
            for p in programmes
        ]
        json.dump(data, out, indent=2)
        out.write("\n")
        return
    if not programmes:
        out.write("no [[events]] in workshop.toml\n")
    out.write("\n\n".join(format_programme(p) for p in programmes) + ("\n" if programmes else ""))
