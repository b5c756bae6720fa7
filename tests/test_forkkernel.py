"""Fast kernels (`forkkernel`, `_kernel/forkserver.py`): kernels forked from a fork server.

The scenario lessons under tests/resources/fork_faults run, one at a time, in ONE
`workshopkit run --kernel-start fork --jobs 1` subprocess, so every kernel comes from the same
server, right after the lesson before it: a lesson that changes os.environ, sys.path, a module or
the random seeds is followed by one that looks; others fork, leave threads, kill their own
process group. Then: the fork server killed mid-run, a kernelspec that is not the standard
launcher, a change of environment or of installed packages, Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    RESOURCES,
    WORKSHOPKIT,
    cli,
    copy_resources,
    kill_marked,
    lesson_text,
    lessons_by_id,
    make_workshop,
    mark_env,
    marked_processes,
    open_ok,
    read_report,
    wait_gone,
)

from workshopkit.forkkernel import (
    ENV_VAR,
    ForkServers,
    launcher_split,
    preload_for,
    standard_launcher,
    unwrapped,
)
from workshopkit.reaper import launcher_argv

FORK_FAULTS = RESOURCES / "fork_faults"


# --- the kernelspecs that are forked --------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "forked"),
    [
        (["/py", "-m", "ipykernel_launcher", "-f", "{connection_file}"], True),
        (
            ["/py", "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            True,
        ),
        (["/py", "-I", "-m", "ipykernel_launcher", "-f", "{connection_file}"], False),
        (["/py", "-X", "-m", "ipykernel_launcher", "-f", "{connection_file}"], False),
        (["/py", "-m", "ipykernel", "-f", "{connection_file}"], False),
        (["/py", "-m", "ipykernel_launcher", "-f", "{connection_file}", "--matplotlib"], False),
        (["/py", "-m", "ipykernel_launcher", "--f", "{connection_file}"], False),
        (["conda", "run", "python", "-m", "ipykernel_launcher", "-f", "{connection_file}"], False),
        (["/py", "-m", "ipykernel_launcher"], False),
        ([], False),
    ],
)
def test_only_the_standard_launcher_is_forked(argv: list[str], forked: bool) -> None:
    assert standard_launcher(argv) is forked


def test_launcher_command_line_splits_into_server_and_kernel_arguments() -> None:
    cmd = ["/py", "-Xa=1", "-m", "ipykernel_launcher", "-f", "/c.json", "--IPKernelApp.x=1"]
    assert launcher_split(cmd) == ("/py", ["-Xa=1"], ["-f", "/c.json", "--IPKernelApp.x=1"])
    assert unwrapped(launcher_argv(cmd)) == cmd  # the reaper's launcher is taken off again


# --- what a fork server imports before forking a lesson's kernel -----------------------------


def _preload(tmp_path: Path, *cells: str, files: dict[str, str] | None = None) -> tuple[str, ...]:
    lessons = {"lessons/one/one.py": lesson_text(*cells)}
    root = make_workshop(tmp_path / "ws", lessons, files=files)
    lessons = list(open_ok(root).workshop.lessons)
    return preload_for(lessons[0])


@pytest.mark.parametrize(
    ("cells", "preload"),
    [
        (["import numpy as np\nimport pandas as pd", "x = 1"], ("numpy", "pandas")),
        (
            ["from sklearn.linear_model import Ridge"],
            ("sklearn.linear_model", "sklearn.linear_model.Ridge?"),
        ),
        (["from scipy import stats, linalg"], ("scipy", "scipy.stats?", "scipy.linalg?")),
        # never: a plotting backend, a GPU context, threads; nor what the lesson does not import
        (["import matplotlib.pyplot as plt\nimport torch\nimport json"], ()),
        (
            ["def f():\n    import numpy\n    return numpy", "%%time\nimport pandas"],
            ("numpy", "pandas"),
        ),
        # anything that may change how an import resolves stops the preloads after it
        (
            ["import numpy", "import os\nos.environ['OMP_NUM_THREADS'] = '1'", "import pandas"],
            ("numpy",),
        ),
        (["import os\nos.environ.update(OPENBLAS_NUM_THREADS='1')\nimport numpy"], ()),
        (["import os\nos.environ.setdefault('X', '1')", "import numpy"], ()),
        (["import os\nos.putenv('X', '1')", "import numpy"], ()),
        (["from dotenv import load_dotenv\n\nload_dotenv()", "import numpy"], ()),
        (["%load_ext dotenv\n%dotenv", "import numpy"], ()),
        (["%env OPENBLAS_NUM_THREADS=1", "import numpy"], ()),
        (["import sys\nsys.path.insert(0, 'vendor')", "import numpy"], ()),
        (["%pip install numpy==2.0", "import numpy"], ()),
        (["!uv pip install pandas", "import pandas"], ()),
        (["%run setup.py", "import numpy"], ()),
        # reading the environment changes nothing
        (
            [
                "import os\nhome = os.environ.get('HOME')\nok = os.environ['HOME'] == home",
                "import numpy",
            ],
            ("numpy",),
        ),
    ],
)
def test_a_lesson_preloads_what_it_imports_before_it_could_change_imports(
    tmp_path: Path, cells: list[str], preload: tuple[str, ...]
) -> None:
    assert _preload(tmp_path, *cells) == preload


@pytest.mark.parametrize(
    "files",
    [{"lessons/one/numpy.py": "X = 1\n"}, {"lessons/one/numpy/__init__.py": ""}],
)
def test_a_module_of_the_lessons_own_shadows_the_package(
    tmp_path: Path, files: dict[str, str]
) -> None:
    """The kernel's cwd is first in sys.path: it imports the lesson's numpy, not the server's."""
    assert _preload(tmp_path, "import numpy\nimport pandas", files=files) == ("pandas",)


