"""`--executor dask`: lessons run as tasks on a real `distributed.LocalCluster` of worker
processes (one declaring a GPU resource), each with papermill and kernels of its own.

Scenario lessons are in tests/resources/dask/<case>/. Lessons that must say where they ran write
their kernel's pid and their Dask worker's pid into `$WK_PIDS` (a variable named in
`[execution] env`, so the client's value reaches kernels on the workers: the workers were started
before the test set it). Every kernel pid recorded is checked gone at the end of its test.
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    RESOURCES,
    WORKSHOPKIT,
    cli,
    copy_resources,
    line_of,
    mark_env,
    open_ok,
    read_report,
)

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
psutil = pytest.importorskip("psutil")

from workshopkit.errors import InfrastructureError  # noqa: E402
from workshopkit.execute import RunOptions, run_lessons  # noqa: E402
from workshopkit.execute import cluster as cluster_module  # noqa: E402
from workshopkit.execute.cluster import DaskExecutor, pack, run_on_worker  # noqa: E402
from workshopkit.model import ErrorKind, Status  # noqa: E402

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

CASES = RESOURCES / "dask"
ENV = ["WK_PIDS", "WK_SEED"]


class Cluster:
    """A LocalCluster of 2 worker processes, 1 thread each; `gpu` declares resources GPU=1."""

    def __init__(self, gpu: bool = True) -> None:
        self.cluster = distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: never a clash with a real cluster
        )
        if gpu:
            _, spec = self.cluster.new_worker_spec().popitem()
            spec = copy.deepcopy(spec)
            spec["options"]["resources"] = {"GPU": 1}
            self.cluster.worker_spec["gpu"] = spec
            self.cluster.sync(self.cluster._correct_state)
        self.size = 2 if gpu else 1
        self.client = distributed.Client(self.cluster, set_as_default=False)
        self.ready()

    @property
    def address(self) -> str:
        return str(self.cluster.scheduler_address)

    def ready(self) -> None:
        """Wait until every worker is up and running (again, after a test killed one: on a
        loaded machine a restart has taken minutes)."""
        deadline = time.monotonic() + 300
        while self.client.run_on_scheduler(_running_workers) < self.size:
            if time.monotonic() > deadline:
                nannies = {n: (w.status, w.worker_address) for n, w in self.cluster.workers.items()}
                seen = self.client.run_on_scheduler(_worker_states)
                raise AssertionError(f"the cluster lost its workers: {nannies}, {seen}")
            time.sleep(0.2)

    def pids(self) -> dict[str, int]:
        """Worker address -> worker process id."""
        return dict(self.client.run(os.getpid))

    def gpu_addresses(self) -> set[str]:
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        return {a for a, w in workers.items() if (w.get("resources") or {}).get("GPU")}

    def idle(self, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while any(self.client.processing().values()):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    def close(self) -> None:
        self.client.close()
        self.cluster.close()


def _running_workers(dask_scheduler: Any) -> int:
    return sum(1 for w in dask_scheduler.workers.values() if w.status.name == "running")


def _worker_states(dask_scheduler: Any) -> dict[str, str]:
    return {address: w.status.name for address, w in dask_scheduler.workers.items()}


@pytest.fixture(scope="module")
def pids_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pids")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    found = Cluster(gpu=True)
    yield found
    found.close()


@pytest.fixture
def env(pids_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The run's `[execution] env` values, set in this (the client's) process only."""
    for child in pids_dir.iterdir():
        child.unlink()
    monkeypatch.setenv("WK_PIDS", str(pids_dir))
    monkeypatch.setenv("WK_SEED", "42")
    return pids_dir


def workshop(tmp_path: Path, case: str, **execution: Any) -> Path:
    return copy_resources(CASES / case, tmp_path / "ws", execution={"env": ENV, **execution})


