"""`pytest --lessons PATH`: one test item per lesson, run by workshopkit's executor.

Registered under the `pytest11` entry point, so it loads everywhere: it does nothing unless
`--lessons` is given. Items are named by lesson id and marked with their level, so
`-m beginner` and `-k attention` select; failures read `lessons/intro.py:42 (cell 3): ValueError:
boom` followed by the traceback. Works with pytest-xdist (`-n 2`).

The plugin runs the pipeline as far as `run` does, minus what is not about one lesson: it
opens the workshop as the `validate` stage does (event rules never stop a lesson from running),
and each item runs the `execute` stage on its lesson. pytest shows the progress itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .model import LEVEL_NAMES, Lesson, LessonError, LessonResult, Status, Workshop

_WORKSHOPS = pytest.StashKey[dict[Path, Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("workshopkit", "workshop lessons (workshopkit)")
    group.addoption(
        "--lessons",
        action="store_true",
        default=False,
        help="collect workshopkit lessons (.py files with a 'workshopkit' header) as tests",
    )
    group.addoption("--lessons-timeout", type=int, default=None, help="seconds per cell")
    group.addoption("--lessons-kernel", default=None, help="kernel for every lesson")
    group.addoption(
        "--lessons-param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a value in each lesson's parameters cell; repeatable",
    )
    group.addoption(
        "--lessons-no-cache",
        action="store_true",
        default=False,
        help="run lessons even when a cached result is valid",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "lesson: a workshopkit lesson")
    for level in LEVEL_NAMES:
        config.addinivalue_line("markers", f"{level}: a workshopkit lesson of level {level}")
    config.stash[_WORKSHOPS] = {}
    if config.getoption("lessons", False):
        from .config import parse_parameter

        for text in config.getoption("lessons_param") or []:
            try:
                parse_parameter(text)
            except ValueError as exc:
                raise pytest.UsageError(f"--lessons-param: {exc}") from None


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if not parent.config.getoption("lessons") or file_path.suffix != ".py":
        return None
    from .discover import is_lesson

    if not is_lesson(file_path):
        return None
    return LessonFile.from_parent(parent, path=file_path)


class LessonFailed(Exception):
    def __init__(self, result: LessonResult) -> None:
        super().__init__(str(result.error))
        self.result = result


class InvalidWorkshop(Exception):
    pass


def _opened(config: pytest.Config, path: Path) -> Any:
    from .config import find_root
    from .pipeline import open_workshop

    root = find_root(path.parent)
    if root is None:
        raise InvalidWorkshop(f"{path}: no workshop.toml in its folder or any parent folder")
    cache = config.stash[_WORKSHOPS]
    if root not in cache:
        cache[root] = open_workshop(root, event_rules=False)
    return cache[root]


class LessonFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        opened = _opened(self.config, self.path)
        if opened.workshop is None:
            raise InvalidWorkshop("\n".join(str(d) for d in opened.errors))
        lesson = next((x for x in opened.workshop.lessons if x.path == self.path.resolve()), None)
        if lesson is None:
            return
        item = LessonItem.from_parent(self, name=lesson.id, lesson=lesson, workshop=opened.workshop)
        item.add_marker("lesson")
        item.add_marker(lesson.meta.level.value)
        yield item

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str | Any:  # type: ignore[override]
        if isinstance(excinfo.value, InvalidWorkshop):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class LessonItem(pytest.Item):
    def __init__(self, *, lesson: Lesson, workshop: Workshop, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lesson = lesson
        self.workshop = workshop
        self.failed_line: int | None = None

    def runtest(self) -> None:
        from .config import parse_parameter
        from .execute import RunOptions
        from .pipeline import Job, Outcome, execute

        opt = self.config.getoption
        options = RunOptions(
            jobs=1,
            timeout=opt("lessons_timeout"),
            kernel=opt("lessons_kernel"),
            parameters=dict(parse_parameter(p) for p in opt("lessons_param")),
            use_cache=not opt("lessons_no_cache"),
        )
        job = Job(self.workshop.root, options=options)
        outcome = execute(job, Outcome(workshop=self.workshop, selected=(self.lesson,)))
        error = outcome.error
        if error is not None:  # no such kernel: a located message, not a traceback
            raise LessonFailed(
                LessonResult(
                    self.lesson.id,
                    self.lesson.relpath,
                    Status.FAILED,
                    0.0,
                    LessonError(
                        error.path or self.lesson.relpath,
                        error.line or self.lesson.line_of(""),
                        None,
                        "",
                        error.message,
                        "",
                        "infrastructure",
                    ),
                )
            )
        result = outcome.results[0]
        if result.status is Status.SKIPPED:
            pytest.skip(f"{self.lesson.relpath}: {result.reason}")
        if result.status is Status.FAILED:
            self.failed_line = result.error.line if result.error else None
            raise LessonFailed(result)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        if isinstance(excinfo.value, LessonFailed):
            error = excinfo.value.result.error
            if error is None:
                return "lesson failed"
            return f"{error}\n{error.traceback}".rstrip()
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.failed_line or self.lesson.line_of("")
        return self.path, line - 1, f"lesson {self.lesson.id} ({self.lesson.meta.level})"
