"""Running lessons on a Dask cluster: `--executor dask --scheduler tcp://HOST:PORT`.

`DaskExecutor` is an `Executor` (pool.py) whose `run(plan)` sends the lesson to a
`dask.distributed` worker as one task, and waits for it. On the worker, the task runs the lesson
with the very code a local run uses (`lesson.run_lesson`: papermill, a kernel of its own under the
reaper, the cell and lesson timeouts, the output cap, failures located at the `.py` line), so a
result means the same wherever it ran. The cache stays with the client: `run_lessons` looks a
lesson up before it reaches the executor and stores what passed afterwards.

Nothing assumes a shared file system. The client reads the files of the lesson's scratch copy
(`lessonfiles.list_folder`, the same listing the local scratch copy and the cache key use) and
sends them, as bytes, with the task; the worker writes them into a folder of its own, at the same
paths relative to a new workshop root, runs the lesson from there (the `Lesson` re-rooted: only
its absolute `path` changes; every message uses `relpath`), and sends back the result and the
executed notebook as bytes, which the client writes into a scratch folder of its own.

Where lessons go, and what happens when things break:

- a lesson with `resources: {gpu: true}` is submitted with `resources={"GPU": 1}`, so only a worker
  started with `dask worker --resources GPU=1` takes it. If no worker declares one, it is not
  submitted: it is skipped (`needs a GPU: no Dask worker declares a GPU resource`), or failed under
  `--require-gpu`, as a local run treats a machine without a GPU. If the GPU workers (for any
  lesson: all workers) leave while it waits, it fails after `NO_WORKER_GRACE` seconds instead of
  waiting for ever;
- a worker that dies mid-lesson (killed, out of memory, its machine gone) takes the lesson's
  kernel with it (the reaper launcher watches its parent); the scheduler runs the lesson again on
  another worker, up to its `distributed.scheduler.allowed-failures` (3 by default), then the
  lesson fails with an infrastructure error naming the worker (exit 3): reported, never lost;
- `cancel()` (Ctrl-C, SIGTERM) cancels every task and kills, on every worker, the kernels of this
  run (`client.run`), before `run_pool` gives the lessons 5 s to end; a task started later is
  refused. A task also watches its own state on the worker and kills its kernel when the
  scheduler releases it (the client vanished without cancelling);
- a scheduler that cannot be reached, or workers that cannot import workshopkit, stop the run
  before any lesson is sent: `InfrastructureError` (exit 3) naming the address.

Workers need workshopkit (the same version), the lessons' kernel and the lessons' requirements
installed. This module imports `distributed` only when a `DaskExecutor` is made, so nothing else
pays for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import InfrastructureError
from ..lessonfiles import list_folder, workshop_root
from ..model import (
    Lesson,
    LessonError,
    LessonPlan,
    LessonResult,
    Location,
    Status,
)
from .processes import KernelRegistry

if TYPE_CHECKING:
    from distributed import Client, Future

GPU_RESOURCE = "GPU"  # `dask worker --resources GPU=1`
CONNECT_TIMEOUT = 10.0  # seconds to reach the scheduler
POLL = 0.5  # seconds between checks while a task runs (cancelled? GPU workers still there?)
CHECK_EVERY = 10  # polls between checks that a worker able to take the lesson is still there
NO_WORKER_GRACE = 30.0  # seconds a lesson waits for such a worker to come back before it fails
NO_GPU_WORKER = "no Dask worker declares a GPU resource (dask worker --resources GPU=1)"
NO_WORKERS = (
    "the Dask cluster at {address} has no workers left to run the lesson (waited {waited} s)"
)
WORKER_DIED = (
    "the Dask worker running the lesson died{where} and the scheduler gave up on it "
    "({message}); not the lesson's fault: check the worker's memory and logs, then run again"
)
LOST = "the Dask task of the lesson was lost: {reason}"


# --- what travels ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LessonPayload:
    """A lesson as it travels to a worker: its plan and the files of its scratch copy."""

    plan: LessonPlan
    folders: tuple[str, ...]  # the lesson folder's sub-folders (POSIX, relative), parents first
    files: tuple[tuple[str, bytes], ...]  # (name relative to the lesson's folder, content)


@dataclass(frozen=True, slots=True)
class WorkerReply:
    """What a worker sends back: the result (its `notebook` None) and the notebook's bytes."""

    result: LessonResult
    notebook: bytes | None
    worker: str  # the worker's address
    pid: int  # the worker's process id
    kernels_started: int


