"""The lesson scanner agrees with `jupytext.reads(text, fmt="py:percent")`, and knows its lines.

`workshopkit.load` reads lessons without importing jupytext (to keep `check` fast), so it must
give exactly the notebook's cells: the same number, types, metadata (minus jupytext's own layout
keys) and sources. It is compared with jupytext on every lesson in the repository's scenarios and
templates, on the synthetic benchmark workload, on tricky hand-written cases and on random files.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Sequence
from pathlib import Path

import jupytext
import nbformat
import pytest
from cli_support import REPO, RESOURCES, TEMPLATES, scenario

from workshopkit.discover import is_lesson
from workshopkit.load import (
    SOURCE_KEY,
    LessonSource,
    has_workshopkit_block,
    load_lesson,
    parse_cell_options,
    parse_header,
    read_text,
    scan_cells,
    to_notebook,
)
from workshopkit.model import Cell, Lesson, Severity
from workshopkit.pipeline import open_workshop

# jupytext's own layout keys: how to write the cell back, not what it is
LAYOUT_KEYS = {"lines_to_next_cell", "lines_to_end_of_cell_marker", "cell_marker"}
HEADER = """\
# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit: {title: Tricky, level: beginner, minutes: 5}
# ---

"""  # the first cell starts on line 7
FIRST = 7


def assert_agrees_with_jupytext(cells: Sequence[Cell], text: str) -> None:
    nb = jupytext.reads(text, fmt="py:percent")
    theirs = [
        (c.cell_type, {k: v for k, v in c.metadata.items() if k not in LAYOUT_KEYS}, c.source)
        for c in nb.cells
    ]
    ours = [(c.cell_type, dict(c.metadata), c.source) for c in cells]
    assert ours == theirs
    assert [c.index for c in cells] == list(range(len(cells)))


def scan(text: str) -> tuple[tuple[Cell, ...], list[str]]:
    """Cells and diagnostics of a lesson text (no BOM, `\\n` line ends)."""
    lines = text.splitlines()
    _, _, _, first, problem = parse_header(lines, "lesson.py")
    assert problem is None, problem
    cells, diagnostics = scan_cells(lines, first, "lesson.py")
    return cells, [str(d) for d in diagnostics]


def lesson_files() -> list[Path]:
    """Every lesson in the repository that loads without errors: scenarios, templates, example."""
    candidates = [
        *sorted(RESOURCES.rglob("*.py")),
        TEMPLATES / "lesson.py",
        *sorted((TEMPLATES / "workshop").rglob("*.py")),
        *sorted((REPO / "workshops").rglob("*.py")),
    ]
    found = []
    for path in candidates:
        if not is_lesson(path):
            continue
        loaded = load_lesson(path, REPO)
        if loaded.source is not None and not any(d.is_error for d in loaded.diagnostics):
            found.append(path)
    return found


LESSONS = lesson_files()


def test_the_repository_has_lessons_to_compare() -> None:
    names = {p.relative_to(REPO).as_posix() for p in LESSONS}
    assert "templates/lesson.py" in names
    assert "templates/workshop/lessons/01-welcome/welcome.py" in names
    assert "tests/resources/bom_and_crlf/lessons/crlf.py" in names
    assert len([n for n in names if n.startswith("tests/resources/")]) >= 20


def assert_notebook_agrees_with_jupytext(source: LessonSource | Lesson) -> None:
    """The notebook that execution and export use is the one jupytext would read."""
    theirs = jupytext.reads(source.text, fmt="py:percent")
    ours = to_notebook(source)
    nbformat.validate(ours)
    assert [c.metadata.pop(SOURCE_KEY)["cell"] for c in ours.cells] == list(
        range(1, len(ours.cells) + 1)
    )
    for cell in theirs.cells:
        for key in LAYOUT_KEYS:
            cell.metadata.pop(key, None)
    assert [(c.cell_type, c.source, c.metadata) for c in ours.cells] == [
        (c.cell_type, c.source, c.metadata) for c in theirs.cells
    ]
    # jupytext's own bookkeeping (it rewrites a header's `jupytext:` key), stripped from exports
    theirs.metadata.pop("jupytext", None)
    ours.metadata.pop("jupytext", None)
    assert ours.metadata == theirs.metadata
    assert (ours.nbformat, ours.nbformat_minor) == (theirs.nbformat, theirs.nbformat_minor)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_repository_lessons_agree_with_jupytext(path: Path) -> None:
    source = load_lesson(path, REPO).source
    assert source is not None
    assert_agrees_with_jupytext(source.cells, source.text)
    assert_notebook_agrees_with_jupytext(source)


def test_synthetic_workload_agrees_with_jupytext(synthetic_workshop: Path) -> None:
    opened = open_workshop(synthetic_workshop)
    assert opened.workshop is not None, [str(d) for d in opened.diagnostics]
    assert len(opened.workshop.lessons) == 24
    for lesson in opened.workshop.lessons:
        assert_agrees_with_jupytext(lesson.cells, lesson.text)
        assert_notebook_agrees_with_jupytext(lesson)
        # and jupytext reading the file itself (not our normalised text) gives the same cells
        nb = jupytext.read(lesson.path, fmt="py:percent")
        assert len(nb.cells) == len(lesson.cells)


# -- tricky cases: exact cells, and agreement with jupytext ---------------------------------------

# (name, body after the header, [(cell_type, marker_line, body_line, source, metadata)])
TRICKY: list[tuple[str, str, list[tuple[str, int, int, str, dict[str, object]]]]] = [
    (
        "marker inside a triple-quoted string",
        '# %%\nx = """\n# %% not a marker\n"""\n\n# %%\ny = 2\n',
        [
            ("code", 7, 8, 'x = """\n# %% not a marker\n"""', {}),
            ("code", 12, 13, "y = 2", {}),
        ],
    ),
    (
        "marker inside a single-quoted triple string",
        "# %%\ns = '''\n    # %%\n'''\n",
        [("code", 7, 8, "s = '''\n    # %%\n'''", {})],
    ),
    (
        "marker inside a markdown code fence",
        "# %% [markdown]\n# ```python\n# %% inside a fence\n# ```\n\n# %%\ny = 1\n",
        [
            ("markdown", 7, 8, "```python\n%% inside a fence\n```", {}),
            ("code", 12, 13, "y = 1", {}),
        ],
    ),
    (
        "a tilde fence closed by a longer fence",
        "# %% [markdown]\n# ~~~\n# %% in\n# ~~~~~\n# %% out\n",
        [("markdown", 7, 8, "~~~\n%% in\n~~~~~", {}), ("code", 11, 12, "", {"title": "out"})],
    ),
    (
        "an indented marker still starts a cell",
        "# %%\nif True:\n    # %% indented\n    x = 1\n",
        [
            ("code", 7, 8, "if True:", {}),
            ("code", 9, 10, "    x = 1", {"title": "indented"}),
        ],
    ),
    (
        "two blank lines between cells are dropped",
        "# %%\nx = 1\n\n\n# %%\ny = 2\n",
        [("code", 7, 8, "x = 1", {}), ("code", 11, 12, "y = 2", {})],
    ),
    (
        "three blank lines keep two",
        "# %%\nx = 1\n\n\n\n# %%\ny = 2\n",
        [("code", 7, 8, "x = 1\n\n", {}), ("code", 12, 13, "y = 2", {})],
    ),
    (
        "a blank line after the marker is kept",
        "# %%\n\nx = 1\n",
        [("code", 7, 8, "\nx = 1", {})],
    ),
    (
        "a title before the options",
        '# %% My title tags=["x"]\nx = 1\n',
        [("code", 7, 8, "x = 1", {"title": "My title", "tags": ["x"]})],
    ),
    (
        "[md] is markdown",
        "# %% [md]\n# hello\n",
        [("markdown", 7, 8, "hello", {"region_name": "md"})],
    ),
    (
        "[raw]",
        "# %% [raw]\n# raw text\n",
        [("raw", 7, 8, "raw text", {})],
    ),
    (
        "JSON object options",
        '# %% {"tags": ["a"], "slideshow": {"slide_type": "skip"}}\nx = 1\n',
        [("code", 7, 8, "x = 1", {"tags": ["a"], "slideshow": {"slide_type": "skip"}})],
    ),
    (
        "markdown with slideshow options",
        '# %% [markdown] slideshow={"slide_type": "notes"}\n# Notes\n',
        [("markdown", 7, 8, "Notes", {"slideshow": {"slide_type": "notes"}})],
    ),
    (
        "Python literal options and a bare key",
        "# %% tags=['a'] hide\nx = 1\n",
        [("code", 7, 8, "x = 1", {"tags": ["a"], "hide": None})],
    ),
    (
        "a first cell without a marker",
        "import os\n\n# %%\nx = 1\n",
        [("code", 7, 7, "import os", {}), ("code", 9, 10, "x = 1", {})],
    ),
    (
        "commented magics are uncommented",
        "# %%\n# %matplotlib inline\n# !pip list\n# a plain comment\nx = 1\n",
        [("code", 7, 8, "%matplotlib inline\n!pip list\n# a plain comment\nx = 1", {})],
    ),
    (
        "alternative markers",
        "# In[1]:\nx = 1\n\n# <codecell>\ny = 2\n",
        [("code", 7, 8, "x = 1", {}), ("code", 10, 11, "y = 2", {})],
    ),
    (
        "a markdown cell written as a string",
        '# %% [markdown]\n"""\nSome *text*\n"""\n\n# %%\nx = 1\n',
        [("markdown", 7, 8, "Some *text*", {}), ("code", 12, 13, "x = 1", {})],
    ),
    (
        "sub-cells",
        "# %%% Part\nx = 1\n",
        [("code", 7, 8, "x = 1", {"cell_depth": 1, "title": "Part"})],
    ),
    (
        "no trailing newline",
        "# %%\nx = 1",
        [("code", 7, 8, "x = 1", {})],
    ),
    (
        "trailing blank lines: jupytext drops two of four",
        "# %%\nx = 1\n\n\n\n",
        [("code", 7, 8, "x = 1\n\n", {})],
    ),
]


