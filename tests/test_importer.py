"""`workshopkit import`: notebooks written by hand as people write them (tests/resources/import_*)
become lessons that pass `check`, with their files beside them and what needs the author's eye
reported at the lines of the written lesson."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path

import jupytext
import nbformat
import pytest
from cli_support import RESOURCES, invoke
from helpers import open_ok, run_workshop

from workshopkit.importer import (
    FindingKind,
    ImportOptions,
    ImportResult,
    estimate_minutes,
    import_notebooks,
    title_from,
)
from workshopkit.model import Status
from workshopkit.starters import new_workshop

MESSY = RESOURCES / "import_messy" / "notebooks"
CLEANING = MESSY / "03.01-Data Cleaning.ipynb"
INTRO = MESSY / "02-intro.ipynb"
MYST = RESOURCES / "import_myst"
KERNELS = RESOURCES / "import_kernels"
BROKEN = RESOURCES / "import_broken"
DUPLICATES = RESOURCES / "import_duplicates"


def workshop(tmp_path: Path) -> Path:
    """A fresh workshop made by `workshopkit new workshop` (its starter lesson has id welcome)."""
    root = tmp_path / "ws"
    new_workshop(root)
    return root


def run_import(
    root: Path, *notebooks: Path, level: str | None = None, force: bool = False
) -> ImportResult:
    options = ImportOptions(to=root / "lessons", level=level, force=force, base=root)
    return import_notebooks(notebooks, options)


def lesson_line(root: Path, finding: object) -> str:
    diagnostic = finding.diagnostic  # type: ignore[attr-defined]
    lines = (root / diagnostic.path).read_text(encoding="utf-8").split("\n")
    return str(lines[diagnostic.line - 1])


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def write_notebook(path: Path, cells: Sequence[nbformat.NotebookNode], **metadata: object) -> Path:
    metadata.setdefault(
        "kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=list(cells), metadata=metadata), str(path))
    return path


# -- a messy notebook ----------------------------------------------------------------------------


def test_messy_notebooks_become_lessons_that_pass_check(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    result = run_import(root, CLEANING, INTRO)
    assert result.errors == ()
    assert int(result.exit_code) == 0
    assert [lesson.id for lesson in result.lessons] == ["03-01-data-cleaning", "02-intro"]
    opened = open_ok(root)
    # no error, no warning either (but the starter workshop's own placeholder text, and the
    # libraries the notebooks import, which the starter's empty requirements.txt lacks)
    missing = [d for d in opened.diagnostics if "no requirement in requirements.txt" in d.message]
    assert {d.message.split("'")[1] for d in missing} >= {"import pandas"}
    others = [d for d in opened.diagnostics if "starter" not in d.message and d not in missing]
    assert [str(d) for d in others] == []
    meta = {lesson.id: lesson.meta for lesson in opened.workshop.lessons}
    cleaning = meta["03-01-data-cleaning"]
    assert cleaning.title == "Cleaning messy data"  # the link, emphasis and HTML anchor removed
    assert (str(cleaning.level), cleaning.minutes, cleaning.objectives) == ("beginner", 10, ())
    assert meta["02-intro"].title == "02-intro"  # no heading at all: the file name
    assert files_under(root / "lessons" / "03-01-data-cleaning") == [
        "03-01-data-cleaning.py",
        "cleaning_tools.py",  # imported by the notebook
        "data/raw.csv",  # read by a string literal
        "images/chart.svg",  # markdown image
        "images/logo.png",  # <img src=...>
        "screen shot.png",  # a cell attachment, written out
        "shared/glossary.md",  # linked from outside the notebook's folder
        "shared/lookup.txt",  # read from outside the notebook's folder
    ]
    assert files_under(root / "lessons" / "02-intro") == ["02-intro.py", "data/raw.csv"]
    for name in ("data/raw.csv", "images/logo.png", "images/chart.svg"):
        copied = root / "lessons" / "03-01-data-cleaning" / name
        assert copied.read_bytes() == (MESSY / name).read_bytes()
    assert sorted(result.written) == sorted(
        [
            *(root / "lessons" / "03-01-data-cleaning").rglob("*.*"),
            *(root / "lessons" / "02-intro").rglob("*.*"),
        ]
    )


# What each finding in the messy notebooks is about: (kind, notebook cell, text of its lesson line).
EXPECTED_FINDINGS = [
    (FindingKind.ASSET, 2, "[glossary](shared/glossary.md)"),
    (FindingKind.ASSET, 5, 'lookup = open("shared/lookup.txt").read().split()'),
    (FindingKind.ERROR_OUTPUT, 7, "ratio = 1 / 0"),
    (FindingKind.CELL_MAGIC, 9, "# %%writefile notes.txt"),
    (FindingKind.REWRITTEN, 9, "## %% this line is part of the file"),
    (FindingKind.DOWNLOAD, 10, "# !pip install seaborn"),
    (FindingKind.DOWNLOAD, 10, 'urllib.request.urlretrieve("https://example.org/big.csv"'),
    (FindingKind.WIDGET, 11, "from ipywidgets import interact"),
    (FindingKind.INPUT, 12, 'name = input("Your name? ")'),
    (FindingKind.ABSOLUTE_PATH, 13, 'backup = pd.read_csv("/home/alice/backup.csv")'),
    (FindingKind.REWRITTEN, 14, "# ![screen](screen%20shot.png)"),
    (FindingKind.REWRITTEN, 15, "## %% a comment that looks like a cell marker"),
    (FindingKind.REWRITTEN, 18, "# ## Summary"),  # slide_type 'bogus' dropped
    (FindingKind.CELL_MAGIC, 3, "# %%timeit -n1 -r1"),
    (FindingKind.CELL_MAGIC, 4, "# %%capture captured"),
    (FindingKind.CELL_MAGIC, 6, "# %%bash"),
    (FindingKind.CELL_MAGIC, 7, "# %%writefile greeting.txt"),
    (FindingKind.CELL_MAGIC, 10, "# %%html"),
]


def test_findings_name_the_notebook_cell_and_point_at_the_lesson_line(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    result = run_import(root, CLEANING, INTRO)
    found = []
    for finding in result.findings:
        if finding.kind is FindingKind.LEVEL:
            assert str(finding) == (
                "lessons: warning: no --level given: every lesson imported is marked "
                "'beginner'; check the level in each header"
            )
            continue
        message = finding.diagnostic.message
        notebook, _, rest = message.partition(" cell ")
        assert notebook in (CLEANING.name, INTRO.name), message
        cell = int(rest.split(":")[0])
        found.append((finding.kind, cell, lesson_line(root, finding).strip()))
        assert finding.diagnostic.path.startswith("lessons/")
    unmatched = list(EXPECTED_FINDINGS)
    for kind, cell, line in found:
        match = next(e for e in unmatched if e[:2] == (kind, cell) and e[2] in line)
        unmatched.remove(match)
    assert unmatched == []
    # The cell tagged raises-exception shows its error on purpose: not reported.
    assert not any("seven" in str(f) for f in result.findings)
    assert result.counts == {
        "asset": 2,
        "error-output": 1,
        "cell-magic": 6,
        "rewritten": 4,
        "download": 2,
        "widget": 1,
        "input": 1,
        "absolute-path": 1,
        "level": 1,
    }


def test_outputs_are_dropped_tags_and_slideshow_kept(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    run_import(root, CLEANING)
    text = (root / "lessons/03-01-data-cleaning/03-01-data-cleaning.py").read_text("utf-8")
    for output in ("division by zero", "Writing notes.txt", "Grace   45", "IntSlider"):
        assert output not in text
    for dropped in ("ExecuteTime", "collapsed", "bogus", "attachment:"):
        assert dropped not in text
    assert '# %% tags=["parameters"] slideshow={"slide_type": "skip"}\nrows = 3' in text
    assert '# %% [markdown] slideshow={"slide_type": "slide"}\n# # [Cleaning]' in text
    assert '# %% tags=["raises-exception"]\nint("seven")' in text
    notebook = jupytext.read(CLEANING)
    lesson = jupytext.reads(text, fmt="py:percent")
    kept = [c for c in notebook.cells if c.source.strip()]
    assert [c.cell_type for c in lesson.cells] == [c.cell_type for c in kept]


def test_nbgrader_solution_cells_stay_solutions(tmp_path: Path) -> None:
    """nbgrader marks answer cells in metadata, which the import does not keep: the cells that
    would otherwise reach learners whole become `solution` cells (with a finding)."""
    root = workshop(tmp_path)
    new = nbformat.v4

    def graded(cell: nbformat.NotebookNode, solution: bool) -> nbformat.NotebookNode:
        cell.metadata["nbgrader"] = {"grade_id": "x", "solution": solution, "schema_version": 3}
        return cell

    notebook = write_notebook(
        tmp_path / "ps1" / "problem1.ipynb",
        [
            new.new_markdown_cell("# Problem 1"),
            graded(
                new.new_code_cell(
                    "def f(n):\n    ### BEGIN SOLUTION\n    return n  # SECRET-A\n"
                    "    ### END SOLUTION"
                ),
                True,
            ),
            graded(new.new_markdown_cell("$\\sum i$  SECRET-B"), True),
            graded(new.new_code_cell("g = f(3)  # SECRET-C"), True),
            graded(new.new_code_cell("assert f(1) == 1"), False),
        ],
    )
    result = run_import(root, notebook, level="beginner")
    assert result.exit_code == 0
    text = (root / "lessons/problem1/problem1.py").read_text("utf-8")
    assert '# %% [markdown] tags=["solution"]\n# $\\sum i$  SECRET-B' in text
    assert '# %% tags=["solution"]\ng = f(3)  # SECRET-C' in text
    assert text.count('tags=["solution"]') == 2  # the cell with markers keeps them instead
    rewritten = [f for f in result.findings if "tagged 'solution'" in str(f.diagnostic)]
    assert len(rewritten) == 2
    assert invoke(["check", str(root)]).exit_code == 0


def test_references_are_copied_and_rewritten_urls_left_alone(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    run_import(root, CLEANING, INTRO)
    folder = root / "lessons" / "03-01-data-cleaning"
    text = (folder / "03-01-data-cleaning.py").read_text("utf-8")
    # another notebook of the same import: where `build` puts its notebook
    assert "[introduction](../02-intro/02-intro.ipynb#setup)" in text
    assert "[Data Workshop](https://example.org/workshop)" in text
    assert '<img src="images/logo.png" width="80" align="right">' in text
    assert 'open("shared/lookup.txt")' in text
    assert "![screen](screen%20shot.png)" in text
    notebook = json.loads(CLEANING.read_text("utf-8"))
    attachment = next(c for c in notebook["cells"] if "attachments" in c)["attachments"]
    png = base64.b64decode(attachment["screen shot.png"]["image/png"])
    assert (folder / "screen shot.png").read_bytes() == png


def test_lines_jupytext_would_read_as_cell_markers_are_escaped(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    run_import(root, CLEANING)
    text = (root / "lessons/03-01-data-cleaning/03-01-data-cleaning.py").read_text("utf-8")
    cells = jupytext.reads(text, fmt="py:percent").cells
    markdown = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    assert "\\%% is how Jupyter marks a cell magic, and\nIn\\[3]:\n" in markdown  # same rendering
    assert "```bash\npython clean.py data/raw.csv\n```" in markdown  # the open fence closed
    code = [c.source for c in cells if c.cell_type == "code"]
    assert "%%writefile notes.txt\nColumns: name, age\n## %% this line is part of the file" in code
    assert "## %% a comment that looks like a cell marker\ntotal = len(df)\ntotal" in code


@pytest.mark.kernel
def test_an_imported_lesson_with_cell_magics_runs(tmp_path: Path) -> None:
    """%%timeit, %%capture, %%bash, %%writefile and %%html survive py:percent and still run."""
    root = workshop(tmp_path)
    result = run_import(root, INTRO)
    lesson = result.lessons[0].path
    report, by_id = run_workshop(root, [lesson], jobs=1)
    assert by_id["02-intro"].status is Status.PASSED, by_id["02-intro"].error
    assert report.exit_code == 0


# -- the command ---------------------------------------------------------------------------------


def test_import_twice_refuses_then_force_overwrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = workshop(tmp_path)
    monkeypatch.chdir(root)
    first = invoke(["import", INTRO, "--to", "lessons", "--level", "intermediate"])
    assert first.exit_code == 0, first.stderr
    assert first.stdout == (
        f"imported {INTRO} -> lessons/02-intro/02-intro.py "
        "(id 02-intro, 10 min, 1 file beside it)\n"
    )
    assert first.stderr.splitlines()[-2:] == [
        "imported 1 of 1 notebooks; 5 warnings (5 cell-magic)",
        "next: workshopkit check lessons",
    ]
    lesson = root / "lessons" / "02-intro" / "02-intro.py"
    original = lesson.read_text("utf-8")
    assert "#     level: intermediate\n" in original
    lesson.write_text(original.replace("minutes: 10", "minutes: 15"), encoding="utf-8")
    again = invoke(["import", INTRO, "--to", "lessons"])
    assert again.exit_code == 2
    assert again.stdout == ""
    assert (
        f"{INTRO}: error: lessons/02-intro/02-intro.py already exists; not overwriting it "
        "(pass --force to replace it)\n"
    ) in again.stderr
    assert again.stderr.splitlines()[-1] == "imported 0 of 1 notebooks, 1 not imported; 0 warnings"
    assert "minutes: 15" in lesson.read_text("utf-8")  # the author's edit survived
    forced = invoke(["import", INTRO, "--to", "lessons", "--level", "intermediate", "--force"])
    assert forced.exit_code == 0, forced.stderr
    assert lesson.read_text("utf-8") == original
    assert invoke(["check"]).exit_code == 0


def test_an_asset_with_other_content_is_not_overwritten(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    clash = root / "lessons" / "02-intro" / "data" / "raw.csv"
    clash.parent.mkdir(parents=True)
    clash.write_text("the author's own data\n", encoding="utf-8")
    result = run_import(root, INTRO)
    assert [str(f) for f in result.errors] == [
        f"{INTRO}: error: lessons/02-intro/data/raw.csv already exists with other content; "
        "not overwriting it (pass --force to replace it)"
    ]
    assert files_under(root / "lessons" / "02-intro") == ["data/raw.csv"]  # no lesson at all
    assert clash.read_text("utf-8") == "the author's own data\n"
    assert run_import(root, INTRO, force=True).errors == ()
    assert clash.read_bytes() == (MESSY / "data" / "raw.csv").read_bytes()


def test_a_failed_write_leaves_no_lesson_and_no_temporary_file(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    folder = root / "lessons" / "02-intro"
    (folder / "02-intro.py").mkdir(parents=True)  # in the way: a folder where the lesson goes
    result = run_import(root, INTRO, force=True)
    assert len(result.errors) == 1
    assert "error: cannot write lessons/02-intro/02-intro.py" in str(result.errors[0])
    assert result.lessons == ()
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
    assert (folder / "02-intro.py").is_dir()


def test_inputs_that_are_not_notebooks_exit_2_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = workshop(tmp_path)
    monkeypatch.chdir(root)
    before = files_under(root)
    inputs = [
        BROKEN / "truncated.ipynb",
        BROKEN / "empty.ipynb",
        BROKEN / "notes.txt",
        BROKEN / "latin1.md",
        MYST / "script.py",
        root / "lessons" / "01-welcome" / "welcome.py",
        tmp_path / "missing.ipynb",
        BROKEN,
    ]
    result = invoke(["import", *inputs, "--to", "lessons"])
    assert result.exit_code == 2
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors == [
        f"{BROKEN / 'truncated.ipynb'}:18: error: not a notebook: invalid JSON (unterminated "
        "string starting at column 16)",
        f"{BROKEN / 'empty.ipynb'}: error: has no cells with content",
        f"{BROKEN / 'notes.txt'}: error: not a notebook: expected a file ending in .ipynb, .md, "
        ".markdown, .myst, .mystnb, .mnb, .py",
        f"{BROKEN / 'latin1.md'}:1: error: not UTF-8: byte 0xe9 in column 6, which is 'é' in "
        "Windows-1252/Latin-1; save the file as UTF-8",
        f"{MYST / 'script.py'}: error: not a notebook: a .py file needs a Jupytext header or "
        "'# %%' cell markers",
        "lessons/01-welcome/welcome.py: error: is already a lesson (its header has a "
        "workshopkit block)",
        f"{tmp_path / 'missing.ipynb'}: error: no such file",
        f"{BROKEN}: error: is a folder; name the notebooks in it (.ipynb, .md, .markdown, "
        ".myst, .mystnb, .mnb, .py)",
    ]
    assert result.stderr.splitlines()[-1] == (
        "imported 0 of 8 notebooks, 8 not imported; 0 warnings"
    )
    assert files_under(root) == before


def test_bad_to_and_level_are_usage_errors(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    result = import_notebooks(
        [INTRO], ImportOptions(to=root / "workshop.toml", base=root, level="expert")
    )
    assert [str(f) for f in result.findings] == ["workshop.toml: error: --to must be a folder"]
    result = import_notebooks([INTRO], ImportOptions(to=root, base=root, level="expert"))
    assert [str(f) for f in result.findings] == [
        ".: error: unknown level 'expert' (expected beginner, intermediate, advanced)"
    ]
    assert invoke(["import", INTRO, "--level", "expert"]).exit_code == 2
    assert invoke(["import"]).exit_code == 2


def test_outside_a_workshop_the_lessons_are_written_with_a_warning(tmp_path: Path) -> None:
    result = import_notebooks(
        [INTRO], ImportOptions(to=tmp_path / "out", level="beginner", base=tmp_path)
    )
    assert result.errors == ()
    assert [str(f) for f in result.findings if f.kind is FindingKind.WORKSHOP] == [
        "out: warning: not inside a workshop (no workshop.toml here or above); create one "
        "with `workshopkit new workshop` and move the lessons into it before `workshopkit check`"
    ]
    assert (tmp_path / "out" / "02-intro" / "02-intro.py").is_file()


# -- formats and kernels -------------------------------------------------------------------------


def test_myst_plain_markdown_and_percent_notebooks(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    result = run_import(root, MYST / "myst-lesson.md", MYST / "plain.md", MYST / "percent_nb.py")
    assert result.errors == ()
    assert [(x.id, x.title) for x in result.lessons] == [
        ("myst-lesson", "Plotting with MyST"),
        ("plain", "Plain markdown"),
        ("percent-nb", "A percent notebook"),
    ]
    assert [f.kind for f in result.findings] == [FindingKind.LEVEL]  # python3 goes unsaid
    myst = jupytext.read(result.lessons[0].path, fmt="py:percent")
    assert [(c.cell_type, c.metadata, c.source) for c in myst.cells[1:]] == [
        ("code", {"tags": ["raises-exception"]}, "1 / 0"),
        ("markdown", {"slideshow": {"slide_type": "slide"}}, "## Next"),
        ("code", {}, 'print("ok")'),
    ]
    assert (root / "lessons/myst-lesson/img/plot.png").read_bytes() == (
        MYST / "img" / "plot.png"
    ).read_bytes()
    plain = jupytext.read(result.lessons[1].path, fmt="py:percent")
    assert [c.source for c in plain.cells] == [
        "# Plain *markdown*\n\nSome text, then code:",
        "x = 41 + 1\nprint(x)",
    ]
    assert open_ok(root).errors == []


def test_kernels_python_kept_python2_warned_other_languages_refused(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    result = run_import(
        root,
        KERNELS / "r-analysis.ipynb",
        KERNELS / "no-kernelspec.ipynb",
        KERNELS / "legacy.ipynb",
        level="advanced",
    )
    assert [str(f) for f in result.findings] == [
        f"{KERNELS / 'r-analysis.ipynb'}: error: its kernel 'ir' has language 'R'; workshopkit "
        "runs lessons in Python kernels, so it was not imported",
        "lessons/no-kernelspec/no-kernelspec.py:3: warning: no-kernelspec.ipynb: no kernelspec: "
        "python3 assumed",
        "lessons/legacy/legacy.py:3: warning: legacy.ipynb: kernel 'python2' kept from the "
        "notebook; the workshop's [execution] kernel overrides it, else it must exist wherever "
        "the lesson runs; the notebook was written for Python 2: its code may need porting to "
        "Python 3",
    ]
    kernels = {lesson.id: lesson.kernel for lesson in open_ok(root).workshop.lessons}
    assert kernels == {"welcome": "python3", "no-kernelspec": "python3", "legacy": "python2"}


# -- ids -----------------------------------------------------------------------------------------


def test_ids_are_unique_among_the_notebooks_and_the_workshop(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    cell = nbformat.v4.new_markdown_cell("# A title")
    notebooks = [
        DUPLICATES / "spring" / "01-Intro.ipynb",
        DUPLICATES / "autumn" / "01-Intro.ipynb",
        DUPLICATES / "Welcome.ipynb",  # the starter workshop's lesson is 'welcome'
        write_notebook(tmp_path / "CON.ipynb", [cell]),  # a reserved name on Windows
        write_notebook(tmp_path / "日本語.ipynb", [cell]),  # nothing left after slugifying
        write_notebook(tmp_path / ("x" * 70 + ".ipynb"), [cell]),
        write_notebook(tmp_path / ("x" * 70 + "-.ipynb"), [cell]),
    ]
    result = run_import(root, *notebooks)
    ids = [x.id for x in result.lessons]
    assert ids == [
        "01-intro",
        "01-intro-2",
        "welcome-2",
        "con-lesson",
        "lesson",
        "x" * 64,
        "x" * 62 + "-2",
    ]
    assert [x.title for x in result.lessons[:3]] == [
        "Introduction (spring edition)",
        "Introduction (autumn edition)",
        "Welcome, everyone",
    ]
    assert open_ok(root).errors == []
    again = run_import(root, *notebooks, force=True)  # the same ids again: the same lessons
    assert [x.id for x in again.lessons] == ids
    assert again.errors == ()


# -- rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "title"),
    [
        (
            ["Intro text", "# [Linear *regression*](https://x.org) <small>v2</small>"],
            "Linear regression v2",
        ),
        (["<h2 id='t'>An <em>HTML</em> title</h2>"], "An HTML title"),
        (["Setext title\n============\n\ntext"], "Setext title"),
        (["```\n# not a heading\n```\n\n## __Real__ heading ##"], "Real heading"),
        (
            ["#hashtag is not a heading", "#\n\n## `np.sort` &amp; `snake_case` \\*"],
            "np.sort & snake_case *",
        ),
        (["no heading", "at all"], None),
    ],
)
def test_title_from_the_first_heading(cells: list[str], title: str | None) -> None:
    assert title_from(cells) == title


@pytest.mark.parametrize(
    ("words", "code_cells", "minutes"),
    [(0, 0, 5), (240, 0, 5), (1200, 0, 10), (0, 12, 10), (600, 3, 10), (1137, 22, 30)],
)
def test_minutes_prose_at_120_words_a_minute_plus_one_per_code_cell(
    words: int, code_cells: int, minutes: int
) -> None:
    assert estimate_minutes(words, code_cells) == minutes


def test_line_break_characters_are_escaped_in_strings_and_spaced_elsewhere(
    tmp_path: Path,
) -> None:
    root = workshop(tmp_path)
    notebook = write_notebook(
        tmp_path / "breaks.ipynb",
        [
            nbformat.v4.new_markdown_cell("# Breaks\n\nPasted\u2028from the web\x0c."),
            nbformat.v4.new_code_cell('text = "a\u2028b"  # a\u2029comment\nprint(len(text))'),
        ],
    )
    result = run_import(root, notebook)
    assert result.errors == ()
    lesson = result.lessons[0].path.read_text("utf-8")
    assert 'text = "a\\u2028b"  # a comment' in lesson
    assert "# Pasted from the web ." in lesson
    assert [f.kind for f in result.findings].count(FindingKind.REWRITTEN) == 2
    assert open_ok(root).errors == []
    cells = jupytext.reads(lesson, fmt="py:percent").cells
    assert len(cells) == 2


def test_a_notebook_importing_a_module_named_like_its_lesson_is_refused(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "tools.py").write_text("VALUE = 1\n", encoding="utf-8")
    notebook = write_notebook(
        folder / "tools.ipynb", [nbformat.v4.new_code_cell("import tools\ntools.VALUE")]
    )
    result = run_import(root, notebook)
    assert [str(f) for f in result.errors] == [
        f"{notebook}: error: cell 1: imports the module 'tools.py', which would be overwritten "
        "by the lesson's own tools.py; rename the module or the notebook"
    ]
    assert not (root / "lessons" / "tools").exists()


def test_references_leaving_the_notebooks_project_are_never_copied(tmp_path: Path) -> None:
    """An attacker's notebook cannot smuggle files from elsewhere into a workshop's bundles, and
    whatever it references, the lesson written passes check."""
    root = workshop(tmp_path)
    (tmp_path / "secret.png").write_bytes(b"\x89PNG secret")
    (tmp_path / "secret.csv").write_text("password\n", encoding="utf-8")
    project = tmp_path / "proj"
    (project / "img").mkdir(parents=True)
    (project / "img" / "a.png").write_bytes(b"\x89PNG ok")
    (project / ".env").write_text("TOKEN=1\n", encoding="utf-8")
    (project / "other.ipynb").write_text("{}", encoding="utf-8")
    folder = project / "nb"
    folder.mkdir()
    (folder / "link.csv").symlink_to(tmp_path / "secret.csv")
    markdown = "\n".join(
        [
            "# Refs",
            "![ok](../img/a.png) ![secret](../../secret.png) ![abs](/etc/hostname)",
            "[up](../../../../../../../..) [other](../other.ipynb) [gone](../../../nowhere.md)",
        ]
    )
    code = 'import pandas as pd\npd.read_csv("link.csv")\nopen("../.env").read()'
    notebook = write_notebook(
        folder / "refs.ipynb",
        [nbformat.v4.new_markdown_cell(markdown), nbformat.v4.new_code_cell(code)],
    )
    result = import_notebooks([notebook], ImportOptions(to=root, level="beginner", base=root))
    assert result.errors == ()
    lesson = root / "refs"
    assert files_under(lesson) == ["img/a.png", "refs.py"]
    text = (lesson / "refs.py").read_text("utf-8")
    assert "# ![ok](img/a.png) ![secret](secret.png) ![abs](hostname)" in text
    assert "# [up](file) [other](other.ipynb) [gone](nowhere.md)" in text
    assert 'pd.read_csv("link.csv")\nopen("../.env").read()' in text
    messages = sorted(f.diagnostic.message.split(": ", 1)[1] for f in result.findings)
    assert messages == sorted(
        [
            "'../img/a.png' is outside the notebook's folder: copied beside the lesson as "
            "'img/a.png' and the reference rewritten",
            f"'../../secret.png' is outside the notebook's project folder {project}: not "
            "copied; the reference now reads 'secret.png'",
            "image '/etc/hostname' is an absolute path; not copied: it is outside the "
            f"notebook's project folder {project}; the reference now reads 'hostname'",
            "'../../../../../../../..' is a folder outside the notebook's folder; the "
            "reference now reads 'file'",
            "links to the notebook '../other.ipynb', which is not imported with it; the "
            "reference now reads 'other.ipynb'",
            "link target '../../../nowhere.md' not found next to the notebook; the reference "
            "now reads 'nowhere.md'",
            f"'link.csv' is outside the notebook's project folder {project}: not copied, so "
            "the lesson will not find it",
            "'../.env' is a hidden file: not copied, so the lesson will not find it",
        ]
    )
    assert open_ok(root).errors == []


def test_a_string_left_open_at_the_end_of_a_cell_is_not_imported(tmp_path: Path) -> None:
    """jupytext would read every later cell into the string: refused, naming the cell."""
    root = workshop(tmp_path)
    notebook = write_notebook(
        tmp_path / "open.ipynb",
        [
            nbformat.v4.new_markdown_cell("# Open"),
            nbformat.v4.new_code_cell("doc = '''never closed\n# %% not a cell"),
            nbformat.v4.new_code_cell("print(1)"),
        ],
    )
    result = run_import(root, notebook)
    assert [str(f) for f in result.errors] == [
        f"{notebook}: error: cell 2: a string is left open at the end of the cell, so jupytext "
        "would read the cells after it as part of the string; close it"
    ]
    assert not (root / "lessons" / "open").exists()


DOWNLOADS = [
    ("!wget -q https://example.org/data.zip", "wget"),
    ("%curl -O https://example.org/x.csv", "curl"),
    ("!git clone https://github.com/x/y", "git clone"),
    ("%pip install torch", "package install"),
    ("!python -m pip install -q seaborn", "package install"),
    ("import requests\nr = requests.get(URL)", "requests"),
    ("from urllib.request import urlopen\nurlopen(URL)", "urllib"),
    ("from sklearn.datasets import fetch_openml\nX = fetch_openml('mnist_784')", "fetch_openml"),
    (
        "from sklearn import datasets\ndatasets.fetch_california_housing()",
        "sklearn.datasets.fetch_*",
    ),
    ("from datasets import load_dataset\nds = load_dataset('imdb')", "load_dataset"),
    ("import seaborn as sns\ntips = sns.load_dataset('tips')", "load_dataset"),
    ("import tensorflow as tf\n(x, y), _ = tf.keras.datasets.mnist.load_data()", "keras datasets"),
    (
        "from torchvision import datasets\ndatasets.MNIST('.', download=True)",
        "torchvision download",
    ),
    ("import nltk\nnltk.download('punkt')", "nltk.download"),
    ("df = pd.read_csv('https://example.org/x.csv')", "a URL read directly"),
]
QUIET = [
    "# !pip install seaborn  (commented out: nothing runs)",
    "wget = 3\ncurl = wget + 1",
    "def fetch(n):\n    return n",
    "url = 'https://example.org'  # a URL, not a download",
    "def input(prompt):\n    return 'x'",
    "from ipywidget_helpers import show  # not ipywidgets",
]


def test_downloads_and_their_near_misses(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    cells = [nbformat.v4.new_markdown_cell("# Downloads")]
    cells += [nbformat.v4.new_code_cell(code) for code, _ in DOWNLOADS]
    cells += [nbformat.v4.new_code_cell(code) for code in QUIET]
    result = run_import(root, write_notebook(tmp_path / "dl.ipynb", cells), level="beginner")
    assert result.errors == ()
    found = {}
    for finding in result.findings:
        assert finding.kind is FindingKind.DOWNLOAD, str(finding)
        cell = int(finding.diagnostic.message.split(" cell ")[1].split(":")[0])
        found[cell] = finding.diagnostic.message.split("downloads (")[1].split(")")[0]
    assert found == {number: label for number, (_, label) in enumerate(DOWNLOADS, start=2)}


def test_files_the_code_writes_are_not_copied(tmp_path: Path) -> None:
    root = workshop(tmp_path)
    folder = tmp_path / "nb"
    (folder / "figures").mkdir(parents=True)
    for name in ("figures/plot.png", "out.csv", "log.txt", "in.csv"):
        (folder / name).write_text("old output\n", encoding="utf-8")
    code = (
        'fig.savefig("figures/plot.png")\ndf.to_csv("out.csv")\n'
        'open("log.txt", "w").write("x")\ndf = pd.read_csv("in.csv")'
    )
    notebook = write_notebook(folder / "w.ipynb", [nbformat.v4.new_code_cell(code)])
    result = run_import(root, notebook, level="beginner")
    assert result.errors == ()
    assert files_under(root / "lessons" / "w") == ["in.csv", "w.py"]
