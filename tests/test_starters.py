"""`workshopkit new`: the starters are valid at once, names are filled in safely, nothing is
overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import TEMPLATES

from workshopkit.config import tomllib
from workshopkit.errors import WorkshopkitError
from workshopkit.load import load_lesson
from workshopkit.pipeline import open_workshop
from workshopkit.starters import new_lesson, new_workshop, starters_dir
from workshopkit.validate import check_lesson


def read_lesson(path: Path):  # type: ignore[no-untyped-def]
    loaded = load_lesson(path, path.parent)
    assert loaded.source is not None and not loaded.diagnostics, loaded.diagnostics
    lesson, diagnostics = check_lesson(loaded.source)
    assert lesson is not None and diagnostics == [], diagnostics
    return lesson


def test_starters_are_found_in_a_checkout() -> None:
    assert starters_dir() == TEMPLATES.resolve()
    assert (starters_dir() / "lesson.py").is_file()
    assert (starters_dir() / "workshop" / "workshop.toml").is_file()


def test_new_workshop_is_valid_and_complete(tmp_path: Path) -> None:
    target = tmp_path / "ws"
    written = new_workshop(target, "Autumn meetup")
    names = {p.relative_to(target).as_posix() for p in written}
    assert {
        "workshop.toml",
        "README.md",
        "CONTRIBUTING.md",
        "requirements.txt",
        ".github/workflows/workshop.yml",
        "lessons/01-welcome/welcome.py",
    } <= names
    config = tomllib.loads((target / "workshop.toml").read_text(encoding="utf-8"))
    assert config["title"] == "Autumn meetup"
    opened = open_workshop(target)
    assert opened.workshop is not None, [str(d) for d in opened.diagnostics]
    # valid; what is left to write is listed (tests/test_placeholders.py)
    assert all("starter" in d.message and not d.is_error for d in opened.diagnostics)
    assert len(opened.diagnostics) == 3


def test_the_starter_ci_workflow_is_strict_and_quick_on_pull_requests() -> None:
    workflow = (starters_dir() / "workshop/.github/workflows/workshop.yml").read_text("utf-8")
    run = next(line for line in workflow.splitlines() if "workshopkit build" in line)
    assert "--strict" in run and "-p quick=true" in run


def test_new_workshop_accepts_an_empty_folder_but_refuses_a_used_one(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    new_workshop(empty)
    with pytest.raises(WorkshopkitError, match="not empty"):
        new_workshop(empty)
    assert (empty / "workshop.toml").read_text(encoding="utf-8").startswith("#")


@pytest.mark.parametrize(
    "title",
    ['Quotes "inside"', "Back\\slash \\n not a newline", "Ünïcødé & symbols: #1", "C:\\new\\table"],
)
def test_titles_survive_toml_and_yaml_quoting(tmp_path: Path, title: str) -> None:
    target = tmp_path / "ws"
    new_workshop(target, title)
    assert tomllib.loads((target / "workshop.toml").read_text(encoding="utf-8"))["title"] == title
    path = new_lesson(tmp_path / "x.py", title, "beginner")
    lesson = read_lesson(path)
    assert lesson.meta.title == title


@pytest.mark.parametrize(
    ("where", "title", "lesson_id", "expected_file", "expected_id"),
    [
        (
            "lessons/numpy-basics.py",
            "NumPy basics",
            None,
            "lessons/numpy-basics.py",
            "numpy-basics",
        ),
        ("lessons", "Fitting a Line!", None, "lessons/fitting-a-line.py", "fitting-a-line"),
        ("lessons/03", "Anything", "my-id", "lessons/03/my-id.py", "my-id"),
        ("lessons/x.py", "Anything", "other", "lessons/x.py", "other"),
    ],
)
def test_new_lesson_names(
    tmp_path: Path,
    where: str,
    title: str,
    lesson_id: str | None,
    expected_file: str,
    expected_id: str,
) -> None:
    path = new_lesson(tmp_path / where, title, "intermediate", lesson_id)
    assert path == tmp_path / expected_file
    lesson = read_lesson(path)
    assert (lesson.id, lesson.meta.title, lesson.meta.level.value) == (
        expected_id,
        title,
        "intermediate",
    )
    assert f"# # {title}" in path.read_text(encoding="utf-8")


def test_new_lesson_refuses_to_overwrite(tmp_path: Path) -> None:
    path = new_lesson(tmp_path / "a.py", "A", "beginner")
    before = path.read_bytes()
    with pytest.raises(WorkshopkitError, match="already exists"):
        new_lesson(path, "B", "advanced")
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("title", "level", "lesson_id", "message"),
    [
        ("T", "expert", None, "unknown level 'expert'"),
        ("T", "beginner", "Bad Id", "lesson id 'Bad Id'"),
        ("T", "beginner", "con", "reserved"),
        ("!!!", "beginner", None, "pass --id"),
    ],
)
def test_new_lesson_refuses_bad_input(
    tmp_path: Path, title: str, level: str, lesson_id: str | None, message: str
) -> None:
    with pytest.raises(WorkshopkitError, match=message):
        new_lesson(tmp_path / "lessons", title, level, lesson_id)
    assert not (tmp_path / "lessons").exists()


def test_a_new_lesson_joins_a_new_workshop(tmp_path: Path) -> None:
    target = tmp_path / "ws"
    new_workshop(target)
    new_lesson(target / "lessons" / "02-arrays", "Arrays", "beginner")
    opened = open_workshop(target)
    assert opened.workshop is not None, [str(d) for d in opened.diagnostics]
    assert [x.id for x in opened.workshop.lessons] == ["welcome", "arrays"]
