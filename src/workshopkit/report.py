"""Turn stage results into what people and machines read: text, tables, JSON, annotations."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import IO, Any

from .model import Diagnostic, Track, Workshop


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
    out.write(f"{track.id}: {track.title} ({len(track.lessons)} lessons, {track.minutes} min)\n")
    width = max((len(lesson.id) for lesson in track.lessons), default=2)
    for i, lesson in enumerate(track.lessons, start=1):
        requires = f"  requires {', '.join(lesson.meta.requires)}" if lesson.meta.requires else ""
        out.write(
            f"  {i:>2}. {lesson.id:<{width}}  {lesson.meta.level.value:<12} "
            f"{lesson.meta.minutes:>3} min  {lesson.meta.title}{requires}\n"
        )
