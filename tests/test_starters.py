"""`workshopkit new`: the starters are valid at once, names are filled in safely, nothing is
overwritten."""

from __future__ import annotations

import os
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


# -- the first hour (issue 17) -------------------------------------------------------------------


def test_new_workshop_readme_is_headed_with_the_title(tmp_path: Path) -> None:
    new_workshop(tmp_path / "ws", "Weather data for beginners")
    readme = (tmp_path / "ws/README.md").read_text(encoding="utf-8")
    assert readme.splitlines()[0] == "# Weather data for beginners"
    new_workshop(tmp_path / "plain")
    assert (tmp_path / "plain/README.md").read_text().startswith("# My workshop\n")


def test_no_starter_text_installs_workshopkit_from_pypi(tmp_path: Path) -> None:
    """It is not released: every install line names the wheel `new workshop` wrote."""
    target = tmp_path / "ws"
    new_workshop(target, "T")
    wheel = next((target / "_tools").glob("workshopkit-*-py3-none-any.whl"))
    for rel in ("README.md", "CONTRIBUTING.md", ".github/workflows/workshop.yml"):
        text = (target / rel).read_text(encoding="utf-8")
        assert "pip install workshopkit" not in text and "WORKSHOPKIT_WHEEL" not in text, rel
        assert f"pip install _tools/{wheel.name} -r requirements.txt" in text, rel
    workflow = (target / ".github/workflows/workshop.yml").read_text(encoding="utf-8")
    assert workflow.index(f"pip install _tools/{wheel.name}") < workflow.index("workshopkit build")
    # `_tools/` holds no lessons and is not reported as holding any
    opened = open_workshop(target)
    assert opened.skipped == ()


def test_the_vendored_wheel_is_the_running_workshopkit_and_installs(tmp_path: Path) -> None:
    """pip installs the wheel; from it, `workshopkit new workshop` runs (starters included) and
    writes the same wheel again, byte for byte."""
    import importlib.metadata
    import subprocess
    import sys
    import zipfile

    new_workshop(tmp_path / "ws")
    wheel = next((tmp_path / "ws/_tools").glob("*.whl"))
    version = importlib.metadata.version("workshopkit")
    assert wheel.name == f"workshopkit-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "workshopkit/cli.py" in names and "workshopkit/_starters/lesson.py" in names
        assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
        entry_points = zf.read(f"workshopkit-{version}.dist-info/entry_points.txt").decode()
        assert "workshopkit = workshopkit.cli:main" in entry_points
        assert "workshopkit = workshopkit.pytest_plugin" in entry_points
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target"]
    done = subprocess.run([*pip, str(target), str(wheel)], capture_output=True, text=True)
    if "No module named pip" in done.stderr:
        pytest.skip("pip is not installed in this environment")
    assert done.returncode == 0, done.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = (
        "import sys, workshopkit, pathlib; from workshopkit.cli import main; "
        "print(workshopkit.__file__, file=sys.stderr); main()"
    )
    again = tmp_path / "again"
    ran = subprocess.run(
        [sys.executable, "-c", code, "new", "workshop", str(again), "--title", "Again"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.startswith(str(target / "workshopkit"))  # the installed copy ran
    assert (again / "README.md").read_text().startswith("# Again\n")
    assert (again / "_tools" / wheel.name).read_bytes() == wheel.read_bytes()
