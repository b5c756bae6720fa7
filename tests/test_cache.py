"""The execution cache: nothing changed -> no kernel; one lesson changed -> only it runs."""

from __future__ import annotations

import json
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


# --- what the key hashes: what the lesson reads (issue 10) -----------------------------------

LINKS = lesson_text("print(1)", title="Links")


def linked_workshop(root: Path) -> Path:
    """A lesson whose folder reaches shared files through every kind of symlink."""
    root = make_workshop(
        root,
        {"lessons/links/links.py": LINKS},
        files={
            "shared/houses.csv": "price\n1\n",
            "shared/abs.csv": "a\n",
            "shared/helpers.py": "VALUE = 1\n",
            "shared/data/inner.txt": "inner\n",
        },
    )
    folder = root / "lessons" / "links"
    (folder / "houses.csv").symlink_to(Path("../../shared/houses.csv"))  # relative
    (folder / "abs.csv").symlink_to(root / "shared" / "abs.csv")  # absolute
    (folder / "chain.csv").symlink_to("houses.csv")  # a link to a link
    (folder / "helpers.py").symlink_to(Path("../../shared/helpers.py"))  # a helper module
    (folder / "data").symlink_to(Path("../../shared/data"), target_is_directory=True)
    return root


@pytest.mark.parametrize(
    "target", ["shared/houses.csv", "shared/abs.csv", "shared/helpers.py", "shared/data/inner.txt"]
)
def test_key_follows_symlinks_to_what_they_point_at(tmp_path: Path, target: str) -> None:
    """The key hashed the link text: a changed target still gave a cached pass."""
    root = linked_workshop(tmp_path / "w")
    first = keys(root)["links"]
    (root / target).write_text("changed\n", encoding="utf-8")
    assert keys(root)["links"] != first


def test_key_is_the_same_for_a_link_and_a_copy(tmp_path: Path) -> None:
    """What counts is what the lesson reads, not how the file got there."""
    root = linked_workshop(tmp_path / "w")
    first = keys(root)["links"]
    folder = root / "lessons" / "links"
    for name in ("houses.csv", "abs.csv", "chain.csv", "helpers.py"):
        text = (folder / name).read_text(encoding="utf-8")
        (folder / name).unlink()
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "data").unlink()
    shutil.copytree(root / "shared" / "data", folder / "data")
    assert keys(root)["links"] == first


def test_env_names_from_the_config_join_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_workshop(tmp_path / "w", {"lessons/a.py": A}, files={"lessons/data.csv": "x\n"})
    monkeypatch.delenv("WK_SEED", raising=False)
    monkeypatch.delenv("WK_OTHER", raising=False)
    text = (root / "workshop.toml").read_text(encoding="utf-8")
    (root / "workshop.toml").write_text(text + 'env = ["WK_SEED"]\n', encoding="utf-8")
    unset = keys(root)["a"]
    by_value = {}
    for value in ("", "1", "2"):
        monkeypatch.setenv("WK_SEED", value)
        by_value[value] = keys(root)["a"]
    assert len({unset, *by_value.values()}) == 4  # unset, empty and each value differ
    monkeypatch.setenv("WK_SEED", "1")
    monkeypatch.setenv("WK_OTHER", "x")  # not named: not in the key
    assert keys(root)["a"] == by_value["1"]
    monkeypatch.delenv("WK_SEED")
    assert keys(root)["a"] == unset


