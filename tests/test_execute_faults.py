"""Failure-modes §3: lessons that misbehave, run by real kernels through `workshopkit run`.

Most scenarios (tests/resources/faults/lessons, one file per case) run together in ONE
`workshopkit run --jobs 2 --timeout 5` subprocess: that also proves a failing lesson never stops
the others. Each case then has its own test on the shared report: message, line, exit code, and
that no process of the run is left (every process the run started carries a unique environment
marker). Cases that need a run of their own (unknown kernel, broken kernelspec, 50 MiB of output,
an output flood, many lessons at once, Ctrl-C) start their own.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from helpers import (
    FAULTS,
    WORKSHOPKIT,
    cli,
    copy_resources,
    fresh_kernels,
    git_init,
    git_status,
    kill_marked,
    lesson_text,
    lessons_by_id,
    line_of,
    make_workshop,
    mark_env,
    marked_processes,
    own_warnings,
    read_report,
    run_workshop,
    shared_once,
    wait_gone,
)

pytestmark = pytest.mark.kernel

CELL_TIMEOUT = 5
ANSI = re.compile(r"\x1b\[")


@dataclass
class FaultRun:
    root: Path
    done: subprocess.CompletedProcess[str]
    report: dict[str, Any]
    lessons: dict[str, dict[str, Any]]
    leftovers: list[str]
    seconds: float

    def lesson(self, ident: str) -> dict[str, Any]:
        return self.lessons[ident]

    def source(self, name: str) -> str:
        return (self.root / "lessons" / f"{name}.py").read_text(encoding="utf-8")

    def error(self, ident: str) -> dict[str, Any]:
        entry = self.lessons[ident]
        assert entry["status"] == "failed", entry
        assert entry["error"] is not None
        error: dict[str, Any] = entry["error"]
        return error


def _fault_run(folder: Path) -> FaultRun:
    root = copy_resources(
        FAULTS / "lessons", folder / "w", execution={"timeout": CELL_TIMEOUT, "jobs": 2}
    )
    git_init(root)
    mark, env = mark_env()
    started = time.monotonic()
    try:
        done = cli("run", root, "--junit-xml", folder / "junit.xml", env=env, timeout=300)
    finally:
        seconds = time.monotonic() - started
        leftovers = [" ".join(p.cmdline()) for p in wait_gone(mark, timeout=5)]
        kill_marked(mark)
    report = read_report(root / ".workshopkit" / "report.json")
    return FaultRun(root, done, report, lessons_by_id(report), leftovers, seconds)


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> FaultRun:
    """The scenario lessons, run once per session (even with pytest-xdist)."""
    return shared_once(tmp_path_factory, "faults", _fault_run)


def assert_run_clean(run: FaultRun) -> None:
    """The shared run failed (exit 1), and nothing it started is still running."""
    assert run.done.returncode == 1, run.done.stderr
    assert run.report["exit_code"] == 1
    assert run.leftovers == []


def test_every_lesson_is_reported_and_the_run_fails(faults: FaultRun) -> None:
    lesson_files = sorted((faults.root / "lessons").glob("*.py"))
    assert len(faults.lessons) == len(lesson_files)
    for path in lesson_files:
        assert f"lessons/{path.name}" in faults.done.stderr  # the summary lists every lesson
    assert not ANSI.search(faults.done.stderr + faults.done.stdout)
    for noise in ("Task was destroyed", "never retrieved", "Kernel died while", "Timeout waiting"):
        assert noise not in faults.done.stderr  # timeouts and dead kernels leave no asyncio noise
    assert faults.done.stdout == ""  # nothing from the kernels (or their children) leaks out
    failed = [ident for ident, entry in faults.lessons.items() if entry["status"] == "failed"]
    assert len(failed) == 8, failed
    assert "5 passed, 8 failed" in faults.done.stderr
    assert fresh_kernels(faults.report) == len(lesson_files)
    junit = (faults.root.parent / "junit.xml").read_text(encoding="utf-8")
    assert 'tests="13"' in junit
    assert 'failures="8"' in junit
    assert_run_clean(faults)


def test_case01_error_in_cell_3_of_5(faults: FaultRun) -> None:
    error = faults.error("case01-cell-error")
    line = line_of(faults.source("case01_cell_error"), 'raise ValueError("boom")')
    expected = f"lessons/case01_cell_error.py:{line} (cell 3): ValueError: boom"
    assert (error["path"], error["line"], error["cell"]) == (
        "lessons/case01_cell_error.py",
        line,
        3,
    )
    assert (error["ename"], error["evalue"]) == ("ValueError", "boom")
    assert expected in faults.done.stderr
    assert "later error" not in json.dumps(error)  # the FIRST failing cell, not the last
    assert 'raise ValueError("boom")' in error["traceback"]
    assert not ANSI.search(error["traceback"])
    # the other lessons still ran and are reported
    assert faults.lesson("case18-writes-cwd")["status"] == "passed"
    assert faults.lesson("case12-script-false")["status"] == "passed"
    assert_run_clean(faults)


def _timed_out_after(error: dict[str, Any]) -> float:
    found = re.search(r"timed out after (\d+(?:\.\d+)?) s", error["evalue"])
    assert found, error["evalue"]
    return float(found.group(1))


def test_case02_infinite_loop_times_out(faults: FaultRun) -> None:
    error = faults.error("case02-infinite-loop")
    assert error["kind"] == "timeout"
    assert error["line"] == line_of(faults.source("case02_infinite_loop"), "while True:")
    assert error["cell"] == 2
    assert CELL_TIMEOUT <= _timed_out_after(error) < CELL_TIMEOUT + 3
    assert f"lessons/case02_infinite_loop.py:{error['line']} (cell 2)" in faults.done.stderr
    assert faults.lesson("case02-infinite-loop")["seconds"] < CELL_TIMEOUT + 20
    assert_run_clean(faults)


def test_case03_cell_ignoring_sigint_is_killed(faults: FaultRun) -> None:
    error = faults.error("case03-ignores-sigint")
    assert error["kind"] == "timeout"
    assert error["line"] == line_of(faults.source("case03_ignores_sigint"), "signal.signal(")
    assert error["cell"] == 2
    assert CELL_TIMEOUT <= _timed_out_after(error) < CELL_TIMEOUT + 3
    assert faults.lesson("case03-ignores-sigint")["seconds"] < CELL_TIMEOUT + 20
    assert_run_clean(faults)  # no ipykernel left


def test_case04_os_exit_kills_the_kernel(faults: FaultRun) -> None:
    error = faults.error("case04-os-exit")
    assert error["kind"] == "kernel-died"
    assert error["evalue"] == "kernel died: exit code 1"
    assert (error["line"], error["cell"]) == (line_of(faults.source("case04_os_exit"), "_exit"), 2)
    assert f"lessons/case04_os_exit.py:{error['line']} (cell 2)" in faults.done.stderr
    assert_run_clean(faults)


def test_case05_sigkill_is_reported_as_likely_oom(faults: FaultRun) -> None:
    error = faults.error("case05-kill9")
    assert error["kind"] == "kernel-died"
    assert "signal 9" in error["evalue"]
    assert "likely out of memory" in error["evalue"]
    assert (error["line"], error["cell"]) == (line_of(faults.source("case05_kill9"), "os.kill"), 2)
    assert faults.lesson("case05-kill9")["seconds"] < 20  # no hang, whatever the timeout
    assert_run_clean(faults)


def test_case08_input_fails_at_once_with_a_hint(faults: FaultRun) -> None:
    error = faults.error("case08-input")
    assert error["ename"] == "StdinNotImplementedError"
    assert "lessons must not prompt for input" in error["evalue"]
    assert (error["line"], error["cell"]) == (line_of(faults.source("case08_input"), "input("), 1)
    assert faults.lesson("case08-input")["seconds"] < CELL_TIMEOUT + 10  # not a timeout
    assert_run_clean(faults)


def test_case09_child_reading_stdin_does_not_hang(faults: FaultRun) -> None:
    """The kernel's stdin is closed, so a child's input() sees EOF at once: no hang at all.

    A child that really hangs is caught by the cell timeout, and killed with the kernel's
    process group (no process with the run's marker is left).
    """
    entry = faults.lesson("case09-subprocess-input")
    assert entry["status"] == "passed"
    assert entry["seconds"] < CELL_TIMEOUT + 10
    error = faults.error("case09-subprocess-hangs")
    assert error["kind"] == "timeout"
    assert error["line"] == line_of(faults.source("case09_subprocess_hangs"), "subprocess.run(")
    assert error["cell"] == 2
    assert_run_clean(faults)


def test_case10_sys_exit_part_way_is_a_failure(faults: FaultRun) -> None:
    error = faults.error("case10-sys-exit")
    assert error["kind"] == "not-executed"
    assert error["evalue"] == "cells 3-5 not executed (SystemExit in cell 2)"
    assert (error["line"], error["cell"]) == (line_of(faults.source("case10_sys_exit"), "exit("), 2)
    assert_run_clean(faults)


def test_case11_shell_exit_status_is_warned_about(faults: FaultRun) -> None:
    """Decision: IPython's `!cmd` never raises, so workshopkit cannot fail the cell; it warns,
    naming the line, in the summary and in report.json (the lesson itself passes)."""
    entry = faults.lesson("case11-shell-exit")
    line = line_of(faults.source("case11_shell_exit"), "!exit 3")
    assert entry["status"] == "passed"
    [warning] = own_warnings(entry["warnings"])
    assert warning.startswith(f"lessons/case11_shell_exit.py:{line} (cell 2): shell command")
    assert "'!exit 3'" in warning
    assert "exit status is not checked" in warning
    assert f"warning: {warning}" in faults.done.stderr
    assert_run_clean(faults)


def test_case12_script_false_is_listed_as_skipped(faults: FaultRun) -> None:
    entry = faults.lesson("case12-script-false")
    line = line_of(faults.source("case12_script_false"), "%%script false")
    assert entry["status"] == "passed"  # not failing: nothing in it ran
    [warning] = own_warnings(entry["warnings"])
    assert warning.startswith(f"lessons/case12_script_false.py:{line} (cell 2)")
    assert "counted as skipped" in warning
    assert_run_clean(faults)


def test_case14_print_flood_is_truncated_visibly(faults: FaultRun) -> None:
    """20 MB of flushed writes: never a silent success; truncated with a warning, or failed."""
    entry = faults.lesson("case14-output-flood")
    if entry["status"] == "failed":
        assert entry["error"]["kind"] == "timeout"
    else:
        [warning] = own_warnings(entry["warnings"])
        assert "output truncated at 1048576 bytes" in warning
        assert warning.startswith("lessons/case14_output_flood.py:")
    assert_run_clean(faults)


def test_case18_lesson_writing_files_leaves_sources_clean(faults: FaultRun) -> None:
    entry = faults.lesson("case18-writes-cwd")
    assert entry["status"] == "passed"  # it also read data.csv from its (scratch) folder
    assert not (faults.root / "lessons" / "out.csv").exists()
    assert not (faults.root / "lessons" / "results").exists()
    assert git_status(faults.root) == ""
    assert_run_clean(faults)


# --- scenarios with a run of their own -------------------------------------------------------


def test_case06_unknown_kernel_stops_before_any_lesson(tmp_path: Path) -> None:
    text = lesson_text("x = 1", kernel="nope")
    root = make_workshop(
        tmp_path / "w", {"lessons/a.py": text, "lessons/b.py": lesson_text("y = 2")}
    )
    mark, env = mark_env()
    started = time.monotonic()
    done = cli("run", root, env=env)
    assert done.returncode == 3, done.stderr
    assert time.monotonic() - started < 30
    line = line_of(text, "kernelspec")
    assert f"lessons/a.py:{line}: no such kernel 'nope'" in done.stderr
    assert "available: " in done.stderr
    assert "python3" in done.stderr.split("available: ", 1)[1]
    report = read_report(root / ".workshopkit" / "report.json")
    assert report["exit_code"] == 3
    assert report["kernels_started"] == 0
    assert report["lessons"] == []
    assert "no such kernel 'nope'" in report["error"]
    assert "passed" not in done.stderr  # no lesson ran
    assert wait_gone(mark) == []


def _kernelspec(root: Path, name: str, argv: list[str]) -> None:
    folder = root / "kernels" / name
    folder.mkdir(parents=True)
    spec = {"argv": argv, "display_name": name, "language": "python"}
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")


def test_case07_broken_kernelspec_is_an_infrastructure_error(tmp_path: Path) -> None:
    jupyter = tmp_path / "jupyter"
    _kernelspec(
        jupyter,
        "broken",
        ["/nonexistent/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
    )
    dies = "import sys; sys.stderr.write('kernel boom: no such module\\n'); sys.exit(7)"
    _kernelspec(jupyter, "dies", [sys.executable, "-c", dies, "{connection_file}"])
    root = make_workshop(
        tmp_path / "w",
        {
            "lessons/missing.py": lesson_text("x = 1", kernel="broken"),
            "lessons/dies.py": lesson_text("x = 1", kernel="dies"),
        },
    )
    mark, env = mark_env(JUPYTER_PATH=str(jupyter))
    started = time.monotonic()
    done = cli("run", root, "--jobs", "2", env=env, timeout=120)
    assert done.returncode == 3, done.stderr
    assert time.monotonic() - started < 60  # within the start-up timeout, no hang
    report = lessons_by_id(read_report(root / ".workshopkit" / "report.json"))
    missing = report["missing"]["error"]
    assert missing["kind"] == "infrastructure"
    assert "kernel 'broken' would not start" in missing["evalue"]
    assert "/nonexistent/python3 -m ipykernel_launcher" in missing["evalue"]  # the argv
    died = report["dies"]["error"]
    assert died["kind"] == "infrastructure"
    assert "kernel 'dies' would not start" in died["evalue"]
    assert "kernel boom: no such module" in died["traceback"]  # the kernel's stderr tail
    assert "kernel boom" in done.stderr
    assert wait_gone(mark) == []


def test_case13_printing_50_mib_is_capped_and_memory_bounded(
    tmp_path: Path, record_property: Any
) -> None:
    import psutil

    root = copy_resources(FAULTS / "big", tmp_path / "w", execution={"timeout": 120})
    mark, env = mark_env()
    proc = subprocess.Popen(
        [*WORKSHOPKIT, "run", str(root)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    try:
        watched = psutil.Process(proc.pid)
        while proc.poll() is None:  # the builder alone: the kernel is another process
            try:
                peak = max(peak, watched.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            time.sleep(0.02)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_marked(mark)
    peak_mib = peak / 2**20
    record_property("builder_peak_rss_mib", round(peak_mib, 1))
    print(f"case 13: builder peak RSS {peak_mib:.1f} MiB while a lesson printed 50 MiB")
    assert proc.returncode == 0, err
    assert peak_mib < 150, f"builder RSS peaked at {peak_mib:.0f} MiB"
    assert "output truncated at 1048576 bytes" in err
    [notebook] = (root / ".workshopkit" / "cache").rglob("executed.ipynb")
    assert notebook.stat().st_size < 2 * 2**20
    cells = nbformat.read(notebook, as_version=4).cells
    texts = "".join(o.get("text", "") for o in cells[1].outputs)
    assert "[workshopkit: output truncated at 1048576 bytes]" in texts
    assert f"[workshopkit: {50 * 2**20 - 2**20} more bytes dropped]" in texts
    assert "still running" in "".join(o.get("text", "") for o in cells[2].outputs)
    assert wait_gone(mark) == []


def test_case14_display_flood_never_passes_silently(tmp_path: Path) -> None:
    """20 000 display messages: an IOPub timeout fails the lesson; if every message arrived in
    time, the lesson passes with every output kept. Never a pass with outputs missing."""
    root = copy_resources(FAULTS / "flood", tmp_path / "w", execution={"timeout": 60})
    report, results = run_workshop(root)
    result = results["case14-display-flood"]
    assert fresh_kernels(report) == 1
    if result.error is not None:
        assert result.error.kind == "timeout"
        assert result.error.ename in {"IOPubTimeout", "CellTimeoutError"}
        assert result.error.cell == 2
        if result.error.ename == "IOPubTimeout":
            assert "output may be incomplete" in result.error.evalue
    else:
        assert result.notebook is not None
        cells = json.loads(result.notebook.read_text(encoding="utf-8"))["cells"]
        assert len(cells[1]["outputs"]) == 20_000


@pytest.mark.slow
def test_case15_many_lessons_many_times_never_fail_spuriously(tmp_path: Path) -> None:
    lessons = {
        f"lessons/l{i:02d}.py": lesson_text(f"x = {i}", "assert x * 2 == 2 * x", title=f"L{i}")
        for i in range(16)
    }
    root = make_workshop(tmp_path / "w", lessons, execution={"jobs": 4, "timeout": 60})
    outcomes = []
    for _ in range(10):
        report, results = run_workshop(root, use_cache=False, jobs=4)
        bad = {k: str(r.error) for k, r in results.items() if r.status.value != "passed"}
        assert bad == {}, bad
        assert fresh_kernels(report) == 16
        outcomes.append(
            sorted((k, r.status.value, own_warnings(r.warnings)) for k, r in results.items())
        )
    assert all(o == outcomes[0] for o in outcomes)


def _kernels(mark: str, what: str = "ipykernel") -> list[Any]:
    """A run's kernels (not their launchers, see workshopkit.reaper), or processes whose command
    line holds `what`. A forked kernel keeps its fork server's command line: its process name
    says what it is (see workshopkit/_kernel/forkserver.py)."""
    found = []
    for proc in marked_processes(mark):
        try:
            argv = proc.cmdline()
            launcher = any(part.endswith("reaper.py") for part in argv)
            forked = what == "ipykernel" and proc.name() == "ipykernel"
            if forked or (any(what in part for part in argv) and not launcher):
                found.append(proc)
        except Exception:  # gone meanwhile
            continue
    return found


@pytest.mark.parametrize(
    ("signum", "moment", "code"),
    [
        (signal.SIGINT, "running", 130),
        (signal.SIGTERM, "running", 143),
        (signal.SIGINT, "starting", 130),
    ],
)
def test_case16_interrupt_kills_everything(
    tmp_path: Path, signum: int, moment: str, code: int
) -> None:
    root = copy_resources(FAULTS / "interrupt", tmp_path / "w", execution={"jobs": 2})
    previous = root / ".workshopkit" / "report.json"
    previous.parent.mkdir()
    previous.write_text('{"previous": true}\n', encoding="utf-8")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    mark, env = mark_env(TMPDIR=str(scratch))
    proc = subprocess.Popen(
        [*WORKSHOPKIT, "run", str(root)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        wanted = 1 if moment == "starting" else 2
        while len(_kernels(mark)) < wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_kernels(mark)) >= wanted
        if moment == "running":  # their cells have started their child processes
            while len(_kernels(mark, "time.sleep(600)")) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
        proc.send_signal(signum)
        signalled = time.monotonic()
        _, err = proc.communicate(timeout=30)
        left = wait_gone(mark, timeout=max(0.0, 5 - (time.monotonic() - signalled)))
        gone_after = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_marked(mark)
    assert proc.returncode == code, err
    assert left == [], [p.cmdline() for p in left]
    assert gone_after <= 5.5
    assert previous.read_text(encoding="utf-8") == '{"previous": true}\n'  # nothing half-written
    assert sorted(p.name for p in previous.parent.iterdir() if p.name != "cache") == ["report.json"]
    assert list(scratch.iterdir()) == []  # scratch folders removed
    assert "every kernel was stopped" in err