def pack(plan: LessonPlan) -> LessonPayload:
    """The lesson's plan and the files of its scratch copy, read now (raises OSError)."""
    lesson = plan.lesson
    listing = list_folder(lesson.folder, workshop_root(lesson.path, lesson.relpath))
    files = tuple((item.name, item.source.read_bytes()) for item in listing.files)
    return LessonPayload(plan, listing.folders, files)


def _safe_name(name: str) -> PurePosixPath:
    """A relative POSIX name that stays inside the folder it is joined to (else ValueError)."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or any(part in ("", ".", "..") for part in path.parts):
        raise ValueError(f"unsafe file name in a lesson payload: {name!r}")
    return path


def unpack(payload: LessonPayload, root: Path) -> LessonPlan:
    """Write the payload's files under the new workshop `root`, at the lesson's relative paths;
    returns the plan with its lesson re-rooted there."""
    lesson = payload.plan.lesson
    relpath = _safe_name(lesson.relpath)
    folder = root.joinpath(*relpath.parent.parts)
    folder.mkdir(parents=True, exist_ok=True)
    for name in payload.folders:
        folder.joinpath(*_safe_name(name).parts).mkdir(parents=True, exist_ok=True)
    for name, content in payload.files:
        target = folder.joinpath(*_safe_name(name).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    moved = replace(lesson, path=root.joinpath(*relpath.parts))
    return replace(payload.plan, lesson=moved)


# --- on the worker -----------------------------------------------------------------------------

# This worker process's live lessons, by run: what `cancel_run` kills.
_RUNS_LOCK = threading.Lock()
_RUNS: dict[str, set[KernelRegistry]] = {}
_CANCELLED: set[str] = set()


def run_on_worker(run_id: str, payload: LessonPayload) -> WorkerReply:
    """The task: run the lesson in this worker process, as a local run would (never raises for
    the lesson's faults)."""
    from .lesson import run_lesson
    from .pool import _quiet_papermill

    _quiet_papermill()
    registry = KernelRegistry()
    with _RUNS_LOCK:
        _RUNS.setdefault(run_id, set()).add(registry)
        cancelled = run_id in _CANCELLED
    if cancelled:
        registry.kill_all()
    worker, stop_watching = _watch_task(registry)
    root = Path(tempfile.mkdtemp(prefix="workshopkit-src-"))
    try:
        try:
            plan = unpack(payload, root)
        except (OSError, ValueError) as exc:
            lesson = payload.plan.lesson
            error = LessonError.from_executor_fault(_header(lesson), exc)
            result = LessonResult(lesson.id, lesson.relpath, Status.FAILED, 0.0, error)
        else:
            result = run_lesson(plan, registry)
        content = None
        if result.notebook is not None:
            try:
                content = result.notebook.read_bytes()
            finally:
                shutil.rmtree(result.notebook.parent, ignore_errors=True)
        return WorkerReply(
            replace(result, notebook=None), content, worker, os.getpid(), registry.started
        )
    finally:
        stop_watching()
        shutil.rmtree(root, ignore_errors=True)
        with _RUNS_LOCK:
            _RUNS.get(run_id, set()).discard(registry)


def _watch_task(registry: KernelRegistry) -> tuple[str, Callable[[], None]]:
    """This worker's address, and a stop for a thread that kills the task's kernel once the
    scheduler releases the task (cancelled, or its client gone)."""
    try:
        from distributed import get_worker

        worker = get_worker()
        key = worker.get_current_task()
    except Exception:  # not in a worker (called directly): nothing to watch
        return "", lambda: None
    done = threading.Event()

    def watch() -> None:
        while not done.wait(POLL):
            task = worker.state.tasks.get(key)
            if task is None or task.state in ("cancelled", "released", "forgotten"):
                registry.kill_all()
                return

    threading.Thread(target=watch, name="workshopkit-watch", daemon=True).start()
    return str(worker.address), done.set


def cancel_run(run_id: str) -> int:
    """Run on every worker by `DaskExecutor.cancel`: kill this run's kernels in this process,
    and refuse its tasks from now on. Returns how many lessons were running."""
    with _RUNS_LOCK:
        _CANCELLED.add(run_id)
        registries = list(_RUNS.get(run_id, ()))
    for registry in registries:
        registry.kill_all()
    return len(registries)


def forget_run(run_id: str) -> None:
    """Run on every worker when the run ends: drop its bookkeeping."""
    with _RUNS_LOCK:
        _CANCELLED.discard(run_id)
        if not _RUNS.get(run_id):
            _RUNS.pop(run_id, None)


def worker_version() -> str:
    """workshopkit's version on a worker (`client.run` fails if it cannot import workshopkit)."""
    return __version__


# --- on the client -----------------------------------------------------------------------------


class DaskExecutor:
    """Runs each lesson as a task on the workers of the Dask scheduler at `address` (module doc).

    Made with `connect` (or from a `Client` you hold, in tests); `close()` when done.
    """

    def __init__(self, client: Client, address: str, *, require_gpu: bool = False) -> None:
        self.client = client
        self.address = address
        self.require_gpu = require_gpu
        self.run_id = uuid.uuid4().hex
        self.placements: dict[str, str] = {}  # lesson id -> address of the worker that ran it
        self._lock = threading.Lock()
        self._futures: set[Future[WorkerReply]] = set()
        self._started = 0
        self._cancelled = threading.Event()
        self._owns_client = False

    @classmethod
    def connect(
        cls, address: str, *, require_gpu: bool = False, timeout: float = CONNECT_TIMEOUT
    ) -> DaskExecutor:
        """Connect to the scheduler at `address`; InfrastructureError (exit 3) if it cannot be
        reached, has no workers that can import workshopkit, or the extra is not installed."""
        try:
            from distributed import Client
        except ImportError as exc:
            raise InfrastructureError(
                f"--executor dask needs the dask extra ({exc}): pip install 'workshopkit[dask]'"
            ) from None
        try:
            client = Client(address, timeout=timeout, set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError, ValueError) as exc:
            raise InfrastructureError(
                f"cannot reach the Dask scheduler at {address} (--scheduler): {_reason(exc)}"
            ) from None
        executor = cls(client, address, require_gpu=require_gpu)
        executor._owns_client = True
        try:
            executor.check_workers()
        except BaseException:
            executor.close()
            raise
        return executor

    def check_workers(self) -> None:
        """Every worker can import workshopkit, of this version (else InfrastructureError)."""
        try:
            versions = self.client.run(worker_version, on_error="return")
        except Exception as exc:
            raise InfrastructureError(
                f"the Dask workers of {self.address} did not answer: {_reason(exc)}"
            ) from None
        if not versions:
            raise InfrastructureError(
                f"the Dask scheduler at {self.address} has no workers: start some with "
                f"`dask worker {self.address}`"
            )
        for worker, found in sorted(versions.items()):
            if isinstance(found, BaseException):
                raise InfrastructureError(
                    f"Dask worker {worker} (scheduler {self.address}) cannot run lessons: "
                    f"{_reason(found)}; install workshopkit[dask]=={__version__}, the kernel "
                    "and the lessons' requirements on every worker"
                )
            if found != __version__:
                raise InfrastructureError(
                    f"Dask worker {worker} (scheduler {self.address}) has workshopkit {found}, "
                    f"this client {__version__}: install the same version on every worker"
                )

    def workers(self) -> Mapping[str, Mapping[str, Any]]:
        info = self.client.scheduler_info(n_workers=-1)
        found: Mapping[str, Mapping[str, Any]] = info.get("workers", {})
        return found

    def gpu_workers(self) -> list[str]:
        return [
            address
            for address, worker in self.workers().items()
            if (worker.get("resources") or {}).get(GPU_RESOURCE, 0) >= 1
        ]

    @property
    def slots(self) -> int:
        """Lessons sent at once: one per worker thread. No more: the scheduler would queue a
        lesson behind a long one on a busy worker, while another worker idles (lesson
        durations are unknown to it, so work stealing does not move them)."""
        workers = self.workers()
        return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))

    @property
    def kernels_started(self) -> int:
        return self._started

    @property
    def routes_gpu(self) -> bool:
        """GPU lessons are the executor's to place (the client's own GPU does not matter)."""
        return True

    def run(self, plan: LessonPlan) -> LessonResult:
        lesson = plan.lesson
        started = time.monotonic()
        if self._cancelled.is_set():
            return _failed(lesson, LessonError.from_interrupt(_header(lesson)), 0.0)
        if lesson.meta.gpu and not self.gpu_workers():
            return self._no_gpu(lesson)
        try:
            payload = pack(plan)
        except OSError as exc:
            error = LessonError.from_executor_fault(_header(lesson), exc)
            return _failed(lesson, error, time.monotonic() - started)
        with warnings.catch_warnings():  # lessons with data files make "large graphs"
            warnings.simplefilter("ignore", UserWarning)
            future = self.client.submit(
                run_on_worker,
                self.run_id,
                payload,
                key=f"workshopkit-{lesson.id}-{uuid.uuid4().hex[:8]}",
                pure=False,
                resources={GPU_RESOURCE: 1} if lesson.meta.gpu else None,
            )
        with self._lock:
            self._futures.add(future)
        try:
            return self._wait(plan, future, started)
        finally:
            with self._lock:
                self._futures.discard(future)

    def _wait(self, plan: LessonPlan, future: Future[WorkerReply], started: float) -> LessonResult:
        from distributed import KilledWorker
        from distributed.client import FutureCancelledError

        lesson = plan.lesson
        nowhere: float | None = None  # since when no worker could take the lesson
        polls = 0
        while True:
            try:
                reply: WorkerReply = future.result(timeout=POLL)
                break
            except (TimeoutError, asyncio.TimeoutError):  # distinct types on Python 3.10
                pass
            except KilledWorker as exc:
                return self._infrastructure(lesson, WORKER_DIED, exc, started)
            except (FutureCancelledError, asyncio.CancelledError) as exc:
                if self._cancelled.is_set():
                    return _failed(lesson, LessonError.from_interrupt(_header(lesson)), 0.0)
                return self._infrastructure(lesson, LOST, exc, started)
            except Exception as exc:  # the task raised: a bug, or a worker that cannot unpickle
                return self._infrastructure(lesson, LOST, exc, started)
            if self._cancelled.is_set():
                future.cancel()  # type: ignore[no-untyped-call]
                return _failed(lesson, LessonError.from_interrupt(_header(lesson)), 0.0)
            polls += 1
            if polls % CHECK_EVERY == 0 and future.status == "pending":
                if self.gpu_workers() if lesson.meta.gpu else self.workers():
                    nowhere = None
                elif nowhere is None:
                    nowhere = time.monotonic()
                elif time.monotonic() - nowhere > NO_WORKER_GRACE:
                    future.cancel()  # type: ignore[no-untyped-call]
                    if lesson.meta.gpu:
                        return self._no_gpu(lesson, waited=True)
                    error = LessonError.from_cluster_fault(
                        _header(lesson),
                        "NoWorkers",
                        NO_WORKERS.format(address=self.address, waited=f"{NO_WORKER_GRACE:g}"),
                    )
                    return _failed(lesson, error, time.monotonic() - started)
        with self._lock:
            self._started += reply.kernels_started
            self.placements[lesson.id] = reply.worker
        result = reply.result
        if reply.notebook is not None:
            scratch = Path(tempfile.mkdtemp(prefix=f"workshopkit-{lesson.id}-"))
            notebook = scratch / "executed.ipynb"
            notebook.write_bytes(reply.notebook)
            result = replace(result, notebook=notebook)
        return result

    def _no_gpu(self, lesson: Lesson, waited: bool = False) -> LessonResult:
        message = NO_GPU_WORKER + (f" (waited {NO_WORKER_GRACE:.0f} s for one)" if waited else "")
        if self.require_gpu or waited:
            at = Location(lesson.relpath, lesson.line_of("resources"))
            return _failed(lesson, LessonError.from_missing_gpu(at, f"needs a GPU: {message}"), 0.0)
        return LessonResult(
            lesson.id, lesson.relpath, Status.SKIPPED, 0.0, reason=f"needs a GPU: {message}"
        )

    def _infrastructure(
        self, lesson: Lesson, template: str, exc: BaseException, started: float
    ) -> LessonResult:
        where = ""
        last = getattr(exc, "last_worker", None)
        if last is not None:
            where = f" ({getattr(last, 'address', last)})"
        evalue = template.format(where=where, message=_reason(exc), reason=_reason(exc))
        error = LessonError.from_cluster_fault(_header(lesson), type(exc).__name__, evalue)
        return _failed(lesson, error, time.monotonic() - started)

    def cancel(self) -> None:
        """Cancel every task of this run and kill its kernels on every worker."""
        self._cancelled.set()
        with self._lock:
            futures = list(self._futures)
        with contextlib.suppress(Exception):
            self.client.cancel(futures, force=True)  # type: ignore[no-untyped-call]
        with contextlib.suppress(Exception):
            self.client.run(cancel_run, self.run_id, on_error="ignore")

    def close(self) -> None:
        """Forget this run on the workers; close the client if `connect` opened it."""
        with contextlib.suppress(Exception):
            self.client.run(forget_run, self.run_id, on_error="ignore")
        if self._owns_client:
            with contextlib.suppress(Exception):
                self.client.close(timeout=5)  # type: ignore[no-untyped-call]


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    return first if len(first) <= 300 else first[:297] + "..."


def _header(lesson: Lesson) -> Location:
    return Location(lesson.relpath, lesson.line_of(""))


def _failed(lesson: Lesson, error: LessonError, seconds: float) -> LessonResult:
    return LessonResult(lesson.id, lesson.relpath, Status.FAILED, seconds, error)
