"""No process outlives its lesson: the launcher, `reap`, and every escape route through real runs.

The escape routes (tests/resources/escapes, one lesson per case) start processes that leave every
group the old clean-up aimed at: an empty environment (no kernel tag), a session or process
group of their own (out of the kernel's group), a double fork (out of the kernel's children).
Each carries a word in its argv unique to its case and to the test run (`3001.<run>`), so the
process table shows whether any is left; each lesson also records the pids it saw running, so a
test never passes because nothing was started. The cases that end on their own run together in
ONE `workshopkit run`; interrupts, `build`, `pytest --lessons` and a killed executor have runs of
their own. Whatever a test leaves is frozen and killed by pid in its teardown.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    RESOURCES,
    WORKSHOPKIT,
    cli,
    kill_marked,
    lessons_by_id,
    make_workshop,
    mark_env,
    read_report,
    shared_once,
    wait_gone,
)

from workshopkit import reaper

ESCAPES = RESOURCES / "escapes"
TOOLS = "escape_tools.py"
pytestmark = pytest.mark.skipif(not reaper.supported(), reason="needs Linux (a child subreaper)")


# --- finding processes by a word in their argv ------------------------------------------------


def word_of(mark: str, case: int) -> str:
    """The argv word of `case` in the run marked `mark` (as escape_tools.marker computes it)."""
    return f"{3000 + case}.{int(mark[:12], 16)}"


def with_word(word: str) -> list[Any]:
    """Live processes with `word` in their argv (zombies count as gone)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        with contextlib.suppress(psutil.Error):
            if proc.info["status"] != psutil.STATUS_ZOMBIE and word in (proc.info["cmdline"] or ()):
                found.append(proc)
    return found


def left_after(word: str, timeout: float = 5.0) -> list[str]:
    """What still carries `word` after `timeout` seconds, as command lines."""
    deadline = time.monotonic() + timeout
    while True:
        left = with_word(word)
        if not left or time.monotonic() > deadline:
            return [" ".join(p.info["cmdline"] or ()) for p in left]
        time.sleep(0.1)


def kill_word(word: str) -> None:
    """Teardown: freeze, then kill, by pid, whatever carries `word` (respawners included)."""
    import psutil

    for _ in range(20):
        left = with_word(word)
        if not left:
            return
        for proc in left:
            with contextlib.suppress(psutil.Error):
                proc.suspend()
        for proc in left:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        time.sleep(0.05)


@pytest.fixture
def words() -> Iterator[list[str]]:
    """Words whose processes a test's teardown kills if any is left."""
    found: list[str] = []
    yield found
    for word in found:
        kill_word(word)


def escape_workshop(root: Path, *lessons: str, **execution: Any) -> Path:
    """A workshop at `root` with the named escape lessons (and their tools) under lessons/."""
    make_workshop(root, {}, execution=execution)
    (root / "lessons").mkdir()
    for name in (TOOLS, *lessons):
        shutil.copy(ESCAPES / name, root / "lessons" / name)
    return root


def escape_env(folder: Path) -> tuple[str, dict[str, str], Path]:
    """A run marker, an environment carrying it, and the folder the lessons record pids in."""
    log = folder / "recorded"
    log.mkdir(parents=True)
    mark, env = mark_env(WORKSHOPKIT_TEST_ESCAPES=str(log))
    return mark, env, log


def recorded(log: Path, case: int) -> list[int]:
    path = log / str(case)
    if not path.exists():
        return []
    return [int(pid) for pid in path.read_text(encoding="utf-8").split()]


