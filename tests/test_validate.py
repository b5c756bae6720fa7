"""Every bad input is reported before any kernel starts, as `path:line: error: message`, exit 2.

Each case is a tiny workshop under `tests/resources/<case>/`; its full `workshopkit check` output
is compared with `tests/golden/check/<case>.txt` (rewrite with `pytest --update-golden`).
The line of each first diagnostic is also derived from the file itself, so golden files cannot
drift to a wrong line unnoticed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_support import GOLDEN, RESOURCES, CliResult, invoke, scenario

from workshopkit.load import LessonSource, load_lesson
from workshopkit.model import Lesson, LessonMeta, Level, Severity
from workshopkit.pipeline import open_workshop
from workshopkit.validate import check_lesson, check_requires, id_key, id_problem, slugify

# case -> (file, text on the reported line, words the message must contain)
ERROR_CASES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "yaml_error": ("lessons/broken.py", "requires: []", ("invalid YAML", "line 8")),
    "unknown_key_did_you_mean": ("lessons/intro.py", "levle:", ("'levle'", "did you mean 'level'")),
    "missing_level": ("lessons/intro.py", "workshopkit:", ("missing 'level'", "beginner")),
    "unknown_level": ("lessons/expert.py", "level: expert", ("'expert'", "intermediate")),
    "malformed_id": ("lessons/leading-dash.py", "id: -intro", ("'-intro'", "try 'intro'")),
    "duplicate_id": ("lessons/b/numpy.py", "id: numpy-basics", ("lessons/a/numpy.py:5",)),
    "ids_differ_by_case_or_nfc": ("lessons/cafe-nfd.py", "id: cafe", ("lessons/cafe-nfc.py:5",)),
    "requires_unknown_id": ("lessons/regression.py", "requires:", ("did you mean 'numpy-basics'",)),
    "requires_cycle": ("lessons/a.py", "requires:", ("alpha -> gamma -> beta -> alpha",)),
    "minutes_not_positive_int": ("lessons/bool.py", "minutes: true", ("positive integer",)),
    "no_cell_markers": ("lessons/plain.py", "import numpy", ("no '# %%' cell markers",)),
    "bad_cell_options": ("lessons/options.py", '# %% tags=["x"', ("'tags=[\"x\"'", "bracket")),
    "not_utf8": ("lessons/cafe.py", "# Un caf", ("not UTF-8", "0xe9", "column 9")),
    "toml_unknown_key": ("workshop.toml", "descripton", ("did you mean 'description'",)),
    "toml_wrong_type": ("workshop.toml", "requirements = 3", ("'requirements'", "not 3")),
    "toml_syntax_error": ("workshop.toml", "jobs 2", ("invalid TOML", "'='")),
    "track_unknown_lesson": ("workshop.toml", '"pandas-intro"', ("unknown lesson 'pandas-intro'",)),
    "unterminated_header": ("lessons/open.py", "# ---", ("no closing '# ---'", "line 8")),
    "reserved_id": ("lessons/absolute.py", "id: /abs", ("'/abs'",)),
    "begin_solution_unclosed": ("lessons/exercise.py", "# BEGIN", ("not closed",)),
    "solution_marker_near_misses": (
        "lessons/near.py",
        "# BEGIN SOLUTIONS",
        ("'# BEGIN SOLUTIONS' is not a solution marker", "write '# BEGIN SOLUTION'"),
    ),
    "bad_slide_type": ("lessons/slides.py", "sldie", ("did you mean 'slide'",)),
    "header_not_first": ("lessons/late.py", "", ("must begin on line 1",)),
    "header_key_outside_jupyter": ("lessons/flow.py", "# jupyter: {", ("alone on its line",)),
    "line_break_character": ("lessons/formfeed.py", "\x0c", ("U+000C",)),
    "collect_everything": ("lessons/01-yaml.py", "title: 'Unclosed", ("quoted scalar",)),
}
OK_CASES = (
    "bom_and_crlf",
    "helper_module_ignored",
    "solution_spellings_honoured",
    "solution_name_used_later",
    "lesson_injection",  # built by tests/browser/test_injection_browser.py; checks clean
    "serve_preview",  # previewed by tests/test_serve.py
    "shard_workshop",  # sharded by tests/test_shard.py
    "shard_failing",  # one lesson fails when run (tests/test_shard.py); checks clean
)


def line_of(path: Path, needle: str) -> int:
    """1-based number of the first line of `path` containing `needle` (decoded leniently)."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    for number, line in enumerate(text.split("\n"), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def check(case: str) -> CliResult:
    return invoke(["check", scenario(case)])


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_bad_input_fails_check_with_golden_diagnostics(case: str, golden) -> None:
    result = check(case)
    assert result.exception is None, result.exception
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    golden.check(f"check/{case}.txt", result.stderr)
    *diagnostics, summary = result.stderr.splitlines()
    assert summary.startswith("checked ") and " error" in summary
    assert diagnostics, "an error case must print at least one diagnostic"
    for line in diagnostics:
        where, severity, _ = line.split(": ", 2)
        assert severity in ("error", "warning"), line
        assert where.split(":")[0] in {"workshop.toml"} or where.startswith("lessons/"), line


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_first_diagnostic_names_the_right_line(case: str) -> None:
    relpath, needle, words = ERROR_CASES[case]
    opened = open_workshop(scenario(case))
    assert opened.workshop is None
    mine = [d for d in opened.errors if d.path == relpath]
    assert mine, [str(d) for d in opened.diagnostics]
    expected = line_of(scenario(case) / relpath, needle) if needle else 1
    assert mine[0].line == expected, str(mine[0])
    for word in words:
        assert word in mine[0].message, str(mine[0])


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_pipeline_and_cli_print_the_same_sorted_diagnostics(case: str) -> None:
    opened = open_workshop(scenario(case))
    assert list(opened.diagnostics) == sorted(opened.diagnostics)
    assert len(set(opened.diagnostics)) == len(opened.diagnostics)
    printed = check(case).stderr.splitlines()[:-1]
    assert printed == [str(d) for d in opened.diagnostics]


