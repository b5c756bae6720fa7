"""Turn stage results into what people and machines read: text, tables, JSON, annotations."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import IO, Any

from .fileio import write_json_atomic as write_json_atomic  # the one atomic writer
from .model import Diagnostic, LessonResult, Status, Track, Workshop


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
