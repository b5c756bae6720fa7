"""The execution cache: nothing changed -> no kernel; one lesson changed -> only it runs."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    cli,
    fresh_kernels,
    lesson_text,
    make_workshop,
    mark_env,
    open_ok,
    own_warnings,
    read_report,
    run_workshop,
    shared_once,
)

from workshopkit.cache import Cache, CacheWarning, lesson_key
from workshopkit.execute import RunOptions, plan_lessons
from workshopkit.model import Status

A = lesson_text("from pathlib import Path\nprint(Path('data.csv').read_text())", title="A")
B = lesson_text("y = 2\nprint(y)", title="B")
C = lesson_text("z = 3", title="C")


def workshop(root: Path) -> Path:
    return make_workshop(
        root,
        {"lessons/a.py": A, "lessons/b.py": B, "lessons/other/c.py": C},
        files={"lessons/data.csv": "x,y\n1,2\n", "lessons/other/notes.txt": "n"},
    )


def entries(root: Path, lesson_id: str) -> list[Path]:
    folder = root / ".workshopkit" / "cache" / lesson_id
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _warm(folder: Path) -> Path:
    root = workshop(folder / "w")
    report, results = run_workshop(root, jobs=3)
    assert fresh_kernels(report) == 3
    assert all(r.status is Status.PASSED and not r.cached for r in results.values())
    return root


@pytest.fixture(scope="module")
def warmed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_once(tmp_path_factory, "cache-warm", _warm)


@pytest.fixture
def warm(warmed: Path, tmp_path: Path) -> Path:
    """A workshop whose three lessons have all run once (and been cached): a copy per test
    (cache keys hold no absolute path, so a copied workshop keeps its cache)."""
    root = tmp_path / "w"
    shutil.copytree(warmed, root, symlinks=True)
    return root


@pytest.mark.kernel
def test_nothing_changed_starts_no_kernel(warm: Path) -> None:
    report, results = run_workshop(warm)
    assert report.kernels_started == 0
    assert all(r.cached and r.status is Status.PASSED for r in results.values())
    for result in results.values():
        assert result.notebook is not None and result.notebook.is_file()
        assert result.notebook.is_relative_to(warm / ".workshopkit" / "cache")


@pytest.mark.kernel
def test_cli_says_cached_and_report_counts_no_kernel(warm: Path) -> None:
    _, env = mark_env()
    done = cli("run", warm, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("cached ") >= 3
    assert "3 cached" in done.stderr
    assert "(0 kernels started)" in done.stderr
    report = read_report(warm / ".workshopkit" / "report.json")
    assert report["kernels_started"] == 0
    assert [lesson["cached"] for lesson in report["lessons"]] == [True, True, True]


@pytest.mark.kernel
def test_editing_one_lesson_reruns_only_it(warm: Path) -> None:
    """b shares its folder with a: another lesson is not an asset of a."""
    (warm / "lessons" / "b.py").write_text(B.replace("y = 2", "y = 20"), encoding="utf-8")
    report, results = run_workshop(warm)
    assert fresh_kernels(report) == 1
    assert {k: r.cached for k, r in results.items()} == {"a": True, "b": False, "c": True}
    assert len(entries(warm, "b")) == 1  # the superseded entry is gone


@pytest.mark.kernel
def test_an_asset_change_reruns_the_lessons_of_its_folder(warm: Path) -> None:
    (warm / "lessons" / "data.csv").write_text("x,y\n3,4\n", encoding="utf-8")
    report, results = run_workshop(warm)
    # data.csv sits next to a and b (b does not read it, but it is in its folder);
    # c lives in a sub-folder of its own
    assert {k: r.cached for k, r in results.items()} == {"a": False, "b": False, "c": True}
    assert fresh_kernels(report) == 2


@pytest.mark.kernel
def test_no_cache_forces_every_lesson(warm: Path) -> None:
    report, results = run_workshop(warm, use_cache=False)
    assert fresh_kernels(report) == 3
    assert not any(r.cached for r in results.values())
    report, _ = run_workshop(warm)  # and the fresh results were stored
    assert report.kernels_started == 0


@pytest.mark.kernel
def test_parameters_are_part_of_the_key(warm: Path) -> None:
    report, _ = run_workshop(warm, parameters={"n": 1})
    assert fresh_kernels(report) == 3
    report, _ = run_workshop(warm, parameters={"n": 1})
    assert report.kernels_started == 0


@pytest.mark.kernel
@pytest.mark.parametrize("damage", ["result.json", "executed.ipynb", "missing-notebook"])
def test_a_corrupt_entry_is_discarded_with_a_warning(warm: Path, damage: str) -> None:
    [entry] = entries(warm, "a")
    if damage == "missing-notebook":
        (entry / "executed.ipynb").unlink()
    else:
        target = entry / damage
        target.write_bytes(target.read_bytes()[:40])  # truncated mid-write
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # routed to the lesson's result, not a Python warning
        report, results = run_workshop(warm)
    assert fresh_kernels(report) == 1
    assert not results["a"].cached and results["a"].status is Status.PASSED
    assert any("corrupt cache entry discarded" in w for w in results["a"].warnings)
    assert results["b"].cached and results["c"].cached
    report, results = run_workshop(warm)  # the re-run stored a good entry again
    assert report.kernels_started == 0
    assert own_warnings(results["a"].warnings) == []


@pytest.mark.kernel
def test_cli_shows_the_corrupt_entry_warning(warm: Path) -> None:
    [entry] = entries(warm, "a")
    (entry / "result.json").write_text("{", encoding="utf-8")
    _, env = mark_env()
    done = cli("run", warm, env=env)
    assert done.returncode == 0, done.stderr
    assert "warning: lessons/a.py: corrupt cache entry discarded" in done.stderr
    assert fresh_kernels(read_report(warm / ".workshopkit" / "report.json")) == 1


@pytest.mark.kernel
def test_failed_lessons_are_never_cached(tmp_path: Path) -> None:
    root = make_workshop(tmp_path / "w", {"lessons/bad.py": lesson_text("raise ValueError(1)")})
    for _ in range(2):
        report, results = run_workshop(root)
        assert fresh_kernels(report) == 1
        assert results["bad"].status is Status.FAILED and not results["bad"].cached


# --- the key, without kernels ---------------------------------------------------------------


def keys(root: Path, **options: Any) -> dict[str, str]:
    workshop = open_ok(root).workshop
    plans = plan_lessons(workshop, workshop.lessons, RunOptions(**options))
    return {plan.lesson.id: lesson_key(plan) for plan in plans}


def test_key_is_stable_and_depends_on_what_the_lesson_uses(tmp_path: Path) -> None:
    root = workshop(tmp_path / "w")
    first = keys(root)
    assert keys(root) == first
    assert len(set(first.values())) == 3
    assert keys(root, parameters={"n": 2}) != first
    assert keys(root, timeout=3)["a"] != first["a"]
    # generated and hidden files are not assets
    (root / "lessons" / "a.ipynb").write_text("{}", encoding="utf-8")
    (root / "lessons" / "__pycache__").mkdir()
    (root / "lessons" / "__pycache__" / "x.pyc").write_bytes(b"x")
    (root / "lessons" / ".hidden").write_text("x", encoding="utf-8")
    assert keys(root) == first
    # a new helper module next to the lessons is an asset (they may import it)
    (root / "lessons" / "helper.py").write_text("VALUE = 1\n", encoding="utf-8")
    changed = keys(root)
    assert (changed["a"], changed["b"]) != (first["a"], first["b"])
    assert changed["c"] == first["c"]


def test_key_ignores_other_lessons_in_the_folder(tmp_path: Path) -> None:
    root = workshop(tmp_path / "w")
    first = keys(root)
    (root / "lessons" / "b.py").write_text(B + "\n# %%\nw = 1\n", encoding="utf-8")
    second = keys(root)
    assert second["a"] == first["a"]
    assert second["b"] != first["b"]


def test_cache_used_alone_warns_about_corrupt_entries(tmp_path: Path) -> None:
    root = workshop(tmp_path / "w")
    lesson = open_ok(root).workshop.lesson("a")
    broken = root / ".workshopkit" / "cache" / "a" / "k1"
    broken.mkdir(parents=True)
    (broken / "result.json").write_text("not json", encoding="utf-8")
    with pytest.warns(CacheWarning, match="corrupt cache entry discarded"):
        assert Cache(root).get("k1", lesson) is None
    assert not broken.exists()
    assert Cache(root).get("k2", lesson) is None  # absent: no warning