@pytest.mark.parametrize(("body", "expected"), [c[1:] for c in TRICKY], ids=[c[0] for c in TRICKY])
def test_tricky_cells(
    body: str, expected: list[tuple[str, int, int, str, dict[str, object]]]
) -> None:
    text = HEADER + body
    cells, _ = scan(text)
    assert [
        (c.cell_type, c.marker_line, c.body_line, c.source, dict(c.metadata)) for c in cells
    ] == expected
    assert_agrees_with_jupytext(cells, text)


def test_body_line_is_the_line_of_the_first_source_line(tmp_path: Path) -> None:
    """Execution adds the line inside a cell to `body_line`: check it on every line of a lesson."""
    path = TEMPLATES / "lesson.py"
    source = load_lesson(path, TEMPLATES).source
    assert source is not None
    file_lines = source.text.split("\n")
    for cell in source.cells:
        if cell.cell_type != "code":
            continue
        assert file_lines[cell.marker_line - 1].lstrip().startswith("# %%")
        for offset, line in enumerate(cell.source.split("\n")):
            assert file_lines[cell.body_line - 1 + offset] == line


@pytest.mark.parametrize("seed", range(4))
def test_random_lessons_agree_with_jupytext(seed: int) -> None:
    """Random files built from tricky fragments: strings, fences, markers, magics, options."""
    fragments = [
        "# %%", "# %% [markdown]", "# %% [md]", "# %% [raw]", '# %% tags=["a"]', "# %% title",
        "    # %%", '"""', "'''", 'x = """', 's = "# %%"', "x = 1", "", "", "", "  ", "# ```",
        "# ~~~", "```", "# ```python", "# ````", "# %matplotlib inline", "# !ls", "# ls", "# why?",
        "#", "# # Title", "# hello", "x = '''a'''", "'", '"', "\\", '# %% {"tags": ["x"]}',
        '# %% active="py"', "# %% tags=['a'] hide", "# %%% sub", "# In[1]:", "# <codecell>",
        "# # +", "# +", 'r"""', '# %% tags=["x"', "a = 1 # %%", "def f():", "    return 1",
        '# %% [markdown] slideshow={"slide_type": "notes"}', '# %% cell_type="markdown"',
        "x = 'it''s'", '""""',
    ]  # fmt: skip
    noise = ["#", " ", "%", "%%", '"', "'", "\\", "`", "```", "~~~", "[", "]", "=", "{", "}", "x"]
    rng = random.Random(seed)
    for _ in range(300):
        body = "\n".join(
            "".join(rng.choice(noise) for _ in range(rng.randint(0, 8)))
            if rng.random() < 0.3
            else rng.choice(fragments)
            for _ in range(rng.randint(1, 16))
        )
        text = HEADER + rng.choice(["", "\n"]) + body + rng.choice(["", "\n", "\n\n", "\n\n\n"])
        cells, _ = scan(text)
        assert_agrees_with_jupytext(cells, text)


