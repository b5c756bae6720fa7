"""The executor interface, and its first implementation.

An `Executor` runs planned lessons: `run(plan)` takes one lesson from start to end and returns its
result, `cancel()` stops them all. `run_pool` feeds an executor its plans from worker threads;
`run_lessons` needs nothing else from it, so an executor that shards, runs lessons on a cluster or
starts kernels faster plugs in here. `LocalExecutor` runs each lesson in a kernel of its own on
this machine (`lesson.run_lesson`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..model import LessonPlan, LessonResult
from .processes import KernelRegistry

if TYPE_CHECKING:
    from ..forkkernel import ForkServers, ForkStats


@runtime_checkable
class Executor(Protocol):
    """Runs planned lessons.

    `run` takes one lesson from start to end and returns its result; it never raises for a fault
    in the lesson (a failure is a result), and may be called from `slots` threads at once.
    `cancel` stops every lesson running, and makes later calls to `run` return at once, each
    failed as interrupted; any thread may call it. `kernels_started` counts the kernels started
    so far (report.json's `kernels_started`).
    """

    @property
    def slots(self) -> int: ...

    @property
    def kernels_started(self) -> int: ...

    def run(self, plan: LessonPlan) -> LessonResult: ...

    def cancel(self) -> None: ...


class LocalExecutor:
    """The thread-pool executor: each `run` starts a kernel on this machine, in the calling thread
    (one of `run_pool`'s workers), so every kernel of a run belongs to this one process
    (jupyter_client's port choice, `engine.kernel_ports`, sees them all).

    At most `jobs` lessons execute cells at once; one more starts its kernel meanwhile (kernel
    start-up is most of a short lesson's time), so a worker never waits idle for a kernel.
    """

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self._gate = threading.BoundedSemaphore(self.jobs)
        self._kernels = KernelRegistry()
        self._forks: ForkServers | None = None  # made when a lesson first asks to be forked
        self._execed = 0  # lessons whose plan says exec
        self._lock = threading.Lock()
        _quiet_papermill()

    @property
    def slots(self) -> int:
        return self.jobs + 1

    @property
    def kernels_started(self) -> int:
        return self._kernels.started

    def run(self, plan: LessonPlan) -> LessonResult:
        from .lesson import run_lesson

        return run_lesson(plan, self._kernels, self._gate, self._fork_servers(plan))

    def _fork_servers(self, plan: LessonPlan) -> ForkServers | None:
        """The fork servers for `plan`'s kernel (None: exec it)."""
        from ..forkkernel import ForkServers, preload_for

        with self._lock:
            if plan.kernel_start != "fork":
                self._execed += 1
                return None
            if self._forks is None:
                self._forks = ForkServers("fork")
            forks = self._forks
        return forks.preloading(preload_for(plan.lesson))

    @property
    def kernel_start(self) -> ForkStats:
        """How the kernels of this executor started (report.json's `kernel_start`)."""
        from ..forkkernel import ForkStats

        with self._lock:
            forks, execed = self._forks, self._execed
        if forks is None:
            return ForkStats("exec", 0, execed, ())
        stats = forks.stats()
        return ForkStats("fork", stats.forked, stats.execed + execed, stats.fallbacks)

    def cancel(self) -> None:
        self._kernels.kill_all()
        if self._forks is not None:
            self._forks.cancel()

    def close(self) -> None:
        """End the fork servers, once the run is over (a later `run` starts new ones)."""
        if self._forks is not None:
            self._forks.close()


def _quiet_papermill() -> None:
    """papermill warns per lesson about parameters a lesson does not declare, and that a lesson
    has no parameters cell: normal when `-p` or `[execution.parameters]` serve many lessons."""
    import logging

    log = logging.getLogger("papermill")
    if log.level == logging.NOTSET:
        log.setLevel(logging.ERROR)


def run_pool(
    executor: Executor,
    plans: Sequence[LessonPlan],
    on_start: Callable[[LessonPlan], None],
    on_done: Callable[[LessonPlan, LessonResult], None],
) -> None:
    """Run `plans` through `executor`, in order, `executor.slots` at a time, in worker threads:
    `on_start(plan)` as each starts and `on_done(plan, result)` as each ends, in this thread.

    Interrupted (Ctrl-C; SIGTERM raised as an exception), it cancels the executor, gives the
    lessons running 5 s to end, and re-raises.
    """
    if not plans:
        return
    workers = max(1, min(executor.slots, len(plans)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="workshopkit")
    pending: dict[Future[LessonResult], LessonPlan] = {}
    queue = deque(plans)
    try:
        while queue or pending:
            while queue and len(pending) < workers:
                plan = queue.popleft()
                on_start(plan)
                pending[pool.submit(executor.run, plan)] = plan
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                on_done(pending.pop(future), future.result())
    except BaseException:
        executor.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + 5
        for future in list(pending):
            with contextlib.suppress(BaseException):
                future.result(timeout=max(0.1, deadline - time.monotonic()))
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
