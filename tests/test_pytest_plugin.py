"""`pytest --lessons`: the plugin, driven through pytester with real kernels."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml  # noqa: F401 - see below
from helpers import lesson_text, line_of

# pytester's in-process runs drop the modules a run imported; PyYAML's C loader does not survive
# being imported twice in one process ("could not determine a constructor for the tag None"), so
# it is imported once here, before any run.

pytest_plugins = ["pytester"]

INTRO = lesson_text("x = 1\nprint(x)", title="Intro", level="beginner")
BROKEN = lesson_text(
    "x = 1", "y = x + 1\nraise ValueError('boom')", title="Broken", level="intermediate"
)
ATTENTION = lesson_text(
    "import math\nassert math.isclose(1.0, 1.0)", title="Attention", level="advanced"
)
PARAMS = lesson_text(
    ("n = 1", ["parameters"]), "assert n == 5, n", title="Parameters", level="beginner"
)
UNIT = "def test_unit():\n    assert True\n"


@pytest.fixture
def workshop(pytester: pytest.Pytester) -> Path:
    files = {
        "workshop.toml": 'title = "Plugin workshop"\n',
        "lessons/intro.py": INTRO,
        "lessons/broken.py": BROKEN,
        "lessons/advanced/attention.py": ATTENTION,
        "lessons/helpers_not_a_lesson.py": "VALUE = 1\n",
        "test_unit.py": UNIT,
    }
    for rel, text in files.items():
        path = pytester.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return pytester.path


def test_inert_without_the_option(pytester: pytest.Pytester, workshop: Path) -> None:
    result = pytester.runpytest("-p", "no:cacheprovider", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["test_unit.py::test_unit", "*1 test collected*"])
    assert "intro" not in result.stdout.str()
    assert not (workshop / ".workshopkit").exists()


def test_one_item_per_lesson_named_by_id(pytester: pytest.Pytester, workshop: Path) -> None:
    result = pytester.runpytest("--lessons", "--collect-only", "-q", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        [
            "lessons/advanced/attention.py::attention",
            "lessons/broken.py::broken",
            "lessons/intro.py::intro",
            "test_unit.py::test_unit",
            "*4 tests collected*",
        ]
    )


def test_reportinfo_points_at_the_lesson(pytester: pytest.Pytester, workshop: Path) -> None:
    items, _ = pytester.inline_genitems("--lessons", "-p", "no:cacheprovider")
    lessons = {item.name: item for item in items if item.name != "test_unit"}
    item = lessons["broken"]
    path, line, domain = item.reportinfo()
    assert Path(path) == workshop / "lessons" / "broken.py"
    header = line_of(BROKEN, "workshopkit:") - 1  # 0-based, as pytest wants
    assert line == header
    assert domain == "lesson broken (intermediate)"
    assert item.location == ("lessons/broken.py", header, "lesson broken (intermediate)")
    assert {m.name for m in item.iter_markers()} >= {"lesson", "intermediate"}


@pytest.mark.kernel
def test_markers_and_keywords_select(pytester: pytest.Pytester, workshop: Path) -> None:
    result = pytester.runpytest("--lessons", "-m", "beginner", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["lessons/intro.py::intro PASSED*"])
    result = pytester.runpytest("--lessons", "-k", "attention", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["lessons/advanced/attention.py::attention PASSED*"])


@pytest.mark.kernel
def test_a_failure_shows_the_located_message_and_traceback(
    pytester: pytest.Pytester, workshop: Path
) -> None:
    result = pytester.runpytest("--lessons", "-k", "broken", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    line = line_of(BROKEN, "raise ValueError")
    result.stdout.fnmatch_lines(
        [
            "*_ lesson broken (intermediate) _*",
            f"lessons/broken.py:{line} (cell 2): ValueError: boom",
            "*Traceback (most recent call last)*",
            "*raise ValueError('boom')*",
            "FAILED lessons/broken.py::broken*",
        ]
    )
    assert "\x1b[" not in result.stdout.str()
    assert "pytest_plugin.py" not in result.stdout.str()  # no plugin internals in the report
    assert result.ret == 1


@pytest.mark.kernel
def test_lessons_options_parameters_and_no_cache(pytester: pytest.Pytester) -> None:
    (pytester.path / "workshop.toml").write_text('title = "P"\n', encoding="utf-8")
    (pytester.path / "params.py").write_text(PARAMS, encoding="utf-8")
    result = pytester.runpytest("--lessons", "--lessons-param", "n=5", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result = pytester.runpytest("--lessons", "-p", "no:cacheprovider", "--lessons-no-cache")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*params.py:*(cell 2): AssertionError: 1*"])


@pytest.mark.kernel
def test_gpu_lessons_are_skipped_with_the_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSHOPKIT_GPU", "0")
    (pytester.path / "workshop.toml").write_text('title = "G"\n', encoding="utf-8")
    gpu = lesson_text("print(1)", extra="resources: {gpu: true}", title="GPU")
    (pytester.path / "gpu.py").write_text(gpu, encoding="utf-8")
    result = pytester.runpytest("--lessons", "-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*gpu.py: needs a GPU*"])


@pytest.mark.kernel
def test_works_with_xdist(pytester: pytest.Pytester, workshop: Path) -> None:
    result = pytester.runpytest_subprocess(
        "--lessons", "-p", "xdist", "-n", "2", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=3, failed=1)
    line = line_of(BROKEN, "raise ValueError")
    result.stdout.fnmatch_lines([f"*lessons/broken.py:{line} (cell 2): ValueError: boom*"])


def test_an_invalid_workshop_is_a_readable_collection_error(pytester: pytest.Pytester) -> None:
    (pytester.path / "workshop.toml").write_text('title = "Bad"\n', encoding="utf-8")
    bad = lesson_text("x = 1", level="expert")
    (pytester.path / "lessons").mkdir()
    (pytester.path / "lessons" / "bad.py").write_text(bad, encoding="utf-8")
    result = pytester.runpytest("--lessons", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    line = line_of(bad, "level:")
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting lessons/bad.py*",
            f"lessons/bad.py:{line}: error: unknown level 'expert'*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert result.ret == 2


def test_an_evening_over_its_budget_does_not_stop_its_lessons(pytester: pytest.Pytester) -> None:
    """Event rules are about the evening, not about whether a lesson runs (issue 13): the
    collection used to fail on the budget, like `check`, and no lesson ran."""
    toml = 'title = "T"\n[[events]]\nid = "e"\ntitle = "E"\nminutes = 1\nlessons = ["intro"]\n'
    (pytester.path / "workshop.toml").write_text(toml, encoding="utf-8")
    (pytester.path / "intro.py").write_text(INTRO, encoding="utf-8")
    result = pytester.runpytest("--lessons", "--collect-only", "-q", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["intro.py::intro", "*1 test collected*"])
    assert result.ret == 0


def test_a_lesson_outside_any_workshop(pytester: pytest.Pytester) -> None:
    (pytester.path / "alone.py").write_text(INTRO, encoding="utf-8")
    result = pytester.runpytest("--lessons", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*alone.py: no workshop.toml in its folder or any parent folder*"])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.kernel
def test_an_unknown_kernel_fails_the_item_with_a_located_message(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "workshop.toml").write_text('title = "K"\n', encoding="utf-8")
    text = lesson_text("x = 1", kernel="nope")
    (pytester.path / "k.py").write_text(text, encoding="utf-8")
    result = pytester.runpytest("--lessons", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"k.py:{line_of(text, 'kernelspec')}: no such kernel 'nope'*"])
    assert "Traceback" not in result.stdout.str()


def test_a_bad_lessons_param_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--lessons", "--lessons-param", "oops", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--lessons-param: expected name=value*"])
