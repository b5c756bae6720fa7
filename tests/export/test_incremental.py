"""Incremental builds: real builds of a small workshop, then edits of one kind each.

What must hold after every kind of edit: the kernels started are those the edit needs (none for
markdown or workshop.toml), the new text is in every file that shows it, and `dist/` is byte
for byte what a build from scratch of the edited sources writes (report.json aside: it holds
times). A file edited or deleted in `dist/` comes back.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from helpers import lesson_text, make_workshop, shared_once

from workshopkit.errors import ExitCode
from workshopkit.execute import RunOptions
from workshopkit.export.incremental import ExportState, state_path
from workshopkit.pipeline import Outcome, build

EPOCH = "1700000000"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

A = lesson_text(
    "# %% [markdown]\n# # Arrays\n#\n# Old words about arrays.\n#\n# ![plot](plot.png)",
    ("n = 2", ["parameters"]),
    "print('a says', n)",
    "# %% [markdown]\n# ## More\n#\n# Closing words.",
    "print(n * 21)",
    title="Arrays",
)
B = lesson_text("# %% [markdown]\n# # Bee\n#\n# Bee text.", "print('b', 7 * 6)", title="Bee")
TOML_TAIL = """
[[tracks]]
id = "all"
title = "Everything"
levels = ["beginner"]

[[events]]
id = "night"
title = "A night"
lessons = ["a", "b"]
"""


def _workshop(root: Path) -> Path:
    make_workshop(
        root,
        {"lessons/a/a.py": A, "lessons/b/b.py": B},
    )
    (root / "lessons" / "a" / "plot.png").write_bytes(PNG)
    with (root / "workshop.toml").open("a", encoding="utf-8") as fh:
        fh.write(TOML_TAIL)
    return root


def _build(root: Path, **options: object) -> Outcome:
    outcome = build(root, options=RunOptions(jobs=2, **options))  # type: ignore[arg-type]
    assert outcome.exit_code is ExitCode.OK, [*outcome.messages, *map(str, outcome.diagnostics)]
    assert outcome.written
    return outcome


def _dist(root: Path) -> dict[str, bytes]:
    """dist/ by relative path, zips by member, without report.json (it holds times)."""
    found: dict[str, bytes] = {}
    for path in sorted((root / "dist").rglob("*")):
        rel = path.relative_to(root / "dist").as_posix()
        if not path.is_file() or rel == "report.json":
            continue
        found[rel] = path.read_bytes()
        if rel.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(found[rel])) as zf:
                for name in zf.namelist():
                    found[f"{rel}!{name}"] = zf.read(name)
    return found


def _from_scratch(root: Path, into: Path) -> dict[str, bytes]:
    """dist/ of a build of `root`'s sources in a fresh folder: no cache, no previous dist."""
    shutil.copytree(root, into, ignore=shutil.ignore_patterns("dist", ".workshopkit", ".dist*"))
    _build(into)
    return _dist(into)


@pytest.fixture(autouse=True)
def _epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


@pytest.fixture(scope="module")
def built_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    def first(folder: Path) -> Path:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
            root = _workshop(folder / "w")
            outcome = _build(root)
        assert outcome.kernels_started == 2
        return root

    return shared_once(tmp_path_factory, "incremental-built", first)


@pytest.fixture
def built(built_once: Path, tmp_path: Path) -> Path:
    """The workshop, built once (cache and dist/ in place): a copy per test."""
    root = tmp_path / "w"
    shutil.copytree(built_once, root, symlinks=True)
    _build(root)  # a copy has new inodes: this build checks every file by its digest
    return root


def _inodes(root: Path) -> dict[str, int]:
    dist = root / "dist"
    return {p.relative_to(dist).as_posix(): p.stat().st_ino for p in dist.rglob("*") if p.is_file()}


@pytest.mark.kernel
def test_nothing_changed_renders_nothing_and_writes_the_same_dist(built: Path) -> None:
    before, inodes = _dist(built), _inodes(built)
    outcome = _build(built)
    assert outcome.kernels_started == 0
    assert _dist(built) == before
    kept = _inodes(built)
    renewed = sorted(rel for rel, ino in kept.items() if inodes.get(rel) != ino)
    assert renewed == ["SHA256SUMS", "report.json"]  # everything else linked, not rendered


