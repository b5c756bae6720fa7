"""Event programmes: an evening planned from lessons, talks and breaks, checked against the
community's rules of thumb (a talk for people starting out, something from the bleeding edge,
lightning talks with hard limits on minutes and slides, and every speaker shows code).

`plan_programme` and `check_event` are pure and run in `workshopkit check`; slide counts and
"shows code" need each talk's deck and executed notebook, so `check_decks` runs in `run`/`build`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .model import (
    HIDDEN_SLIDE_TYPES,
    NEW_SLIDE_TYPES,
    TAG_SKIP,
    Diagnostic,
    EventSpec,
    Lesson,
    LessonResult,
    Level,
    Severity,
    Status,
    Workshop,
)


@dataclass(frozen=True, slots=True)
class ProgrammeItem:
    """One slot of an evening: a lesson, talk or lightning talk, or a break."""

    title: str
    minutes: int
    start: str  # "18:30", or "" when the event has no start time
    end: str
    lesson: Lesson | None = None
    speaker: str = ""

    @property
    def kind(self) -> str:
        return self.lesson.meta.kind if self.lesson is not None else "break"


@dataclass(frozen=True, slots=True)
class Programme:
    event: EventSpec
    items: tuple[ProgrammeItem, ...]

    @property
    def minutes(self) -> int:
        return sum(item.minutes for item in self.items)

    @property
    def lessons(self) -> tuple[Lesson, ...]:
        return tuple(item.lesson for item in self.items if item.lesson is not None)


@dataclass(frozen=True, slots=True)
class DeckFacts:
    """What a talk's slides really show."""

    slides: int
    code_with_output: int


def _clock(start: str, offset: int) -> str:
    if not start:
        return ""
    hours, minutes = (int(x) for x in start.split(":"))
    total = hours * 60 + minutes + offset
    return f"{total // 60 % 24:02d}:{total % 60:02d}"


def plan_programme(event: EventSpec, workshop: Workshop) -> Programme:
    """The evening in order, with clock times computed from the start time."""
    by_id = {lesson.id: lesson for lesson in workshop.lessons}
    items: list[ProgrammeItem] = []
    elapsed = 0

    def add(title: str, minutes: int, lesson: Lesson | None = None, speaker: str = "") -> None:
        nonlocal elapsed
        start, end = _clock(event.start, elapsed), _clock(event.start, elapsed + minutes)
        items.append(ProgrammeItem(title, minutes, start, end, lesson, speaker))
        elapsed += minutes

    for ident in event.lessons:
        lesson = by_id.get(ident)
        if lesson is not None:
            add(lesson.meta.title, lesson.meta.minutes, lesson, event.speakers.get(ident, ""))
        for pause in event.breaks:
            if pause.after == ident:
                add(pause.title, pause.minutes)
    return Programme(event, tuple(items))


def check_event(event: EventSpec, index: int, workshop: Workshop) -> list[Diagnostic]:
    """The rules that need no kernel: budget, content mix, lightning minutes, references."""
    config = workshop.config
    where = config.relpath
    line = config.line_of(f"events.{index}")
    out: list[Diagnostic] = []
    programme = plan_programme(event, workshop)
    known = set(event.lessons)
    for pause in event.breaks:
        if pause.after not in known:
            out.append(
                Diagnostic(
                    where,
                    config.line_of(f"events.{index}.breaks"),
                    Severity.ERROR,
                    f"event '{event.id}': break '{pause.title}' comes after '{pause.after}', "
                    "which is not in its lessons",
                )
            )
    for ident in event.speakers:
        if ident not in known:
            out.append(
                Diagnostic(
                    where,
                    config.line_of(f"events.{index}.speakers"),
                    Severity.ERROR,
                    f"event '{event.id}': speaker given for '{ident}', which is not in its lessons",
                )
            )
    if event.minutes is not None and programme.minutes > event.minutes:
        out.append(
            Diagnostic(
                where,
                config.line_of(f"events.{index}.minutes"),
                Severity.ERROR,
                f"event '{event.id}' runs {programme.minutes} min, "
                f"{programme.minutes - event.minutes} over its {event.minutes}-minute budget",
            )
        )
    levels = {lesson.meta.level for lesson in programme.lessons}
    missing = [
        name
        for level, name in ((Level.BEGINNER, "beginner"), (Level.ADVANCED, "advanced"))
        if level not in levels
    ]
    if missing and programme.lessons:
        out.append(
            Diagnostic(
                where,
                line,
                Severity.WARNING,
                f"event '{event.id}' has no {' and no '.join(missing)} item "
                "(the rule of thumb: something for people starting out and something from the "
                "bleeding edge)",
            )
        )
    rules = event.lightning
    for lesson in programme.lessons:
        if lesson.meta.kind == "lightning" and lesson.meta.minutes > rules.max_minutes:
            out.append(
                Diagnostic(
                    lesson.relpath,
                    lesson.line_of("minutes"),
                    Severity.ERROR,
                    f"lightning talk '{lesson.id}' is {lesson.meta.minutes} min, over the "
                    f"{rules.max_minutes}-minute limit of event '{event.id}'",
                )
            )
    return out


