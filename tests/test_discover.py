"""Discovery: a lesson is a `.py` file whose Jupytext header has a `workshopkit` block; helper
modules, hidden folders, build output and virtualenvs are never searched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workshopkit.discover import discover, is_lesson

LESSON = """\
# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit: {title: T, level: beginner, minutes: 5}
# ---

# %%
x = 1
"""
HELPER = "def square(x):\n    return x * x\n"


def write(root: Path, rel: str, text: str = LESSON) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def rel(root: Path, paths: list[Path]) -> list[str]:
    return [p.relative_to(root.resolve()).as_posix() for p in paths]


def test_lessons_anywhere_sorted_by_path(tmp_path: Path) -> None:
    for name in (
        "b.py",
        "a/z.py",
        "a/b/c.py",
        "A.py",
        "lessons/10-x/lesson.py",
        "lessons/2-y/lesson.py",
    ):
        write(tmp_path, name)
    assert rel(tmp_path, discover(tmp_path)) == [
        "A.py",
        "a/b/c.py",
        "a/z.py",
        "b.py",
        "lessons/10-x/lesson.py",
        "lessons/2-y/lesson.py",
    ]


@pytest.mark.parametrize(
    "folder",
    [".hidden", ".venv", ".git", "__pycache__", "_build", "_drafts", "dist", "dist.old-123",
     "build", "node_modules", "site-packages", "venv", "env"],
)  # fmt: skip
def test_skipped_folders(tmp_path: Path, folder: str) -> None:
    write(tmp_path, "lessons/ok.py")
    write(tmp_path, f"{folder}/inner/copy.py")
    write(tmp_path, f"lessons/{folder}/copy.py")
    assert rel(tmp_path, discover(tmp_path)) == ["lessons/ok.py"]


def test_a_virtualenv_of_any_name_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, "myenv/pyvenv.cfg", "home = /usr/bin\n")
    write(tmp_path, "myenv/lib/copy.py")
    write(tmp_path, "ok.py")
    assert rel(tmp_path, discover(tmp_path)) == ["ok.py"]


def test_helpers_hidden_files_and_other_files_are_not_lessons(tmp_path: Path) -> None:
    write(tmp_path, "lessons/ok.py")
    write(tmp_path, "lessons/helpers.py", HELPER)
    write(tmp_path, "lessons/.backup.py")
    write(tmp_path, "lessons/notes.txt")
    write(tmp_path, "lessons/lesson.ipynb", "{}")
    write(tmp_path, "lessons/light.py", "# %%\nprint('a percent script without a header')\n")
    write(
        tmp_path, "lessons/other.py", "# ---\n# jupyter:\n#   kernelspec: {name: python3}\n# ---\n"
    )
    assert rel(tmp_path, discover(tmp_path)) == ["lessons/ok.py"]


def test_symlinked_folders_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, "secret.py")
    root = tmp_path / "ws"
    write(root, "ok.py")
    os.symlink(outside, root / "linked", target_is_directory=True)
    assert rel(root, discover(root)) == ["ok.py"]


def test_explicit_paths(tmp_path: Path) -> None:
    write(tmp_path, "lessons/a.py")
    write(tmp_path, "lessons/b.py")
    write(tmp_path, "extra/c.py")
    write(tmp_path, "_drafts/d.py")
    write(tmp_path, "lessons/helpers.py", HELPER)
    found = discover(
        tmp_path, [tmp_path / "lessons", tmp_path / "_drafts/d.py", tmp_path / "lessons/helpers.py"]
    )
    assert rel(tmp_path, found) == ["_drafts/d.py", "lessons/a.py", "lessons/b.py"]
    assert rel(
        tmp_path, discover(tmp_path, [tmp_path / "lessons/a.py", tmp_path / "lessons/a.py"])
    ) == ["lessons/a.py"]


@pytest.mark.parametrize(
    "data",
    [
        LESSON.encode(),
        b"\xef\xbb\xbf" + LESSON.encode(),
        LESSON.replace("\n", "\r\n").encode(),
        LESSON.encode() + "# caf\xe9\n".encode("latin-1"),  # loading reports the encoding
        b"\n" + LESSON.encode(),  # loading reports the blank line before the header
    ],
    ids=["plain", "bom", "crlf", "latin-1-body", "blank-line-first"],
)
def test_is_lesson(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.py"
    path.write_bytes(data)
    assert is_lesson(path)


def test_is_lesson_needs_a_py_file(tmp_path: Path) -> None:
    assert not is_lesson(write(tmp_path, "x.txt"))
    assert not is_lesson(tmp_path / "missing.py")
    (tmp_path / "folder.py").mkdir()
    assert not is_lesson(tmp_path / "folder.py")


def test_is_lesson_reads_a_file_again_once_it_changed(tmp_path: Path) -> None:
    path = write(tmp_path, "x.py")
    assert is_lesson(path)
    path.write_text(HELPER, encoding="utf-8")  # the header removed: another size
    assert not is_lesson(path)
    replaced = write(tmp_path, "y.py")
    os.replace(replaced, path)  # a lesson renamed over it: another inode
    assert is_lesson(path)
    path.unlink()
    assert not is_lesson(path)
    (tmp_path / "x.py").mkdir()
    assert not is_lesson(path)


# -- .py files that are not lessons are counted, not hidden (issue 17) --------------------------


def test_skipped_files_are_reported_sorted(tmp_path: Path) -> None:
    lesson = write(tmp_path, "lessons/a/lesson.py")
    write(tmp_path, "lessons/a/helpers.py", HELPER)
    write(tmp_path, "make_data.py", "print(1)\n")
    write(tmp_path, "_drafts/old.py", HELPER)  # an ignored folder: not even looked at
    write(tmp_path, "lessons/a/.hidden.py", HELPER)
    write(tmp_path, "notes.txt", "not python")
    skipped: list[Path] = []
    assert discover(tmp_path, skipped=skipped) == [lesson.resolve()]
    assert [p.relative_to(tmp_path.resolve()).as_posix() for p in skipped] == [
        "lessons/a/helpers.py",
        "make_data.py",
    ]


def test_check_counts_skipped_files_and_verbose_lists_them(tmp_path: Path) -> None:
    from helpers import cli

    (tmp_path / "workshop.toml").write_text('title = "T"\n')
    write(tmp_path, "lessons/a/lesson.py")
    write(tmp_path, "lessons/a/helpers.py", HELPER)
    quiet = cli("check", tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr.splitlines()[-1] == (
        "skipped 1 .py file that is not a lesson (no 'workshopkit' block in the header); "
        "--verbose lists them"
    )
    loud = cli("check", tmp_path, "--verbose")
    assert loud.stderr.splitlines()[-2:] == [
        "skipped 1 .py file that is not a lesson (no 'workshopkit' block in the header)",
        "  lessons/a/helpers.py",
    ]
    write(tmp_path, "lessons/a/more.py", HELPER)
    assert "skipped 2 .py files that are not lessons" in cli("check", tmp_path).stderr