@pytest.mark.kernel
def test_a_markdown_edit_starts_no_kernel_and_shows_everywhere(built: Path, tmp_path: Path) -> None:
    lesson = built / "lessons" / "a" / "a.py"
    lesson.write_text(
        lesson.read_text(encoding="utf-8")
        .replace("Old words about arrays.", "New words, two lines\n# longer.")
        .replace("# ## More", "# ## More and more"),
        encoding="utf-8",
    )
    inodes = _inodes(built)
    outcome = _build(built)
    assert outcome.kernels_started == 0
    dist = _dist(built)
    for rel in (
        "lessons/a/a.ipynb",
        "lessons/a/a.solution.ipynb",
        "lessons/a/a.slides.html",
        "events/night/night.slides.html",
        "all.zip!all/lessons/a/a.slides.html",
    ):
        assert b"New words" in dist[rel], rel
        assert b"More and more" in dist[rel], rel
    assert not [rel for rel, data in dist.items() if b"Old words" in data]
    kept = _inodes(built)
    assert kept["lessons/b/b.slides.html"] == inodes["lessons/b/b.slides.html"]  # b untouched
    assert dist == _from_scratch(built, tmp_path / "scratch")


@pytest.mark.kernel
def test_a_first_pass_carries_slow_units_over_and_the_second_brings_them_up_to_date(
    built: Path, tmp_path: Path
) -> None:
    """serve's two passes: the lessons and pages first, the zip and event deck as they were
    (whole files, the zip still listed in SHA256SUMS with its digest), then a plain build."""
    from workshopkit.pipeline import BUILD, Job, run_pipeline

    before = _dist(built)
    lesson = built / "lessons" / "a" / "a.py"
    lesson.write_text(
        lesson.read_text(encoding="utf-8").replace("Old words", "New words"), encoding="utf-8"
    )
    first = run_pipeline(BUILD, Job(built, command="build", defer_slow=True))
    assert first.written and first.kernels_started == 0 and first.export is not None
    assert set(first.export.deferred) == {"bundle:all", "event-deck:night"}
    dist = _dist(built)
    assert b"New words" in dist["lessons/a/a.slides.html"]
    for stale in ("all.zip", "events/night/night.slides.html", "SHA256SUMS"):
        assert dist[stale] == before[stale], stale
    asked: list[bool] = []

    def saved_again() -> bool:  # serve: the author saves while the zip is being written
        asked.append(True)
        return len(asked) > 1

    part = run_pipeline(BUILD, Job(built, command="build", defer_slow=saved_again))
    assert part.export is not None and part.export.deferred == ("event-deck:night",)
    dist = _dist(built)
    assert b"New words" in dist["all.zip!all/lessons/a/a.slides.html"]
    assert dist["events/night/night.slides.html"] == before["events/night/night.slides.html"]
    second = _build(built)  # the record names the old digest: the deck is rendered now
    assert second.export is not None and second.export.deferred == ()
    dist = _dist(built)
    assert b"New words" in dist["events/night/night.slides.html"]
    assert b"New words" in dist["all.zip!all/lessons/a/a.slides.html"]
    assert dist == _from_scratch(built, tmp_path / "scratch")
    third = run_pipeline(BUILD, Job(built, command="build", defer_slow=True))
    assert third.export is not None and third.export.deferred == ()  # nothing is stale


@pytest.mark.kernel
def test_a_first_pass_renders_an_event_deck_whose_talk_is_gone(built: Path, tmp_path: Path) -> None:
    """A stale event deck links into its talks' folders: one whose talk was deleted is not
    carried over (it would show images that are gone), it is rendered in the first pass."""
    from workshopkit.pipeline import BUILD, Job, run_pipeline

    toml = built / "workshop.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('lessons = ["a", "b"]', 'lessons = ["a"]'),
        encoding="utf-8",
    )
    shutil.rmtree(built / "lessons" / "b")
    first = run_pipeline(BUILD, Job(built, command="build", defer_slow=True))
    assert first.written and first.export is not None, first.messages
    assert first.export.deferred == ("bundle:all",)
    deck = (built / "dist" / "events" / "night" / "night.slides.html").read_text(encoding="utf-8")
    assert "Bee text" not in deck and not (built / "dist" / "lessons" / "b").exists()
    _build(built)
    assert _dist(built) == _from_scratch(built, tmp_path / "scratch")