def check_events(workshop: Workshop) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for index, event in enumerate(workshop.config.events):
        out.extend(check_event(event, index, workshop))
    return out


def deck_facts(nb: Any) -> DeckFacts:
    """Count the slides of a prepared deck and the code cells on it that ran and printed."""
    from .export.slides import prepare_slides

    deck = prepare_slides(nb)
    slides = 0
    code = 0
    visible_seen = False
    for cell in deck.cells:
        slide_type = cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")
        if slide_type in HIDDEN_SLIDE_TYPES:
            continue
        if slide_type in NEW_SLIDE_TYPES or not visible_seen:
            slides += 1  # nbconvert forces the first visible cell to start a slide
        visible_seen = True
        tags = cell.get("metadata", {}).get("tags", [])
        if (
            cell.get("cell_type") == "code"
            and cell.get("execution_count") is not None
            and cell.get("outputs")
            and TAG_SKIP not in tags
        ):
            code += 1
    return DeckFacts(slides, code)


def check_decks(
    workshop: Workshop,
    results: Sequence[LessonResult],
    facts: Mapping[str, DeckFacts] | None = None,
) -> list[Diagnostic]:
    """Slide limits of lightning talks and `must_show_code`, from the executed notebooks."""
    if not workshop.config.events:
        return []
    by_result = {r.lesson_id: r for r in results}
    known: dict[str, DeckFacts] = dict(facts or {})
    out: list[Diagnostic] = []
    for event in workshop.config.events:
        rules = event.lightning
        for lesson in plan_programme(event, workshop).lessons:
            if lesson.id not in known:
                result = by_result.get(lesson.id)
                if result is None or result.status is not Status.PASSED or result.notebook is None:
                    continue
                known[lesson.id] = deck_facts(_read(result.notebook))
            fact = known[lesson.id]
            if lesson.meta.kind == "lightning" and fact.slides > rules.max_slides:
                out.append(
                    Diagnostic(
                        lesson.relpath,
                        lesson.line_of(""),
                        Severity.ERROR,
                        f"lightning talk '{lesson.id}' has {fact.slides} slides, over the "
                        f"{rules.max_slides}-slide limit of event '{event.id}'",
                    )
                )
            if rules.must_show_code and fact.code_with_output == 0:
                out.append(
                    Diagnostic(
                        lesson.relpath,
                        lesson.line_of(""),
                        Severity.ERROR,
                        f"'{lesson.id}' shows no code on its slides (event '{event.id}' requires "
                        "every speaker to show a code cell that runs and prints something)",
                    )
                )
    return sorted(set(out))


def _read(path: Path) -> Any:
    import nbformat

    return nbformat.read(str(path), as_version=4)  # type: ignore[no-untyped-call]


def format_programme(programme: Programme) -> str:
    event = programme.event
    head = f"{event.id}: {event.title}"
    details = ", ".join(x for x in (event.date, event.venue) if x)
    budget = (
        f"{programme.minutes} of {event.minutes} min"
        if event.minutes
        else f"{programme.minutes} min"
    )
    lines = [f"{head}" + (f" ({details})" if details else "") + f" - {budget}"]
    for item in programme.items:
        when = f"{item.start}-{item.end}" if item.start else ""
        if item.lesson is None:
            lines.append(f"  {when:<11} {'break':<10} {item.minutes:>3} min  {item.title}")
            continue
        level = item.lesson.meta.level.value
        speaker = f"  ({item.speaker})" if item.speaker else ""
        lines.append(
            f"  {when:<11} {item.kind:<10} {item.minutes:>3} min  {item.title} [{level}]{speaker}"
        )
    return "\n".join(lines)
