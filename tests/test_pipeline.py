"""pipeline: one orchestrator for check, run and build (issue 12), event rules that never block
the lessons, build's own times and reports (issue 13).

The executor is replaced by canned results (`export_scenarios.fake_results`: executed notebooks
with outputs, no kernel); everything else (validation, event rules, export, the swap, the
reports, the command line) is the real thing.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from cli_support import invoke
from export_scenarios import DEFAULT_TOML, fake_results, scenario

from workshopkit import execute
from workshopkit.errors import ExitCode, InfrastructureError, WorkshopkitError
from workshopkit.execute import RunEvent, RunReport
from workshopkit.model import Diagnostic, LessonResult, Severity, Status
from workshopkit.pipeline import (
    BUILD,
    CHECK,
    RUN,
    Outcome,
    StageEvent,
    build,
)

EVENT_TOML = DEFAULT_TOML + textwrap.dedent(
    """
    [[events]]
    id = "meetup"
    title = "Meetup"
    minutes = 60
    lessons = ["exercises", "next-steps", "flash"]
    lightning = { max_minutes = 5, max_slides = 6, must_show_code = true }
    """
)

# A lightning talk with eight slides whose only code cell is left out of the slides: it breaks
# the slide limit and "every speaker shows code", which only the executed deck can tell.
FLASH = (
    "# ---\n# jupyter:\n"
    "#   kernelspec: {display_name: Python 3, language: python, name: python3}\n"
    "#   workshopkit: {id: flash, title: Flash, level: advanced, minutes: 5, kind: lightning}\n"
    "# ---\n\n"
    + "".join(
        f'# %% [markdown] slideshow={{"slide_type": "slide"}}\n# ## Slide {n}\n\n' for n in range(8)
    )
    + '# %% slideshow={"slide_type": "skip"}\nprint("hidden")\n'
)


class FakeRun:
    """Stands in for `execute.run_lessons`: canned results, the executor's events, a count."""

    def __init__(self, scratch: Path, failed: tuple[str, ...] = (), seconds: float = 0.4) -> None:
        self.scratch = scratch
        self.failed = failed
        self.seconds = seconds
        self.calls = 0

    def __call__(self, workshop: Any, lessons: Any, options: Any, on_event: Any = None) -> Any:
        self.calls += 1
        results = fake_results(workshop, self.scratch / str(self.calls), failed=self.failed)
        chosen = {lesson.id for lesson in lessons}
        results = tuple(r for r in results if r.lesson_id in chosen)
        for lesson, result in zip(lessons, results, strict=True):
            if on_event is not None:
                on_event(RunEvent("start", lesson))
                on_event(RunEvent("done", lesson, result))
        return RunReport(results, 0, self.seconds)


@pytest.fixture
def fake_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeRun:
    run = FakeRun(tmp_path / "scratch")
    monkeypatch.setattr(execute, "run_lessons", run)
    return run


@pytest.fixture
def evening(tmp_path: Path) -> Path:
    """The standard scenario plus an evening 5 minutes over its budget (20 + 15 + 5 of 60 is
    40: the budget is 35 here) with a lightning talk that breaks both deck rules."""
    toml = EVENT_TOML.replace("minutes = 60", "minutes = 35")
    return scenario(tmp_path / "ws", toml=toml, extra={"lessons/04-flash/flash.py": FLASH})


BROKEN = [
    "lessons/04-flash/flash.py:4: error: 'flash' shows no code on its slides (event 'meetup' "
    "requires every speaker to show a code cell that runs and prints something)",
    "lessons/04-flash/flash.py:4: error: lightning talk 'flash' has 8 slides, over the "
    "6-slide limit of event 'meetup'",
    "workshop.toml:13: error: event 'meetup' runs 40 min, 5 over its 35-minute budget",
]


# -- the shape ----------------------------------------------------------------------------------


def test_each_command_runs_a_prefix_of_the_same_stages() -> None:
    def names(stages: tuple[Any, ...]) -> list[str]:
        return [stage.__name__ for stage in stages]

    assert names(CHECK) == ["check"]
    assert names(RUN) == ["validate", "execute", "judge_events", "write_reports"]
    assert names(BUILD) == [
        "validate", "claim_output", "fetch_wheels", "execute", "judge_events", "export", "swap",
        "write_reports",
    ]  # fmt: skip