def wait_recorded(log: Path, case: int, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not recorded(log, case):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"case {case} never started its processes"
        time.sleep(0.05)


# --- the escape routes, in one run ------------------------------------------------------------

SHARED = {
    1: "esc01_empty_env_new_session.py",
    2: "esc02_double_fork_daemon.py",
    3: "esc03_ignores_sigterm.py",
    4: "esc04_own_process_group.py",
    5: "esc05_shell_background.py",
    6: "esc06_fork_bomb_lite.py",
    7: "esc07_cell_timeout.py",
    8: "esc08_lesson_timeout.py",
    9: "esc09_kernel_dies.py",
}


@dataclass
class EscapeRun:
    returncode: int
    stderr: str
    lessons: dict[str, dict[str, Any]]
    recorded: dict[int, list[int]]
    left: dict[int, list[str]]


def _escape_run(folder: Path) -> EscapeRun:
    root = escape_workshop(folder / "w", *SHARED.values(), timeout=5, lesson_timeout=10, jobs=2)
    mark, env, log = escape_env(folder)
    words = {case: word_of(mark, case) for case in SHARED}
    try:
        done = cli("run", root, env=env, timeout=300)
        left = {case: left_after(word) for case, word in words.items()}
    finally:
        for word in words.values():
            kill_word(word)
        kill_marked(mark)
    report = read_report(root / ".workshopkit" / "report.json")
    return EscapeRun(
        done.returncode,
        done.stderr,
        lessons_by_id(report),
        {case: recorded(log, case) for case in SHARED},
        left,
    )


@pytest.fixture(scope="module")
def escapes(tmp_path_factory: pytest.TempPathFactory) -> EscapeRun:
    return shared_once(tmp_path_factory, "escapes", _escape_run)


def assert_none_left(run: EscapeRun, case: int, started: int = 1) -> None:
    assert len(run.recorded[case]) >= started, run.stderr  # the lesson did start them
    assert run.left[case] == []


def lesson(run: EscapeRun, case: int) -> dict[str, Any]:
    ident = SHARED[case].removesuffix(".py").replace("_", "-")
    return run.lessons[ident]


@pytest.mark.kernel
def test_the_escape_run_reports_every_lesson_and_leaves_nothing(escapes: EscapeRun) -> None:
    assert escapes.returncode == 1, escapes.stderr  # three lessons fail on purpose
    failed = {ident for ident, entry in escapes.lessons.items() if entry["status"] == "failed"}
    assert failed == {"esc07-cell-timeout", "esc08-lesson-timeout", "esc09-kernel-dies"}
    assert all(escapes.recorded.values())
    assert {case: left for case, left in escapes.left.items() if left} == {}


@pytest.mark.kernel
def test_child_with_an_empty_environment_in_its_own_session(escapes: EscapeRun) -> None:
    assert lesson(escapes, 1)["status"] == "passed"
    assert_none_left(escapes, 1)


@pytest.mark.kernel
def test_double_forked_daemon(escapes: EscapeRun) -> None:
    assert lesson(escapes, 2)["status"] == "passed"
    assert_none_left(escapes, 2)


@pytest.mark.kernel
def test_child_that_ignores_sigterm(escapes: EscapeRun) -> None:
    assert lesson(escapes, 3)["status"] == "passed"
    assert_none_left(escapes, 3)


@pytest.mark.kernel
def test_child_that_changes_its_process_group(escapes: EscapeRun) -> None:
    assert lesson(escapes, 4)["status"] == "passed"
    assert_none_left(escapes, 4)


@pytest.mark.kernel
def test_shell_commands_left_in_the_background(escapes: EscapeRun) -> None:
    """`!nohup ... &` and `!setsid ... &`, both with an empty environment."""
    assert lesson(escapes, 5)["status"] == "passed"
    assert_none_left(escapes, 5, started=2)


@pytest.mark.kernel
def test_tree_that_keeps_forking_while_it_is_killed(escapes: EscapeRun) -> None:
    assert lesson(escapes, 6)["status"] == "passed"
    assert_none_left(escapes, 6, started=13)


@pytest.mark.kernel
def test_child_of_a_lesson_whose_cell_times_out(escapes: EscapeRun) -> None:
    error = lesson(escapes, 7)["error"]
    assert (error["kind"], error["ename"]) == ("timeout", "CellTimeoutError")
    assert_none_left(escapes, 7)


@pytest.mark.kernel
def test_child_of_a_lesson_that_runs_out_of_time(escapes: EscapeRun) -> None:
    error = lesson(escapes, 8)["error"]
    assert (error["kind"], error["ename"]) == ("timeout", "LessonTimeout")
    assert_none_left(escapes, 8)


@pytest.mark.kernel
def test_daemon_of_a_kernel_that_dies(escapes: EscapeRun) -> None:
    error = lesson(escapes, 9)["error"]
    assert error["kind"] == "kernel-died"
    assert "signal 9 (SIGKILL)" in error["evalue"]  # the launcher exits as its kernel did
    assert_none_left(escapes, 9)


# --- runs stopped from outside, and the other ways lessons run --------------------------------

STOPPED = "esc10_runs_until_stopped.py"


@pytest.mark.kernel
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_run_leaves_no_daemon(
    tmp_path: Path, words: list[str], signum: int, code: int
) -> None:
    root = escape_workshop(tmp_path / "w", STOPPED)
    mark, env, log = escape_env(tmp_path)
    words.append(word_of(mark, 10))
    proc = subprocess.Popen(
        [*WORKSHOPKIT, "run", str(root)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_recorded(log, 10, proc)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_marked(mark)
    assert proc.returncode == code, err
    assert left_after(word_of(mark, 10)) == []


@pytest.mark.kernel
def test_killed_executor_leaves_no_daemon(tmp_path: Path, words: list[str]) -> None:
    """`kill -9` of workshopkit: the launcher sees its parent go and takes everything with it."""
    root = escape_workshop(tmp_path / "w", STOPPED)
    mark, env, log = escape_env(tmp_path)
    words.append(word_of(mark, 10))
    proc = subprocess.Popen(
        [*WORKSHOPKIT, "run", str(root)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_recorded(log, 10, proc)
        proc.kill()
        proc.wait(timeout=30)
        left = left_after(word_of(mark, 10))
        kernels = [p.cmdline() for p in wait_gone(mark)]
    finally:
        kill_marked(mark)
    assert left == []
    assert kernels == []  # the launcher and its kernel are gone too


@pytest.mark.kernel
def test_build_leaves_no_daemon(tmp_path: Path, words: list[str]) -> None:
    root = escape_workshop(tmp_path / "w", SHARED[2])
    mark, env, log = escape_env(tmp_path)
    words.append(word_of(mark, 2))
    try:
        done = cli("build", root, env=env, timeout=300)
    finally:
        kill_marked(mark)
    assert done.returncode == 0, done.stderr
    assert (root / "dist" / "index.html").exists()
    assert recorded(log, 2)
    assert left_after(word_of(mark, 2)) == []


@pytest.mark.kernel
def test_pytest_lessons_leaves_no_daemon(tmp_path: Path, words: list[str]) -> None:
    root = escape_workshop(tmp_path / "w", SHARED[2], SHARED[9])
    mark, env, log = escape_env(tmp_path)
    words += [word_of(mark, 2), word_of(mark, 9)]
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "--lessons",
                str(root),
                "-p",
                "no:cacheprovider",
                "-q",
                "-n",
                "0",
            ],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        kill_marked(mark)
    assert "1 failed, 1 passed" in done.stdout, done.stdout + done.stderr
    assert recorded(log, 2) and recorded(log, 9)
    assert left_after(word_of(mark, 2)) == []
    assert left_after(word_of(mark, 9)) == []


# --- the launcher and `reap`, without a kernel --------------------------------------------------

FORKER = """
import os, sys

def respawn(depth):
    os.setsid()
    children = set()
    while True:
        while len(children) < 3:
            pid = os.fork()
            if pid == 0:
                if depth:
                    respawn(depth - 1)
                os.execv(sys.argv[2], ["sleep", sys.argv[1]])
            children.add(pid)
        children.discard(os.wait()[0])

respawn(int(sys.argv[3]))
"""
DAEMON = """
import os, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execve(sys.argv[2], ["sleep", sys.argv[1]], {})
    os._exit(0)
os.wait()
"""


def unique_word() -> str:
    return f"4000.{uuid.uuid4().int % 10**15}"


def wait_for(word: str, count: int, timeout: float = 30) -> list[Any]:
    deadline = time.monotonic() + timeout
    while len(found := with_word(word)) < count:
        assert time.monotonic() < deadline, f"{len(found)} of {count} processes started"
        time.sleep(0.02)
    return found


def launched(*argv: str, **popen: Any) -> subprocess.Popen[bytes]:
    cmd = reaper.launcher_argv([sys.executable, *argv])
    assert cmd[:4] == [sys.executable, "-I", "-S", os.path.abspath(reaper.__file__)]
    return subprocess.Popen(cmd, start_new_session=True, **popen)


def sleep_path() -> str:
    found = shutil.which("sleep")
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("code", "status"),
    [("import os; os._exit(3)", 3), ("import os; os.kill(os.getpid(), 9)", -9), ("pass", 0)],
)
def test_the_launcher_exits_as_its_child_did(code: str, status: int) -> None:
    proc = launched("-c", code)
    assert proc.wait(timeout=30) == status


def test_the_launcher_takes_what_its_child_left_with_it(words: list[str]) -> None:
    word = unique_word()
    words.append(word)
    proc = launched("-c", DAEMON + "import time; time.sleep(1)", word, sleep_path())
    wait_for(word, 3)  # the launcher and its child (the word is in their argv), the daemon
    assert proc.wait(timeout=30) == 0
    assert left_after(word, timeout=1) == []  # gone when the launcher is


def test_the_launcher_takes_everything_with_it_when_its_parent_dies(words: list[str]) -> None:
    word = unique_word()
    words.append(word)
    argv = [sys.executable, "-c", DAEMON + "import time; time.sleep(600)", word, sleep_path()]
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\nsubprocess.Popen(sys.argv[1:])\ntime.sleep(600)",
            *reaper.launcher_argv(argv),
        ],
    )
    try:
        wait_for(word, 4)  # the parent, the launcher, its child, the daemon
        assert [p.cmdline()[1] for p in with_word(word) if p.ppid() == parent.pid] == ["-I"]
        parent.kill()
        parent.wait(timeout=30)
        assert left_after(word) == []  # launcher, child and daemon
    finally:
        parent.kill()


def test_an_interrupt_to_the_group_reaches_the_child_not_the_launcher() -> None:
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGINT, lambda *a: sys.exit(7))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = launched("-c", code, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    os.killpg(proc.pid, signal.SIGINT)  # how jupyter_client interrupts a kernel
    assert proc.wait(timeout=30) == 7


def test_sigterm_to_the_launcher_ends_the_whole_tree(words: list[str]) -> None:
    word = unique_word()
    words.append(word)
    proc = launched("-c", DAEMON + "import time; time.sleep(600)", word, sleep_path())
    wait_for(word, 3)  # the launcher and its child (the word is in their argv), the daemon
    proc.terminate()
    proc.wait(timeout=30)
    assert left_after(word) == []


def test_reap_freezes_a_tree_that_keeps_forking(words: list[str]) -> None:
    word = unique_word()
    words.append(word)
    proc = launched("-c", FORKER, word, sleep_path(), "2")  # 1 + 3 + 9 forkers, 27 sleepers
    try:
        wait_for(word, 1 + 1 + 3 + 9 + 27)
        start = reaper.start_time(proc.pid)
        began = time.perf_counter()
        killed = reaper.reap(proc.pid, start)
        seconds = time.perf_counter() - began
        print(f"reap: {killed} processes in {seconds * 1000:.1f} ms")
        assert killed >= 1 + 3 + 9 + 27
        assert [p for p in with_word(word) if p.pid != proc.pid] == []
        assert proc.poll() is None or proc.returncode == -9  # the child was killed
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_reap_touches_nothing_once_its_process_is_another(words: list[str]) -> None:
    """A pid that names another process now (its start time differs) is left alone."""
    word = unique_word()
    words.append(word)
    proc = launched("-c", DAEMON + "import time; time.sleep(600)", word, sleep_path())
    try:
        wait_for(word, 3)
        start = reaper.start_time(proc.pid)
        assert start is not None
        assert reaper.reap(proc.pid, start + 1) == 0
        assert len(with_word(word)) == 3
        assert reaper.reap(proc.pid, start) >= 2  # the child and the daemon
        assert with_word(word) == []
        assert proc.wait(timeout=30) == -signal.SIGKILL  # the launcher exits as its child did
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_reap_cost_with_nothing_to_kill() -> None:
    """One pass over /proc; printed, not asserted (the machine is shared)."""
    # A childless process of its own: reaping below this test's own process would kill whatever
    # else the pytest worker runs (under xdist it killed a browser test's Playwright driver).
    lone = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        began = time.perf_counter()
        for _ in range(20):
            assert reaper.reap(lone.pid, reaper.start_time(lone.pid)) == 0
        print(f"reap with nothing below: {(time.perf_counter() - began) / 20 * 1000:.2f} ms")
        assert lone.poll() is None  # reap kills what is below a process, never the process
    finally:
        lone.kill()
        lone.wait(timeout=30)


def test_is_launcher() -> None:
    proc = launched("-c", "import time; time.sleep(60)")
    try:
        deadline = time.monotonic() + 30
        while not reaper.descendants(proc.pid):  # the launcher has started its child
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert reaper.is_launcher(proc.pid)
        [child] = reaper.descendants(proc.pid)
        # Between its fork and its exec the child still shows the launcher's command line.
        while reaper.is_launcher(child):
            assert time.monotonic() < deadline, "the child never ran its own program"
            time.sleep(0.02)
        assert not reaper.is_launcher(os.getpid())
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == -signal.SIGKILL  # its child, killed by the launcher
    assert not reaper.is_launcher(proc.pid)


def test_a_program_that_cannot_be_found_is_not_wrapped() -> None:
    """Starting it then fails as it did without a launcher, with the same message."""
    missing = ["/nonexistent/python3", "-m", "ipykernel_launcher"]
    assert reaper.launcher_argv(missing) == missing
    assert reaper.launcher_argv([]) == []
    assert reaper.launcher_argv(["sh", "-c", "true"])[4:] == ["sh", "-c", "true"]