# -- diagnostics and details ---------------------------------------------------------------------


def test_bad_cell_options_are_an_error_on_their_line() -> None:
    cells, diagnostics = scan(HEADER + '# %% tags=["x"\nx = 1\n\n# %% {"a": }\ny = 2\n')
    assert diagnostics == [
        "lesson.py:7: error: cannot parse the cell options 'tags=[\"x\"': expected key=value "
        'pairs with JSON values, e.g. tags=["exercise"] (is a bracket or quote missing?)',
        "lesson.py:10: error: cannot parse the cell options '{\"a\": }': expected key=value "
        'pairs with JSON values, e.g. tags=["exercise"] (is a bracket or quote missing?)',
    ]
    assert len(cells) == 2


def test_an_indented_marker_is_a_warning() -> None:
    _, diagnostics = scan(HEADER + "# %%\ndef f():\n    # %%\n    return 1\n")
    assert len(diagnostics) == 1
    assert diagnostics[0].startswith("lesson.py:9: warning: this indented '# %%' starts a new cell")


def test_a_cell_language_other_than_python_is_refused() -> None:
    _, diagnostics = scan(HEADER + '# %% language="bash"\nls\n')
    assert diagnostics and "language='bash' is not supported" in diagnostics[0]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("", ("code", {})),
        (" [markdown]", ("markdown", {})),
        (' tags=["a", "b"]', ("code", {"tags": ["a", "b"]})),
        (
            ' [markdown] slideshow={"slide_type": "fragment"}',
            ("markdown", {"slideshow": {"slide_type": "fragment"}}),
        ),
        (" Title [raw]", ("raw", {"title": "Title"})),
        (' {"tags": ["x"]}', ("code", {"tags": ["x"]})),
        (' tags=["x"', None),
        (" {not json", None),
        (" [1, 2]", ("code", {"title": "[1, 2]"})),
        (' active="ipynb"', ("code", {"active": "ipynb"})),
        (' active="py"', ("raw", {"active": "py"})),
    ],
)
def test_parse_cell_options(options: str, expected: tuple[str, dict[str, object]] | None) -> None:
    assert parse_cell_options(options) == expected