@pytest.mark.parametrize("case", OK_CASES)
def test_clean_scenarios_pass(case: str, golden) -> None:
    result = check(case)
    assert result.exit_code == 0, result.stderr
    golden.check(f"check/{case}.txt", result.stderr)


def test_every_scenario_has_a_test_and_every_golden_file_a_scenario() -> None:
    scenarios = {p.name for p in RESOURCES.iterdir() if (p / "workshop.toml").is_file()}
    assert scenarios == set(ERROR_CASES) | set(OK_CASES)
    goldens = {p.stem for p in (GOLDEN / "check").glob("*.txt")}
    assert goldens == scenarios


def test_collect_everything_reports_every_problem_in_one_run() -> None:
    opened = open_workshop(scenario("collect_everything"))
    files = {d.path for d in opened.errors}
    # a YAML error, an unknown level, bad cell options, an unknown prerequisite, an unclosed
    # solution marker and a workshop.toml typo: six files, six different problems
    assert files == {
        "lessons/01-yaml.py",
        "lessons/02-level.py",
        "lessons/03-options.py",
        "lessons/04-requires.py",
        "lessons/05-solution.py",
        "workshop.toml",
    }
    assert len(opened.errors) == 6
    assert opened.lesson_count == 5


def test_not_utf8_resource_really_is_latin1() -> None:
    data = (scenario("not_utf8") / "lessons/cafe.py").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert "café crème".encode("latin-1") in data


