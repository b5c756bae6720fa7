"""Event programmes: an evening planned from lessons, talks and breaks, checked against the
community's rules of thumb (a talk for people starting out, something from the bleeding edge,
lightning talks with hard limits on minutes and slides, and every speaker shows code).

`plan_programme` and the rules here are pure and need no kernel: `check` reports them before any
lesson runs (exit 2). Slide counts and "shows code" need each talk's deck and executed notebook:
those rules live with the decks, in `export.events.check_decks`. `run` and `build` judge every
rule of every event together, after the lessons ran (pipeline.judge_events), so a broken rule
never keeps a lesson from running.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Diagnostic, EventSpec, Lesson, Level, Severity, Workshop


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


def event_references(workshop: Workshop) -> list[Diagnostic]:
    """Breaks and speakers naming a lesson the event does not hold: mistakes in workshop.toml,
    errors that stop every command (exit 2), like an event naming an unknown lesson."""
    config = workshop.config
    out: list[Diagnostic] = []
    for index, event in enumerate(config.events):
        known = set(event.lessons)
        for pause in event.breaks:
            if pause.after not in known:
                out.append(
                    Diagnostic(
                        config.relpath,
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
                        config.relpath,
                        config.line_of(f"events.{index}.speakers"),
                        Severity.ERROR,
                        f"event '{event.id}': speaker given for '{ident}', which is not in its "
                        "lessons",
                    )
                )
    return out


def check_programme(event: EventSpec, index: int, workshop: Workshop) -> list[Diagnostic]:
    """The rules that need no kernel: the minutes budget, the content mix, lightning minutes.

    `workshop` may hold only the lessons that passed validation: the mix is judged only when
    every lesson of the event is there (a lesson with a typo in its level would otherwise make
    the evening look as if it had no beginner or advanced item); the budget and lightning
    limits count what is there, so they never report a break that is not one.
    """
    config = workshop.config
    out: list[Diagnostic] = []
    programme = plan_programme(event, workshop)
    if event.minutes is not None and programme.minutes > event.minutes:
        out.append(
            Diagnostic(
                config.relpath,
                config.line_of(f"events.{index}.minutes"),
                Severity.ERROR,
                f"event '{event.id}' runs {programme.minutes} min, "
                f"{programme.minutes - event.minutes} over its {event.minutes}-minute budget",
            )
        )
    complete = {lesson.id for lesson in programme.lessons} == set(event.lessons)
    levels = {lesson.meta.level for lesson in programme.lessons}
    missing = [
        name
        for level, name in ((Level.BEGINNER, "beginner"), (Level.ADVANCED, "advanced"))
        if level not in levels
    ]
    if missing and programme.lessons and complete:
        out.append(
            Diagnostic(
                config.relpath,
                config.line_of(f"events.{index}"),
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


def check_programmes(workshop: Workshop) -> list[Diagnostic]:
    """`check_programme` for every event: the event rules that need no executed notebook."""
    out: list[Diagnostic] = []
    for index, event in enumerate(workshop.config.events):
        out.extend(check_programme(event, index, workshop))
    return out


def check_events(workshop: Workshop) -> list[Diagnostic]:
    """Everything `workshopkit check` says about events: references and programme rules."""
    return [*event_references(workshop), *check_programmes(workshop)]


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