def test_a_module_the_lesson_writes_shadows_the_package(tmp_path: Path) -> None:
    cells = ["%%writefile pandas.py\nX = 1", "import numpy\nimport pandas"]
    assert _preload(tmp_path, *cells) == ("numpy",)


# --- one run of the scenario lessons ---------------------------------------------------------


@dataclass
class ForkRun:
    done: subprocess.CompletedProcess[str]
    report: dict[str, Any]
    lessons: dict[str, dict[str, Any]]
    facts: list[dict[str, Any]]
    leftovers: list[str]
    backend: str
    blas: str


@pytest.fixture(scope="module")
def fork_run(tmp_path_factory: pytest.TempPathFactory) -> ForkRun:
    folder = tmp_path_factory.mktemp("fork")
    root = copy_resources(FORK_FAULTS, folder / "w", execution={"timeout": 30, "jobs": 1})
    # the facts lesson looks again after a02 changed things and after the faults a04-a06
    first = (root / "lessons" / "a01_facts.py").read_text(encoding="utf-8")
    for name, title in (("a03_facts.py", "Facts again"), ("a07_facts.py", "Facts at the end")):
        text = first.replace("title: Facts about its own kernel", f"title: {title}")
        (root / "lessons" / name).write_text(text, encoding="utf-8")
    facts = folder / "facts.jsonl"
    mark, env = mark_env(WK_FACTS=str(facts))
    try:
        done = cli("run", root, "--kernel-start", "fork", env=env, timeout=600)
    finally:
        leftovers = [" ".join(p.cmdline()) for p in wait_gone(mark, timeout=5)]
        kill_marked(mark)
    report = read_report(root / ".workshopkit" / "report.json")
    lines = facts.read_text(encoding="utf-8").splitlines() if facts.exists() else []
    backend, blas = facts.with_suffix(".backend"), facts.with_suffix(".blas")
    return ForkRun(
        done,
        report,
        lessons_by_id(report),
        [json.loads(x) for x in lines],
        leftovers,
        backend.read_text(encoding="utf-8") if backend.exists() else "",
        blas.read_text(encoding="utf-8") if blas.exists() else "null",
    )


@pytest.mark.kernel
def test_every_scenario_kernel_is_forked_and_reported(fork_run: ForkRun) -> None:
    assert fork_run.report["kernel_start"] == {
        "mode": "fork",
        "forked": 9,
        "exec": 0,
        "fallbacks": [],
    }, fork_run.done.stderr
    statuses = {ident: entry["status"] for ident, entry in fork_run.lessons.items()}
    assert statuses.pop("a06-killpg") == "failed"
    assert set(statuses.values()) == {"passed"}, fork_run.done.stderr
    assert fork_run.done.returncode == 1
    assert fork_run.done.stdout == ""  # nothing from the server, the launchers or the kernels
    assert "warning: kernels started by exec" not in fork_run.done.stderr