def test_stage_events_bracket_every_stage_with_the_lessons_in_between(
    tmp_path: Path, fake_run: FakeRun
) -> None:
    events: list[Any] = []
    outcome = build(scenario(tmp_path / "ws"), on_event=events.append)
    assert outcome.exit_code is ExitCode.OK, outcome.messages
    seen = [
        (e.stage, e.kind) if isinstance(e, StageEvent) else (e.lesson.id, e.kind) for e in events
    ]
    stages = [stage.__name__ for stage in BUILD]
    expected = []
    for stage in stages:
        expected.append((stage, "start"))
        if stage == "execute":
            for lesson in ("exercises", "next-steps", "deep-dive"):
                expected += [(lesson, "start"), (lesson, "done")]
        expected.append((stage, "done"))
    assert seen == expected
    done = [e for e in events if isinstance(e, StageEvent) and e.kind == "done"]
    assert done[-1].outcome.written and [name for name, _ in outcome.timings] == stages


# -- event rules never block the lessons (issue 13) ----------------------------------------------


def test_build_runs_every_lesson_then_reports_every_event_rule_together(
    evening: Path, fake_run: FakeRun
) -> None:
    outcome = build(evening)
    assert fake_run.calls == 1  # the budget no longer stops the build before the lessons
    assert [str(d) for d in outcome.rule_breaks] == BROKEN
    assert outcome.exit_code is ExitCode.LESSON_FAILED
    assert outcome.written and (evening / "dist/index.html").is_file()  # every lesson passed
    report = json.loads((evening / "dist/report.json").read_text())
    assert (report["status"], report["exit_code"]) == ("failed", 1)
    assert [f"{r['path']}:{r['line']}: {r['severity']}: {r['message']}" for r in report[
        "event_rules"
    ]] == BROKEN  # fmt: skip


def test_failed_lessons_still_keep_dist_unless_keep_going(
    evening: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execute, "run_lessons", FakeRun(tmp_path / "s", failed=("next-steps",)))
    outcome = build(evening)
    assert outcome.exit_code is ExitCode.LESSON_FAILED and not outcome.written
    assert outcome.rule_breaks  # judged all the same, on the lessons that passed
    assert outcome.messages[-1].endswith("1 lesson(s) failed (--keep-going writes it anyway)")
    assert build(evening, keep_going=True).written


def test_check_still_stops_at_the_budget_with_exit_2(evening: Path) -> None:
    result = invoke(["check", evening])
    assert result.exit_code == 2
    assert BROKEN[-1] in result.stderr.splitlines()
    assert "flash.py:4: error: lightning talk 'flash' has 8 slides" not in result.stderr


def test_run_reports_event_rules_after_the_lessons(evening: Path, fake_run: FakeRun) -> None:
    result = invoke(["run", evening])
    assert result.exit_code == 1, result.stderr
    lines = result.stderr.splitlines()
    assert lines[-4:] == [*BROKEN, "3 event rules broken (exit 1)"]
    assert fake_run.calls == 1
    report = json.loads((evening / ".workshopkit/report.json").read_text())
    assert report["exit_code"] == 1 and len(report["event_rules"]) == 3


# -- check prints every problem and counts them right (issue 13) ---------------------------------


def test_check_shows_warnings_next_to_errors_and_counts_them(tmp_path: Path) -> None:
    """An error elsewhere hid the event's warning and the summary said "0 warnings"."""
    toml = DEFAULT_TOML + '\n[[events]]\nid = "talks"\ntitle = "Talks"\nlessons = ["next-steps"]\n'
    root = scenario(tmp_path / "ws", toml=toml)
    lesson = root / "lessons/03-deep/lesson.py"
    lesson.write_text(lesson.read_text().replace("level: advanced", "level: expertt"))
    result = invoke(["check", root])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "lessons/03-deep/lesson.py:7: error: unknown level 'expertt' (expected beginner, "
        "intermediate, advanced)",
        "workshop.toml:10: warning: event 'talks' has no beginner and no advanced item (the "
        "rule of thumb: something for people starting out and something from the bleeding "
        "edge)",
        "checked 3 lessons: 1 error, 1 warning",
    ]


def test_an_event_naming_an_invalid_lesson_gets_no_guessed_mix_warning(tmp_path: Path) -> None:
    """With its one advanced lesson invalid, the evening only looks as if it had none."""
    toml = DEFAULT_TOML + (
        '\n[[events]]\nid = "talks"\ntitle = "Talks"\nlessons = ["exercises", "deep-dive"]\n'
    )
    root = scenario(tmp_path / "ws", toml=toml)
    lesson = root / "lessons/03-deep/lesson.py"
    lesson.write_text(lesson.read_text().replace("level: advanced", "level: expertt"))
    result = invoke(["check", root])
    assert result.exit_code == 2
    assert ": warning: " not in result.stderr
    assert result.stderr.splitlines()[-1] == "checked 3 lessons: 1 error, 0 warnings"