def test_shebang_and_coding_lines_may_precede_the_header(tmp_path: Path) -> None:
    path = tmp_path / "lesson.py"
    text = "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n" + HEADER + "# %%\nx = 1\n"
    path.write_text(text, encoding="utf-8")
    loaded = load_lesson(path, tmp_path)
    assert loaded.source is not None and loaded.diagnostics == ()
    assert loaded.source.header_line == 3
    assert [c.marker_line for c in loaded.source.cells] == [FIRST + 2]
    assert_agrees_with_jupytext(loaded.source.cells, text)


def test_a_coding_line_other_than_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lesson.py"
    path.write_text("# -*- coding: latin-1 -*-\n" + HEADER + "# %%\nx = 1\n", encoding="utf-8")
    loaded = load_lesson(path, tmp_path)
    assert loaded.source is None
    assert [str(d) for d in loaded.diagnostics] == [
        "lesson.py:1: error: coding 'latin-1': jupytext only reads files declared "
        "'# -*- coding: utf-8 -*-' (save the file as UTF-8 and fix or remove this line)"
    ]


def test_one_blank_or_empty_comment_line_after_the_header_belongs_to_it() -> None:
    for separator in ("\n", "#\n", "# \n", ""):
        text = HEADER.rstrip("\n") + "\n" + separator + "# %%\nx = 1\n"
        cells, _ = scan(text)
        assert len(cells) == 1
        assert_agrees_with_jupytext(cells, text)
    # a second blank line makes jupytext add an empty code cell; so do we
    text = HEADER + "\n# %%\nx = 1\n"
    cells, _ = scan(text)
    assert [c.source for c in cells] == ["", "x = 1"]
    assert_agrees_with_jupytext(cells, text)


