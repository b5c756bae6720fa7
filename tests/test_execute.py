"""Executing lessons with real kernels: tags, parameters, kernels, timeouts, GPUs, isolation.

Lessons that can share a run do (one `run_lessons` call, two jobs); the pure helpers are
tested without a kernel at the end.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from helpers import (
    fresh_kernels,
    git_init,
    git_status,
    kill_marked,
    lesson_text,
    line_of,
    make_workshop,
    mark_env,
    open_ok,
    own_warnings,
    run_workshop,
    shared_once,
    wait_gone,
)

from workshopkit.errors import ExitCode, InfrastructureError
from workshopkit.execute import (
    LocalExecutor,
    RunOptions,
    RunReport,
    gpu_available,
    plan_lessons,
    run_lessons,
)
from workshopkit.execute.judge import ranges
from workshopkit.execute.locate import short_traceback
from workshopkit.model import LessonError, LessonResult, Status

PARAMS = lesson_text(
    "import os",
    ('n = 1\nname = "default"\nratio = 0.5', ["parameters"]),
    "assert (n, name, ratio) == (3, 'cli', 0.5), (n, name, ratio)",
    title="Parameters",
)
PARAMS_LINE = lesson_text(
    ("size = 10", ["parameters"]),
    "total = 0",
    "for i in range(size):\n    total += i\nraise ValueError(f'total={total}')",
    title="Error after the injected parameters cell",
)
TAGS = lesson_text(
    ("1 / 0", ["raises-exception"]),
    ("raise RuntimeError('must not run')", ["skip-execution"]),
    "print('after the expected error')",
    title="Tags",
)
FIRST_ERROR = (
    lesson_text(
        "# %% [markdown]\n# # A title",
        "def helper(key):\n    table = {}\n    return table[key]",
        "# %% [markdown]\n# Some text between the cells.",
        "ok = 1\nvalue = helper('missing')\nnever = 2",
        "raise RuntimeError('a later error')",
        title="First error",
    )
    + "\n"
)
WRITES = lesson_text(
    "from pathlib import Path\nassert Path('data.txt').read_text() == 'asset\\n'",
    "Path('out.csv').write_text('a,b\\n')\nPath('data.txt').write_text('changed')",
    "import os\nprint(os.getcwd())",
    title="Writes files",
)
LINKED = lesson_text(
    "from pathlib import Path\nassert Path('linked.txt').read_text() == 'shared\\n'",
    title="Reads through a relative symlink",
)
LOUD = lesson_text(
    "print('x' * 5000)",
    "from IPython.display import display\ndisplay({'text/plain': 'y' * 5000}, raw=True)",
    "print('small')",
    title="Loud",
)


def _behaviours(folder: Path) -> dict[str, Any]:
    root = make_workshop(
        folder / "w",
        {
            "lessons/params.py": PARAMS,
            "lessons/params_line.py": PARAMS_LINE,
            "lessons/tags.py": TAGS,
            "lessons/first_error.py": FIRST_ERROR,
            "lessons/writes/writes.py": WRITES,
            "lessons/linked/linked.py": LINKED,
            "lessons/loud.py": LOUD,
        },
        parameters={"n": 3, "name": "config"},
        files={"lessons/writes/data.txt": "asset\n", "shared/linked.txt": "shared\n"},
    )
    (root / "lessons" / "linked" / "linked.txt").symlink_to(Path("../../shared/linked.txt"))
    (root / ".gitignore").write_text(".workshopkit/\n", encoding="utf-8")
    git_init(root)
    report, results = run_workshop(
        root, jobs=2, parameters={"name": "cli"}, output_limit=1000, use_cache=False
    )
    return {"root": root, "report": report, "results": results}


@pytest.fixture(scope="module")
def behaviours(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return shared_once(tmp_path_factory, "behaviours", _behaviours)


def cells_of(result: LessonResult) -> list[Any]:
    """The executed notebook's cells that come from the lesson (not papermill's injected one)."""
    assert result.notebook is not None
    cells = nbformat.read(result.notebook, as_version=4).cells
    return [c for c in cells if "injected-parameters" not in c.metadata.get("tags", [])]


def injected(result: LessonResult) -> list[Any]:
    assert result.notebook is not None
    cells = nbformat.read(result.notebook, as_version=4).cells
    return [c for c in cells if "injected-parameters" in c.metadata.get("tags", [])]


@pytest.mark.kernel
def test_results_come_back_in_lesson_order(behaviours: dict[str, Any]) -> None:
    report: RunReport = behaviours["report"]
    opened = open_ok(behaviours["root"])
    assert [r.lesson_id for r in report.results] == [x.id for x in opened.selected]
    assert fresh_kernels(report) == 7
    assert report.exit_code is ExitCode.LESSON_FAILED


@pytest.mark.kernel
def test_cli_parameters_override_config_defaults(behaviours: dict[str, Any]) -> None:
    result = behaviours["results"]["params"]
    assert result.status is Status.PASSED, result.error
    [cell] = injected(result)
    assert "name = 'cli'" in cell.source or 'name = "cli"' in cell.source
    assert "n = 3" in cell.source


@pytest.mark.kernel
def test_line_of_an_error_after_the_injected_cell(behaviours: dict[str, Any]) -> None:
    error = behaviours["results"]["params-line"].error
    assert error is not None
    assert (error.line, error.cell) == (line_of(PARAMS_LINE, "raise ValueError"), 3)
    assert error.ename == "ValueError"
    assert error.evalue == "total=45"  # size=10 from the notebook: no -p for it
    assert str(error) == f"lessons/params_line.py:{error.line} (cell 3): ValueError: total=45"


@pytest.mark.kernel
def test_raises_exception_is_expected_and_skip_execution_is_skipped(
    behaviours: dict[str, Any],
) -> None:
    result = behaviours["results"]["tags"]
    assert result.status is Status.PASSED, result.error
    cells = cells_of(result)
    assert [o.output_type for o in cells[0].outputs] == ["error"]  # the error is kept, shown
    assert cells[0].outputs[0].ename == "ZeroDivisionError"
    assert cells[1].execution_count is None and cells[1].outputs == []
    assert cells[2].outputs[0].text == "after the expected error\n"


@pytest.mark.kernel
def test_an_error_names_the_first_failing_statement(behaviours: dict[str, Any]) -> None:
    error = behaviours["results"]["first-error"].error
    assert error is not None
    line = line_of(FIRST_ERROR, "value = helper('missing')")
    assert (error.path, error.line, error.cell) == ("lessons/first_error.py", line, 4)
    assert (error.ename, error.evalue) == ("KeyError", "'missing'")
    assert "a later error" not in error.traceback
    assert "\x1b[" not in error.traceback
    assert "return table[key]" in error.traceback


@pytest.mark.kernel
def test_lessons_run_in_a_scratch_copy_of_their_folder(behaviours: dict[str, Any]) -> None:
    root: Path = behaviours["root"]
    result = behaviours["results"]["writes"]
    assert result.status is Status.PASSED, result.error
    cwd = cells_of(result)[2].outputs[0].text.strip()
    assert Path(cwd) != root / "lessons" / "writes"
    assert not Path(cwd).exists()  # the scratch copy is gone
    assert (root / "lessons" / "writes" / "data.txt").read_text() == "asset\n"
    assert not (root / "lessons" / "writes" / "out.csv").exists()
    assert git_status(root) == ""


@pytest.mark.kernel
def test_relative_symlinks_still_resolve_in_the_scratch_copy(behaviours: dict[str, Any]) -> None:
    result = behaviours["results"]["linked"]
    assert result.status is Status.PASSED, result.error


@pytest.mark.kernel
def test_each_output_is_capped_with_a_visible_marker(behaviours: dict[str, Any]) -> None:
    result = behaviours["results"]["loud"]
    assert result.status is Status.PASSED, result.error
    cells = cells_of(result)
    printed = "".join(o.get("text", "") for o in cells[0].outputs)
    assert printed.count("x") == 1000  # capped in the kernel
    assert "[workshopkit: output truncated at 1000 bytes]" in printed
    assert "[workshopkit: 4001 more bytes dropped]" in printed
    shown = cells[1].outputs
    assert all("y" * 1001 not in json.dumps(o) for o in shown)
    assert "[workshopkit: output truncated at 1000 bytes; 5000 more bytes dropped]" in "".join(
        o.get("text", "") for o in shown
    )
    assert cells[2].outputs[0].text == "small\n"
    warnings = own_warnings(result.warnings)
    assert len(warnings) == 2
    assert all("output truncated at 1000 bytes" in w for w in warnings)
    assert warnings[0].startswith(f"lessons/loud.py:{line_of(LOUD, 'x')}:")


# --- kernels -------------------------------------------------------------------------------


def _kernelspec(jupyter: Path, name: str) -> None:
    folder = jupyter / "kernels" / name
    folder.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": name,
        "language": "python",
        "env": {"WK_TEST_KERNEL": name},
    }
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")


@pytest.mark.kernel
def test_kernel_comes_from_option_then_config_then_lesson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jupyter = tmp_path / "jupyter"
    _kernelspec(jupyter, "wk-alpha")
    _kernelspec(jupyter, "wk-beta")
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter))
    check = "import os\nprint(os.environ.get('WK_TEST_KERNEL', 'python3'))"
    lessons = {"lessons/k.py": lesson_text(check, kernel="wk-alpha")}

    def kernel_used(execution: dict[str, Any], **options: Any) -> str:
        root = make_workshop(
            tmp_path / f"w{len(list(tmp_path.iterdir()))}", lessons, execution=execution
        )
        _, results = run_workshop(root, use_cache=False, **options)
        result = results["k"]
        assert result.status is Status.PASSED, result.error
        return str(cells_of(result)[0].outputs[0].text.strip())

    assert kernel_used({}) == "wk-alpha"  # the lesson's kernelspec
    assert kernel_used({"kernel": "wk-beta"}) == "wk-beta"  # [execution] kernel
    assert kernel_used({"kernel": "wk-beta"}, kernel="python3") == "python3"  # --kernel


def test_unknown_kernel_raises_before_any_kernel_starts(tmp_path: Path) -> None:
    text = lesson_text("x = 1", kernel="no-such-kernel")
    root = make_workshop(tmp_path / "w", {"lessons/a.py": text, "lessons/b.py": lesson_text("y=1")})
    opened = open_ok(root)
    executor = LocalExecutor(jobs=2)
    events: list[Any] = []
    with pytest.raises(InfrastructureError) as caught:
        run_lessons(opened.workshop, opened.selected, RunOptions(), events.append, executor)
    error = caught.value
    assert error.exit_code is ExitCode.INFRASTRUCTURE
    assert (error.path, error.line) == ("lessons/a.py", line_of(text, "kernelspec"))
    assert "no such kernel 'no-such-kernel'" in str(error)
    assert "available: " in str(error) and "python3" in str(error)
    assert executor.kernels_started == 0 and events == []
    with pytest.raises(InfrastructureError, match=r"no such kernel 'nope' \(--kernel\)"):
        run_lessons(opened.workshop, opened.selected, RunOptions(kernel="nope"))


# --- timeouts ------------------------------------------------------------------------------


@pytest.mark.kernel
def test_lesson_timeout_names_the_cell_and_kills_the_kernel(tmp_path: Path) -> None:
    text = lesson_text("import time", *["time.sleep(1)"] * 3, "time.sleep(30)", title="Slow")
    root = make_workshop(tmp_path / "w", {"lessons/slow.py": text})
    started = time.monotonic()
    report, results = run_workshop(root, timeout=60, lesson_timeout=4)
    error = results["slow"].error
    assert error is not None and error.kind == "timeout"
    assert error.ename == "LessonTimeout"
    assert "lesson timed out after 4 s" in error.evalue
    assert (error.line, error.cell) == (line_of(text, "time.sleep(30)"), 5)
    assert "in a cell running for" in error.evalue
    assert time.monotonic() - started < 20
    assert report.exit_code is ExitCode.LESSON_FAILED


@pytest.mark.kernel
def test_waiting_for_a_free_job_does_not_count_against_lesson_timeout(tmp_path: Path) -> None:
    """With one job, the second lesson's kernel starts early and waits; only its own cells
    count against its lesson_timeout."""
    slow = lesson_text("import time\ntime.sleep(2.5)")
    root = make_workshop(tmp_path / "w", {"lessons/a.py": slow, "lessons/b.py": slow})
    _, results = run_workshop(root, jobs=1, lesson_timeout=4, use_cache=False)
    assert {k: r.status for k, r in results.items()} == {"a": Status.PASSED, "b": Status.PASSED}


@pytest.mark.kernel
def test_cell_timeout_from_options(tmp_path: Path) -> None:
    text = lesson_text("import time", "time.sleep(30)")
    root = make_workshop(tmp_path / "w", {"lessons/a.py": text}, execution={"timeout": 100})
    started = time.monotonic()
    _, results = run_workshop(root, timeout=2)
    error = results["a"].error
    assert error is not None and error.ename == "CellTimeoutError"
    assert (error.line, error.cell) == (line_of(text, "time.sleep(30)"), 2)
    assert "limit 2 s" in error.evalue
    assert time.monotonic() - started < 15


# --- GPUs ----------------------------------------------------------------------------------

GPU_LESSON = lesson_text("print('on a GPU')", extra="resources: {gpu: true}", title="GPU")


def test_gpu_lesson_is_skipped_without_a_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSHOPKIT_GPU", "0")
    root = make_workshop(tmp_path / "w", {"lessons/gpu.py": GPU_LESSON})
    report, results = run_workshop(root)
    assert results["gpu"].status is Status.SKIPPED
    assert results["gpu"].reason == "needs a GPU"
    assert report.kernels_started == 0
    assert report.exit_code is ExitCode.OK


def test_gpu_lesson_fails_with_require_gpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKSHOPKIT_GPU", "0")
    root = make_workshop(tmp_path / "w", {"lessons/gpu.py": GPU_LESSON})
    report, results = run_workshop(root, require_gpu=True)
    error = results["gpu"].error
    assert results["gpu"].status is Status.FAILED and error is not None
    assert "needs a GPU" in error.evalue
    assert error.line == line_of(GPU_LESSON, "resources:")
    assert report.kernels_started == 0
    assert report.exit_code is ExitCode.INFRASTRUCTURE  # the machine lacks what was required


@pytest.mark.kernel
def test_gpu_lesson_runs_where_a_gpu_is_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSHOPKIT_GPU", "1")
    root = make_workshop(tmp_path / "w", {"lessons/gpu.py": GPU_LESSON})
    report, results = run_workshop(root, require_gpu=True)
    assert results["gpu"].status is Status.PASSED
    assert fresh_kernels(report) == 1


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WORKSHOPKIT_GPU": "0"}, False),
        ({"WORKSHOPKIT_GPU": "1"}, True),
        ({"WORKSHOPKIT_GPU": "true"}, True),
        ({"CUDA_VISIBLE_DEVICES": "-1"}, False),
    ],
)
def test_gpu_available_env(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: bool
) -> None:
    monkeypatch.delenv("WORKSHOPKIT_GPU", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert gpu_available() is expected


# --- interrupting run_lessons from another thread -----------------------------------------


@pytest.mark.kernel
def test_cancel_stops_running_lessons(tmp_path: Path) -> None:
    sleepy = lesson_text("import time\ntime.sleep(60)")
    root = make_workshop(tmp_path / "w", {f"lessons/s{i}.py": sleepy for i in range(3)})
    opened = open_ok(root)
    executor = LocalExecutor(jobs=2)
    started = threading.Event()

    def on_event(event: Any) -> None:
        if event.kind == "start":
            started.set()

    def interrupt() -> None:
        started.wait(30)
        while executor.kernels_started < 2:
            time.sleep(0.05)
        time.sleep(1)
        executor.cancel()

    killer = threading.Thread(target=interrupt)
    killer.start()
    begun = time.monotonic()
    report = run_lessons(opened.workshop, opened.selected, RunOptions(jobs=2), on_event, executor)
    killer.join()
    assert time.monotonic() - begun < 30
    assert [r.status for r in report.results] == [Status.FAILED] * 3
    assert {r.error.ename for r in report.results if r.error} == {"Interrupted"}


# --- pure helpers (no kernel) ---------------------------------------------------------------


def test_ranges() -> None:
    assert ranges([3, 4, 5]) == "3-5"
    assert ranges([2]) == "2"
    assert ranges([1, 3, 4, 7]) == "1, 3-4, 7"


def test_short_traceback_strips_ansi_and_keeps_the_end() -> None:
    lines = ["\x1b[0;31mValueError\x1b[0m: boom", *[f"frame {i}" for i in range(100)]]
    text = short_traceback(lines)
    assert "\x1b" not in text
    assert text.splitlines()[0] == "..."
    assert text.splitlines()[-1] == "frame 99"
    assert short_traceback(["\x1b[1;32mshort\x1b[0m"]) == "short"


def _result(status: Status, kind: str | None = None) -> LessonResult:
    error = LessonError("a.py", 1, 1, "E", "e", "", kind) if kind else None
    return LessonResult("a", "a.py", status, 0.0, error)


def test_exit_codes() -> None:
    def code(*results: LessonResult) -> ExitCode:
        return RunReport(results, 0, 0.0).exit_code

    assert code() is ExitCode.OK
    assert code(_result(Status.PASSED), _result(Status.SKIPPED)) is ExitCode.OK
    assert code(_result(Status.PASSED), _result(Status.FAILED, "error")) is ExitCode.LESSON_FAILED
    assert code(_result(Status.FAILED, "timeout")) is ExitCode.LESSON_FAILED
    assert code(_result(Status.FAILED, "kernel-died")) is ExitCode.LESSON_FAILED
    assert (
        code(_result(Status.FAILED, "error"), _result(Status.FAILED, "infrastructure"))
        is ExitCode.INFRASTRUCTURE
    )


def test_plan_resolves_options_over_config(tmp_path: Path) -> None:
    root = make_workshop(
        tmp_path / "w",
        {"lessons/a.py": lesson_text("x = 1")},
        execution={"timeout": 7, "lesson_timeout": 70},
        parameters={"n": 1, "m": 2},
    )
    workshop = open_ok(root).workshop
    [plan] = plan_lessons(workshop, workshop.lessons, RunOptions(parameters={"m": 3}))
    assert (plan.kernel, plan.timeout, plan.lesson_timeout) == ("python3", 7, 70)
    assert dict(plan.parameters) == {"n": 1, "m": 3}
    [plan] = plan_lessons(workshop, workshop.lessons, RunOptions(timeout=2, lesson_timeout=9))
    assert (plan.timeout, plan.lesson_timeout) == (2, 9)


def flaky_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_start: str) -> str:
    """A kernel named "flaky" whose first launch runs `first_start` instead of starting."""
    flag = tmp_path / "failed-once"
    launcher = tmp_path / "flaky_kernel.py"
    launcher.write_text(
        "import os, runpy, sys, time\n"
        f"flag = {str(flag)!r}\n"
        "if not os.path.exists(flag):\n"
        "    open(flag, 'w').close()\n"
        f"    {first_start}\n"
        "sys.argv = ['ipykernel_launcher', *sys.argv[1:]]\n"
        "runpy.run_module('ipykernel_launcher', run_name='__main__')\n",
        encoding="utf-8",
    )
    jupyter = tmp_path / "jupyter"
    folder = jupyter / "kernels" / "flaky"
    folder.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, str(launcher), "-f", "{connection_file}"],
        "display_name": "flaky",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter))
    return "flaky"


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("first_start", "failure"),
    [
        # as when another process takes the kernel's port first
        ("sys.exit('flaky start: port already in use')", "died before replying to kernel_info"),
        # alive but never answering: a start-up that hangs
        ("time.sleep(120)", "didn't respond in 10 seconds"),
    ],
    ids=["dies", "stays-silent"],
)
def test_a_kernel_failing_at_start_up_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_start: str, failure: str
) -> None:
    """The retry is noted, not hidden; a silent kernel gets a share of the start-up timeout."""
    kernel = flaky_kernel(tmp_path, monkeypatch, first_start)
    root = make_workshop(tmp_path / "w", {"lessons/a.py": lesson_text("x = 1", kernel=kernel)})
    mark, _ = mark_env()
    monkeypatch.setenv("WORKSHOPKIT_TEST_MARK", mark)
    report, results = run_workshop(root, start_timeout=30)
    result = results["a"]
    assert result.status is Status.PASSED, result.error
    assert report.kernels_started == 2
    [note] = result.warnings
    assert note.startswith("lessons/a.py: kernel start-up failed 1 time(s) (")
    assert failure in note
    assert note.endswith("passed on retry")
    assert wait_gone(mark) == []  # the silent first kernel was killed, not left behind


@pytest.mark.kernel
def test_a_start_up_send_that_times_out_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A send the kernel never takes fails after SEND_TIMEOUT_MS (ZMQ's EAGAIN) instead of
    hanging; at start-up that is retried like a kernel that died. The failed send is injected:
    the real one (a client socket tied to another process's port) cannot be staged on demand."""
    import zmq

    from workshopkit.engine import SEND_TIMEOUT_MS, LosslessKernelClient

    client = LosslessKernelClient()
    socket = client.context.socket(zmq.DEALER)
    assert socket.getsockopt(zmq.SNDTIMEO) == SEND_TIMEOUT_MS
    assert socket.getsockopt(zmq.RCVHWM) == 0
    socket.close(0)

    kernel_info = LosslessKernelClient.kernel_info
    calls: list[int] = []

    def stuck_once(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise zmq.Again()  # what a send gives up with after SNDTIMEO
        return kernel_info(self, *args, **kwargs)

    monkeypatch.setattr(LosslessKernelClient, "kernel_info", stuck_once)
    root = make_workshop(tmp_path / "w", {"lessons/a.py": lesson_text("x = 1")})
    report, results = run_workshop(root, use_cache=False)
    result = results["a"]
    assert result.status is Status.PASSED, result.error
    assert report.kernels_started == 2
    [note] = result.warnings
    assert "Resource temporarily unavailable" in note and note.endswith("passed on retry")


@pytest.mark.kernel
def test_children_in_sessions_of_their_own_are_killed_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daemon started with its own session escapes the kernel's process group; the kernel's
    environment tag still finds it."""
    mark, _ = mark_env()
    monkeypatch.setenv("WORKSHOPKIT_TEST_MARK", mark)
    text = lesson_text(
        "import subprocess, sys, time\n"
        "daemon = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],\n"
        "                          start_new_session=True)",
        "time.sleep(60)",
    )
    root = make_workshop(tmp_path / "w", {"lessons/daemon.py": text})
    try:
        _, results = run_workshop(root, timeout=3)
        assert results["daemon"].error is not None
        assert results["daemon"].error.kind == "timeout"
        assert wait_gone(mark, timeout=5) == []
    finally:
        kill_marked(mark)


# --- the scratch copy never reaches the sources (issue 10) -----------------------------------

THROUGH_LINKS = lesson_text(
    "from pathlib import Path\n"
    "assert Path('houses.csv').read_text() == 'price\\n1\\n'\n"
    "assert Path('abs.csv').read_text() == 'a\\n'\n"
    "assert Path('chain.csv').read_text() == 'price\\n1\\n'\n"
    "assert Path('data/inner.txt').read_text() == 'inner\\n'\n"
    "assert not Path('out.csv').exists()  # a dangling link is left out\n"
    "assert not Path('loop').exists()  # so is a link to a folder holding it",
    "with open('houses.csv', 'w') as fh:  # df.to_csv('houses.csv')\n"
    "    fh.write('overwritten')\n"
    "for name in ('abs.csv', 'chain.csv', 'out.csv', 'data/inner.txt', 'data/new.txt'):\n"
    "    Path(name).write_text('written by the lesson')\n"
    "Path('data/sub').mkdir()",
    "import os\n"
    "links = [p for p, _, names in os.walk('.') for n in [p, *names] if os.path.islink(n)]\n"
    "assert links == [], links",
    title="Writes through symlinks",
)


@pytest.mark.kernel
def test_the_notebook_schema_is_compiled_once_for_lessons_starting_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nbformat compiles its schema on first use (40 ms of a run's start), in each thread that
    gets there before the first one is done: the lessons a run starts together each did."""
    import nbformat.validator

    current = nbformat.validator.get_current_validator()
    compiled: list[int] = []

    class Counted(current):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            compiled.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(nbformat.validator, "validators", {})
    monkeypatch.setattr(nbformat.validator, "get_current_validator", lambda: Counted)
    lessons = {f"lessons/l{i}.py": lesson_text(f"x = {i}") for i in range(3)}
    _, results = run_workshop(make_workshop(tmp_path / "w", lessons), jobs=3, use_cache=False)
    assert [r.status for r in results.values()] == [Status.PASSED] * 3
    assert len(compiled) == 1


@pytest.mark.kernel
def test_writing_through_symlinks_never_reaches_the_sources(tmp_path: Path) -> None:
    """The scratch copy kept symlinks (made absolute): `df.to_csv("houses.csv")` overwrote the
    shared file, and a symlinked folder let a lesson write into the source tree."""
    root = make_workshop(
        tmp_path / "w",
        {"lessons/links/links.py": THROUGH_LINKS},
        files={
            "shared/houses.csv": "price\n1\n",
            "shared/abs.csv": "a\n",
            "shared/data/inner.txt": "inner\n",
        },
    )
    folder = root / "lessons" / "links"
    (folder / "houses.csv").symlink_to(Path("../../shared/houses.csv"))  # relative
    (folder / "abs.csv").symlink_to(root / "shared" / "abs.csv")  # absolute
    (folder / "chain.csv").symlink_to("houses.csv")  # a link to a link
    (folder / "out.csv").symlink_to(Path("../../shared/not-yet.csv"))  # dangling
    (folder / "data").symlink_to(Path("../../shared/data"), target_is_directory=True)
    (folder / "loop").symlink_to(Path(".."), target_is_directory=True)
    (root / ".gitignore").write_text(".workshopkit/\n", encoding="utf-8")
    git_init(root)
    opened = open_ok(root)
    assert [str(d) for d in opened.diagnostics if "left out of" in d.message] == [
        "lessons/links/loop: warning: a symlink to a folder that holds it: left out of lesson "
        "scratch copies, cache keys and downloads",
        "lessons/links/out.csv: warning: a broken symlink: left out of lesson scratch copies, "
        "cache keys and downloads",
    ]
    _, results = run_workshop(root, use_cache=False)
    assert results["links"].status is Status.PASSED, results["links"].error
    assert git_status(root) == ""
    assert (root / "shared" / "houses.csv").read_text(encoding="utf-8") == "price\n1\n"
    assert not (root / "shared" / "not-yet.csv").exists()
