"""Event programmes: clock times and every rule of the meetup rhythm (no kernel needed)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from click.testing import CliRunner

from workshopkit.cli import cli
from workshopkit.events import plan_programme
from workshopkit.export.events import check_decks, deck_facts
from workshopkit.load import to_notebook
from workshopkit.model import LessonResult, Status, Workshop
from workshopkit.pipeline import open_workshop


def lesson(
    ident: str,
    level: str,
    minutes: int,
    kind: str = "lesson",
    slides: int = 2,
    code: str = "print('hi')",
    code_slide: str = "-",
) -> str:
    cells = []
    for n in range(slides):
        cells.append(f'# %% [markdown] slideshow={{"slide_type": "slide"}}\n# ## Slide {n + 1}\n')
    cells.append(f'# %% slideshow={{"slide_type": "{code_slide}"}}\n{code}\n')
    cells.append('# %% [markdown] slideshow={"slide_type": "notes"}\n# Notes.\n')
    header = (
        "# ---\n# jupyter:\n"
        "#   kernelspec: {display_name: Python 3, language: python, name: python3}\n"
        f"#   workshopkit: {{id: {ident}, title: {ident.title()}, level: {level}, "
        f"minutes: {minutes}, kind: {kind}}}\n# ---\n\n"
    )
    return header + "\n".join(cells)


EVENT = """
[[events]]
id = "meetup"
title = "December meetup"
date = "2026-12-10"
start = "18:30"
venue = "Library"
minutes = {minutes}
lessons = {lessons}
speakers = {{ intro = "Ada" }}
breaks = [{{ after = "intro", minutes = 15, title = "Pizza" }}]
lightning = {{ max_minutes = 5, max_slides = 6, must_show_code = true }}
"""


def make(tmp_path: Path, lessons: dict[str, str], ids: list[str], minutes: int = 120) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    toml = 'title = "Meetups"\n' + EVENT.format(minutes=minutes, lessons=json.dumps(ids))
    (root / "workshop.toml").write_text(toml, encoding="utf-8")
    for ident, text in lessons.items():
        (root / f"{ident}.py").write_text(text, encoding="utf-8")
    return root


def standard(**overrides: str) -> dict[str, str]:
    lessons = {
        "intro": lesson("intro", "beginner", 30),
        "flash": lesson("flash", "intermediate", 5, kind="lightning"),
        "deep": lesson("deep", "advanced", 40, kind="talk"),
    }
    lessons.update(overrides)
    return lessons


def messages(root: Path) -> list[str]:
    return [str(d) for d in open_workshop(root).diagnostics]


def executed(workshop: Workshop, ident: str, folder: Path) -> LessonResult:
    """What a passing run leaves: the notebook with execution counts and outputs."""
    nb = to_notebook(workshop.lesson(ident))
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        cell.execution_count = count
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
        if "pass" in cell.source:
            cell.outputs = []
    path = folder / f"{ident}.ipynb"
    nbformat.write(nb, str(path))
    lesson_ = workshop.lesson(ident)
    return LessonResult(ident, lesson_.relpath, Status.PASSED, 1.0, notebook=path)


def deck_problems(tmp_path: Path, **overrides: str) -> list[str]:
    """`check_decks` on the standard evening (with some talks replaced), after a fake run."""
    root = make(tmp_path, standard(**overrides), ["intro", "flash", "deep"])
    workshop = open_workshop(root).workshop
    assert workshop is not None
    results = [executed(workshop, i, tmp_path) for i in ("intro", "flash", "deep")]
    return [str(d) for d in check_decks(workshop, results)]


def test_programme_has_clock_times_from_the_start(tmp_path: Path) -> None:
    root = make(tmp_path, standard(), ["intro", "flash", "deep"])
    workshop = open_workshop(root).workshop
    assert workshop is not None
    programme = plan_programme(workshop.config.events[0], workshop)
    rows = [(i.start, i.end, i.kind, i.minutes, i.speaker) for i in programme.items]
    assert rows == [
        ("18:30", "19:00", "lesson", 30, "Ada"),
        ("19:00", "19:15", "break", 15, ""),
        ("19:15", "19:20", "lightning", 5, ""),
        ("19:20", "20:00", "talk", 40, ""),
    ]
    assert programme.minutes == 90


def test_a_valid_evening_passes_check_and_prints_its_sum(tmp_path: Path) -> None:
    root = make(tmp_path, standard(), ["intro", "flash", "deep"])
    result = CliRunner().invoke(cli, ["check", str(root)])
    assert result.exit_code == 0, result.output
    assert "event meetup: 90 of 120 min in 4 items" in result.output


def test_an_evening_ten_minutes_over_budget_is_an_error(tmp_path: Path) -> None:
    root = make(tmp_path, standard(), ["intro", "flash", "deep"], minutes=80)
    assert "workshop.toml:9: error: event 'meetup' runs 90 min, 10 over its 80-minute budget" in (
        messages(root)
    )
    assert CliRunner().invoke(cli, ["check", str(root)]).exit_code == 2


def test_an_evening_with_no_beginner_item_is_warned(tmp_path: Path) -> None:
    lessons = standard(intro=lesson("intro", "intermediate", 30))
    root = make(tmp_path, lessons, ["intro", "flash", "deep"])
    found = [m for m in messages(root) if "warning" in m]
    assert found == [
        "workshop.toml:3: warning: event 'meetup' has no beginner item (the rule of thumb: "
        "something for people starting out and something from the bleeding edge)"
    ]


def test_an_evening_with_neither_beginner_nor_advanced_names_both(tmp_path: Path) -> None:
    lessons = standard(intro=lesson("intro", "intermediate", 30))
    root = make(tmp_path, lessons, ["intro", "flash"])
    assert any("has no beginner and no advanced item" in m for m in messages(root))


def test_a_lightning_talk_over_its_minutes_is_an_error_on_its_header(tmp_path: Path) -> None:
    lessons = standard(flash=lesson("flash", "intermediate", 7, kind="lightning"))
    root = make(tmp_path, lessons, ["intro", "flash", "deep"])
    assert (
        "flash.py:4: error: lightning talk 'flash' is 7 min, over the 5-minute limit of event "
        "'meetup'"
    ) in messages(root)


def test_a_break_after_an_unknown_item_is_an_error(tmp_path: Path) -> None:
    root = make(tmp_path, standard(), ["flash", "deep"])
    assert any(
        "break 'Pizza' comes after 'intro', which is not in its lessons" in m
        for m in messages(root)
    )


def test_a_lightning_talk_with_seven_slides_against_six_fails(tmp_path: Path) -> None:
    seven = lesson("flash", "intermediate", 5, kind="lightning", slides=7)
    assert deck_problems(tmp_path, flash=seven) == [
        "flash.py:4: error: lightning talk 'flash' has 7 slides, over the 6-slide limit of "
        "event 'meetup'"
    ]


def test_deck_facts_count_the_slides_a_deck_really_has(tmp_path: Path) -> None:
    lessons = standard(flash=lesson("flash", "intermediate", 5, kind="lightning", slides=7))
    workshop = open_workshop(make(tmp_path, lessons, ["intro", "flash", "deep"])).workshop
    assert workshop is not None
    notebook = executed(workshop, "flash", tmp_path).notebook
    assert notebook is not None
    assert deck_facts(nbformat.read(str(notebook), as_version=4)).slides == 7


def test_six_slides_is_within_the_limit(tmp_path: Path) -> None:
    six = lesson("flash", "intermediate", 5, kind="lightning", slides=6)
    assert deck_problems(tmp_path, flash=six) == []


def test_a_talk_whose_slides_show_no_code_fails(tmp_path: Path) -> None:
    hidden = lesson("deep", "advanced", 40, kind="talk", code_slide="skip")
    assert deck_problems(tmp_path, deep=hidden) == [
        "deep.py:4: error: 'deep' shows no code on its slides (event 'meetup' requires every "
        "speaker to show a code cell that runs and prints something)"
    ]


def test_code_that_prints_nothing_does_not_count_as_showing_code(tmp_path: Path) -> None:
    silent = lesson("deep", "advanced", 40, kind="talk", code="pass")
    assert any("'deep' shows no code" in p for p in deck_problems(tmp_path, deep=silent))


def test_list_events_prints_the_programme(tmp_path: Path) -> None:
    root = make(tmp_path, standard(), ["intro", "flash", "deep"])
    result = CliRunner().invoke(cli, ["list", "--events", str(root)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "meetup: December meetup (2026-12-10, Library) - 90 of 120 min",
        "  18:30-19:00 lesson      30 min  Intro [beginner]  (Ada)",
        "  19:00-19:15 break       15 min  Pizza",
        "  19:15-19:20 lightning    5 min  Flash [intermediate]",
        "  19:20-20:00 talk        40 min  Deep [advanced]",
    ]
    data = json.loads(CliRunner().invoke(cli, ["list", "--events", "--json", str(root)]).output)
    assert [item["start"] for item in data[0]["items"]] == ["18:30", "19:00", "19:15", "19:20"]