@pytest.mark.kernel
def test_a_code_edit_runs_that_lesson_only(built: Path, tmp_path: Path) -> None:
    lesson = built / "lessons" / "b" / "b.py"
    lesson.write_text(B.replace("7 * 6", "7 * 7"), encoding="utf-8")
    outcome = _build(built)
    assert outcome.kernels_started == 1
    assert {r.lesson_id: r.cached for r in outcome.results} == {"a": True, "b": False}
    dist = _dist(built)
    assert b"49" in dist["lessons/b/b.solution.ipynb"]
    assert dist == _from_scratch(built, tmp_path / "scratch")


@pytest.mark.kernel
def test_a_workshop_toml_edit_reassembles_without_running(built: Path, tmp_path: Path) -> None:
    toml = built / "workshop.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('title = "Everything"', 'title = "All of it"'),
        encoding="utf-8",
    )
    inodes = _inodes(built)
    outcome = _build(built)
    assert outcome.kernels_started == 0
    dist = _dist(built)
    assert b"All of it" in dist["index.html"] and b"All of it" in dist["all/index.html"]
    assert b"All of it" in dist["all.zip!all/README.md"]
    kept = _inodes(built)
    for unchanged in ("lessons/a/a.slides.html", "events/night/night.slides.html"):
        assert kept[unchanged] == inodes[unchanged], unchanged
    assert kept["all.zip"] != inodes["all.zip"]
    assert dist == _from_scratch(built, tmp_path / "scratch")


@pytest.mark.kernel
def test_files_edited_or_deleted_in_dist_come_back(built: Path) -> None:
    before = _dist(built)
    dist = built / "dist"
    (dist / "lessons" / "b" / "b.ipynb").write_text("edited by hand", encoding="utf-8")
    (dist / "all.zip").unlink()
    shutil.rmtree(dist / "_static" / "reveal.js")
    # the same size, the mtime put back: only the ctime tells
    deck = dist / "lessons" / "a" / "a.slides.html"
    info = deck.stat()
    data = deck.read_bytes()
    deck.write_bytes(data.replace(b"Closing words", b"Closing WORDS"))
    os.utime(deck, ns=(info.st_atime_ns, info.st_mtime_ns))
    (dist / "extra.txt").write_text("mine", encoding="utf-8")
    outcome = _build(built)
    assert outcome.kernels_started == 0
    assert _dist(built) == before  # extra.txt is not carried over either


@pytest.mark.kernel
def test_a_damaged_record_renders_everything_again(built: Path) -> None:
    before = _dist(built)
    record = state_path(built, built / "dist")
    assert record.is_file()
    record.write_text('{"format": 1, "units": {"static": {"digest": 1, "files": 7}}}')
    inodes = _inodes(built)
    _build(built)
    assert _dist(built) == before
    kept = _inodes(built)
    assert kept["lessons/a/a.ipynb"] != inodes["lessons/a/a.ipynb"]


def test_a_record_cannot_stage_files_from_outside_the_previous_output(tmp_path: Path) -> None:
    previous, dest = tmp_path / "dist", tmp_path / "staged"
    previous.mkdir()
    dest.mkdir()
    (tmp_path / "secret").write_text("s", encoding="utf-8")
    record = tmp_path / "record.json"
    units = {"static": {"digest": "d", "files": [["../secret", "x", None]], "extra": {}}}
    record.write_text(json.dumps({"format": 1, "units": units}), encoding="utf-8")
    state = ExportState(dest, previous, record, "code")
    assert state.reuse("static", "d") is None
    assert list(dest.iterdir()) == []
