"""Stage 5: assemble tracks (DESIGN.md §3): prerequisites first, then beginner to advanced."""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from .config import did_you_mean
from .model import Diagnostic, Lesson, Severity, Track, TrackSpec, WorkshopConfig

ALL_LESSONS = TrackSpec(id="all", title="All lessons", line=0)


def select(spec: TrackSpec, lessons: Sequence[Lesson]) -> list[Lesson]:
    """The lessons a track spec names, in tie-break order (workshop.toml's, else file path)."""
    if spec.lessons:
        by_id = {lesson.id: lesson for lesson in lessons}
        return [by_id[i] for i in dict.fromkeys(spec.lessons) if i in by_id]
    chosen = list(lessons)
    if spec.levels:
        chosen = [lesson for lesson in chosen if lesson.meta.level in spec.levels]
    if spec.tags:
        chosen = [lesson for lesson in chosen if set(lesson.meta.tags) & set(spec.tags)]
    return chosen


def order(lessons: Sequence[Lesson]) -> list[Lesson]:
    """Topological order over `requires` (within these lessons), lowest level first, then tie order.

    Lessons caught in a cycle (reported by validation) are appended in tie order.
    """
    position = {lesson.id: i for i, lesson in enumerate(lessons)}
    waiting = {
        lesson.id: {r for r in lesson.meta.requires if r in position and r != lesson.id}
        for lesson in lessons
    }
    dependents: dict[str, list[str]] = {lesson.id: [] for lesson in lessons}
    for ident, reqs in waiting.items():
        for req in reqs:
            dependents[req].append(ident)
    by_id = {lesson.id: lesson for lesson in lessons}
    ready = [(by_id[i].meta.level.rank, position[i], i) for i, reqs in waiting.items() if not reqs]
    heapq.heapify(ready)
    result: list[Lesson] = []
    while ready:
        _, _, ident = heapq.heappop(ready)
        result.append(by_id[ident])
        for dep in dependents[ident]:
            waiting[dep].discard(ident)
            if not waiting[dep]:
                heapq.heappush(ready, (by_id[dep].meta.level.rank, position[dep], dep))
    placed = {lesson.id for lesson in result}
    result.extend(lesson for lesson in lessons if lesson.id not in placed)
    return result


def assemble_tracks(
    config: WorkshopConfig, lessons: Sequence[Lesson]
) -> tuple[tuple[Track, ...], list[Diagnostic]]:
    """Build every track; report unknown ids, missing prerequisites and level inversions."""
    diagnostics: list[Diagnostic] = []
    known = {lesson.id for lesson in lessons}
    specs = config.tracks or (ALL_LESSONS,)
    tracks: list[Track] = []
    for spec in specs:
        line = config.line_of(f"tracks.{config.tracks.index(spec)}.lessons") if config.tracks else 1
        for ident in spec.lessons:
            if ident not in known:
                diagnostics.append(
                    Diagnostic(
                        config.relpath,
                        line,
                        Severity.ERROR,
                        f"track '{spec.id}' names unknown lesson '{ident}'{did_you_mean(ident, known)}",
                    )
                )
        chosen = select(spec, lessons)
        if config.tracks and not chosen:
            diagnostics.append(
                Diagnostic(
                    config.relpath, spec.line, Severity.WARNING, f"track '{spec.id}' selects no lesson"
                )
            )
        ordered = order(chosen)
        ids = {lesson.id for lesson in ordered}
        for lesson in ordered:
            missing = [r for r in lesson.meta.requires if r in known and r not in ids]
            if missing:
                diagnostics.append(
                    Diagnostic(
                        config.relpath,
                        spec.line or 1,
                        Severity.WARNING,
                        f"track '{spec.id}' includes '{lesson.id}' but not its prerequisite(s) "
                        f"{', '.join(repr(m) for m in missing)}",
                    )
                )
        for earlier, later in zip(ordered, ordered[1:]):
            if later.meta.level.rank < earlier.meta.level.rank:
                diagnostics.append(
                    Diagnostic(
                        later.relpath,
                        later.line_of("level"),
                        Severity.WARNING,
                        f"in track '{spec.id}', {later.meta.level} lesson '{later.id}' comes after "
                        f"{earlier.meta.level} lesson '{earlier.id}' because of prerequisites",
                    )
                )
        tracks.append(Track(spec.id, spec.title, tuple(ordered), spec.description))
    return tuple(tracks), diagnostics


def check_event_items(config: WorkshopConfig, lessons: Sequence[Lesson]) -> list[Diagnostic]:
    """Events naming unknown lessons (the programme rules themselves live in `events`)."""
    known = {lesson.id for lesson in lessons}
    out: list[Diagnostic] = []
    for index, event in enumerate(config.events):
        line = config.line_of(f"events.{index}.lessons")
        for ident in event.lessons:
            if ident not in known:
                out.append(
                    Diagnostic(
                        config.relpath,
                        line,
                        Severity.ERROR,
                        f"event '{event.id}' names unknown lesson '{ident}'{did_you_mean(ident, known)}",
                    )
                )
    return out
