"""build: atomic dist replacement, locking, clean-up after killed builds, exit codes.

Most tests replace `execute.run_lessons` with canned results (no kernel); one test builds the
scenario for real. Faults: failure-modes.md cases 16, 17, 37-40.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from export_scenarios import fake_results, scenario, tree_bytes

from workshopkit import execute
from workshopkit.build import BuildLock, clean_leftovers, output_problem
from workshopkit.errors import ExitCode
from workshopkit.execute import RunOptions, RunReport
from workshopkit.pipeline import Outcome as BuildOutcome
from workshopkit.pipeline import build

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return scenario(tmp_path / "ws")


class FakeRun:
    """Stands in for `execute.run_lessons`: canned results, and a record of being called."""

    def __init__(self, scratch: Path, failed: tuple[str, ...] = ()) -> None:
        self.scratch = scratch
        self.failed = failed
        self.calls = 0

    def __call__(self, workshop: Any, lessons: Any, options: Any, on_event: Any = None) -> Any:
        self.calls += 1
        results = fake_results(workshop, self.scratch / str(self.calls), failed=self.failed)
        return RunReport(results, 0, 0.0)


@pytest.fixture
def fake_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeRun:
    run = FakeRun(tmp_path / "scratch")
    monkeypatch.setattr(execute, "run_lessons", run)
    return run


def ok(outcome: BuildOutcome) -> BuildOutcome:
    assert outcome.exit_code is ExitCode.OK, outcome.messages
    return outcome


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(("dist.", ".dist.")))


# --------------------------------------------------------------------------------------------
# Success and failure


def test_build_writes_dist(root: Path, fake_run: FakeRun) -> None:
    outcome = ok(build(root))
    dist = root / "dist"
    assert outcome.dist == dist and outcome.written
    assert sorted(p.name for p in dist.iterdir()) == [
        "SHA256SUMS", "_static", "basics", "basics.zip", "index.html", "lessons", "report.json",
    ]  # fmt: skip
    assert outcome.messages[-1] == f"wrote {dist} (3 lessons, 1 bundle)"
    assert [r.lesson_id for r in outcome.results] == ["exercises", "next-steps", "deep-dive"]
    assert leftovers(root) == []  # no temp folder, no old dist, lock released


def test_rebuild_replaces_dist_and_is_identical(root: Path, fake_run: FakeRun) -> None:
    ok(build(root))
    first = tree_bytes(root / "dist")
    (root / "dist" / "stray.txt").write_text("from an older build")
    ok(build(root))
    second = tree_bytes(root / "dist")
    assert "stray.txt" not in second
    first.pop("report.json"), second.pop("report.json")  # seconds differ between runs
    assert first == second


def test_failed_lesson_keeps_the_old_dist(root: Path, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(execute, "run_lessons", FakeRun(tmp_path / "s1"))
    ok(build(root))
    before = tree_bytes(root / "dist")
    monkeypatch.setattr(execute, "run_lessons", FakeRun(tmp_path / "s2", failed=("next-steps",)))
    outcome = build(root)
    assert outcome.exit_code is ExitCode.LESSON_FAILED and not outcome.written
    assert tree_bytes(root / "dist") == before
    assert any("left as it was: 1 lesson(s) failed" in m for m in outcome.messages)
    assert leftovers(root) == []


def test_keep_going_writes_dist_with_failures_marked(
    root: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(execute, "run_lessons", FakeRun(tmp_path / "s", failed=("next-steps",)))
    outcome = build(root, keep_going=True)
    assert outcome.exit_code is ExitCode.LESSON_FAILED and outcome.written
    report = json.loads((root / "dist/report.json").read_text())
    assert report["status"] == "failed"
    assert not (root / "dist/lessons/next-steps").exists()
    assert "1 failed lesson(s) marked and left out" in outcome.messages[-1]


def test_validation_errors_stop_before_running(root: Path, fake_run: FakeRun) -> None:
    (root / "lessons/01-exercises/lesson.py").write_text(
        (root / "lessons/01-exercises/lesson.py").read_text().replace("level: beginner", "levle: x")
    )
    outcome = build(root)
    assert outcome.exit_code is ExitCode.INVALID and fake_run.calls == 0
    assert any("levle" in str(d) for d in outcome.diagnostics)
    assert not (root / "dist").exists()


def test_asset_errors_stop_before_running(root: Path, fake_run: FakeRun, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s")
    (root / "lessons/02-next/leak.csv").symlink_to(tmp_path / "secret.txt")
    outcome = build(root)
    assert outcome.exit_code is ExitCode.INVALID and fake_run.calls == 0
    assert [str(d).split(":")[0] for d in outcome.diagnostics if d.is_error] == [
        "lessons/02-next/leak.csv"
    ]


def test_infrastructure_error_exits_3(root: Path, monkeypatch: Any) -> None:
    from workshopkit.errors import InfrastructureError

    def no_kernel(*args: Any, **kw: Any) -> Any:
        raise InfrastructureError("no such kernel 'nope' (available: python3)")

    monkeypatch.setattr(execute, "run_lessons", no_kernel)
    outcome = build(root)
    assert outcome.exit_code is ExitCode.INFRASTRUCTURE
    assert "error: no such kernel 'nope' (available: python3)" in outcome.messages


def test_bad_source_date_epoch(root: Path, fake_run: FakeRun, monkeypatch: Any) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    outcome = build(root)
    assert outcome.exit_code is ExitCode.INVALID and fake_run.calls == 0
    assert "SOURCE_DATE_EPOCH must be a whole number" in outcome.messages[0]


def test_custom_output_folder(root: Path, fake_run: FakeRun, tmp_path: Path) -> None:
    out = tmp_path / "site" / "public"
    outcome = ok(build(root, out))
    assert outcome.dist == out and (out / "index.html").is_file()
    assert not (root / "dist").exists()


# --------------------------------------------------------------------------------------------
# Output folders that must not be replaced


def test_refuses_to_replace_the_workshop_or_a_foreign_folder(
    root: Path, fake_run: FakeRun, tmp_path: Path
) -> None:
    for out in (root, root.parent, root / "lessons", root / "lessons/01-exercises"):
        outcome = build(root, out)
        assert outcome.exit_code is ExitCode.INVALID, out
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    outcome = build(root, foreign)
    assert outcome.exit_code is ExitCode.INVALID
    assert "refusing to replace" in outcome.messages[0]
    assert (foreign / "thesis.tex").read_text() == "precious"
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert build(root, a_file).exit_code is ExitCode.INVALID
    assert fake_run.calls == 0


@pytest.mark.parametrize(
    "inside",
    [
        "lessons/01-exercises/handout",  # issue 10: shipped as assets, dist doubling
        "lessons/01-exercises/handout/site",
        "lessons/01-exercises/data/out",  # below a data folder of the lesson
        "lessons/01-exercises/build",  # skipped by name, but not its build.tmp-N siblings
    ],
)
def test_refuses_an_output_inside_a_lesson_folder(
    root: Path, fake_run: FakeRun, inside: str
) -> None:
    (root / "lessons/01-exercises/data").mkdir()
    out = root / inside
    outcome = build(root, out)
    assert outcome.exit_code is ExitCode.INVALID and fake_run.calls == 0
    assert outcome.messages[0].startswith(f"error: output folder {out} ")
    assert not out.exists()


def test_output_problem_names_the_lesson_whose_folder_holds_the_output(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    lesson = root / "lessons" / "a" / "a.py"
    out = root / "lessons" / "a" / "handout"
    assert output_problem(out, root, [lesson]) == (
        f"output folder {out} is inside the folder of lesson {lesson}: the lessons there would "
        "run with, hash and ship the previous output (never cached, bigger each build); choose "
        "an -o outside lesson folders"
    )
    # a lesson at the workshop root: its folder is the root; dist/ (the default) stays fine,
    # as do folders every lesson walk skips, with leftovers that are skipped too
    top = root / "intro.py"
    assert output_problem(root / "dist", root, [top]) is None
    assert output_problem(root / ".site", root, [top]) is None
    assert output_problem(root / "build" / "site", root, [top]) is None
    assert output_problem(root / "site", root, [top]) is not None
    assert output_problem(root / "build", root, [top]) is not None
    assert output_problem(root / "site", root, [lesson]) is None  # not in a lesson folder


def test_output_problem_accepts_empty_and_previous_dist(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (tmp_path / "empty").mkdir()
    assert output_problem(tmp_path / "empty", root, []) is None
    assert output_problem(tmp_path / "missing", root, []) is None
    (tmp_path / "old").mkdir()
    (tmp_path / "old/report.json").write_text('{"generator": "workshopkit 0.1.0"}')
    assert output_problem(tmp_path / "old", root, []) is None


# --------------------------------------------------------------------------------------------
# Atomicity (failure-modes.md 26, 37, 38)


def _retitle(root: Path) -> None:
    """An edit every page and zip shows: the next build renders them again (it reuses what did
    not change), so that a fault injected into a writer is reached."""
    toml = root / "workshop.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('title = "Scenario workshop"', 'title = "Renamed"', 1), "utf-8")


def test_disk_full_mid_export_keeps_old_dist(
    root: Path, fake_run: FakeRun, monkeypatch: Any
) -> None:
    ok(build(root))
    before = tree_bytes(root / "dist")
    _retitle(root)
    from workshopkit.export import bundles

    def full(target: Path, *args: Any, **kw: Any) -> Any:
        target.write_bytes(b"PK partial")
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(bundles, "write_zip", full)
    outcome = build(root)
    assert outcome.exit_code is ExitCode.INFRASTRUCTURE and not outcome.written
    tmp = root / f"dist.tmp-{os.getpid()}"
    assert f"error: {tmp / 'dist' / 'basics.zip'}: no space left on device" in outcome.messages
    assert tree_bytes(root / "dist") == before
    assert leftovers(root) == []


def test_write_error_inside_a_writer_names_the_file(
    root: Path, fake_run: FakeRun, monkeypatch: Any
) -> None:
    from workshopkit.export import _io

    real = _io._fsync_file
    calls = {"n": 0}

    def fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(_io, "_fsync_file", fsync)
    outcome = build(root)
    assert outcome.exit_code is ExitCode.INFRASTRUCTURE
    message = next(m for m in outcome.messages if m.startswith("error:"))
    assert message.endswith(": cannot write: no space left on device")
    assert f"dist.tmp-{os.getpid()}/" in message
    assert not (root / "dist").exists() and leftovers(root) == []


def test_serves_preview_is_written_without_flushing_it_to_disk(
    root: Path, fake_run: FakeRun, monkeypatch: Any
) -> None:
    """A build flushes every file it exports; serve's preview (`flushed=False`) none: a build
    rewrites it, and a file cut short by a crash no longer matches its record."""
    from workshopkit.pipeline import BUILD, Job, run_pipeline

    real = os.fsync
    flushed: list[str] = []

    def fsync(fd: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    for durable in (True, False):
        flushed.clear()
        out = root / f"out-{durable}"
        outcome = run_pipeline(BUILD, Job(root, output=out, command="build", flushed=durable))
        assert outcome.exit_code is ExitCode.OK and outcome.written
        exported = [path for path in flushed if f".tmp-{os.getpid()}/out-{durable}" in path]
        assert bool(exported) is durable, exported


def test_interrupt_mid_export_keeps_old_dist(
    root: Path, fake_run: FakeRun, monkeypatch: Any
) -> None:
    ok(build(root))
    before = tree_bytes(root / "dist")
    _retitle(root)
    from workshopkit.export import site

    def interrupted(*args: Any, **kw: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(site, "write_site", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(root)
    assert tree_bytes(root / "dist") == before
    assert leftovers(root) == []
    monkeypatch.undo()
    monkeypatch.setattr(execute, "run_lessons", fake_run)
    ok(build(root))  # the lock was released


def test_interrupt_during_run_writes_nothing(root: Path, monkeypatch: Any) -> None:
    def interrupted(*args: Any, **kw: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(execute, "run_lessons", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(root)
    assert leftovers(root) == [] and not (root / "dist").exists()


# --------------------------------------------------------------------------------------------
# Lock and leftovers (failure-modes.md 17, 40)


def test_second_build_is_refused_while_one_runs(root: Path, fake_run: FakeRun) -> None:
    with BuildLock(root / "dist"):
        outcome = build(root)
    assert outcome.exit_code is ExitCode.INVALID and fake_run.calls == 0
    assert outcome.messages == (
        f"error: build in progress (pid {os.getpid()}); lock file {root / '.dist.lock'}",
    )
    ok(build(root))


MAKE_LEFTOVER = (
    "import os, sys; from pathlib import Path; from workshopkit.build import _make_owned\n"
    "parent, kind = Path(sys.argv[1]), sys.argv[2]\n"
    "path = parent / f'dist.{kind}-{os.getpid()}'\n"
    "_make_owned(path, kind, parent / 'dist')\n"
    "print(path)\n"
)


def dead_build_leftover(parent: Path, kind: str) -> Path:
    """A `dist.<kind>-<pid>` folder made by a real build process that has since exited."""
    done = subprocess.run(
        [sys.executable, "-c", MAKE_LEFTOVER, str(parent), kind],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip())


def marker(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / ".workshopkit-build").read_text())
    return data


def test_stale_lock_and_temp_folders_are_cleaned(root: Path, fake_run: FakeRun) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (root / ".dist.lock").write_text(f"{dead.pid} 12345\n")
    tmp = dead_build_leftover(root, "tmp")
    (tmp / "dist" / "lessons").mkdir(parents=True)
    (root / "dist").mkdir()
    (root / "dist/report.json").write_text('{"generator": "workshopkit 0.0"}')
    old = dead_build_leftover(root, "old")
    (old / "dist").mkdir()
    outcome = ok(build(root))
    assert outcome.messages[:3] == (
        f"a previous build (pid {dead.pid}) did not finish; cleaning up",
        f"removed {old.name}, left by an interrupted build",
        f"removed {tmp.name}, left by an interrupted build",
    )
    assert leftovers(root) == []


def test_killed_between_renames_restores_dist(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    old = dead_build_leftover(tmp_path, "old")
    (old / "dist").mkdir()
    (old / "dist/index.html").write_text("previous")
    tmp = dead_build_leftover(tmp_path, "tmp")
    notes = clean_leftovers(out)
    assert (out / "index.html").read_text() == "previous"
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]  # no marker in dist
    assert notes == [
        f"restored {out} from {old.name}, left by a build killed while swapping",
        f"removed {tmp.name}, left by an interrupted build",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist"]


def test_folders_merely_named_like_leftovers_are_never_touched(
    root: Path, fake_run: FakeRun
) -> None:
    """Issue 10: `dist.old-20240101/` was renamed to dist/ (then replaced) when there was no
    dist/, and `dist.tmp-2/` was deleted."""
    mine = {
        "dist.old-20240101/index.html": "my backup of the site",
        "dist.old-20240101/notes.md": "keep me",
        "dist.tmp-2/draft.txt": "half-written",
        "dist.old-1/x": "a pid-like name, no marker",
    }
    for name, text in mine.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    for _ in range(2):  # the first build has no dist/ to replace, the second one has
        outcome = ok(build(root))
        assert not any("dist.old-2024" in m or "dist.tmp-2" in m for m in outcome.messages)
        for name, text in mine.items():
            assert (root / name).read_text() == text, name
        assert (root / "dist/report.json").is_file()
        assert not (root / "dist/notes.md").exists()
        assert not (root / "dist/.workshopkit-build").exists()  # markers stay out of dist
    assert leftovers(root) == sorted({n.split("/")[0] for n in mine})  # ours are gone


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def write_marker(folder: Path, kind: str, pid: Any, /, **changes: Any) -> None:
    """The marker a build writes (build.py's docstring), with `changes` applied."""
    data = {
        "workshopkit": "build-folder",
        "kind": kind,
        "output": "dist",
        "pid": pid,
        "start": "1",
        "boot": boot_id(),
        "token": "0123456789abcdef" * 2,
        **changes,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".workshopkit-build").write_text(json.dumps(data))


FORGERIES = [
    "no-marker",
    "another-pid",
    "another-output",
    "another-kind",
    "not-json",
    "no-token",
    "bad-token",
    "bool-pid",
    "marker-is-a-symlink",
    "marker-is-a-folder",
    "folder-is-a-symlink",
    "live-build",
]


@pytest.mark.parametrize("kind", ["old", "tmp"])
@pytest.mark.parametrize("how", FORGERIES)
def test_only_leftovers_proven_ours_are_touched(
    root: Path, fake_run: FakeRun, tmp_path: Path, kind: str, how: str
) -> None:
    """A valid marker written by a build that is gone proves a folder is a leftover; a name, a
    marker that does not match its folder, or a marker of a live build proves nothing. (No
    dist/ here, so an `old` leftover proven ours is put back as dist/ before the build.)"""
    from workshopkit.build import _process_start

    pid, live = dead_pid(), None
    start = "1"
    if how == "live-build":
        live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        pid = live.pid
        for _ in range(100):  # /proc may lag behind the fork for a moment
            start = _process_start(pid)
            if start:
                break
            time.sleep(0.05)
    where = tmp_path / "elsewhere" if how == "folder-is-a-symlink" else root
    folder = where / f"dist.{kind}-{pid}"
    changes: dict[str, Any] = {
        "another-pid": {"pid": pid + 1},
        "another-output": {"output": "site"},
        "another-kind": {"kind": "old" if kind == "tmp" else "tmp"},
        "no-token": {"token": None},
        "bad-token": {"token": "x" * 32},
        "bool-pid": {"pid": True},
        "live-build": {"start": start},
    }.get(how, {})
    write_marker(folder, kind, pid, **changes)
    (folder / "dist").mkdir()
    (folder / "dist/index.html").write_text("precious")
    mark = folder / ".workshopkit-build"
    if how == "no-marker":
        mark.unlink()
    elif how == "not-json":
        mark.write_text("{not json")
    elif how == "marker-is-a-symlink":
        mark.rename(tmp_path / "valid-marker")
        mark.symlink_to(tmp_path / "valid-marker")
    elif how == "marker-is-a-folder":
        mark.unlink()
        mark.mkdir()
    elif how == "folder-is-a-symlink":
        link = root / folder.name
        link.symlink_to(folder, target_is_directory=True)
        folder = link
    before = tree_bytes(folder)
    try:
        outcome = ok(build(root))
    finally:
        if live is not None:
            live.kill()
            live.wait()
    assert (root / "dist/report.json").is_file()
    assert folder.is_symlink() == (how == "folder-is-a-symlink")
    assert tree_bytes(folder) == before
    assert not any(folder.name in m for m in outcome.messages)


def test_leftovers_of_gone_builds_are_removed_and_nothing_else(
    root: Path, fake_run: FakeRun
) -> None:
    """Gone: a dead pid; a pid running again as another process (another start time); the same
    pid and start time before a reboot (another boot id). A pid-named folder without a marker
    beside them stays."""
    from workshopkit.build import _process_start

    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as live:
        try:
            dead = root / f"dist.tmp-{dead_pid()}"
            write_marker(dead, "tmp", int(dead.name.split("-")[-1]))
            reused = root / f"dist.old-{live.pid}"
            write_marker(reused, "old", live.pid, start="1")
            me = os.getppid()
            rebooted = root / f"dist.tmp-{me}"
            write_marker(rebooted, "tmp", me, start=_process_start(me), boot="another-boot")
            (root / "dist.tmp-1").mkdir()
            (root / "dist.tmp-1" / "keep.txt").write_text("no marker")
            (root / "dist").mkdir()
            (root / "dist/report.json").write_text('{"generator": "workshopkit 0.0"}')
            outcome = ok(build(root))
        finally:
            live.kill()
    assert sorted(m for m in outcome.messages if m.startswith("removed")) == sorted(
        f"removed {p.name}, left by an interrupted build" for p in (dead, reused, rebooted)
    )
    assert leftovers(root) == ["dist.tmp-1"]
    assert (root / "dist.tmp-1" / "keep.txt").read_text() == "no marker"


def test_a_foreign_folder_with_this_builds_temporary_name_is_kept(
    root: Path, fake_run: FakeRun
) -> None:
    for kind in ("tmp", "old"):
        folder = root / f"dist.{kind}-{os.getpid()}"
        folder.mkdir()
        (folder / "mine.txt").write_text("mine")
        outcome = build(root)
        assert outcome.exit_code is ExitCode.INVALID and fake_run.calls == 0
        assert outcome.messages == (
            f"error: {folder} exists and was not made by workshopkit (it has no valid marker); "
            "move it away, then build again",
        )
        assert (folder / "mine.txt").read_text() == "mine"
        shutil.rmtree(folder)


def test_unrelated_names_are_not_leftovers(tmp_path: Path) -> None:
    (tmp_path / "dist.tmp-notes").mkdir()
    (tmp_path / "dist.old-1x").mkdir()
    assert clean_leftovers(tmp_path / "dist") == []
    assert (tmp_path / "dist.tmp-notes").is_dir()


# --------------------------------------------------------------------------------------------
# Real processes: kill -9, SIGTERM, another builder, a read-only folder

DRIVER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from export_scenarios import fake_results
    from workshopkit import build as build_module, execute, export, pipeline
    from workshopkit.execute import RunReport

    root, scratch, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    seconds = float(sys.argv[4])

    def fake_run(workshop, lessons, options, on_event=None):
        if mode == "slow-run":
            print("running", flush=True)
            time.sleep(seconds)
        return RunReport(fake_results(workshop, scratch), 0, 0.0)

    real_export = export.export_workshop

    def slow_export(workshop, results, dest, **kw):
        result = real_export(workshop, results, dest, **kw)
        print("exported", flush=True)
        time.sleep(seconds)
        return result

    execute.run_lessons = fake_run
    if mode == "slow-export":
        export.export_workshop = slow_export
    if mode == "hold-lock":
        with build_module.BuildLock(root / "dist"):
            print("locked", flush=True)
            time.sleep(seconds)
        sys.exit(0)
    outcome = pipeline.build(root)
    for line in outcome.messages:
        print(line, flush=True)
    sys.exit(int(outcome.exit_code))
    """
)


def start_driver(root: Path, scratch: Path, mode: str, seconds: float, **kw: Any) -> Any:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(root), str(scratch), mode, str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kw,
    )


def wait_for(proc: Any, word: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if word in line:
            return
        if not line and proc.poll() is not None:
            raise AssertionError(f"driver exited {proc.returncode}: {proc.stderr.read()}")
    raise AssertionError(f"driver never printed {word!r}")


@pytest.mark.slow
def test_kill_9_mid_export_then_next_build_cleans_up(
    root: Path, fake_run: FakeRun, tmp_path: Path
) -> None:
    ok(build(root))
    before = tree_bytes(root / "dist")
    proc = start_driver(root, tmp_path / "s", "slow-export", 60)
    try:
        wait_for(proc, "exported")
        assert (root / f"dist.tmp-{proc.pid}").is_dir()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
    assert tree_bytes(root / "dist") == before
    assert (root / f"dist.tmp-{proc.pid}").is_dir()  # left behind by the killed build
    outcome = ok(build(root))
    assert f"removed dist.tmp-{proc.pid}, left by an interrupted build" in outcome.messages
    assert leftovers(root) == []


@pytest.mark.slow
def test_sigterm_mid_export_exits_143_and_keeps_dist(
    root: Path, fake_run: FakeRun, tmp_path: Path
) -> None:
    ok(build(root))
    before = tree_bytes(root / "dist")
    proc = start_driver(root, tmp_path / "s", "slow-export", 60)
    try:
        wait_for(proc, "exported")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 143
    finally:
        proc.kill()
    assert tree_bytes(root / "dist") == before
    assert leftovers(root) == []


@pytest.mark.slow
def test_build_refused_while_another_process_builds(
    root: Path, fake_run: FakeRun, tmp_path: Path
) -> None:
    proc = start_driver(root, tmp_path / "s", "hold-lock", 60)
    try:
        wait_for(proc, "locked")
        outcome = build(root)
        assert outcome.exit_code is ExitCode.INVALID and fake_run.calls == 0
        assert f"build in progress (pid {proc.pid})" in outcome.messages[0]
    finally:
        proc.kill()
        proc.wait(10)
    outcome = ok(build(root))  # the holder was killed: its flock went with it
    assert outcome.messages[0] == f"a previous build (pid {proc.pid}) did not finish; cleaning up"


@pytest.mark.slow
def test_second_process_refused_while_first_runs(root: Path, tmp_path: Path) -> None:
    first = start_driver(root, tmp_path / "s1", "slow-run", 5)
    try:
        wait_for(first, "running")
        second = start_driver(root, tmp_path / "s2", "normal", 0)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 2, err
        assert f"build in progress (pid {first.pid})" in out
        assert first.wait(60) == 0  # the first build is unaffected
    finally:
        first.kill()
    assert (root / "dist/index.html").is_file()


@pytest.mark.slow
def test_a_live_builds_folders_are_kept_even_without_its_lock(
    root: Path, fake_run: FakeRun, tmp_path: Path
) -> None:
    """A build runs (its temporary folder written, its marker naming it) when its lock file is
    removed by hand: the next build takes a new lock but leaves the live build's folder alone."""
    proc = start_driver(root, tmp_path / "s", "slow-export", 60)
    try:
        wait_for(proc, "exported")
        theirs = root / f"dist.tmp-{proc.pid}"
        before = tree_bytes(theirs)
        (root / ".dist.lock").unlink()
        outcome = ok(build(root))
        assert not any(theirs.name in m for m in outcome.messages)
        assert tree_bytes(theirs) == before
    finally:
        proc.kill()
        proc.wait(10)
    outcome = ok(build(root))  # now that it is gone, its folder goes too
    assert f"removed {theirs.name}, left by an interrupted build" in outcome.messages


@pytest.fixture
def world_readable_root() -> Iterator[Path]:
    """A workshop outside pytest's 0700 tmp folder, so another user can read it."""
    base = Path(tempfile.mkdtemp(prefix="wk-ro-"))
    base.chmod(0o755)
    try:
        yield scenario(base / "ws")
    finally:
        for path in base.rglob("*"):
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(base)


@pytest.mark.slow
def test_read_only_output_folder_exits_2_before_any_kernel(world_readable_root: Path) -> None:
    """failure-modes.md 39. As root, permissions do not stop writes, so the build runs as
    `nobody` (setpriv); as any other user the folder's mode is enough."""
    root = world_readable_root
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    parent = root / "out"
    parent.mkdir(mode=0o555)
    parent.chmod(0o555)
    code = (
        "import sys; from pathlib import Path\n"
        "from workshopkit import execute\n"
        "from workshopkit.pipeline import build\n"
        "def no_run(*a, **k): raise SystemExit('a kernel would have started')\n"
        "execute.run_lessons = no_run\n"
        f"outcome = build(Path({str(root)!r}), Path({str(parent / 'dist')!r}))\n"
        "print(*outcome.messages, sep='\\n')\n"
        "sys.exit(int(outcome.exit_code))\n"
    )
    command = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot drop privileges")
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    env = {**os.environ, "HOME": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    if "Permission denied" in result.stderr and "workshopkit" not in result.stdout:
        pytest.skip(f"unprivileged user cannot import workshopkit here: {result.stderr[-300:]}")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"output folder {parent} is not writable" in result.stdout
    assert list(parent.iterdir()) == []


# --------------------------------------------------------------------------------------------
# A real build


@pytest.mark.kernel
@pytest.mark.slow
def test_real_build(tmp_path: Path) -> None:
    root = scenario(tmp_path / "ws")
    sources = tree_bytes(root)
    outcome = build(root, options=RunOptions(jobs=2, use_cache=False))
    assert outcome.exit_code is ExitCode.OK, [*outcome.messages, *map(str, outcome.results)]
    dist = root / "dist"
    solution = json.loads((dist / "lessons/exercises/exercises.solution.ipynb").read_text())
    outputs = [o for c in solution["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert any("1,2,3" in "".join(o.get("text", "")) for o in outputs)  # the asset was there
    assert "papermill" not in json.dumps(solution)
    result = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=dist, capture_output=True)
    assert result.returncode == 0
    after = {
        n: b for n, b in tree_bytes(root).items() if not n.startswith(("dist/", ".workshopkit/"))
    }
    assert after == sources  # lessons ran in scratch copies: the sources are untouched
