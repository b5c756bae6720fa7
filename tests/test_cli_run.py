"""`workshopkit run` as CI calls it: a real subprocess, real kernels, exit codes, reports."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from helpers import (
    cli,
    fresh_kernels,
    git_init,
    git_status,
    lesson_text,
    lessons_by_id,
    line_of,
    make_workshop,
    mark_env,
    read_report,
    shared_once,
    wait_gone,
)

GOOD = lesson_text("import os\nprint('hello from', os.getcwd())", title="Good")
BAD = lesson_text("x = 1", "y = 2", "z = x + y\nraise ValueError('boom')", title="Bad")
GPU = lesson_text("print(1)", extra="resources: {gpu: true}", title="Needs a GPU")
PARAMS = lesson_text(
    ("n = 1\nlabel = 'x'\nsizes = [1]", ["parameters"]),
    "assert n == 5 and label == 'from-config' and sizes == [1, 2], (n, label, sizes)",
    title="Parameters",
)
ANSI = re.compile(r"\x1b\[")


def _mixed_run(folder: Path) -> dict[str, Any]:
    root = make_workshop(
        folder / "w",
        {"lessons/good.py": GOOD, "lessons/bad.py": BAD, "lessons/gpu/gpu.py": GPU},
    )
    (root / ".gitignore").write_text(".workshopkit/\n", encoding="utf-8")
    git_init(root)
    mark, env = mark_env(GITHUB_ACTIONS="true", WORKSHOPKIT_GPU="0")
    junit = folder / "junit" / "results.xml"
    done = cli("run", root, "--jobs", "2", "--junit-xml", junit, env=env)
    left = [" ".join(p.cmdline()) for p in wait_gone(mark)]
    return {"root": root, "done": done, "junit": junit, "left": left}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of a passing, a failing and a GPU lesson, as GitHub Actions would run it."""
    return shared_once(tmp_path_factory, "cli-mixed", _mixed_run)


@pytest.mark.kernel
def test_a_failing_lesson_fails_the_run_and_every_lesson_is_listed(mixed: dict[str, Any]) -> None:
    done = mixed["done"]
    assert done.returncode == 1, done.stderr
    line = line_of(BAD, "raise ValueError")
    assert f"lessons/bad.py:{line} (cell 3): ValueError: boom" in done.stderr
    for path in ("lessons/good.py", "lessons/bad.py", "lessons/gpu/gpu.py"):
        assert path in done.stderr
    assert "skipped: needs a GPU" in done.stderr
    assert "1 passed, 1 failed, 1 skipped" in done.stderr
    assert not ANSI.search(done.stderr + done.stdout)
    assert "Traceback (most recent call last)" in done.stderr  # the short traceback
    assert "Task was destroyed" not in done.stderr and "Kernel died" not in done.stderr
    assert mixed["left"] == []
    assert git_status(mixed["root"]) == ""


@pytest.mark.kernel
def test_github_annotations(mixed: dict[str, Any]) -> None:
    line = line_of(BAD, "raise ValueError")
    annotations = [ln for ln in mixed["done"].stdout.splitlines() if ln.startswith("::")]
    assert annotations == [
        f"::error file=lessons/bad.py,line={line},title=lesson bad failed::ValueError: boom"
    ]


@pytest.mark.kernel
def test_report_json_fields(mixed: dict[str, Any]) -> None:
    report = read_report(mixed["root"] / ".workshopkit" / "report.json")
    assert report["exit_code"] == 1
    assert fresh_kernels(report) == 2
    assert report["workshop"] == "Test workshop"
    assert isinstance(report["seconds"], float)
    lessons = lessons_by_id(report)
    assert [entry["id"] for entry in report["lessons"]] == ["bad", "good", "gpu"]
    assert lessons["good"]["status"] == "passed" and lessons["good"]["error"] is None
    assert lessons["gpu"]["status"] == "skipped" and lessons["gpu"]["reason"] == "needs a GPU"
    error = lessons["bad"]["error"]
    assert lessons["bad"]["status"] == "failed"
    assert {k: error[k] for k in ("path", "line", "cell", "ename", "evalue")} == {
        "path": "lessons/bad.py",
        "line": line_of(BAD, "raise ValueError"),
        "cell": 3,
        "ename": "ValueError",
        "evalue": "boom",
    }
    assert "\x1b" not in error["traceback"]
    for entry in report["lessons"]:
        assert set(entry) >= {"id", "path", "status", "seconds", "cached", "error"}


@pytest.mark.kernel
def test_junit_xml(mixed: dict[str, Any]) -> None:
    suite = ET.parse(mixed["junit"]).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    failure = cases["bad"].find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith("lessons/bad.py:")
    assert cases["gpu"].find("skipped") is not None
    assert list(cases["good"]) == []