KEYS_IN_A_PROCESS = """
import json, resource, sys
from pathlib import Path
from workshopkit.cache import Cache
from workshopkit.execute import RunOptions, plan_lessons
from workshopkit.pipeline import open_workshop

def rchar():
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0

root = Path(sys.argv[1])
workshop = open_workshop(root).workshop
plans = plan_lessons(workshop, workshop.lessons, RunOptions())
before = rchar()
keys = [Cache(root).key(plan) for plan in plans]
print(json.dumps({
    "keys": keys,
    "read": rchar() - before,
    "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def keys_in_a_process(root: Path) -> dict[str, Any]:
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", KEYS_IN_A_PROCESS, str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_special_files_are_skipped_by_the_key_with_a_warning(tmp_path: Path) -> None:
    """A named pipe hung the key (it read the pipe); sockets and devices are skipped too."""
    import os
    import socket

    root = make_workshop(tmp_path / "w", {"lessons/a/a.py": A}, files={"lessons/a/data.csv": "x"})
    first = keys_in_a_process(root)["keys"]
    os.mkdir(root / "lessons/a/sub")
    os.mkfifo(root / "lessons/a/sub/pipe")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "lessons/a/sock"))
    expected = ["lessons/a/sock: warning: a socket", "lessons/a/sub/pipe: warning: a named pipe"]
    try:
        os.mknod(root / "lessons/a/null", 0o600 | __import__("stat").S_IFCHR, os.makedev(1, 3))
        expected.insert(0, "lessons/a/null: warning: a character device")
    except PermissionError:
        pass  # not root: no device node
    try:
        assert keys_in_a_process(root)["keys"] == first  # did not hang, nothing hashed
        warned = [str(d).split(": left out")[0] for d in open_ok(root).diagnostics]
        assert warned == expected
    finally:
        server.close()


def test_a_big_file_is_hashed_in_chunks_and_once(tmp_path: Path) -> None:
    """A 1 GiB data file made the process read it whole (1.09 GB RSS) on every run."""
    import os
    import time

    root = make_workshop(tmp_path / "w", {"lessons/a/a.py": A}, files={"lessons/a/data.csv": "x"})
    big = root / "lessons/a/big.bin"
    with big.open("wb") as fh:
        fh.truncate(300 << 20)  # sparse: no disk used, but 300 MiB to read
    time.sleep(2.2)  # a digest is kept only for a file not written in the last 2 s
    cold = keys_in_a_process(root)
    assert cold["rss_mib"] < 150
    assert cold["read"] >= 300 << 20
    warm = keys_in_a_process(root)
    assert warm["keys"] == cold["keys"]
    assert warm["read"] < 50 << 20  # the kept digest, not the file (metadata reads aside)
    # same size, same mtime, other bytes: the ctime moved, so the file is read again
    stat = big.stat()
    with big.open("r+b") as fh:
        fh.seek(100 << 20)
        fh.write(b"changed")
    os.utime(big, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert big.stat().st_mtime_ns == stat.st_mtime_ns and big.stat().st_size == stat.st_size
    assert keys_in_a_process(root)["keys"] != cold["keys"]


# --- damaged state: refused clearly, never a traceback (issue 13) ----------------------------


def _entry_with_notebook(root: Path, content: bytes) -> tuple[Any, Path]:
    """A stored entry for lesson `a` whose notebook is `content`, its checksum consistent."""
    import hashlib
    import json

    from workshopkit.model import LessonResult

    lesson = open_ok(root).workshop.lesson("a")
    good = root / "good.ipynb"
    good.write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}')
    stored = Cache(root).put(
        "k1", lesson, LessonResult("a", lesson.relpath, Status.PASSED, 1.0, notebook=good)
    )
    entry = stored.notebook.parent
    (entry / "executed.ipynb").write_bytes(content)
    record = json.loads((entry / "result.json").read_text(encoding="utf-8"))
    record["notebook_sha256"] = hashlib.sha256(content).hexdigest()
    (entry / "result.json").write_text(json.dumps(record), encoding="utf-8")
    return lesson, entry


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"\x00\xffnot json", "not JSON"),
        (b"{" * 100_000, "not JSON"),
        (b"[]", "not a version-4 notebook"),
        (b'{"nbformat": 3, "cells": []}', "not a version-4 notebook"),
        (b'{"nbformat": 4, "cells": [1]}', "not a cell"),
    ],
)
def test_an_entry_whose_notebook_is_not_a_notebook_is_discarded(
    tmp_path: Path, content: bytes, why: str
) -> None:
    root = workshop(tmp_path / "w")
    lesson, entry = _entry_with_notebook(root, content)
    with pytest.warns(CacheWarning, match=f"corrupt cache entry discarded, lesson re-run .*{why}"):
        assert Cache(root).get("k1", lesson) is None
    assert not entry.exists()


def test_a_good_entry_is_served(tmp_path: Path) -> None:
    root = workshop(tmp_path / "w")
    content = b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}'
    lesson, _ = _entry_with_notebook(root, content)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hit = Cache(root).get("k1", lesson)
    assert hit is not None and hit.cached


@pytest.mark.parametrize(
    ("make", "name", "what"),
    [
        (lambda root: (root / ".workshopkit").write_text("x"), ".workshopkit", "a file"),
        (
            lambda root: (
                (root / ".workshopkit").mkdir(),
                (root / ".workshopkit/cache").write_text(""),
            ),
            ".workshopkit/cache",
            "a file",
        ),
        (
            lambda root: (root / ".workshopkit/report.json").mkdir(parents=True),
            ".workshopkit/report.json",
            "a folder",
        ),
        (
            lambda root: (root / ".workshopkit").symlink_to(root / "gone"),
            ".workshopkit",
            "a broken symlink",
        ),
    ],
)
def test_a_state_folder_taken_by_something_else_is_refused_before_any_kernel(
    tmp_path: Path, make: Any, name: str, what: str
) -> None:
    from cli_support import invoke

    root = workshop(tmp_path / "w")
    make(root)
    for command in ("check", "run"):
        result = invoke([command, root])
        assert result.exception is None, result.exception
        assert result.exit_code == 2
        assert f"{name}: error: workshopkit keeps its cache and reports here" in result.stderr
        assert f"this is {what}" in result.stderr


def test_a_state_folder_linked_elsewhere_is_fine(tmp_path: Path) -> None:
    root = workshop(tmp_path / "w")
    (tmp_path / "elsewhere").mkdir()
    (root / ".workshopkit").symlink_to(tmp_path / "elsewhere")
    assert open_ok(root).workshop is not None


# --- markdown, raw cells and the header are outside the key: the run is reused, merged -------

MD = lesson_text(
    "# %% [markdown]\n# # Title\n#\n# Some text",
    ("n = 2", ["parameters"]),
    "print('hello', n)",
    "# %% [markdown]\n# ## Second\n#\n# More text",
    "!true\nprint(n * 2)",
    ("raise ValueError('boom')", ["raises-exception"]),
    "# %% [markdown]\n# The end",
    title="Md",
)


def _markdown_edits() -> dict[str, tuple[str, bool]]:
    """Edited texts of MD, and whether the lesson must run again."""
    second = "# %% [markdown]\n# ## Second\n#\n# More text\n"
    return {
        "text edited": (MD.replace("# Some text", "# Some new text"), False),
        "cell inserted, lines shift": (
            MD.replace(second, "# %% [markdown]\n# New\n#\n# cell\n\n" + second),
            False,
        ),
        "text cell moved between code cells": (
            MD.replace(second, "").replace("# %% [markdown]\n# The end", second + "\n# The end"),
            False,
        ),
        "slide type of a text cell": (
            MD.replace(
                second, second.replace("[markdown]", '[markdown] slideshow={"slide_type": "notes"}')
            ),
            False,
        ),
        "raw cell added": (MD.replace(second, "# %% [raw]\n# raw text\n\n" + second), False),
        "header title": (MD.replace("title: Md", "title: Md, renamed"), False),
        "code cell slide type and solution tag": (
            MD.replace(
                "# %%\nprint('hello', n)",
                '# %% tags=["solution"] slideshow={"slide_type": "fragment"}\nprint(\'hello\', n)',
            ),
            False,
        ),
        "code edited": (MD.replace("print(n * 2)", "print(n * 3)"), True),
        "text cell tagged parameters (papermill injects after it)": (
            MD.replace(
                "# %% [markdown]\n# The end", '# %% [markdown] tags=["parameters"]\n# The end'
            ),
            True,
        ),
    }


def _run_only(root: Path) -> Any:
    return run_workshop(root, parameters={"n": 3})


def _comparable(path: Path) -> str:
    """An executed notebook without what changes from run to run (times, papermill's record)."""
    import json

    from workshopkit.cache import RUN_METADATA

    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["metadata"].pop("papermill", None)
    for cell in nb["cells"]:
        for key in RUN_METADATA:
            cell["metadata"].pop(key, None)
        if "injected-parameters" in cell["metadata"].get("tags", []):
            cell.pop("id")  # papermill's random id
    return json.dumps(nb, indent=1, sort_keys=True)


@pytest.fixture(scope="module")
def md_warmed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    def warm(folder: Path) -> Path:
        root = make_workshop(folder / "w", {"lessons/md/md.py": MD})
        report, results = _run_only(root)
        assert fresh_kernels(report) == 1, results
        return root

    return shared_once(tmp_path_factory, "cache-md-warm", warm)


@pytest.mark.kernel
@pytest.mark.parametrize("case", list(_markdown_edits()))
def test_a_change_outside_the_code_reuses_the_run_and_shows_the_new_text(
    md_warmed: Path, tmp_path: Path, case: str
) -> None:
    """The merged notebook is what a fresh run of the edited lesson gives (outputs, counts,
    injected parameters, cell ids and lines), and its warnings point at the new lines."""
    root = tmp_path / "w"
    shutil.copytree(md_warmed, root, symlinks=True)
    text, reruns = _markdown_edits()[case]
    (root / "lessons" / "md" / "md.py").write_text(text, encoding="utf-8")
    report, results = _run_only(root)
    assert fresh_kernels(report) == (1 if reruns else 0)
    reused = results["md"]
    assert reused.status is Status.PASSED and reused.cached is not reruns
    assert reused.notebook is not None
    merged = _comparable(reused.notebook)
    if not reruns:
        assert reused.notebook.name.startswith("view-")
    for line in ("Some new text", "New", "raw text", "renamed"):
        assert (line in text) is (line in merged)
    assert "Some text" not in merged or "Some text" in text
    fresh_report, fresh = run_workshop(root, parameters={"n": 3}, use_cache=False)
    assert fresh_kernels(fresh_report) == 1
    assert fresh["md"].notebook is not None
    assert merged == _comparable(fresh["md"].notebook)
    assert reused.warnings == fresh["md"].warnings
    assert any("shell command" in w for w in reused.warnings)


@pytest.mark.kernel
def test_a_damaged_merged_notebook_is_rebuilt(md_warmed: Path, tmp_path: Path) -> None:
    root = tmp_path / "w"
    shutil.copytree(md_warmed, root, symlinks=True)
    lesson = root / "lessons" / "md" / "md.py"
    lesson.write_text(MD.replace("# Some text", "# Edited"), encoding="utf-8")
    _, results = _run_only(root)
    view = results["md"].notebook
    assert view is not None
    good = view.read_bytes()
    view.write_text("{broken", encoding="utf-8")
    report, results = _run_only(root)
    assert report.kernels_started == 0 and results["md"].notebook == view
    assert view.read_bytes() == good
    record = view.with_suffix(".json")
    warned = results["md"].warnings
    record.write_text('{"sha256": 1}', encoding="utf-8")
    report, results = _run_only(root)
    assert report.kernels_started == 0 and results["md"].warnings == warned
    assert json.loads(record.read_text(encoding="utf-8"))["warnings"] == list(warned)
    lesson.write_text(MD, encoding="utf-8")  # back to the text it ran with: no merge needed
    report, results = _run_only(root)
    assert report.kernels_started == 0
    assert results["md"].notebook is not None and results["md"].notebook.name == "executed.ipynb"


def test_the_key_covers_what_runs_and_nothing_else(tmp_path: Path) -> None:
    """No kernel: the key alone, for each kind of edit (module doc of cache.py)."""
    root = make_workshop(tmp_path / "w", {"lessons/md/md.py": MD})
    lesson = root / "lessons" / "md" / "md.py"

    def key_of(text: str) -> str:
        lesson.write_text(text, encoding="utf-8")
        return keys(root)["md"]

    first = key_of(MD)
    for case, (text, reruns) in _markdown_edits().items():
        assert (key_of(text) != first) is reruns, case
    kept_out = {
        "objectives": MD.replace("minutes: 5", "minutes: 5\n#     objectives: [Learn]"),
        "a tag on a text cell": MD.replace(
            "# %% [markdown]\n# The end", '# %% [markdown] tags=["x"]\n# The end'
        ),
    }
    for case, text in kept_out.items():
        assert key_of(text) == first, case
    counted = {
        "a tag that changes the run": MD.replace(
            'tags=["parameters"]', 'tags=["parameters", "raises-exception"]'
        ),
        "a code cell added": MD.replace("print('hello', n)", "print('hello', n)\n\n# %%\npass"),
        "a GPU": MD.replace("minutes: 5", "minutes: 5\n#     resources: {gpu: true}"),
        "the kernelspec": MD.replace("display_name: Python 3", "display_name: Python three"),
    }
    for case, text in counted.items():
        assert key_of(text) != first, case
