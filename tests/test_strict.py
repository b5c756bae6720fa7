"""`--strict` and `[execution] strict = true`: every warning is an error (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import invoke
from helpers import cli, lesson_text, lessons_by_id, line_of, make_workshop, read_report

from workshopkit.model import Diagnostic, LessonResult, Severity, Status
from workshopkit.strict import STRICT_NOTE, lesson_warnings, promote, strict_result

IMAGE = lesson_text("# %% [markdown]\n# ![plot](missing.png)", "x = 1")


def test_promote_turns_warnings_into_marked_errors() -> None:
    warning = Diagnostic("a.py", 3, Severity.WARNING, "image 'x.png' not found")
    error = Diagnostic("a.py", 4, Severity.ERROR, "bad")
    assert promote([warning, error]) == (
        Diagnostic("a.py", 3, Severity.ERROR, "image 'x.png' not found" + STRICT_NOTE),
        error,
    )


def result(*warnings: str, status: Status = Status.PASSED) -> LessonResult:
    return LessonResult("a", "lessons/a.py", status, 1.0, warnings=warnings)


def test_a_lesson_warning_fails_the_lesson_at_its_line() -> None:
    failed = strict_result(
        result(
            "lessons/a.py: kernel start-up failed 1 time(s) (x); passed on retry",
            "lessons/a.py:12 (cell 3): shell command '!ls': its exit status is not checked",
            "lessons/a.py:20: output truncated at 100 bytes",
        )
    )
    assert failed.status is Status.FAILED and failed.error is not None
    assert (failed.error.line, failed.error.cell, failed.error.kind) == (12, 3, "warning")
    assert failed.error.evalue == (
        "shell command '!ls': its exit status is not checked (and 1 more warning)" + STRICT_NOTE
    )


@pytest.mark.parametrize(
    "warnings",
    [
        (),
        ("lessons/a.py: corrupt cache entry discarded, lesson re-run (x)",),
        ("lessons/other.py:3: not this lesson",),
    ],
)
def test_notes_about_the_machinery_are_not_lesson_warnings(warnings: tuple[str, ...]) -> None:
    assert lesson_warnings(result(*warnings)) == []
    assert strict_result(result(*warnings)).status is Status.PASSED


def test_failed_and_skipped_results_stay_as_they_are() -> None:
    for status in (Status.FAILED, Status.SKIPPED):
        original = result("lessons/a.py:1: x", status=status)
        assert strict_result(original) is original


def test_check_strict_fails_on_a_warning(tmp_path: Path) -> None:
    root = make_workshop(tmp_path / "ws", {"lessons/a.py": IMAGE})
    line = line_of(IMAGE, "missing.png")
    plain = invoke(["check", root])
    assert plain.exit_code == 0
    assert (
        f"lessons/a.py:{line}: warning: lesson 'a': image 'missing.png' not found" in plain.stderr
    )
    strict = invoke(["check", root, "--strict"])
    assert strict.exit_code == 2
    assert (
        f"lessons/a.py:{line}: error: lesson 'a': image 'missing.png' not found [--strict]"
        in strict.stderr
    )
    assert strict.stderr.endswith("checked 1 lesson: 1 error, 0 warnings\n")


def test_strict_in_workshop_toml_is_the_same(tmp_path: Path) -> None:
    root = make_workshop(tmp_path / "ws", {"lessons/a.py": IMAGE}, execution={"strict": True})
    assert invoke(["check", root]).exit_code == 2
    assert invoke(["run", root]).exit_code == 2  # before any kernel starts
    assert invoke(["build", root]).exit_code == 2


@pytest.mark.kernel
def test_run_strict_fails_a_lesson_whose_result_has_a_warning(tmp_path: Path) -> None:
    text = lesson_text("x = 1", "!echo hello")
    root = make_workshop(tmp_path / "ws", {"lessons/shell.py": text})
    assert cli("run", root).returncode == 0  # a warning alone passes (and is cached)
    done = cli("run", root, "--strict")
    assert done.returncode == 1, done.stderr
    report = lessons_by_id(read_report(root / ".workshopkit" / "report.json"))
    error = report["shell"]["error"]
    assert (error["line"], error["kind"], error["ename"]) == (
        line_of(text, "!echo hello"),
        "warning",
        "StrictWarning",
    )
    assert "shell command '!echo hello'" in error["evalue"] and STRICT_NOTE in error["evalue"]