@pytest.mark.kernel
def test_nothing_is_left_running(fork_run: ForkRun) -> None:
    """The forking lesson's child, the threads, the fork server: all gone with the run."""
    assert fork_run.leftovers == []


@pytest.mark.kernel
def test_a_lesson_killing_its_process_group_fails_alone(fork_run: ForkRun) -> None:
    error = fork_run.lessons["a06-killpg"]["error"]
    assert "kernel died: signal 9 (SIGKILL)" in error["evalue"] + error.get("ename", ""), error
    assert fork_run.lessons["a07-facts"]["status"] == "passed"  # the next kernel is fine


@pytest.mark.kernel
def test_each_kernel_is_its_own_process_group_session_and_parent(fork_run: ForkRun) -> None:
    facts = fork_run.facts
    assert len(facts) == 3
    assert len({f["pid"] for f in facts}) == 3
    assert len({f["ppid"] for f in facts}) == 3  # a launcher each
    for f in facts:
        assert f["pgid"] == f["pid"]  # interrupts reach the kernel's own group
        assert f["sid"] == f["ppid"]  # the launcher leads the session
        assert f["parent_env"] == str(f["ppid"])  # ipykernel watches its real parent
        assert f["tag"]  # the lesson's own kernel tag, not the server's
        assert f["stdio"][0] == "/dev/null"  # stdin at its end, not the server's pipe
        assert Path(f["cwd"]).name == "work"  # the lesson's scratch copy
        assert f["cwd_in_path"]  # as IPython puts it in an exec'd kernel's sys.path
        assert f["argv0"].endswith("ipykernel_launcher.py")


@pytest.mark.kernel
def test_nothing_a_lesson_changes_is_seen_by_the_next(fork_run: ForkRun) -> None:
    after = list(fork_run.facts)
    for f in after:
        assert f["leak_env"] is None
        assert f["leak_path"] is False
        assert f["leak_attr"] is False
        assert f["leak_numpy_attr"] is False  # numpy is pre-imported: still each kernel's own
        assert f["printoptions"] == 8
    # a02 seeded both generators with 0: the next kernels draw fresh, different numbers
    assert len({f["random"] for f in after}) == 3
    assert len({f["numpy"] for f in after}) == 3
    assert len({f["numpy_rng"] for f in after}) == 3


@pytest.mark.kernel
def test_numpy_is_preloaded_and_its_blas_pool_works_after_the_fork(fork_run: ForkRun) -> None:
    """The facts lessons import numpy first thing: their server imported it before forking;
    OpenBLAS stopped its pool at the fork and starts it again when the kernel uses it."""
    for f in fork_run.facts:
        assert f["numpy_before"] is True
        assert f["blas"]  # np.show_config works
        assert f["inverse_ok"] is True
        if (os.cpu_count() or 1) > 1:
            assert f["blas_threads_started"] >= 1, f


@pytest.mark.kernel
def test_a_lesson_setting_the_environment_before_numpy_imports_it_itself(
    fork_run: ForkRun,
) -> None:
    """a09 sets OPENBLAS_NUM_THREADS=1 before `import numpy`: numpy must read it, so its
    kernel comes from a server that has not imported numpy."""
    blas = json.loads(fork_run.blas)
    assert blas == {"numpy_before": False, "blas_threads_started": 0, "inverse_ok": True}


@pytest.mark.kernel
def test_matplotlib_draws_inline_in_a_forked_kernel(fork_run: ForkRun) -> None:
    assert fork_run.lessons["a08-plot"]["status"] == "passed"
    assert "inline" in fork_run.backend  # ipykernel's, as in an exec'd kernel
    assert all(f["backend"] is False for f in fork_run.facts)  # the server never imported it


# --- the fork server killed mid-run ----------------------------------------------------------