@pytest.mark.kernel
def test_parameters_from_the_command_line_and_config(tmp_path: Path) -> None:
    root = make_workshop(
        tmp_path / "w",
        {"lessons/params.py": PARAMS, "lessons/other.py": BAD},
        parameters={"n": 2, "label": "from-config"},
    )
    report = tmp_path / "out" / "report.json"
    _, env = mark_env()
    done = cli(
        "run",
        root / "lessons" / "params.py",  # only this lesson
        "-p",
        "n=5",
        "-p",
        "sizes=[1, 2]",
        "--report",
        report,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert [entry["id"] for entry in read_report(report)["lessons"]] == ["params"]
    assert not (root / ".workshopkit" / "report.json").exists()


def test_a_bad_parameter_is_a_usage_error(tmp_path: Path) -> None:
    root = make_workshop(tmp_path / "w", {"lessons/a.py": GOOD})
    done = cli("run", root, "-p", "not a parameter")
    assert done.returncode == 2
    assert "expected name=value" in done.stderr
    assert not (root / ".workshopkit").exists()


def test_an_invalid_workshop_exits_2_before_any_kernel(tmp_path: Path) -> None:
    broken = GOOD.replace("level: beginner", "level: expert")
    root = make_workshop(tmp_path / "w", {"lessons/a.py": broken})
    mark, env = mark_env()
    done = cli("run", root, env=env)
    assert done.returncode == 2
    assert f"lessons/a.py:{line_of(broken, 'level:')}: error: unknown level 'expert'" in done.stderr
    assert not (root / ".workshopkit").exists()
    assert wait_gone(mark) == []


def test_unknown_kernel_option_exits_3_listing_kernels(tmp_path: Path) -> None:
    root = make_workshop(tmp_path / "w", {"lessons/a.py": GOOD})
    mark, env = mark_env(GITHUB_ACTIONS="true")
    done = cli("run", root, "--kernel", "nope", env=env)
    assert done.returncode == 3
    assert "no such kernel 'nope' (--kernel); available: " in done.stderr
    assert "python3" in done.stderr
    assert done.stdout.startswith("::error file=workshop.toml::")
    assert read_report(root / ".workshopkit" / "report.json")["kernels_started"] == 0
    assert wait_gone(mark) == []


@pytest.mark.kernel
def test_timeouts_from_the_command_line(tmp_path: Path) -> None:
    slow = lesson_text("import time", "time.sleep(60)", title="Slow cell")
    steps = lesson_text("import time", *["time.sleep(1)"] * 10, title="Slow lesson")
    root = make_workshop(
        tmp_path / "w",
        {"lessons/slow.py": slow, "lessons/steps.py": steps},
        execution={"timeout": 600, "lesson_timeout": 900},
    )
    mark, env = mark_env()
    started = time.monotonic()
    done = cli("run", root, "--timeout", "2", "--lesson-timeout", "4", "--jobs", "2", env=env)
    assert time.monotonic() - started < 40
    assert done.returncode == 1, done.stderr
    lessons = lessons_by_id(read_report(root / ".workshopkit" / "report.json"))
    cell = lessons["slow"]["error"]
    assert (cell["ename"], cell["line"], cell["cell"]) == (
        "CellTimeoutError",
        line_of(slow, "time.sleep(60)"),
        2,
    )
    assert "limit 2 s" in cell["evalue"]
    lesson = lessons["steps"]["error"]
    assert lesson["ename"] == "LessonTimeout"
    assert "lesson timed out after 4 s" in lesson["evalue"]
    assert lesson["cell"] is not None and 2 <= lesson["cell"] <= 6
    assert f"lessons/slow.py:{cell['line']} (cell 2): CellTimeoutError" in done.stderr
    assert wait_gone(mark) == []


def test_require_gpu_without_a_gpu_exits_3(tmp_path: Path) -> None:
    root = make_workshop(tmp_path / "w", {"lessons/gpu.py": GPU})
    mark, env = mark_env(WORKSHOPKIT_GPU="0")
    done = cli("run", root, env=env)
    assert done.returncode == 0
    assert "skipped: needs a GPU" in done.stderr
    done = cli("run", root, "--require-gpu", env=env)
    assert done.returncode == 3
    assert f"lessons/gpu.py:{line_of(GPU, 'resources:')}: NoGPU: needs a GPU" in done.stderr
    assert wait_gone(mark) == []


# -- files a lesson folder holds (issue 10) -------------------------------------------------------


def test_build_refuses_an_output_inside_a_lesson_folder(tmp_path: Path) -> None:
    """`-o lessons/a/handout` shipped the previous output as the lesson's assets (the dist
    doubled on every build, the lesson was never cached): refused like `-o` at the root."""
    root = make_workshop(tmp_path / "w", {"lessons/a/a.py": GOOD})
    mark, env = mark_env()
    done = cli("build", "-o", "lessons/a/handout", env=env, cwd=root)
    assert done.returncode == 2, done.stderr
    assert f"error: output folder {root / 'lessons/a/handout'} is inside the folder of lesson" in (
        done.stderr
    )
    assert sorted(p.name for p in (root / "lessons/a").iterdir()) == ["a.py"]
    assert not (root / ".workshopkit").exists()  # nothing ran
    assert wait_gone(mark) == []


@pytest.mark.kernel
def test_a_named_pipe_is_skipped_with_a_warning_not_a_hang(tmp_path: Path) -> None:
    """A FIFO in a lesson folder hung `run` (its key read it), even with --no-cache."""
    import os
    import socket

    reads = lesson_text(
        "from pathlib import Path\nprint(Path('data/values.txt').read_text())", title="Pipes"
    )
    root = make_workshop(
        tmp_path / "w", {"lessons/a/a.py": reads}, files={"lessons/a/data/values.txt": "42\n"}
    )
    os.mkfifo(root / "lessons/a/data/pipe")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "lessons/a/sock"))
    try:
        mark, env = mark_env()
        for args in (("--no-cache",), ()):
            done = cli("run", root, *args, env=env, timeout=180)
            assert done.returncode == 0, done.stderr
            for name, kind in (("data/pipe", "a named pipe"), ("sock", "a socket")):
                assert done.stderr.count(f"lessons/a/{name}: warning: {kind}: left out of") == 1
        assert read_report(root / ".workshopkit/report.json")["lessons"][0]["status"] == "passed"
        assert wait_gone(mark) == []
    finally:
        server.close()