def test_a_lesson_that_requires_an_invalid_lesson_is_not_blamed_twice(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(scenario("unknown_level"), root)
    text = (root / "lessons/typo.py").read_text(encoding="utf-8")
    (root / "lessons/typo.py").write_text(
        text.replace("#     minutes: 10", "#     minutes: 10\n#     requires: [expert]"),
        encoding="utf-8",
    )
    messages = [d.message for d in open_workshop(root).diagnostics]
    assert not any("unknown lesson" in m for m in messages), messages


def test_helper_modules_hidden_and_build_folders_are_not_lessons(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(scenario("helper_module_ignored"), root)
    lesson = (root / "lessons/intro/intro.py").read_text(encoding="utf-8")
    clone = lesson.replace("title: Intro", "title: Copy").replace(
        "#   workshopkit:", "#   workshopkit:\n#     id: copy"
    )
    # folders that are never searched, even though they hold lesson-like files (these cannot be
    # committed as resources: .gitignore hides them)
    for folder in (
        ".venv/lib",
        "__pycache__",
        "venv",
        "env",
        "node_modules/x",
        "build",
        "dist.old",
    ):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "copy.py").write_text(clone, encoding="utf-8")
    (root / "myenv").mkdir()
    (root / "myenv/pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (root / "myenv/copy.py").write_text(clone, encoding="utf-8")
    opened = open_workshop(root)
    assert opened.workshop is not None, [str(d) for d in opened.diagnostics]
    assert [lesson.relpath for lesson in opened.workshop.lessons] == ["lessons/intro/intro.py"]
    assert opened.lesson_count == 1


def test_no_workshop_toml_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(["check", tmp_path])
    assert result.exit_code == 2
    assert "no workshop.toml here or in any parent folder" in result.stderr


def test_a_workshop_without_lessons_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "workshop.toml").write_text('title = "Empty"\n', encoding="utf-8")
    result = invoke(["check", tmp_path])
    assert result.exit_code == 2
    assert "no lessons found" in result.stderr


# -- unit checks of the validation helpers -------------------------------------------------------


@pytest.mark.parametrize(
    ("ident", "problem"),
    [
        ("intro", None),
        ("a", None),
        ("0-basics", None),
        ("a" * 64, None),
        ("a" * 65, "must match"),
        ("a" * 300, "must match"),
        ("con", "reserved"),
        ("aux", "reserved"),
        ("nul", "reserved"),
        ("com1", "reserved"),
        ("lpt9", "reserved"),
        ("console", None),
        ("CON", "must match"),
        ("intro\x00", "NUL"),
        ("../../x", "must match"),
        ("/abs", "must match"),
        ("a\\..\\b", "must match"),
        ("-intro", "must match"),
        ("intro_1", "must match"),
        ("café", "must match"),
        ("", "must match"),
    ],
)
def test_id_problem(ident: str, problem: str | None) -> None:
    found = id_problem(ident)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.parametrize(
    ("stem", "slug"),
    [
        ("Linear Regression", "linear-regression"),
        ("01_numpy_basics", "01-numpy-basics"),
        ("Café crème", "cafe-creme"),
        ("--x--", "x"),
        ("a" * 80, "a" * 64),
    ],
)
def test_slugify(stem: str, slug: str) -> None:
    assert slugify(stem) == slug


def test_id_key_folds_case_and_unicode_form() -> None:
    assert id_key("Intro") == id_key("intro")
    assert id_key("caf\u00e9") == id_key("cafe\u0301")
    assert id_key("intro") != id_key("intro-2")


def _source(tmp_path: Path, header: str, body: str = "# %%\nx = 1\n") -> LessonSource:
    text = (
        "# ---\n# jupyter:\n"
        "#   kernelspec: {display_name: Python 3, language: python, name: python3}\n"
        "#   workshopkit:\n"
        + "".join(f"#     {line}\n" for line in header.splitlines())
        + "# ---\n\n"
        + body
    )
    path = tmp_path / "lesson.py"
    path.write_text(text, encoding="utf-8")
    loaded = load_lesson(path, tmp_path)
    assert loaded.source is not None, loaded.diagnostics
    assert not loaded.diagnostics, loaded.diagnostics
    return loaded.source


def test_a_valid_lesson_gets_every_field(tmp_path: Path) -> None:
    source = _source(
        tmp_path,
        "id: fit-a-line\ntitle: '  Fit a line  '\nlevel: intermediate\nminutes: 30\n"
        "tags: [numpy, regression]\nrequires: numpy-basics\nobjectives: [Fit, Read]\n"
        "kind: talk\nresources: {gpu: true}",
    )
    lesson, diagnostics = check_lesson(source)
    assert diagnostics == []
    assert lesson is not None
    meta = lesson.meta
    assert (meta.id, meta.title, meta.level.value, meta.minutes) == (
        "fit-a-line",
        "Fit a line",
        "intermediate",
        30,
    )
    assert meta.tags == ("numpy", "regression")
    assert meta.requires == ("numpy-basics",)
    assert meta.objectives == ("Fit", "Read")
    assert (meta.kind, meta.gpu) == ("talk", True)
    assert lesson.kernel == "python3"
    assert lesson.line_of("minutes") == 8


def test_the_id_defaults_to_the_slugified_file_stem(tmp_path: Path) -> None:
    source = _source(tmp_path, "title: T\nlevel: beginner\nminutes: 5")
    lesson, _ = check_lesson(source)
    assert lesson is not None and lesson.id == "lesson"


@pytest.mark.parametrize(
    ("header", "line", "message"),
    [
        ("title: T\nlevel: beginner\nminutes: 5\nkind: keynote", 8, "unknown kind 'keynote'"),
        (
            "title: T\nlevel: beginner\nminutes: 5\nresources: {gpus: 1}",
            8,
            "unknown key 'gpus' in 'resources'",
        ),
        ("title: T\nlevel: beginner\nminutes: 5\nresources: {gpu: 1}", 8, "true or false"),
        ("title: T\nlevel: beginner\nminutes: 5\ntags: {a: 1}", 8, "list of strings"),
        ("title: ''\nlevel: beginner\nminutes: 5", 5, "missing 'title'"),
        ("level: beginner\nminutes: 5", 4, "missing 'title'"),
        ("title: T\nlevel: Beginner\nminutes: 5", 6, "unknown level 'Beginner'"),
    ],
)
def test_block_errors_name_their_key_line(
    tmp_path: Path, header: str, line: int, message: str
) -> None:
    lesson, diagnostics = check_lesson(_source(tmp_path, header))
    assert lesson is None
    assert [(d.line, d.severity) for d in diagnostics] == [(line, Severity.ERROR)]
    assert message in diagnostics[0].message


def test_cell_warnings_do_not_fail_a_lesson(tmp_path: Path) -> None:
    body = (
        '# %% tags=["parameters"]\nn = 1\n\n# %% tags=["parameters"]\nm = 2\n\n'
        '# %% [markdown] tags=["raises-exception"]\n# text\n'
    )
    lesson, diagnostics = check_lesson(
        _source(tmp_path, "title: T\nlevel: beginner\nminutes: 5", body)
    )
    assert lesson is not None
    assert [(d.line, d.severity) for d in diagnostics] == [
        (13, Severity.WARNING),
        (16, Severity.WARNING),
    ]
    assert "second 'parameters' cell" in diagnostics[0].message
    assert "no effect on a markdown cell" in diagnostics[1].message


def test_a_region_that_cuts_a_statement_is_reported_at_check(tmp_path: Path) -> None:
    body = (
        '# %% tags=["exercise"]\nx = 1\nif x:\n    # BEGIN SOLUTION\n    y = 1\nelse:\n'
        "    # END SOLUTION\n    y = 2\n"
    )
    lesson, diagnostics = check_lesson(
        _source(tmp_path, "title: T\nlevel: beginner\nminutes: 5", body)
    )
    assert lesson is None
    assert [(d.line, d.severity) for d in diagnostics] == [(13, Severity.ERROR)]
    assert "cuts a statement in half" in diagnostics[0].message


def test_solution_tag_variants_warn_and_near_misses_fail(tmp_path: Path) -> None:
    body = '# %% tags=["Solution"]\nw = 1\n\n# %%\n# BEGIN SOLUTIONS\nx = 2\n'
    lesson, diagnostics = check_lesson(
        _source(tmp_path, "title: T\nlevel: beginner\nminutes: 5", body)
    )
    assert lesson is None
    assert [(d.line, d.severity) for d in diagnostics] == [
        (10, Severity.WARNING),
        (14, Severity.ERROR),
    ]
    assert "did you mean 'solution'?" in diagnostics[0].message
    assert "'# BEGIN SOLUTIONS' is not a solution marker" in diagnostics[1].message


@pytest.mark.parametrize(
    "header",
    [
        'id: "abc\\n"',  # `$` in the old pattern matched before a trailing newline
        'id: "abc\\r\\n"',
        "id: |\n  abc",  # a YAML block scalar keeps the newline
        'id: "\\nabc"',
    ],
)
def test_an_id_with_a_line_break_is_refused(tmp_path: Path, header: str) -> None:
    lesson, diagnostics = check_lesson(
        _source(tmp_path, f"{header}\ntitle: T\nlevel: beginner\nminutes: 5")
    )
    assert lesson is None
    (problem,) = diagnostics
    assert problem.line == 5 and "must match" in problem.message


def test_check_refuses_an_id_with_a_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "workshop.toml").write_text(
        'title = "T"\n[[tracks]]\nid = "all\\n"\nlevels = ["beginner"]\n', encoding="utf-8"
    )
    lesson = (RESOURCES / "missing_level" / "lessons" / "intro.py").read_text(encoding="utf-8")
    (tmp_path / "intro.py").write_text(
        lesson.replace("workshopkit:", 'workshopkit:\n#     id: "intro\\n"\n#     level: beginner'),
        encoding="utf-8",
    )
    result = invoke(["check", tmp_path])
    assert result.exit_code == 2 and result.exception is None
    assert "intro.py:5: error: lesson id 'intro\\n' must match" in result.stderr
    assert "workshop.toml:3: error: track id 'all\\n' must match" in result.stderr