def test_bom_and_crlf_read_exactly_like_the_plain_file(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(scenario("bom_and_crlf"), root)
    raw = (root / "lessons/crlf.py").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    plain = tmp_path / "plain"
    shutil.copytree(root, plain)
    (plain / "lessons/crlf.py").write_bytes(raw[3:].replace(b"\r\n", b"\n"))
    (plain / "workshop.toml").write_bytes(
        (root / "workshop.toml").read_bytes()[3:].replace(b"\r\n", b"\n")
    )
    first, second = open_workshop(root), open_workshop(plain)
    assert first.workshop is not None and second.workshop is not None
    (a,), (b,) = first.workshop.lessons, second.workshop.lessons
    assert a.text == b.text
    assert a.meta == b.meta
    assert a.cells == b.cells
    assert [dict(c.metadata) for c in a.cells] == [dict(c.metadata) for c in b.cells]
    assert a.key_lines == b.key_lines
    assert first.workshop.config.title == second.workshop.config.title
    assert first.workshop.config.execution == second.workshop.config.execution
    nb_a, nb_b = to_notebook(a), to_notebook(b)
    for cell in (*nb_a.cells, *nb_b.cells):
        del cell["id"]  # random
    assert nb_a.cells == nb_b.cells


def test_read_text_reports_the_line_and_column_of_a_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_bytes(b"ok\nalso ok\nna\xefve\n")
    text, problem = read_text(path, "x.py")
    assert text is None and problem is not None
    assert str(problem) == (
        "x.py:3: error: not UTF-8: byte 0xef in column 3, which is 'ï' in Windows-1252/Latin-1; "
        "save the file as UTF-8"
    )


def test_to_notebook_locates_every_cell() -> None:
    source = load_lesson(TEMPLATES / "lesson.py", TEMPLATES).source
    assert source is not None
    opened = open_workshop(TEMPLATES / "workshop")
    assert opened.workshop is not None
    lesson = opened.workshop.lessons[0]
    nb = to_notebook(lesson)
    assert [c.metadata[SOURCE_KEY] for c in nb.cells] == [
        {"line": c.body_line, "cell": c.number} for c in lesson.cells
    ]
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["workshopkit"]["id"] == "welcome"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# ---\n# jupyter:\n#   workshopkit:\n#     level: beginner\n# ---\n", True),
        ("\ufeff# ---\n# jupyter:\n#   workshopkit: {level: beginner}\n# ---\n", True),
        ("# ---\r\n# jupyter:\r\n#   workshopkit:\r\n# ---\r\n", True),
        ("# ---\n# jupyter: {workshopkit: {level: beginner}}\n# ---\n", True),
        ("\n\n# ---\n# jupyter:\n#   workshopkit:\n# ---\n", True),  # load reports the blank lines
        ("# ---\n# jupyter:\n#   kernelspec: {name: python3}\n# ---\n", False),
        ("# ---\n# jupyter:\n#   kernelspec: {name: python3}\n# ---\n# workshopkit: x\n", False),
        ('"""workshopkit: a helper module"""\n', False),
        ("import os\n", False),
        ("", False),
    ],
)
def test_has_workshopkit_block(text: str, expected: bool) -> None:
    assert has_workshopkit_block(text) is expected