@pytest.mark.kernel
def test_fork_server_killed_mid_run_the_rest_fall_back_to_exec(tmp_path: Path) -> None:
    root = copy_resources(RESOURCES / "fork_server_killed", tmp_path / "w", execution={"jobs": 1})
    mark, env = mark_env()
    try:
        done = cli("run", root, "--kernel-start", "fork", env=env, timeout=300)
    finally:
        left = wait_gone(mark, timeout=5)
        kill_marked(mark)
    report = read_report(root / ".workshopkit" / "report.json")
    assert done.returncode == 0, done.stderr
    assert {e["status"] for e in report["lessons"]} == {"passed"}
    started = report["kernel_start"]
    assert started["mode"] == "fork"
    assert started["forked"] >= 1 and started["exec"] >= 1, started
    assert started["forked"] + started["exec"] == 4
    assert len(started["fallbacks"]) == 1, started  # reported once
    assert "fork server" in started["fallbacks"][0]
    assert done.stderr.count("warning: kernels started by exec instead of fork") == 1
    assert left == [], [p.cmdline() for p in left]


# --- kernels that are exec'd -----------------------------------------------------------------


def _kernelspec(folder: Path, name: str, argv: list[str]) -> dict[str, str]:
    spec = folder / "kernels" / name
    spec.mkdir(parents=True)
    body = {"argv": argv, "display_name": name, "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(body), encoding="utf-8")
    return {"JUPYTER_PATH": str(folder)}


@pytest.mark.kernel
def test_a_kernelspec_that_is_not_the_standard_launcher_is_execd(tmp_path: Path) -> None:
    lesson = (FORK_FAULTS / "a04_forks.py").read_text(encoding="utf-8")
    root = copy_resources(FORK_FAULTS, tmp_path / "w", execution={"kernel": "plain"})
    for path in (root / "lessons").glob("*.py"):
        if path.name != "a04_forks.py":
            path.unlink()
    assert (root / "lessons" / "a04_forks.py").read_text(encoding="utf-8") == lesson
    extra = _kernelspec(
        tmp_path / "jp", "plain", [sys.executable, "-m", "ipykernel", "-f", "{connection_file}"]
    )
    mark, env = mark_env(**extra)
    try:
        done = cli("run", root, "--kernel-start", "fork", env=env, timeout=300)
    finally:
        left = wait_gone(mark, timeout=5)
        kill_marked(mark)
    report = read_report(root / ".workshopkit" / "report.json")
    assert done.returncode == 0, done.stderr
    started = report["kernel_start"]
    assert (started["forked"], started["exec"]) == (0, 1), started
    assert started["fallbacks"] == ["kernel 'plain' does not run the standard ipykernel launcher"]
    assert left == []


@pytest.mark.kernel
def test_kernel_start_exec_and_a_lesson_opting_out(tmp_path: Path) -> None:
    root = copy_resources(RESOURCES / "fork_server_killed", tmp_path / "w")
    for path in (root / "lessons").glob("b01*"):
        path.unlink()
    opted = root / "lessons" / "b02_after.py"
    text = opted.read_text(encoding="utf-8")
    opting_out = "#     minutes: 5\n#     kernel_start: exec\n"
    opted.write_text(text.replace("#     minutes: 5\n", opting_out), encoding="utf-8")
    mark, env = mark_env()
    env.pop(ENV_VAR, None)  # the default: fork, here on Linux
    try:
        forked = cli("run", root, "--no-cache", env=env, timeout=300)
        first = read_report(root / ".workshopkit" / "report.json")["kernel_start"]
        execd = cli("run", root, "--no-cache", "--kernel-start", "exec", env=env, timeout=300)
        second = read_report(root / ".workshopkit" / "report.json")["kernel_start"]
    finally:
        left = wait_gone(mark, timeout=5)
        kill_marked(mark)
    assert forked.returncode == 0 and execd.returncode == 0, forked.stderr + execd.stderr
    assert first == {"mode": "fork", "forked": 2, "exec": 1, "fallbacks": []}
    assert second == {"mode": "exec", "forked": 0, "exec": 3, "fallbacks": []}
    assert left == []


def test_kernel_start_is_in_the_help() -> None:
    for command in ("run", "build"):
        done = cli(command, "--help")
        assert "--kernel-start [fork|exec]" in done.stdout


# --- one server per kernel environment -------------------------------------------------------


def _start(servers: ForkServers, env: dict[str, str], cwd: Path) -> Any:
    """A kernel through jupyter_client with the fork provisioner, and its provisioner."""
    from jupyter_client.manager import KernelManager

    from workshopkit.engine import _use_fork_provisioner

    km = KernelManager(kernel_name="python3")
    _use_fork_provisioner(km, servers)
    km.start_kernel(env=env, cwd=str(cwd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return km


def _server_pids(servers: ForkServers) -> set[int]:
    return {s.process.pid for s in servers._servers.values()}


def _ask(km: Any, code: str) -> str:
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        out: list[str] = []
        kc.execute_interactive(
            code, timeout=60, output_hook=lambda m: out.append(m["content"].get("text", ""))
        )
        return "".join(out).strip()
    finally:
        kc.stop_channels()


@contextlib.contextmanager
def _site_servers(
    tmp_path: Path, files: dict[str, str]
) -> Iterator[tuple[ForkServers, dict[str, str], list[Any]]]:
    """`files` (path: text) in `tmp_path/site` on the kernels' path, the fork servers and the
    environment to start kernels with, and a list the test adds its kernels to: each shut down,
    the servers closed and nothing of theirs left afterwards."""
    site = tmp_path / "site"
    site.mkdir()
    for name, text in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text, encoding="utf-8")
    servers = ForkServers()
    mark, env = mark_env(PYTHONPATH=str(site))
    env.pop("JPY_PARENT_PID", None)
    kernels: list[Any] = []
    try:
        yield servers, env, kernels
    finally:
        for km in kernels:
            km.shutdown_kernel(now=True)
        servers.close()
        left = wait_gone(mark, timeout=5)
        kill_marked(mark)
    assert left == []


def _fake_sklearn(
    tmp_path: Path, source: str
) -> contextlib.AbstractContextManager[tuple[ForkServers, dict[str, str], list[Any]]]:
    """`_site_servers` with a `sklearn` package of `source` (and an empty `pyarrow`)."""
    return _site_servers(tmp_path, {"sklearn/__init__.py": source + "\n", "pyarrow.py": ""})


@pytest.mark.kernel
def test_a_new_server_for_a_new_environment_or_new_packages(tmp_path: Path) -> None:
    site = tmp_path / "site"
    with _site_servers(tmp_path, {}) as (servers, env, kernels):
        kernels.append(_start(servers, env, tmp_path))
        first = _server_pids(servers)
        kernels.append(_start(servers, env, tmp_path))
        assert _server_pids(servers) == first  # same environment: same server
        (site / "newpkg.py").write_text("VALUE = 42\n", encoding="utf-8")  # "installed"
        os.utime(site, (time.time() + 5, time.time() + 5))
        kernels.append(_start(servers, env, tmp_path))
        second = _server_pids(servers)
        assert second != first  # the stale server was replaced
        assert _ask(kernels[-1], "import newpkg; print(newpkg.VALUE)") == "42"
        kernels.append(_start(servers, {**env, "WK_OTHER": "1"}, tmp_path))
        assert len(_server_pids(servers)) == 2  # another environment: another server
        assert servers.stats().forked == 4 and servers.stats().fallbacks == ()


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("module", "problem"),
    [
        (
            "import threading, time\nthreading.Thread(target=time.sleep, args=(30,)).start()",
            "thread",
        ),
        ("import os\n_fd = os.open(os.devnull, os.O_RDONLY)", "descriptor"),
        ("print('hello from the package')", "bytes of output"),
        ("import warnings\nwarnings.warn('this package is old', FutureWarning)", "warned"),
        ("raise RuntimeError('broken at import')", "failed: RuntimeError: broken at import"),
        ("import pyarrow", "imported pyarrow"),  # a package that may start threads: never
        ("import signal\nsignal.signal(signal.SIGUSR1, lambda *a: None)", "signal handler"),
        (
            "import logging\nlogging.getLogger('sklearn').addHandler(logging.StreamHandler())",
            "logging",
        ),
    ],
)
def test_a_package_unsafe_to_preload_is_imported_by_the_kernel_itself(
    tmp_path: Path, module: str, problem: str
) -> None:
    """A preloadable package that starts a thread, keeps a descriptor, prints, warns, fails,
    imports a never-preloaded module, sets a signal handler (a forked kernel resets them) or adds
    a logging handler (it would write to the server's stderr) when imported: the server says so,
    and the kernel comes from one without it."""
    with _fake_sklearn(tmp_path, module) as (servers, env, kernels):
        kernels.append(_start(servers.preloading(["numpy", "sklearn"]), env, tmp_path))
        look = "import sys; print('sklearn' in sys.modules, 'numpy' in sys.modules)"
        assert _ask(kernels[-1], look) == "False False"
        assert servers.stats().forked == 1 and servers.stats().fallbacks == ()
        (reason,) = servers.preload_problems
        assert problem in reason


@pytest.mark.kernel
def test_a_preloaded_package_may_import_the_other_preloadable_ones(tmp_path: Path) -> None:
    """scikit-learn imports numpy and scipy: a lesson importing it gets all three pre-imported;
    a lesson importing none gets a kernel from a server that imported none."""
    look = "import sys; print('sklearn' in sys.modules, 'numpy' in sys.modules)"
    with _fake_sklearn(tmp_path, "import numpy\nVALUE = 7") as (servers, env, kernels):
        kernels.append(_start(servers.preloading(["sklearn"]), env, tmp_path))
        assert _ask(kernels[-1], look) == "True True"
        assert _ask(kernels[-1], "import sklearn; print(sklearn.VALUE)") == "7"
        kernels.append(_start(servers.preloading([]), env, tmp_path))
        assert _ask(kernels[-1], look) == "False False"
        assert len(_server_pids(servers)) == 2 and servers.preload_problems == ()
        assert servers.stats().forked == 2 and servers.stats().fallbacks == ()


@pytest.mark.kernel
def test_warning_filters_a_preloaded_package_adds_stay(tmp_path: Path) -> None:
    """A package may add warning filters as it is imported: its kernel has them, as an exec'd
    kernel that imports it would."""
    added = "import warnings\nwarnings.filterwarnings('ignore', message='wk-filter')"
    look = (
        "import sys, warnings; print('sklearn' in sys.modules,"
        " any(f[1] is not None and f[1].pattern == 'wk-filter' for f in warnings.filters))"
    )
    with _fake_sklearn(tmp_path, added) as (servers, env, kernels):
        kernels.append(_start(servers.preloading(["sklearn"]), env, tmp_path))
        assert _ask(kernels[-1], look) == "True True"
        assert servers.preload_problems == ()


@pytest.mark.kernel
def test_hash_seed_is_the_environments(tmp_path: Path) -> None:
    """PYTHONHASHSEED set: a forked kernel hashes as an exec'd one would."""
    servers = ForkServers()
    mark, env = mark_env(PYTHONHASHSEED="123")
    env.pop("JPY_PARENT_PID", None)
    expected = subprocess.run(
        [sys.executable, "-c", "print(hash('workshopkit'))"],
        env={**os.environ, "PYTHONHASHSEED": "123"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    km = _start(servers, env, tmp_path)
    try:
        assert _ask(km, "print(hash('workshopkit'))") == expected
    finally:
        km.shutdown_kernel(now=True)
        servers.close()
        kill_marked(mark)


@pytest.mark.kernel
def test_a_forked_kernels_iopub_has_no_send_limit(tmp_path: Path) -> None:
    """ZMQ's default send limit (1,000 messages) made the kernel's IOPub drop outputs without a
    word when the client fell behind (a display flood on a busy machine)."""
    servers = ForkServers()
    mark, env = mark_env()
    env.pop("JPY_PARENT_PID", None)
    km = _start(servers, env, tmp_path)
    look = "import zmq; print(get_ipython().kernel.iopub_thread.socket.getsockopt(zmq.SNDHWM))"
    try:
        assert _ask(km, look) == "0"
        assert servers.stats().forked == 1
    finally:
        km.shutdown_kernel(now=True)
        servers.close()
        kill_marked(mark)


# --- Ctrl-C ----------------------------------------------------------------------------------


@pytest.mark.kernel
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_a_fork_run_leaves_no_process(tmp_path: Path, signum: int) -> None:
    root = copy_resources(RESOURCES / "faults" / "interrupt", tmp_path / "w", execution={"jobs": 2})
    mark, env = mark_env()
    proc = subprocess.Popen(
        [*WORKSHOPKIT, "run", str(root), "--kernel-start", "fork"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # both lessons' children are sleeping
            sleepers = [
                p for p in marked_processes(mark) if "time.sleep(600)" in " ".join(p.cmdline())
            ]
            if len(sleepers) >= 2:
                break
            time.sleep(0.05)
        assert any("forkserver.py" in " ".join(p.cmdline()) for p in marked_processes(mark))
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
        left = wait_gone(mark, timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_marked(mark)
    assert proc.returncode == 128 + signum, err
    assert left == [], [p.cmdline() for p in left]