def _chain_lesson(ident: str, requires: tuple[str, ...]) -> Lesson:
    meta = LessonMeta(id=ident, title=ident, level=Level.BEGINNER, minutes=5, requires=requires)
    return Lesson(Path(f"/w/{ident}.py"), f"{ident}.py", meta, (), "", key_lines={"requires": 9})


def test_a_long_chain_of_prerequisites_is_checked_without_recursion() -> None:
    """Each lesson requires the one before: 20,000 deep (the old recursive search overflowed
    the stack at about 1,000)."""
    ids = [f"l{i}" for i in range(20_000)]
    lessons = [_chain_lesson(ids[0], ())]
    lessons += [_chain_lesson(ident, (ids[i],)) for i, ident in enumerate(ids[1:])]
    assert check_requires(lessons) == []
    looped = [_chain_lesson(ids[0], (ids[-1],)), *lessons[1:]]
    (cycle,) = check_requires(looped)
    assert cycle.message.startswith("prerequisites form a cycle: l0 -> l19999 -> l19998")


@pytest.mark.parametrize(
    "body",
    [
        '# %% tags="' + "x" * 1_000_000 + '"\nx = 1\n',
        '# %% slideshow="' + "y" * 1_000_000 + '"\nx = 1\n',
        '# %% slideshow={"slide_type": "' + "z" * 1_000_000 + '"}\nx = 1\n',
    ],
)
def test_a_huge_value_gives_a_short_message(tmp_path: Path, body: str) -> None:
    _, diagnostics = check_lesson(_source(tmp_path, "title: T\nlevel: beginner\nminutes: 5", body))
    (problem,) = diagnostics
    assert len(problem.message) < 300
