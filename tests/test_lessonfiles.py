"""lessonfiles: what a lesson sees of its folder (its scratch copy, its cache key's files)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from workshopkit.lessonfiles import copy_listing, file_sha256, list_folder, listings_remembered


def tree(root: Path) -> Path:
    """A workshop root with a lesson folder reaching shared files through links."""
    for name, text in {
        "lessons/a/a.py": "x = 1\n",
        "lessons/a/data.csv": "1\n",
        "lessons/a/sub/inner.txt": "i\n",
        "lessons/a/.hidden": "h\n",
        "lessons/a/__pycache__/m.pyc": "c",
        "lessons/a/dist/index.html": "old output",
        "lessons/a/dist.old-20240101/index.html": "a backup",
        "lessons/a/venv/pyvenv.cfg": "home = /usr\n",
        "lessons/a/venv/lib/big.py": "",
        "shared/table.csv": "t\n",
        "shared/folder/deep/f.txt": "f\n",
    }.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    folder = root / "lessons/a"
    (folder / "table.csv").symlink_to(Path("../../shared/table.csv"))
    (folder / "again.csv").symlink_to("table.csv")  # a link to a link
    (folder / "linked").symlink_to(root / "shared/folder", target_is_directory=True)
    return root


def test_links_are_listed_as_what_they_point_at(tmp_path: Path) -> None:
    root = tree(tmp_path / "w")
    listing = list_folder(root / "lessons/a", root)
    assert [f.name for f in listing.files] == [
        "a.py", "again.csv", "data.csv", "linked/deep/f.txt", "sub/inner.txt", "table.csv",
    ]  # fmt: skip
    sources = {f.name: f.source for f in listing.files}
    assert sources["again.csv"] == sources["table.csv"] == (root / "shared/table.csv").resolve()
    assert listing.folders == ("linked", "linked/deep", "sub")
    assert listing.left_out == ()


def test_the_copy_holds_no_link_and_writing_to_it_leaves_the_targets(tmp_path: Path) -> None:
    root = tree(tmp_path / "w")
    dest = tmp_path / "scratch"
    copy_listing(list_folder(root / "lessons/a", root), dest)
    links = [p for p in dest.rglob("*") if p.is_symlink()]
    assert links == []
    for name in ("table.csv", "again.csv", "linked/deep/f.txt"):
        (dest / name).write_text("written", encoding="utf-8")
    (dest / "linked/new.txt").write_text("new", encoding="utf-8")
    assert (root / "shared/table.csv").read_text(encoding="utf-8") == "t\n"
    assert (root / "shared/folder/deep/f.txt").read_text(encoding="utf-8") == "f\n"
    assert not (root / "shared/folder/new.txt").exists()


def test_loops_broken_links_outside_links_and_special_files_are_left_out(tmp_path: Path) -> None:
    root = tree(tmp_path / "w")
    folder = root / "lessons/a"
    (tmp_path / "outside.txt").write_text("o", encoding="utf-8")
    (folder / "self").symlink_to(".", target_is_directory=True)
    (folder / "sub/up").symlink_to(Path("../.."), target_is_directory=True)  # lessons/
    (folder / "top").symlink_to(root, target_is_directory=True)  # the workshop root
    (folder / "gone.csv").symlink_to("missing.csv")
    (folder / "out.txt").symlink_to(tmp_path / "outside.txt")
    os.mkfifo(folder / "sub/pipe")
    (folder / "pipe-link").symlink_to(Path("sub/pipe"))
    left = {
        item.path.relative_to(folder).as_posix(): (item.reason, item.detail)
        for item in list_folder(folder, root).left_out
    }
    assert left == {
        "gone.csv": ("broken", "a broken symlink"),
        "out.txt": ("outside", "a symlink pointing outside the workshop"),
        "pipe-link": ("special", "a named pipe"),
        "self": ("loop", "a symlink to a folder that holds it"),
        "sub/pipe": ("special", "a named pipe"),
        "sub/up": ("loop", "a symlink to a folder that holds it"),
        "top": ("loop", "a symlink to a folder that holds it"),
    }


def test_file_sha256_reads_in_chunks_and_never_blocks_on_a_pipe(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(3 << 20) + b"tail")
    assert file_sha256(data) == hashlib.sha256(data.read_bytes()).hexdigest()
    os.mkfifo(tmp_path / "pipe")
    assert file_sha256(tmp_path / "pipe") is None  # opened without blocking, then refused


def test_a_lesson_ships_the_files_it_runs_with(tmp_path: Path) -> None:
    """One definition of the folders left out: what a lesson that owns its folder ships is what
    its scratch copy holds (but the `.py` and `.ipynb` files), and discovery skips them too."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from helpers import lesson_text, make_workshop, open_ok

    from workshopkit.discover import discover
    from workshopkit.export.assets import lesson_assets

    files = {
        "lessons/a/data.csv": "x",
        "lessons/a/env/settings.json": "{}",  # a data folder named like a virtualenv
        "lessons/a/_data/raw.txt": "r",
        "lessons/a/myenv/pyvenv.cfg": "home = /usr/bin",  # a virtualenv of another name
        "lessons/a/myenv/lib/x.txt": "x",
        "lessons/a/site-packages/pkg/mod.txt": "m",
        "lessons/a/__pycache__/a.pyc": "c",
        "lessons/a/dist.old-1/old.txt": "o",
        "lessons/a/.hidden/h.txt": "h",
    }
    root = make_workshop(tmp_path / "ws", {"lessons/a/a.py": lesson_text("x = 1")}, files=files)
    workshop = open_ok(root).workshop
    (lesson,) = workshop.lessons
    assets, _ = lesson_assets(lesson, workshop)
    scratch = [f.name for f in list_folder(lesson.folder, root).files if f.name != "a.py"]
    assert (
        sorted(a.name for a in assets)
        == sorted(scratch)
        == [
            "_data/raw.txt",
            "data.csv",
            "env/settings.json",
        ]
    )
    assert [p.name for p in discover(root)] == ["a.py"]


def test_a_pipeline_run_lists_each_folder_once(tmp_path: Path) -> None:
    """Within `listings_remembered` (one pipeline run) every lesson sharing a folder, and each
    stage, sees one listing; outside it, each call walks the folder again."""
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "a.csv").write_text("x\n")
    with listings_remembered():
        first = list_folder(folder, tmp_path)
        (folder / "b.csv").write_text("y\n")
        with listings_remembered():  # an inner scope keeps the outer one's listings
            assert list_folder(folder, tmp_path) is first
        assert list_folder(folder, tmp_path) is first
        assert [f.name for f in list_folder(tmp_path, tmp_path).files] == [
            "lessons/a.csv",
            "lessons/b.csv",
        ]
    assert [f.name for f in list_folder(folder, tmp_path).files] == ["a.csv", "b.csv"]
