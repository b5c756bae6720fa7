"""Tracks: prerequisites first, then beginner -> intermediate -> advanced; ties keep the order of
workshop.toml or, failing that, the file path (DESIGN.md §3)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from workshopkit.assemble import assemble_tracks, check_event_items, order, select
from workshopkit.model import (
    EventSpec,
    Lesson,
    LessonMeta,
    Level,
    Severity,
    TrackSpec,
    WorkshopConfig,
)

ROOT = Path("/workshop")
BEG, MID, ADV = "beginner", "intermediate", "advanced"


def lesson(
    ident: str,
    level: str = BEG,
    requires: Sequence[str] = (),
    tags: Sequence[str] = (),
    minutes: int = 10,
) -> Lesson:
    meta = LessonMeta(
        id=ident,
        title=ident.title(),
        level=Level(level),
        minutes=minutes,
        tags=tuple(tags),
        requires=tuple(requires),
    )
    relpath = f"lessons/{ident}.py"
    return Lesson(
        path=ROOT / relpath,
        relpath=relpath,
        meta=meta,
        cells=(),
        text="",
        key_lines={"": 4, "id": 5, "level": 7, "requires": 9},
    )


def config(
    *tracks: TrackSpec, key_lines: dict[str, int] | None = None, **kw: object
) -> WorkshopConfig:
    return WorkshopConfig(
        root=ROOT,
        path=ROOT / "workshop.toml",
        title="Test",
        tracks=tracks,
        key_lines=key_lines or {},
        **kw,  # type: ignore[arg-type]
    )


def ids(lessons: Sequence[Lesson]) -> list[str]:
    return [x.id for x in lessons]


# lessons are given in path order; expected ids in teaching order
ORDER_CASES = [
    pytest.param(
        [lesson("a", ADV), lesson("b", BEG), lesson("c", MID)], ["b", "c", "a"], id="levels"
    ),
    pytest.param(
        [lesson("x", BEG), lesson("a", BEG), lesson("m", BEG)],
        ["x", "a", "m"],
        id="ties-keep-given-order",
    ),
    pytest.param(
        [lesson("late", BEG, requires=["early"]), lesson("early", BEG)],
        ["early", "late"],
        id="prerequisite-first-same-level",
    ),
    pytest.param(
        [lesson("basics", BEG, requires=["setup"]), lesson("setup", MID), lesson("other", BEG)],
        ["other", "setup", "basics"],
        id="prerequisite-of-higher-level-comes-first",
    ),
    pytest.param(
        [
            lesson("attention", ADV, requires=["nn"]),
            lesson("nn", MID, requires=["numpy"]),
            lesson("numpy", BEG),
            lesson("plots", BEG),
            lesson("stats", MID),
        ],
        ["numpy", "plots", "nn", "stats", "attention"],
        id="chain",
    ),
    pytest.param(
        [lesson("b", BEG, requires=["outside"]), lesson("a", BEG)],
        ["b", "a"],
        id="prerequisites-outside-the-selection-are-ignored",
    ),
    pytest.param(
        [lesson("p", BEG, requires=["q"]), lesson("q", BEG, requires=["p"]), lesson("r", BEG)],
        ["r", "p", "q"],
        id="a-cycle-goes-last-in-given-order",
    ),
    pytest.param(
        [lesson("self", BEG, requires=["self"]), lesson("z", MID)],
        ["self", "z"],
        id="requiring-itself-is-ignored",
    ),
    pytest.param([], [], id="empty"),
]


@pytest.mark.parametrize(("lessons", "expected"), ORDER_CASES)
def test_order(lessons: list[Lesson], expected: list[str]) -> None:
    assert ids(order(lessons)) == expected


def test_order_never_puts_a_lesson_before_what_it_requires() -> None:
    lessons = [
        lesson(f"l{n}", (BEG, MID, ADV)[n % 3], requires=[f"l{(n * 7) % n}"] if n > 1 else [])
        for n in range(30)
    ]
    placed: set[str] = set()
    for item in order(lessons):
        assert all(r in placed or r == item.id for r in item.meta.requires)
        placed.add(item.id)
    assert len(placed) == 30


CORPUS = [
    lesson("numpy", BEG, tags=["numpy", "arrays"]),
    lesson("pandas", BEG, tags=["pandas"]),
    lesson("regression", MID, requires=["numpy"], tags=["numpy", "models"]),
    lesson("attention", ADV, requires=["regression"], tags=["models"]),
]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            TrackSpec("t", "T", 1), ["numpy", "pandas", "regression", "attention"], id="all"
        ),
        pytest.param(
            TrackSpec("t", "T", 1, levels=(Level.BEGINNER,)), ["numpy", "pandas"], id="levels"
        ),
        pytest.param(
            TrackSpec("t", "T", 1, levels=(Level.ADVANCED, Level.INTERMEDIATE)),
            ["regression", "attention"],
            id="levels-keep-path-order",
        ),
        pytest.param(
            TrackSpec("t", "T", 1, tags=("models",)), ["regression", "attention"], id="tags"
        ),
        pytest.param(
            TrackSpec("t", "T", 1, tags=("pandas", "arrays")), ["numpy", "pandas"], id="any-tag"
        ),
        pytest.param(
            TrackSpec("t", "T", 1, levels=(Level.BEGINNER,), tags=("numpy",)),
            ["numpy"],
            id="levels-and-tags",
        ),
        pytest.param(
            TrackSpec("t", "T", 1, lessons=("attention", "pandas", "unknown", "pandas")),
            ["attention", "pandas"],
            id="lessons-in-toml-order",
        ),
        pytest.param(
            TrackSpec("t", "T", 1, levels=(Level.BEGINNER,), lessons=("attention",)),
            ["attention"],
            id="lessons-win-over-levels",
        ),
    ],
)
def test_select(spec: TrackSpec, expected: list[str]) -> None:
    assert ids(select(spec, CORPUS)) == expected


def test_no_tracks_gives_one_track_with_every_lesson() -> None:
    tracks, diagnostics = assemble_tracks(config(), CORPUS)
    assert diagnostics == []
    (track,) = tracks
    assert (track.id, track.title) == ("all", "All lessons")
    assert ids(track.lessons) == ["numpy", "pandas", "regression", "attention"]
    assert track.minutes == 40


def test_listed_lessons_tie_in_toml_order_but_respect_levels_and_prerequisites() -> None:
    spec = TrackSpec("t", "T", 3, lessons=("attention", "pandas", "regression", "numpy"))
    (track,), diagnostics = assemble_tracks(config(spec), CORPUS)
    assert ids(track.lessons) == ["pandas", "numpy", "regression", "attention"]
    assert diagnostics == []


def test_a_level_inversion_is_a_warning_on_the_lesson_level_line() -> None:
    lessons = [lesson("intro", BEG, requires=["setup"]), lesson("setup", ADV)]
    (track,), diagnostics = assemble_tracks(config(), lessons)
    assert ids(track.lessons) == ["setup", "intro"]
    assert [(d.path, d.line, d.severity) for d in diagnostics] == [
        ("lessons/intro.py", 7, Severity.WARNING)
    ]
    assert diagnostics[0].message == (
        "in track 'all', beginner lesson 'intro' comes after advanced lesson 'setup' "
        "because of prerequisites"
    )


def test_a_missing_prerequisite_is_a_warning_on_the_track_line() -> None:
    spec = TrackSpec("models", "Models", 12, tags=("models",))
    (track,), diagnostics = assemble_tracks(config(spec), CORPUS)
    assert ids(track.lessons) == ["regression", "attention"]
    assert [(d.path, d.line, d.severity) for d in diagnostics] == [
        ("workshop.toml", 12, Severity.WARNING)
    ]
    assert diagnostics[0].message == (
        "track 'models' includes 'regression' but not its prerequisite(s) 'numpy'"
    )


def test_a_track_selecting_nothing_is_a_warning() -> None:
    spec = TrackSpec("empty", "Empty", 5, tags=("nothing",))
    (track,), diagnostics = assemble_tracks(config(spec), CORPUS)
    assert track.lessons == ()
    assert [(d.line, d.severity, d.message) for d in diagnostics] == [
        (5, Severity.WARNING, "track 'empty' selects no lesson")
    ]


def test_an_unknown_lesson_in_a_track_is_an_error_on_its_own_line() -> None:
    spec = TrackSpec("basics", "Basics", 3, lessons=("numpy", "numpi", "gone"))
    key_lines = {"tracks.0": 3, "tracks.0.lessons": 6, "tracks.0.lessons.1": 8}
    _, diagnostics = assemble_tracks(config(spec, key_lines=key_lines), CORPUS)
    assert [(d.line, d.severity, d.message) for d in diagnostics] == [
        (8, Severity.ERROR, "track 'basics' names unknown lesson 'numpi' (did you mean 'numpy'?)"),
        (6, Severity.ERROR, "track 'basics' names unknown lesson 'gone'"),
    ]


def test_naming_a_lesson_that_failed_validation_is_not_an_unknown_id() -> None:
    spec = TrackSpec("basics", "Basics", 3, lessons=("numpy", "broken"))
    _, diagnostics = assemble_tracks(config(spec), CORPUS, invalid={"broken"})
    assert diagnostics == []


def test_several_tracks_are_built_in_toml_order() -> None:
    specs = (
        TrackSpec("advanced", "Advanced", 1, levels=(Level.ADVANCED,)),
        TrackSpec("first", "First", 5, levels=(Level.BEGINNER,), description="Start here"),
    )
    tracks, _ = assemble_tracks(config(*specs), CORPUS)
    assert [(t.id, t.title, t.description, ids(t.lessons)) for t in tracks] == [
        ("advanced", "Advanced", "", ["attention"]),
        ("first", "First", "Start here", ["numpy", "pandas"]),
    ]


def test_event_items_must_be_known_lessons() -> None:
    event = EventSpec("meetup", "Meetup", 9, lessons=("numpy", "pandsa"))
    key_lines = {"events.0": 9, "events.0.lessons": 12, "events.0.lessons.1": 12}
    diagnostics = check_event_items(config(events=(event,), key_lines=key_lines), CORPUS)
    assert [(d.line, d.message) for d in diagnostics] == [
        (12, "event 'meetup' names unknown lesson 'pandsa' (did you mean 'pandas'?)")
    ]