def test_line_break_characters_are_errors_on_their_line(tmp_path: Path) -> None:
    path = tmp_path / "lesson.py"
    path.write_text(HEADER + "# %%\nx = 1  \x0c\ns = 'a\u2029b'\n", encoding="utf-8")
    loaded = load_lesson(path, tmp_path)
    assert [(d.line, d.severity) for d in loaded.diagnostics] == [
        (8, Severity.ERROR),
        (9, Severity.ERROR),
    ]
    assert "U+000C" in loaded.diagnostics[0].message
    assert "U+2029" in loaded.diagnostics[1].message


# -- hostile headers: aliases and values a notebook cannot hold (issue 13) ---------------------

BOMB = "\n".join(
    [
        "# ---",
        "# jupyter:",
        '#   a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"#   {name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "#   workshopkit:",
        "#     title: Bomb",
        "#     level: beginner",
        "#     minutes: 5",
        "#     {key}: *i",
        "# ---",
        "",
        "# %%",
        "x = 1",
        "",
    ]
)


@pytest.mark.parametrize("key", ["tags", "objectives"])
def test_a_yaml_alias_bomb_is_refused_at_its_line(tmp_path: Path, key: str) -> None:
    path = tmp_path / "bomb.py"
    path.write_text(BOMB.format(key=key), encoding="utf-8")
    assert len(BOMB) < 1000  # 9**9 strings once expanded
    loaded = load_lesson(path, tmp_path)
    assert loaded.source is None
    (problem,) = loaded.diagnostics
    assert (problem.line, problem.severity) == (4, Severity.ERROR)  # the first alias
    assert "aliases" in problem.message and len(str(problem)) < 200


@pytest.mark.parametrize(
    ("yaml_lines", "line"),
    [
        (["#   base: &base {title: T}", "#   workshopkit:", "#     <<: *base"], 5),
        (["#   workshopkit: &w {title: T}", "#   other: *w"], 4),
        (["#   kernelspec: &k {name: python3}", "#   again: [*k]"], 4),
    ],
)
def test_every_alias_is_refused(tmp_path: Path, yaml_lines: list[str], line: int) -> None:
    path = tmp_path / "alias.py"
    path.write_text("# ---\n# jupyter:\n" + "\n".join(yaml_lines) + "\n# ---\n\n# %%\nx = 1\n")
    (problem,) = load_lesson(path, tmp_path).diagnostics
    assert problem.line == line and "aliases" in problem.message


def test_an_anchor_without_an_alias_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "anchor.py"
    path.write_text(HEADER.replace("{title: Tricky", "&w {title: Tricky") + "# %%\nx = 1\n")
    loaded = load_lesson(path, tmp_path)
    assert loaded.source is not None and loaded.diagnostics == ()


def test_the_cli_refuses_a_bomb_quickly_and_briefly(tmp_path: Path) -> None:
    from cli_support import invoke

    (tmp_path / "workshop.toml").write_text('title = "T"\n', encoding="utf-8")
    (tmp_path / "bomb.py").write_text(BOMB.format(key="tags"), encoding="utf-8")
    result = invoke(["check", tmp_path])
    assert result.exit_code == 2 and result.exception is None
    assert len(result.stderr) < 500, len(result.stderr)
    assert "bomb.py:4: error: YAML aliases" in result.stderr


@pytest.mark.parametrize(
    ("yaml_line", "words"),
    [
        ("#   created: 2024-01-01", "'jupyter.created' is a date"),
        ("#   workshopkit: {title: T, when: 2024-01-01 10:00:00}", "a date and time"),
        ("#   blob: !!binary aGVsbG8=", "binary data"),
        ("#   things: !!set {a, b}", "a set"),
        ("#   odd: {1: one}", "a key that is not text"),
    ],
)
def test_header_values_a_notebook_cannot_hold_are_refused(
    tmp_path: Path, yaml_line: str, words: str
) -> None:
    path = tmp_path / "dated.py"
    path.write_text(f"# ---\n# jupyter:\n{yaml_line}\n# ---\n\n# %%\nx = 1\n", encoding="utf-8")
    (problem,) = load_lesson(path, tmp_path).diagnostics
    assert problem.line == 3 and words in problem.message and "quote it" in problem.message