# -- build: times apart, the reports run writes (issue 13) --------------------------------------


def test_build_reports_lesson_and_export_times_apart(tmp_path: Path, fake_run: FakeRun) -> None:
    root = scenario(tmp_path / "ws")
    result = invoke(["build", root])
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert "lessons: 3 passed in 0.4 s (0 kernels started)" in lines
    export = [line for line in lines if line.startswith("export: ")]
    assert len(export) == 1 and re.fullmatch(r"export: \d+\.\d s", export[0])
    assert lines[-1] == f"wrote {root / 'dist'} (3 lessons, 1 bundle)"


def test_build_counts_cached_lessons_in_its_lessons_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = FakeRun(tmp_path / "s")

    def cached(*args: Any, **kw: Any) -> RunReport:
        report = run(*args, **kw)
        results = [r if r.lesson_id != "exercises" else _cached(r) for r in report.results]
        return RunReport(tuple(results), 0, 0.4)

    monkeypatch.setattr(execute, "run_lessons", cached)
    result = invoke(["build", scenario(tmp_path / "ws")])
    assert "lessons: 3 passed (1 cached) in 0.4 s (0 kernels started)" in result.stderr


def _cached(result: LessonResult) -> LessonResult:
    from dataclasses import replace

    return replace(result, cached=True)


def test_build_writes_junit_xml_and_a_report_like_run(tmp_path: Path, fake_run: FakeRun) -> None:
    root = scenario(tmp_path / "ws")
    junit, report = tmp_path / "out/junit.xml", tmp_path / "out/report.json"
    result = invoke(["build", root, "--junit-xml", junit, "--report", report])
    assert result.exit_code == 0, result.stderr
    cases = [case.get("name") for case in ET.parse(junit).getroot().iter("testcase")]
    assert cases == ["exercises", "next-steps", "deep-dive"]
    assert json.loads(report.read_text()) == json.loads((root / "dist/report.json").read_text())


def test_build_writes_its_report_even_when_dist_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execute, "run_lessons", FakeRun(tmp_path / "s", failed=("deep-dive",)))
    root = scenario(tmp_path / "ws")
    report = tmp_path / "report.json"
    result = invoke(["build", root, "--report", report])
    assert result.exit_code == 1 and not (root / "dist").exists()
    data = json.loads(report.read_text())
    assert data["command"] == "build" and data["status"] == "failed"
    assert all(track["bundle"] is None for track in data["tracks"])
    assert [lesson["exported"] for lesson in data["lessons"]] == [False, False, False]


# -- the outcome ----------------------------------------------------------------------------------


def _diagnostic(severity: Severity) -> Diagnostic:
    return Diagnostic("workshop.toml", 1, severity, "x")


def _result(status: Status) -> LessonResult:
    return LessonResult("a", "a.py", status, 0.1)


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        (Outcome(), ExitCode.OK),
        (Outcome(diagnostics=(_diagnostic(Severity.WARNING),)), ExitCode.OK),
        (Outcome(rule_breaks=(_diagnostic(Severity.WARNING),)), ExitCode.OK),
        (Outcome(diagnostics=(_diagnostic(Severity.ERROR),)), ExitCode.INVALID),
        (Outcome(run=RunReport((_result(Status.SKIPPED),), 0, 0.0)), ExitCode.OK),
        (Outcome(run=RunReport((_result(Status.FAILED),), 1, 0.0)), ExitCode.LESSON_FAILED),
        (Outcome(rule_breaks=(_diagnostic(Severity.ERROR),)), ExitCode.LESSON_FAILED),
        (Outcome(error=InfrastructureError("no such kernel")), ExitCode.INFRASTRUCTURE),
        (Outcome(error=WorkshopkitError("build in progress")), ExitCode.INVALID),
        (
            Outcome(
                run=RunReport((_result(Status.FAILED),), 1, 0.0),
                error=InfrastructureError("disk full"),
            ),
            ExitCode.INFRASTRUCTURE,
        ),
    ],
)
def test_the_exit_code_is_the_worst_of_what_happened(outcome: Outcome, code: ExitCode) -> None:
    assert outcome.exit_code is code