def run(
    root: Path, through: Any, only: tuple[Path, ...] = (), **options: Any
) -> tuple[Any, dict[str, Any]]:
    """`run_lessons` through the executor `through` (None: the one `options` ask for)."""
    opened = open_ok(root, only)
    report = run_lessons(
        opened.workshop,
        opened.selected,
        RunOptions(**{"use_cache": False, **options}),
        executor=through,
    )
    return report, {r.lesson_id: r for r in report.results}


def recorded(folder: Path, name: str) -> tuple[int, int]:
    kernel, worker = (folder / name).read_text().split()
    return int(kernel), int(worker)


def wait_for(path: Path, timeout: float = 120, state: Any = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared {state()}"
        time.sleep(0.1)


def gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


# -- a lesson as data: nothing reads the workshop on the worker's side -------------------------


def test_a_packed_lesson_runs_without_its_workshop(tmp_path: Path, env: Path) -> None:
    root = workshop(tmp_path, "runs")
    opened = open_ok(root)
    from workshopkit.execute import plan_lessons

    (plan,) = plan_lessons(opened.workshop, opened.selected, RunOptions())
    payload = pack(plan)
    assert sorted(name for name, _ in payload.files) == [
        "houses.csv",
        "reads-data.py",
        "tables/rooms.csv",
    ]
    shutil.rmtree(root)  # the worker's side must not need it
    reply = run_on_worker("no-cluster", payload)
    assert reply.result.status is Status.PASSED, reply.result.error
    assert reply.result.notebook is None and reply.notebook is not None
    assert b"['a', 'b', 'c']" in reply.notebook
    assert reply.kernels_started == 1


# -- on the cluster ----------------------------------------------------------------------------


def test_lessons_pass_on_workers_and_are_cached_by_the_client(
    cluster: Cluster, tmp_path: Path, env: Path
) -> None:
    root = workshop(tmp_path, "runs")
    before = (root / "lessons/reads-data/houses.csv").read_bytes()
    executor = DaskExecutor(cluster.client, cluster.address)
    report, results = run(root, executor, use_cache=True)
    result = results["reads-data"]
    assert result.status is Status.PASSED, result.error
    assert report.kernels_started == 1
    assert executor.placements["reads-data"] in cluster.pids()
    assert result.notebook is not None and ".workshopkit/cache/reads-data/" in str(result.notebook)
    assert "['a', 'b', 'c']" in result.notebook.read_text()
    assert (root / "lessons/reads-data/houses.csv").read_bytes() == before
    # a warm run answers from the client's cache: no cluster needed (this address is closed)
    report, results = run(root, None, use_cache=True, executor="dask", scheduler=closed_port())
    assert results["reads-data"].cached and report.kernels_started == 0


def test_a_failing_lesson_names_its_line_as_a_local_run_does(
    cluster: Cluster, tmp_path: Path, env: Path
) -> None:
    root = workshop(tmp_path, "fails", timeout=3)
    executor = DaskExecutor(cluster.client, cluster.address)
    report, remote = run(root, executor)
    text = (CASES / "fails/cell-error.py").read_text()
    error = remote["cell-error"].error
    assert str(error) == (
        f"lessons/cell-error.py:{line_of(text, 'raise ValueError')} (cell 2): ValueError: boom at 2"
    )
    timeout = remote["sleeps"].error
    assert timeout.kind is ErrorKind.TIMEOUT and timeout.ename == "CellTimeoutError"
    cell_line = line_of((CASES / "fails/sleeps.py").read_text(), "import time")
    assert (timeout.path, timeout.line, timeout.cell) == ("lessons/sleeps.py", cell_line, 1)
    assert int(report.exit_code) == 1
    # the same lessons run locally give the same errors
    _, local = run(root, None)
    for lesson_id in ("cell-error", "sleeps"):
        here, there = local[lesson_id].error, remote[lesson_id].error
        assert (here.path, here.line, here.cell, here.ename, here.kind) == (
            there.path,
            there.line,
            there.cell,
            there.ename,
            there.kind,
        )


def test_gpu_lessons_run_only_on_the_gpu_worker(
    cluster: Cluster, tmp_path: Path, env: Path
) -> None:
    root = workshop(tmp_path, "gpu")
    executor = DaskExecutor(cluster.client, cluster.address)
    report, results = run(root, executor)
    assert all(r.status is Status.PASSED for r in results.values()), results
    (gpu,) = cluster.gpu_addresses()
    gpu_pid = cluster.pids()[gpu]
    for lesson_id in ("gpu-1", "gpu-2", "gpu-3"):
        assert executor.placements[lesson_id] == gpu
        kernel, worker = recorded(env, lesson_id)
        assert worker == gpu_pid
        assert gone(kernel)
    assert report.kernels_started == 4


def test_a_gpu_lesson_is_skipped_or_failed_when_no_worker_has_a_gpu(
    tmp_path: Path, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cpu_only = Cluster(gpu=False)
    try:
        root = workshop(tmp_path, "gpu")
        executor = DaskExecutor(cpu_only.client, cpu_only.address)
        _, results = run(root, executor)
        assert results["cpu"].status is Status.PASSED
        for lesson_id in ("gpu-1", "gpu-2", "gpu-3"):
            assert results[lesson_id].status is Status.SKIPPED
            assert "no Dask worker declares a GPU resource" in results[lesson_id].reason
        executor = DaskExecutor(cpu_only.client, cpu_only.address, require_gpu=True)
        report, results = run(root, executor, require_gpu=True)
        error = results["gpu-1"].error
        assert error.kind is ErrorKind.INFRASTRUCTURE and error.ename == "NoGPU"
        text = (CASES / "gpu/gpu-1.py").read_text()
        assert (error.path, error.line) == ("lessons/gpu-1.py", line_of(text, "resources:"))
        assert int(report.exit_code) == 3
        assert not list(env.iterdir())  # no GPU lesson ran anywhere
        # no worker left at all: the run is refused, or a lesson waiting fails, never hangs
        cpu_only.cluster.scale(0)
        deadline = time.monotonic() + 60
        while cpu_only.client.scheduler_info(n_workers=-1)["workers"]:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        with pytest.raises(InfrastructureError, match="has no workers"):
            DaskExecutor.connect(cpu_only.address)
        monkeypatch.setattr(cluster_module, "NO_WORKER_GRACE", 1.0)
        executor = DaskExecutor(cpu_only.client, cpu_only.address)
        report, results = run(root, executor, only=(root / "lessons/cpu.py",))
        error = results["cpu"].error
        assert (error.ename, error.kind) == ("NoWorkers", ErrorKind.INFRASTRUCTURE), error
        assert f"the Dask cluster at {cpu_only.address} has no workers left" in error.evalue
        assert int(report.exit_code) == 3
    finally:
        cpu_only.close()


def test_ctrl_c_cancels_the_tasks_and_leaves_no_kernel_on_any_worker(
    cluster: Cluster, tmp_path: Path, env: Path
) -> None:
    root = workshop(tmp_path, "long")
    _, environ = mark_env(WK_PIDS=str(env), WK_SEED="42")
    command = [*WORKSHOPKIT, "run", str(root), "--scheduler", cluster.address, "--no-cache"]
    process = subprocess.Popen(
        command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        state = cluster.client.processing
        wait_for(env / "long-1.pid", state=state)
        wait_for(env / "long-2.pid", state=state)
        kernels = [recorded(env, f"long-{i}.pid")[0] for i in (1, 2)]
        alive = [psutil.pid_exists(pid) for pid in kernels]
        found = [recorded(env, f"long-{i}.pid") for i in (1, 2)]
        assert all(alive), (found, sorted(p.name for p in env.iterdir()), cluster.pids())
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted: every kernel was stopped" in stderr
    assert all(gone(pid) for pid in kernels), "a kernel was left on a worker"
    assert cluster.idle(), f"tasks still running: {cluster.client.processing()}"
    assert len(cluster.pids()) == 2  # the workers themselves are fine


def _kill_worker_mid_lesson(cluster: Cluster, root: Path, env: Path) -> tuple[Any, int]:
    """Run lesson long-1, kill (SIGKILL) the worker running it once its kernel is up; returns
    what `run` returned, and the pid of the kernel of that first attempt."""
    executor = DaskExecutor(cluster.client, cluster.address)
    outcome: dict[str, Any] = {}
    only = (root / "lessons/long-1.py",)
    thread = threading.Thread(target=lambda: outcome.update(run=run(root, executor, only)))
    thread.start()
    wait_for(env / "long-1.pid")
    kernel, worker = recorded(env, "long-1.pid")
    os.kill(worker, signal.SIGKILL)
    thread.join(timeout=240)
    assert not thread.is_alive(), "the run hung after its worker was killed"
    return outcome["run"], kernel


def test_a_worker_killed_mid_lesson_gets_the_lesson_run_again(
    cluster: Cluster, tmp_path: Path, env: Path
) -> None:
    root = workshop(tmp_path, "long")
    try:
        (_, results), kernel = _kill_worker_mid_lesson(cluster, root, env)
        assert gone(kernel), "the killed worker's kernel is still running"
        assert results["long-1"].status is Status.PASSED, results["long-1"].error
        again, _ = recorded(env, "long-1.pid")
        assert again != kernel  # a second kernel ran it
    finally:
        cluster.ready()


def test_a_worker_killed_once_too_often_fails_the_lesson_as_infrastructure(
    cluster: Cluster, tmp_path: Path, env: Path
) -> None:
    root = workshop(tmp_path, "long")
    scheduler = cluster.cluster.scheduler
    allowed = scheduler.allowed_failures
    scheduler.allowed_failures = 0  # as `distributed.scheduler.allowed-failures: 0`
    try:
        (report, results), kernel = _kill_worker_mid_lesson(cluster, root, env)
        assert gone(kernel)
        error = results["long-1"].error
        assert results["long-1"].status is Status.FAILED
        assert error.kind is ErrorKind.INFRASTRUCTURE and error.ename == "KilledWorker"
        assert "the Dask worker running the lesson died" in error.evalue
        header = line_of((CASES / "long/long-1.py").read_text(), "workshopkit:")
        assert (error.path, error.line, error.cell) == ("lessons/long-1.py", header, None)
        assert int(report.exit_code) == 3
    finally:
        scheduler.allowed_failures = allowed
        cluster.ready()


def test_build_runs_its_lessons_on_the_cluster(cluster: Cluster, tmp_path: Path, env: Path) -> None:
    root = workshop(tmp_path, "runs")
    _, environ = mark_env(WK_PIDS=str(env), WK_SEED="42")
    done = cli("build", root, "--scheduler", cluster.address, env=environ, timeout=300)
    assert done.returncode == 0, done.stderr
    solution = root / "dist/lessons/reads-data/reads-data.solution.ipynb"
    assert "['a', 'b', 'c']" in solution.read_text()
    assert read_report(root / "dist/report.json")["kernels_started"] == 1


def test_an_unreachable_scheduler_exits_3_naming_it(tmp_path: Path) -> None:
    root = workshop(tmp_path, "runs")
    address = closed_port()
    done = cli("run", root, "--scheduler", address, timeout=120)
    assert done.returncode == 3, done.stderr
    assert f"cannot reach the Dask scheduler at {address}" in done.stderr


def test_the_executor_options_are_checked_before_anything_runs(tmp_path: Path) -> None:
    root = workshop(tmp_path, "runs")
    done = cli("run", root, "--executor", "dask")
    assert done.returncode == 2 and "--executor dask needs --scheduler" in done.stderr
    done = cli("build", root, "--executor", "local", "--scheduler", "tcp://127.0.0.1:1")
    assert done.returncode == 2 and "--scheduler is for --executor dask" in done.stderr


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"
