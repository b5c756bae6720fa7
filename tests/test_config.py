"""workshop.toml (DESIGN.md §3): defaults, every key, and a located diagnostic for every mistake."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from workshopkit.config import find_root, load_config, parse_parameter
from workshopkit.model import ExecutionConfig, Level, LightningRules, Severity


def load(tmp_path: Path, text: str, files: tuple[str, ...] = ()) -> tuple[object, list[str]]:
    for name in files:
        (tmp_path / name).write_text("", encoding="utf-8")
    path = tmp_path / "workshop.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    config, diagnostics = load_config(path)
    return config, [str(d) for d in diagnostics]


def test_a_minimal_config_gets_the_defaults(tmp_path: Path) -> None:
    config, diagnostics = load(tmp_path, 'title = "Minimal"\n')
    assert diagnostics == []
    assert config is not None
    assert config.title == "Minimal"  # type: ignore[attr-defined]
    assert config.root == tmp_path.resolve()  # type: ignore[attr-defined]
    assert config.execution == ExecutionConfig()  # type: ignore[attr-defined]
    assert config.tracks == () and config.events == ()  # type: ignore[attr-defined]
    assert config.requirements is None  # type: ignore[attr-defined]


def test_every_key_is_read(tmp_path: Path) -> None:
    config, diagnostics = load(
        tmp_path,
        """\
        title = "Full"
        description = "All of it"
        requirements = "requirements.txt"

        [execution]
        kernel = "python3"
        timeout = 30
        lesson_timeout = 300
        jobs = 3

        [execution.parameters]
        quick = true

        [[tracks]]
        id = "first"
        title = "First steps"
        description = "Beginners"
        levels = ["beginner", "intermediate"]
        tags = ["numpy"]

        [[tracks]]
        id = "listed"
        lessons = ["b", "a"]

        [[events]]
        id = "2026-12"
        title = "December"
        date = 2026-12-03
        start = "18:30"
        venue = "Room 1"
        minutes = 120
        lessons = ["a", "b"]
        speakers = { a = "Ada" }
        breaks = [{ after = "a", minutes = 10 }]
        lightning = { max_minutes = 4, max_slides = 5, must_show_code = false }
        """,
        files=("requirements.txt",),
    )
    assert diagnostics == []
    c = config
    assert c.description == "All of it" and c.requirements == "requirements.txt"  # type: ignore[attr-defined]
    assert c.execution == ExecutionConfig("python3", 30, 300, 3, {"quick": True})  # type: ignore[attr-defined]
    first, listed = c.tracks  # type: ignore[attr-defined]
    assert (first.id, first.title, first.description, first.line) == (
        "first",
        "First steps",
        "Beginners",
        14,
    )
    assert first.levels == (Level.BEGINNER, Level.INTERMEDIATE) and first.tags == ("numpy",)
    assert (listed.title, listed.lessons, listed.line) == ("listed", ("b", "a"), 21)
    (event,) = c.events  # type: ignore[attr-defined]
    assert (event.id, event.date, event.start, event.minutes, event.line) == (
        "2026-12",
        "2026-12-03",
        "18:30",
        120,
        25,
    )
    assert event.lessons == ("a", "b") and dict(event.speakers) == {"a": "Ada"}
    assert [(b.after, b.minutes, b.title) for b in event.breaks] == [("a", 10, "Break")]
    assert event.lightning == LightningRules(4, 5, False)
    assert c.line_of("execution.jobs") == 9  # type: ignore[attr-defined]
    assert c.line_of("tracks.1.lessons") == 23  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'title = "T"\nowner = "me"\n',
            [
                "workshop.toml:2: error: unknown key 'owner' in the top level; expected one of: "
                "title, description, requirements, execution, tracks, events, launch"
            ],
        ),
        (
            'title = "T"\n[execution]\ntimeout = 0\n',
            ["workshop.toml:3: error: 'timeout' must be a positive integer, not 0"],
        ),
        (
            'title = "T"\n[execution]\njobs = true\n',
            ["workshop.toml:3: error: 'jobs' must be a positive integer, not True"],
        ),
        (
            'title = "T"\n[execution]\nkernel = 3\n',
            ["workshop.toml:3: error: 'kernel' must be a kernel name, not 3"],
        ),
        (
            'title = "T"\nexecution = 3\n',
            ["workshop.toml:2: error: 'execution' must be a table, not 3"],
        ),
        (
            'title = "T"\nrequirements = "missing.txt"\n',
            ["workshop.toml:2: error: requirements file 'missing.txt' not found"],
        ),
        (
            'description = "no title"\n',
            ["workshop.toml:1: error: workshop.toml needs a 'title' (a string)"],
        ),
        ("title = 3\n", ["workshop.toml:1: error: 'title' must be a string, not 3"]),
        ('title = "  "\n', ["workshop.toml:1: error: 'title' must not be empty"]),
        (
            'title = "T"\n[[tracks]]\ntitle = "No id"\n',
            ["workshop.toml:2: error: every track needs an 'id'"],
        ),
        (
            'title = "T"\n[[tracks]]\nid = "a"\n[[tracks]]\nid = "a"\n',
            ["workshop.toml:5: error: duplicate track id 'a'"],
        ),
        (
            'title = "T"\n[[tracks]]\nid = "t"\nlevels = [\n  "beginner",\n  "expert",\n]\n',
            [
                "workshop.toml:6: error: unknown level 'expert' "
                "(expected beginner, intermediate, advanced)"
            ],
        ),
        (
            'title = "T"\ntracks = 3\n',
            ["workshop.toml:2: error: 'tracks' must be [[tracks]], not 3"],
        ),
        (
            'title = "T"\n[[events]]\nid = "e"\n',
            ["workshop.toml:2: error: an event needs 'lessons', the ordered list of its items"],
        ),
        (
            'title = "T"\n[[events]]\nid = "e"\nlessons = ["a"]\nstart = "7pm"\n',
            ["workshop.toml:5: error: 'start' must be a time like \"18:30\", not '7pm'"],
        ),
        (
            'title = "T"\n[[events]]\nid = "e"\nlessons = ["a"]\nlightning = { max_slides = 0 }\n',
            ["workshop.toml:5: error: 'max_slides' must be a positive integer, not 0"],
        ),
        (
            'title = "T"\n[[events]]\nid = "e"\nlessons = ["a"]\nbreaks = [{ after = "a" }]\n',
            ["workshop.toml:5: error: each break needs 'after' (a lesson id) and 'minutes'"],
        ),
        (
            'title = "T"\n[[events]]\nid = "e"\nlessons = ["a"]\nspeakers = { a = 1 }\n',
            ["workshop.toml:5: error: 'speakers' maps lesson ids to names (strings)"],
        ),
    ],
)
def test_mistakes_are_located(tmp_path: Path, text: str, expected: list[str]) -> None:
    _, diagnostics = load(tmp_path, text)
    assert diagnostics == expected


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('title = "T"\n\n[execution]\ntimeout = \n', 4, "invalid TOML: Invalid value"),
        ('title = "unclosed\n', 1, "invalid TOML: "),
        ('title = "T"\ntitle = "again"\n', 2, "invalid TOML: Cannot overwrite a value"),
        ('[[tracks]\nid = "x"\n', 1, "invalid TOML: "),
    ],
)
def test_toml_syntax_errors_name_their_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "workshop.toml"
    path.write_text(text, encoding="utf-8")
    config, diagnostics = load_config(path)
    assert config is None
    (d,) = diagnostics
    assert (d.path, d.line, d.severity) == ("workshop.toml", line, Severity.ERROR)
    assert d.message.startswith(message)
    assert "(at line" not in d.message


def test_a_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "workshop.toml"
    path.write_bytes(b'\xef\xbb\xbftitle = "T"\r\n[execution]\r\njobs = 4\r\n')
    config, diagnostics = load_config(path)
    assert diagnostics == [] and config is not None
    assert config.execution.jobs == 4
    assert config.line_of("execution.jobs") == 3


def test_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "workshop.toml"
    path.write_bytes('title = "Café"\n'.encode("latin-1"))
    config, diagnostics = load_config(path)
    assert config is None
    assert [str(d) for d in diagnostics] == ["workshop.toml:1: error: not UTF-8"]


def test_find_root_walks_up(tmp_path: Path) -> None:
    (tmp_path / "workshop.toml").write_text('title = "T"\n', encoding="utf-8")
    deep = tmp_path / "lessons" / "a"
    deep.mkdir(parents=True)
    (deep / "x.py").write_text("", encoding="utf-8")
    assert find_root(deep) == tmp_path.resolve()
    assert find_root(deep / "x.py") == tmp_path.resolve()
    assert find_root(tmp_path) == tmp_path.resolve()


def test_key_lines_cover_arrays_item_by_item(tmp_path: Path) -> None:
    config, _ = load(
        tmp_path,
        """\
        title = "T"  # comment with = sign
        [[tracks]]
        id = "a"
        lessons = ["x", 'y',  # two on one line
          "z",  # and one more
          # a comment line, then a string with a bracket in it
          "w]",
        ]
        tags = ["t"]
        """,
    )
    lines = config.key_lines  # type: ignore[attr-defined]
    assert lines["tracks.0.lessons"] == 4
    assert [lines[f"tracks.0.lessons.{i}"] for i in range(4)] == [4, 4, 5, 7]
    assert lines["tracks.0.tags"] == 9
    assert lines["tracks.0.tags.0"] == 9


def test_execution_env_names_environment_variables(tmp_path: Path) -> None:
    config, diagnostics = load(tmp_path, 'title = "T"\n[execution]\nenv = ["SEED", "_DATA_DIR2"]\n')
    assert diagnostics == []
    assert config.execution.env == ("SEED", "_DATA_DIR2")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'title = "T"\n[execution]\nenv = "SEED"\n',
            ["workshop.toml:3: error: 'env' must be a list like [\"SEED\"], not 'SEED'"],
        ),
        (
            'title = "T"\n[execution]\nenv = [\n  "SEED",\n  "2X",\n  "A-B",\n  3,\n]\n',
            [
                "workshop.toml:5: error: 'env' item '2X' is not an environment variable name "
                "(expected letters, digits and '_', not starting with a digit)",
                "workshop.toml:6: error: 'env' item 'A-B' is not an environment variable name "
                "(expected letters, digits and '_', not starting with a digit)",
                "workshop.toml:7: error: 'env' item 3 is not an environment variable name "
                "(expected letters, digits and '_', not starting with a digit)",
            ],
        ),
        (
            'title = "T"\n[execution]\nenv = ["SEED", "SEED"]\n',
            ["workshop.toml:3: error: 'env' names 'SEED' twice"],
        ),
        (
            'title = "T"\n[execution]\nenvs = ["SEED"]\n',
            [
                "workshop.toml:3: error: unknown key 'envs' in [execution] (did you mean 'env'?); "
                "expected one of: kernel, timeout, lesson_timeout, jobs, parameters, env, strict, "
                "kernel_start"
            ],
        ),
    ],
)
def test_execution_env_mistakes_are_located(tmp_path: Path, text: str, expected: list[str]) -> None:
    _, diagnostics = load(tmp_path, text)
    assert diagnostics == expected


# -- ids and names match as a whole (issue 13: "abc\n" passed check and crashed build) ----------


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('title = "T"\n[[tracks]]\nid = "abc\\n"\n', 3, "track id 'abc\\n' must match"),
        ('title = "T"\n[[tracks]]\nid = """abc\n"""\n', 3, "track id 'abc\\n' must match"),
        ('title = "T"\n[[events]]\nid = "e\\n"\nlessons = ["a"]\n', 3, "event id 'e\\n'"),
        ('title = "T"\n[[tracks]]\nid = "con"\n', 3, "reserved file name on Windows"),
        ('title = "T"\n[execution]\nenv = ["SEED\\n"]\n', 3, "not an environment variable"),
        (
            'title = "T"\n[[events]]\nid = "e"\nlessons = ["a"]\nstart = "18:30\\n"\n',
            5,
            "must be a time like",
        ),
    ],
)
def test_trailing_newlines_and_reserved_names_are_refused(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    _, diagnostics = load(tmp_path, text)
    assert len(diagnostics) == 1, diagnostics
    assert diagnostics[0].startswith(f"workshop.toml:{line}: error: ")
    assert words in diagnostics[0]


# -- the line finder -------------------------------------------------------------------------


def test_a_table_line_inside_a_multiline_string_is_text(tmp_path: Path) -> None:
    config, diagnostics = load(
        tmp_path,
        '''\
        title = "T"
        description = """
        [[tracks]]
        id = "fake"
        """
        notes = \'\'\'
        [[tracks]]
        \'\'\'
        [[tracks]]
        id = "real"
        levels = ["expert"]
        ''',
    )
    assert config.key_lines["tracks.0"] == 9  # type: ignore[attr-defined]
    assert "tracks.1" not in config.key_lines  # type: ignore[attr-defined]
    assert diagnostics == [
        "workshop.toml:6: error: unknown key 'notes' in the top level; expected one of: "
        "title, description, requirements, execution, tracks, events, launch",
        "workshop.toml:11: error: unknown level 'expert' (expected beginner, intermediate, "
        "advanced)",
    ]


def test_dotted_keys_and_inline_tables_have_lines(tmp_path: Path) -> None:
    _, diagnostics = load(
        tmp_path,
        """\
        title = "T"

        execution.timeout = 0
        "execution".jobs = -1

        [[events]]
        id = "e"
        lessons = ["a"]
        lightning = { max_slides = 6, max_minutes = 0 }
        breaks = [
          { after = "a", minutes = 5 },
          { after = "a", minutes = 0 },
        ]
        """,
    )
    assert diagnostics == [
        "workshop.toml:3: error: 'timeout' must be a positive integer, not 0",
        "workshop.toml:4: error: 'jobs' must be a positive integer, not -1",
        "workshop.toml:9: error: 'max_minutes' must be a positive integer, not 0",
        "workshop.toml:12: error: 'minutes' must be a positive integer, not 0",
        "workshop.toml:10: error: each break needs 'after' (a lesson id) and 'minutes'",
    ]


def test_nested_arrays_of_tables_have_lines(tmp_path: Path) -> None:
    config, _ = load(
        tmp_path,
        """\
        title = "T"
        [[events]]
        id = "a"
        lessons = ["x"]
        [[events]]
        id = "b"
        lessons = ["x"]
        [events.lightning]
        max_slides = 3
        """,
    )
    lines = config.key_lines  # type: ignore[attr-defined]
    assert (lines["events.0"], lines["events.1"], lines["events.1.lightning.max_slides"]) == (
        2,
        5,
        9,
    )
    assert config.events[1].lightning.max_slides == 3  # type: ignore[attr-defined]


def test_parameters_must_be_values_a_lesson_can_receive(tmp_path: Path) -> None:
    _, diagnostics = load(
        tmp_path,
        'title = "T"\n[execution.parameters]\nquick = true\nday = 2024-01-01\n',
    )
    assert diagnostics == [
        "workshop.toml:4: error: parameter 'day' is a date or time, which a lesson cannot "
        "receive; quote it to pass the text"
    ]


def test_strict_is_read(tmp_path: Path) -> None:
    config, diagnostics = load(tmp_path, 'title = "T"\n[execution]\nstrict = true\n')
    assert diagnostics == [] and config.execution.strict is True  # type: ignore[attr-defined]
    _, diagnostics = load(tmp_path, 'title = "T"\n[execution]\nstrict = "yes"\n')
    assert diagnostics == ["workshop.toml:3: error: 'strict' must be true or false, not 'yes'"]


# -- `-p name=value`, read as workshop.toml reads values -------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("quick=false", ("quick", False)),
        ("quick=true", ("quick", True)),
        ("quick=False", ("quick", False)),
        ("quick=True", ("quick", True)),
        ("n=5", ("n", 5)),
        ("n = 1_000", ("n", 1000)),
        ("rate=0.5", ("rate", 0.5)),
        ("rate=1e-3", ("rate", 0.001)),
        ('name="hello"', ("name", "hello")),
        ("name='hello'", ("name", "hello")),
        ('name=""', ("name", "")),
        ("names=['a', 'b']", ("names", ["a", "b"])),
        ('names=["a", "b"]', ("names", ["a", "b"])),
        ("opts={a = 1}", ("opts", {"a": 1})),
        ("opts={'a': 1}", ("opts", {"a": 1})),
        ("seed=None", ("seed", None)),
        ("x=(1, 2)", ("x", (1, 2))),
    ],
)
def test_parse_parameter(text: str, expected: tuple[str, Any]) -> None:
    assert parse_parameter(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("quick=Tru", "-p 'quick=\"Tru\"'"),
        ("word=hello", "quote it"),
        ("empty=", "-p 'empty=\"\"'"),
        ("x=1 2", "quote it"),
        ('x="a"\ny=2', "quote it"),
        ("day=2024-01-01", "is a date or time"),
        ("x={1, 2}", "is a set"),
        ("novalue", "name=value"),
        ("=3", "name=value"),
        ("1x=3", "name=value"),
        ("a b=3", "name=value"),
        ("class=3", "name=value"),
    ],
)
def test_parse_parameter_refuses(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        parse_parameter(text)


@pytest.mark.parametrize("command", ["run", "build"])
def test_a_bare_word_parameter_stops_the_command_with_exit_2(tmp_path: Path, command: str) -> None:
    from cli_support import TEMPLATES, invoke

    result = invoke([command, TEMPLATES / "workshop", "-p", "quick=Tru"])
    assert result.exit_code == 2 and result.exception is None
    assert "quick=Tru is not a value" in result.stderr and "quote it" in result.stderr
