"""export.notebooks and export.assets: per-lesson files, the asset rule, and refused references."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from export_scenarios import (
    PNG_1PX,
    fake_executed,
    fake_results,
    lesson_text,
    open_valid,
    scenario,
    tree_bytes,
    write_files,
)

from workshopkit.export.assets import (
    check_assets,
    lesson_assets,
    name_problem,
)
from workshopkit.export.notebooks import notebook_bytes, read_notebook, write_lesson
from workshopkit.load import to_notebook
from workshopkit.model import Workshop
from workshopkit.pipeline import open_workshop

TOML = 'title = "Assets"\n'


class Refused(list[str]):
    """The errors `open_workshop` reported: asset problems stop a workshop before any kernel."""


def workshop_with(tmp_path: Path, files: dict[str, str | bytes]) -> Any:
    root = tmp_path / "ws"
    write_files(root, {"workshop.toml": TOML, **files})
    opened = open_workshop(root)
    if opened.workshop is None:
        return Refused(str(d) for d in opened.errors)
    return open_valid(root)


def md_lesson(lesson_id: str, markdown: str, code: str = "x = 1") -> str:
    body = "# %% [markdown]\n" + "\n".join(f"# {line}" for line in markdown.split("\n"))
    return lesson_text(lesson_id, body=f"{body}\n\n# %%\n{code}\n")


def asset_names(workshop: Workshop, lesson_id: str) -> list[str]:
    assets, problems = lesson_assets(workshop.lesson(lesson_id), workshop)
    assert not [p for p in problems if p.is_error], [str(p) for p in problems]
    return [a.name for a in assets]


def errors(workshop: Any) -> list[str]:
    if isinstance(workshop, Refused):
        return list(workshop)
    return [str(d) for d in check_assets(workshop) if d.is_error]


# --------------------------------------------------------------------------------------------
# Writing a lesson


def test_write_lesson_writes_notebooks_slides_and_assets(tmp_path: Path) -> None:
    workshop = open_valid(scenario(tmp_path / "ws"))
    results = {r.lesson_id: r for r in fake_results(workshop, tmp_path / "run")}
    lesson = workshop.lesson("exercises")
    assets, _ = lesson_assets(lesson, workshop)
    executed = read_notebook(results["exercises"].notebook)  # type: ignore[arg-type]
    dest = tmp_path / "dist"
    written = write_lesson(lesson, executed, assets, dest)
    names = sorted(p.relative_to(dest).as_posix() for p in written)
    assert names == [
        "lessons/exercises/chart.png",
        "lessons/exercises/exercises.ipynb",
        "lessons/exercises/exercises.slides.html",
        "lessons/exercises/exercises.solution.ipynb",
        "lessons/exercises/numbers.csv",
    ]
    learner = nbformat.read(dest / "lessons/exercises/exercises.ipynb", as_version=4)
    solution = nbformat.read(dest / "lessons/exercises/exercises.solution.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in learner.cells)
    assert any(c.get("outputs") for c in solution.cells)
    assert (dest / "lessons/exercises/chart.png").read_bytes() == PNG_1PX
    deck = (dest / "lessons/exercises/exercises.slides.html").read_text()
    assert "../../_static/reveal.js" in deck
    assert "answer = predict" not in deck  # solutions stay out of the deck


def test_lesson_files_are_deterministic(tmp_path: Path) -> None:
    workshop = open_valid(scenario(tmp_path / "ws"))
    lesson = workshop.lesson("exercises")
    assets, _ = lesson_assets(lesson, workshop)
    outputs = []
    for n in (1, 2):
        executed = fake_executed(to_notebook(lesson), tmp_path / f"scratch-{n}")
        write_lesson(lesson, executed, assets, tmp_path / f"dist{n}")
        outputs.append(tree_bytes(tmp_path / f"dist{n}"))
    assert outputs[0] == outputs[1]
    for name, data in outputs[0].items():
        if name.endswith(".ipynb"):
            assert str(tmp_path).encode() not in data, name
            assert b"papermill" not in data and b"2026-11-23" not in data, name


def test_skipped_lesson_gets_unexecuted_solution(tmp_path: Path) -> None:
    workshop = open_valid(scenario(tmp_path / "ws"))
    lesson = workshop.lesson("next-steps")
    write_lesson(lesson, None, (), tmp_path / "dist")
    solution = nbformat.read(tmp_path / "dist/lessons/next-steps/next-steps.solution.ipynb", 4)
    assert all(not c.get("outputs") for c in solution.cells)


def test_notebook_bytes_end_with_newline_and_sort_keys(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(metadata={"z": 1, "a": 2})
    data = notebook_bytes(nb)
    assert data.endswith(b"}\n")
    assert data.index(b'"a"') < data.index(b'"z"')


# --------------------------------------------------------------------------------------------
# The asset rule


def test_own_folder_ships_every_data_file(tmp_path: Path) -> None:
    workshop = workshop_with(
        tmp_path,
        {
            "lessons/a/lesson.py": lesson_text("a"),
            "lessons/a/data.csv": "1\n",
            "lessons/a/img/figure.svg": "<svg/>",
            "lessons/a/.hidden": "x",
            "lessons/a/.ipynb_checkpoints/lesson-checkpoint.ipynb": "{}",
            "lessons/a/__pycache__/x.pyc": b"\0",
            "lessons/a/old.ipynb": "{}",
            "lessons/a/make_data.py": "print(1)\n",
        },
    )
    assert asset_names(workshop, "a") == ["data.csv", "img/figure.svg"]


def test_shared_folder_ships_only_referenced_files(tmp_path: Path) -> None:
    workshop = workshop_with(
        tmp_path,
        {
            "lessons/a.py": md_lesson("a", "![plot](img/plot.png)", 'open("table.csv")'),
            "lessons/b.py": md_lesson("b", "[data](notes.txt) and <img src='logo.png' alt=''>"),
            "lessons/img/plot.png": PNG_1PX,
            "lessons/table.csv": "x\n",
            "lessons/notes.txt": "n\n",
            "lessons/logo.png": PNG_1PX,
            "lessons/unrelated.csv": "u\n",
        },
    )
    assert asset_names(workshop, "a") == ["img/plot.png", "table.csv"]
    assert asset_names(workshop, "b") == ["logo.png", "notes.txt"]


def test_imported_helper_module_is_an_asset(tmp_path: Path) -> None:
    workshop = workshop_with(
        tmp_path,
        {
            "lessons/a.py": lesson_text("a", body="# %%\nfrom helpers import f\nimport tools.x\n"),
            "lessons/helpers.py": "def f(): ...\n",
            "lessons/tools/__init__.py": "",
            "lessons/tools/x.py": "",
            "lessons/other.py": "",
        },
    )
    assert asset_names(workshop, "a") == ["helpers.py", "tools/__init__.py", "tools/x.py"]


def test_urls_and_anchors_are_not_files(tmp_path: Path) -> None:
    markdown = (
        "![remote](https://example.org/x.png) [mail](mailto:a@b.c) [top](#top) "
        "![inline](data:image/png;base64,AAAA) ![att](attachment:x.png) [proto](//host/x)"
    )
    workshop = workshop_with(tmp_path, {"lessons/a.py": md_lesson("a", markdown)})
    assets, problems = lesson_assets(workshop.lesson("a"), workshop)
    assert assets == () and problems == ()


def test_missing_image_is_a_warning(tmp_path: Path) -> None:
    workshop = workshop_with(tmp_path, {"lessons/a.py": md_lesson("a", "![gone](gone.png)")})
    diagnostics = check_assets(workshop)
    assert [d.is_error for d in diagnostics] == [False]
    assert "image 'gone.png' not found" in str(diagnostics[0])


# --------------------------------------------------------------------------------------------
# Refused references (failure-modes.md 16, 28, 31, 32)


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("top secret\n")
    return path


@pytest.mark.parametrize(
    "markdown",
    [
        "![x](../../secret.txt)",
        '<img src="../../secret.txt" alt="x">',
        "![x](%2e%2e/%2e%2e/secret.txt)",
        "[x]: ../../secret.txt",
    ],
)
def test_reference_leaving_the_root_is_refused(tmp_path: Path, secret: Path, markdown: str) -> None:
    workshop = workshop_with(tmp_path, {"lessons/a.py": md_lesson("a", markdown)})
    found = errors(workshop)
    assert len(found) == 1, found
    assert found[0].startswith("lessons/a.py:12: error: lesson 'a': reference '")
    assert "secret.txt' leaves the workshop root" in found[0]


def test_code_literal_leaving_the_root_is_refused(tmp_path: Path, secret: Path) -> None:
    code = 'data = open("../../secret.txt").read()'
    workshop = workshop_with(tmp_path, {"lessons/a.py": lesson_text("a", body=f"# %%\n{code}\n")})
    assert errors(workshop) == [
        "lessons/a.py:12: error: lesson 'a': reference '../../secret.txt' leaves the workshop "
        "root; assets must sit inside the workshop"
    ]


def test_absolute_markdown_reference_is_refused(tmp_path: Path) -> None:
    workshop = workshop_with(tmp_path, {"lessons/a.py": md_lesson("a", "![x](/etc/passwd)")})
    assert "is an absolute path" in errors(workshop)[0]


def test_code_may_read_absolute_paths(tmp_path: Path) -> None:
    workshop = workshop_with(
        tmp_path, {"lessons/a.py": lesson_text("a", body='# %%\nopen("/etc/hostname")\n')}
    )
    assert check_assets(workshop) == []


def test_image_outside_the_lesson_folder_is_refused(tmp_path: Path) -> None:
    workshop = workshop_with(
        tmp_path,
        {
            "lessons/a/lesson.py": md_lesson("a", "![x](../shared/x.png)"),
            "lessons/shared/x.png": PNG_1PX,
        },
    )
    assert "is outside the lesson's folder" in errors(workshop)[0]


def test_symlink_pointing_outside_is_refused_not_followed(tmp_path: Path, secret: Path) -> None:
    workshop = workshop_with(tmp_path, {"lessons/a/lesson.py": md_lesson("a", "![x](data.txt)")})
    (workshop.root / "lessons/a/data.txt").symlink_to(secret)
    found = errors(workshop)
    assert len(found) == 1
    assert "is a symlink (lessons/a/data.txt) pointing outside the workshop root" in found[0]
    assert found[0].startswith("lessons/a/lesson.py:12: error: lesson 'a'")
    assert lesson_assets(workshop.lesson("a"), workshop)[0] == ()


def test_symlink_found_by_the_folder_rule_is_refused(tmp_path: Path, secret: Path) -> None:
    workshop = workshop_with(tmp_path, {"lessons/a/lesson.py": lesson_text("a")})
    (workshop.root / "lessons/a/innocent.csv").symlink_to(secret)
    (workshop.root / "lessons/a/folder").symlink_to(tmp_path, target_is_directory=True)
    found = errors(workshop)
    assert any(f.startswith("lessons/a/innocent.csv: error: lesson 'a'") for f in found), found
    assert any(f.startswith("lessons/a/folder: error: lesson 'a': symlink") for f in found), found


def test_symlink_inside_the_workshop_is_copied_as_a_file(tmp_path: Path) -> None:
    workshop = workshop_with(
        tmp_path, {"lessons/a/lesson.py": lesson_text("a"), "data/real.csv": "1\n"}
    )
    (workshop.root / "lessons/a/real.csv").symlink_to(workshop.root / "data/real.csv")
    assets, problems = lesson_assets(workshop.lesson("a"), workshop)
    assert problems == ()
    assert [(a.name, a.source) for a in assets] == [
        ("real.csv", (workshop.root / "data/real.csv").resolve())
    ]


def test_special_files_are_not_shipped_and_warned_once(tmp_path: Path) -> None:
    """A named pipe, in a lesson's own folder or named by a shared folder's code, is neither an
    asset nor an error: one warning names it (copying one would block or never end)."""
    workshop = workshop_with(
        tmp_path,
        {
            "lessons/a/lesson.py": md_lesson("a", "text", 'open("sub/pipe")'),
            "lessons/a/data.csv": "1\n",
            "lessons/b.py": md_lesson("b", "text", 'open("stream")'),
            "lessons/c.py": md_lesson("c", "text"),
        },
    )
    os.mkdir(workshop.root / "lessons/a/sub")
    os.mkfifo(workshop.root / "lessons/a/sub/pipe")
    os.mkfifo(workshop.root / "lessons/stream")
    assert asset_names(workshop, "a") == ["data.csv"]
    assert asset_names(workshop, "b") == []
    found = [str(d) for d in check_assets(workshop)]
    tail = "a named pipe: left out of lesson scratch copies, cache keys and downloads"
    tail += " (reading it could block or never end)"
    assert found == [f"lessons/a/sub/pipe: warning: {tail}", f"lessons/stream: warning: {tail}"]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("CON.txt", "reserved file name on Windows"),
        ("sub/aux", "reserved file name on Windows"),
        ("a\\..\\b", "backslash"),
        ("x" * 300, "longer than 255"),
        ("a\x00b", "control character"),
        ("/abs", "absolute"),
        ("../x", "not a plain relative path"),
        ("ok/name.csv", None),
    ],
)
def test_name_problem(name: str, problem: str | None) -> None:
    found = name_problem(name)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_unportable_asset_name_is_refused(tmp_path: Path) -> None:
    workshop = workshop_with(
        tmp_path, {"lessons/a/lesson.py": lesson_text("a"), "lessons/a/aux.csv": "x\n"}
    )
    assert "reserved file name on Windows" in errors(workshop)[0]


def test_long_or_nul_references_are_refused(tmp_path: Path) -> None:
    long_ref = "x" * 300 + ".png"
    workshop = workshop_with(
        tmp_path, {"lessons/a.py": md_lesson("a", f"![x]({long_ref}) ![y](a%00b.png)")}
    )
    found = errors(workshop)
    assert len(found) == 2, found
    assert any("has a name longer than 255 characters" in f for f in found)
    assert any("reference 'a\\x00b.png' is not a usable file name" in f for f in found)


def test_asset_clashing_with_exported_files_is_refused(tmp_path: Path) -> None:
    workshop = workshop_with(
        tmp_path, {"lessons/a/lesson.py": lesson_text("a"), "lessons/a/a.slides.html": ""}
    )
    assert any("clashes with the lesson's exported a.slides.html" in e for e in errors(workshop))


def test_requirements_outside_the_root_is_refused(tmp_path: Path, secret: Path) -> None:
    root = tmp_path / "ws"
    write_files(
        root,
        {
            "workshop.toml": 'title = "x"\nrequirements = "../secret.txt"\n',
            "lessons/a.py": lesson_text("a"),
        },
    )
    opened = open_workshop(root)
    assert opened.workshop is None  # refused before any kernel could start
    assert [str(p) for p in opened.errors] == [
        "workshop.toml:2: error: requirements file '../secret.txt' is outside the workshop root"
    ]


def test_check_assets_is_cheap(tmp_path: Path) -> None:
    """`check` calls it: it must not import nbformat, nbconvert or jupytext."""
    import subprocess

    root = scenario(tmp_path / "ws")
    code = (
        "import sys; from pathlib import Path\n"
        "from workshopkit.pipeline import open_workshop\n"
        "from workshopkit.export.assets import check_assets\n"
        f"check_assets(open_workshop(Path({str(root)!r})).workshop)\n"
        "heavy = [m for m in ('nbformat', 'nbconvert', 'jupytext', 'papermill')\n"
        "         if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})
