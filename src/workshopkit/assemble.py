"""Stage 5: assemble tracks (DESIGN.md §3): prerequisites first, then beginner to advanced."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Collection, Iterator, Sequence

from .config import did_you_mean
from .model import (
    Diagnostic,
    EventSpec,
    Lesson,
    Severity,
    Track,
    TrackSpec,
    WorkshopConfig,
)

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
    config: WorkshopConfig, lessons: Sequence[Lesson], invalid: Collection[str] = ()
) -> tuple[tuple[Track, ...], list[Diagnostic]]:
    """Build every track; report unknown ids, missing prerequisites and level inversions.

    `invalid` holds the ids of lessons that failed validation: naming one is not an unknown id.
    """
    diagnostics: list[Diagnostic] = []
    known = {lesson.id for lesson in lessons}
    tracks: list[Track] = []
    for spec in config.tracks or (ALL_LESSONS,):
        diagnostics.extend(_unknown_lessons(config, "tracks", spec, known, invalid))
        chosen = select(spec, lessons)
        if config.tracks and not chosen:
            diagnostics.append(
                Diagnostic(
                    config.relpath,
                    spec.line,
                    Severity.WARNING,
                    f"track '{spec.id}' selects no lesson",
                )
            )
        ordered = order(chosen)
        diagnostics.extend(_missing_prerequisites(config, spec, ordered, known))
        diagnostics.extend(_level_inversions(spec, ordered))
        tracks.append(Track(spec.id, spec.title, tuple(ordered), spec.description))
    return tuple(tracks), diagnostics


def _missing_prerequisites(
    config: WorkshopConfig, spec: TrackSpec, ordered: Sequence[Lesson], known: Collection[str]
) -> Iterator[Diagnostic]:
    """A warning for each lesson of the track whose (existing) prerequisites it leaves out."""
    ids = {lesson.id for lesson in ordered}
    for lesson in ordered:
        missing = [r for r in lesson.meta.requires if r in known and r not in ids]
        if missing:
            yield Diagnostic(
                config.relpath,
                spec.line or 1,
                Severity.WARNING,
                f"track '{spec.id}' includes '{lesson.id}' but not its prerequisite(s) "
                f"{', '.join(repr(m) for m in missing)}",
            )


def _level_inversions(spec: TrackSpec, ordered: Sequence[Lesson]) -> Iterator[Diagnostic]:
    """A warning, at its level, for each lesson that prerequisites put after a harder one."""
    for earlier, later in itertools.pairwise(ordered):
        if later.meta.level.rank < earlier.meta.level.rank:
            yield Diagnostic(
                later.relpath,
                later.line_of("level"),
                Severity.WARNING,
                f"in track '{spec.id}', {later.meta.level} lesson '{later.id}' comes after "
                f"{earlier.meta.level} lesson '{earlier.id}' because of prerequisites",
            )


def check_event_items(
    config: WorkshopConfig, lessons: Sequence[Lesson], invalid: Collection[str] = ()
) -> list[Diagnostic]:
    """Events naming unknown lessons (the programme rules themselves live in `events`)."""
    known = {lesson.id for lesson in lessons}
    out: list[Diagnostic] = []
    for event in config.events:
        out.extend(_unknown_lessons(config, "events", event, known, invalid))
    return out


def _unknown_lessons(
    config: WorkshopConfig,
    table: str,
    spec: TrackSpec | EventSpec,
    known: Collection[str],
    invalid: Collection[str],
) -> Iterator[Diagnostic]:
    """An error, at its item in workshop.toml, for each id the `[[table]]` `spec` names that no
    lesson has (a lesson that failed validation is not unknown)."""
    key = _table_key(config, table, spec.line)
    for number, ident in enumerate(spec.lessons):
        if ident not in known and ident not in invalid:
            yield Diagnostic(
                config.relpath,
                _item_line(config, f"{key}.lessons", number, spec.line),
                Severity.ERROR,
                f"{table.removesuffix('s')} '{spec.id}' names unknown lesson '{ident}'"
                + did_you_mean(ident, known),
            )


def _table_key(config: WorkshopConfig, name: str, line: int) -> str:
    """The key path (`tracks.2`) of the `[[name]]` table that starts on `line`."""
    for key, where in config.key_lines.items():
        if where == line and key.startswith(f"{name}.") and key.count(".") == 1:
            return key
    return f"{name}.?"


def _item_line(config: WorkshopConfig, array: str, index: int, fallback: int) -> int:
    """The line of item `index` of an array in workshop.toml, else of the array, else `fallback`."""
    lines = config.key_lines
    return lines.get(f"{array}.{index}") or lines.get(array) or fallback or 1
