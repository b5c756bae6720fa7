"""The executor interface (`execute.pool`): `run_lessons` needs nothing from an executor but the
protocol. A serial executor written here runs a real lesson through it; `run_pool` is checked
with executors that run no kernel."""

from __future__ import annotations

import pickle
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import lesson_text, make_workshop, open_ok

from workshopkit.execute import Executor, LocalExecutor, RunEvent, RunOptions, run_lessons
from workshopkit.execute.lesson import run_lesson
from workshopkit.execute.pool import run_pool
from workshopkit.execute.processes import KernelRegistry
from workshopkit.model import LessonPlan, LessonResult, Status


class SerialExecutor:
    """One lesson at a time, in the calling thread: the protocol and nothing else."""

    def __init__(self) -> None:
        self.kernels = KernelRegistry()
        self.ran: list[str] = []
        self.threads: set[str] = set()

    @property
    def slots(self) -> int:
        return 1

    @property
    def kernels_started(self) -> int:
        return self.kernels.started

    def run(self, plan: LessonPlan) -> LessonResult:
        self.ran.append(plan.lesson.id)
        self.threads.add(threading.current_thread().name)
        return run_lesson(plan, self.kernels)

    def cancel(self) -> None:
        self.kernels.kill_all()


def test_both_executors_meet_the_protocol() -> None:
    assert isinstance(SerialExecutor(), Executor)
    assert isinstance(LocalExecutor(jobs=2), Executor)
    assert LocalExecutor(jobs=2).slots == 3  # one kernel starts while two lessons run cells


@pytest.mark.kernel
def test_run_lessons_runs_real_lessons_through_any_executor(tmp_path: Path) -> None:
    root = make_workshop(
        tmp_path / "w",
        {
            "lessons/a.py": lesson_text("print(6 * 7)"),
            "lessons/b.py": lesson_text("x = 1", "raise ValueError('from b')"),
        },
    )
    opened = open_ok(root)
    executor = SerialExecutor()
    events: list[RunEvent] = []
    options = RunOptions(jobs=4, use_cache=False)
    report = run_lessons(opened.workshop, opened.selected, options, events.append, executor)
    a, b = report.results
    assert (a.status, b.status) == (Status.PASSED, Status.FAILED)
    assert b.error is not None and (b.error.ename, b.error.evalue) == ("ValueError", "from b")
    assert a.notebook is not None and a.notebook.is_file()  # kept, as the export needs it
    assert executor.ran == ["a", "b"] and len(executor.threads) == 1  # one slot: one worker
    assert report.kernels_started == 2
    assert [(e.kind, e.lesson.id) for e in events] == [
        ("start", "a"),
        ("done", "a"),
        ("start", "b"),
        ("done", "b"),
    ]
    again = run_lessons(opened.workshop, opened.selected, RunOptions(), None, SerialExecutor())
    assert again.results[0].cached and again.kernels_started == 1  # the cache still works


class Timed:
    """Runs no kernel: each lesson "runs" for `seconds`; records how many ran at once."""

    def __init__(self, slots: int, seconds: float = 0.2) -> None:
        self._slots = slots
        self.seconds = seconds
        self.running = 0
        self.most = 0
        self.cancelled = threading.Event()
        self.lock = threading.Lock()

    @property
    def slots(self) -> int:
        return self._slots

    @property
    def kernels_started(self) -> int:
        return 0

    def run(self, plan: LessonPlan) -> LessonResult:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.cancelled.wait(self.seconds)
        with self.lock:
            self.running -= 1
        lesson = plan.lesson
        status = Status.FAILED if self.cancelled.is_set() else Status.PASSED
        return LessonResult(lesson.id, lesson.relpath, status, self.seconds)

    def cancel(self) -> None:
        self.cancelled.set()


@pytest.fixture
def plans(tmp_path: Path) -> list[LessonPlan]:
    from workshopkit.execute import plan_lessons

    lessons = {f"lessons/l{i}.py": lesson_text(f"x = {i}") for i in range(5)}
    workshop = open_ok(make_workshop(tmp_path / "w", lessons)).workshop
    return plan_lessons(workshop, workshop.lessons, RunOptions())


def test_plans_survive_pickling(plans: list[LessonPlan]) -> None:
    """Plan in, result out: an executor may send its plans to another process."""
    assert pickle.loads(pickle.dumps(plans)) == plans


def test_run_pool_gives_an_executor_its_slots_and_no_more(plans: list[LessonPlan]) -> None:
    executor = Timed(slots=2)
    started: list[str] = []
    done: dict[str, Status] = {}
    run_pool(
        executor,
        plans,
        lambda plan: started.append(plan.lesson.id),
        lambda plan, result: done.update({plan.lesson.id: result.status}),
    )
    assert started == [f"l{i}" for i in range(5)]  # in order
    assert done == {f"l{i}": Status.PASSED for i in range(5)}
    assert executor.most == 2


def test_an_interrupted_pool_cancels_its_executor(plans: list[LessonPlan]) -> None:
    executor = Timed(slots=2, seconds=60)
    begun = time.monotonic()

    def interrupt(plan: LessonPlan) -> None:
        if plan.lesson.id == "l1":
            raise KeyboardInterrupt  # as Ctrl-C does, in the thread that waits

    with pytest.raises(KeyboardInterrupt):
        run_pool(executor, plans, interrupt, lambda plan, result: None)
    assert executor.cancelled.is_set()
    assert executor.running == 0  # the lesson running was given time to end
    assert time.monotonic() - begun < 30


def test_nothing_to_run_starts_no_thread() -> None:
    def fail(*args: Any) -> None:
        raise AssertionError("called")

    before = threading.active_count()
    run_pool(Timed(slots=2), [], fail, fail)
    assert threading.active_count() == before
