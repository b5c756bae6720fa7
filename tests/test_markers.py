"""markers: one definition of a solution marker, a solution cell and a notes cell, used by the
validator, the learner stripper and the slide exporter; and nothing an author hides reaches
learners (a property test that builds generated workshops for real)."""

from __future__ import annotations

import json
import random
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import cli, mark_env, wait_gone

from workshopkit import markers
from workshopkit.export.slides import prepare_slides
from workshopkit.load import load_lesson, to_notebook
from workshopkit.markers import (
    code_line_problem,
    is_solution_cell,
    is_solution_tag,
    marker_kind,
    marker_problems,
    metadata_problems,
    names_used_after_removal,
    removed_for_learners,
    tag_problems,
    text_line_problem,
)
from workshopkit.model import Cell
from workshopkit.transforms import learner_notebook, slides_source_notebook, solution_notebook
from workshopkit.validate import check_lesson

NBSP, IDEOGRAPHIC, ZWSP = "\u00a0", "\u3000", "\u200b"

# (BEGIN line, END line): every one is a marker, honoured by all three consumers.
HONOURED = [
    ("# BEGIN SOLUTION", "# END SOLUTION"),
    ("### BEGIN SOLUTION", "### END SOLUTION"),  # nbgrader's own convention
    ("# begin solution", "# end solution"),
    ("# Begin Solution", "# End Solution"),
    ("#BEGIN SOLUTION", "#END SOLUTION"),
    ("# BEGIN  SOLUTION", "#  END   SOLUTION"),
    ("#\tBEGIN\tSOLUTION", "#\tEND SOLUTION\t"),
    (f"#{NBSP}BEGIN SOLUTION", f"#{NBSP}END SOLUTION"),
    (f"# BEGIN SOLUTION{NBSP}", f"# END SOLUTION{NBSP}"),
    (f"# BEGIN{IDEOGRAPHIC}SOLUTION", f"# END{IDEOGRAPHIC}SOLUTION"),
    ("# BEGIN SOLUTION (hint)", "# END SOLUTION (hint)"),
    ("## BEGIN SOLUTION: one line", "## END SOLUTION."),
    ("# # BEGIN SOLUTION", "# # END SOLUTION"),
    ("# \uff22\uff25\uff27\uff29\uff2e SOLUTION", "# END SOLUTION"),  # fullwidth letters
    (f"# BEGIN SOL{ZWSP}UTION", f"# END{NBSP}{NBSP}SOLUTION"),
    ("# BEG\u0130N SOLUTION", "# END SOLUT\u0130ON"),  # Turkish capital dotted I: case-folds to i
]

# Lines of a code cell that read like a marker but are not one: each is an error.
NEAR_MISSES = [
    "# BEGIN SOLUTIONS",
    "# END SOLUTIONS",
    "# BEGINSOLUTION",
    "# BEGIN_SOLUTION",
    "# begin-solution",
    f"# BEGIN{ZWSP}SOLUTION",
    "# -- BEGIN SOLUTION --",
    "# [BEGIN SOLUTION]",
    "# Begin: solution",
    "# BEGIN SOLN",
    "x = 1  # BEGIN SOLUTION",
    "    return w  # END SOLUTION",
    "### BEGIN HIDDEN TESTS",
    "### END HIDDEN TESTS",
    "# BEGIN S\u041eLUTION",  # a Cyrillic O
    "# \u0412EGIN SOLUTION",  # a Cyrillic B
    "# END SOLUT\u0399ON",  # a Greek I
]

# Ordinary lines: neither markers nor errors.
ORDINARY = [
    "x = 1",
    "# the end solution is a local minimum",
    "end_solution = optimiser.run()",
    "begin_solutions = []",
    'print("# BEGIN SOLUTION")',
    "label = '# END SOLUTION'",
    "# solution quality",
    "# Let's begin",
    "# solved",
    "",
]


# --------------------------------------------------------------------------------------------
# The grammar


@pytest.mark.parametrize(("begin", "end"), HONOURED, ids=[ascii(b) for b, _ in HONOURED])
def test_honoured_markers(begin: str, end: str) -> None:
    assert marker_kind(begin) == "begin"
    assert marker_kind(end) == "end"
    assert marker_kind("    " + begin) == "begin"  # indented inside a function
    assert code_line_problem(begin) is None and code_line_problem(end) is None
    assert marker_problems(f"{begin}\nx = 1\n{end}", 10) == []


@pytest.mark.parametrize("line", NEAR_MISSES, ids=ascii)
def test_near_misses_are_errors_on_their_line(line: str) -> None:
    assert marker_kind(line) is None
    assert code_line_problem(line) is not None
    problems = marker_problems(f"x = 0\n{line}\ny = 2", 20)
    assert [where for where, _ in problems] == [21], problems


@pytest.mark.parametrize("line", ORDINARY, ids=ascii)
def test_ordinary_lines_are_neither(line: str) -> None:
    assert marker_kind(line) is None
    assert code_line_problem(line) is None
    assert text_line_problem(line, "markdown") is None


@pytest.mark.parametrize(
    "line",
    [
        "BEGIN SOLUTION",
        "# BEGIN SOLUTION",  # a markdown heading, `# # BEGIN SOLUTION` in the .py file
        "### End Solution",
        "**BEGIN SOLUTION**",
        "<!-- END SOLUTION -->",
        "> begin solution",
        "BEGIN HIDDEN TESTS",
    ],
)
def test_markers_in_markdown_and_raw_cells_are_errors(line: str) -> None:
    for cell_type in ("markdown", "raw"):
        problems = marker_problems(f"Some text.\n{line}", 5, cell_type)
        assert [where for where, _ in problems] == [6]
        assert f"in a {cell_type} cell" in problems[0][1]


def test_markdown_may_mention_markers_in_running_text() -> None:
    text = "Wrap the answer in `# BEGIN SOLUTION` and `# END SOLUTION`.\nThe end solution."
    assert marker_problems(text, 1, "markdown") == []
    assert marker_problems("`# BEGIN SOLUTION` starts a region", 1, "markdown") == []


def test_near_misses_are_not_reported_where_learners_never_look() -> None:
    assert marker_problems("# BEGIN SOLUTIONS", 1, near_misses=False) == []
    assert marker_problems("BEGIN SOLUTION", 1, "markdown", near_misses=False) == []
    # but unbalanced markers always are
    assert marker_problems("# BEGIN SOLUTION", 1, near_misses=False) != []


def test_structure_errors_keep_their_messages() -> None:
    source = "# END SOLUTION\n# BEGIN SOLUTION\n### begin solution\nx = 1"
    assert marker_problems(source, 3) == [
        (3, "'# END SOLUTION' without a '# BEGIN SOLUTION' before it in its cell"),
        (5, "'# BEGIN SOLUTION' inside the one opened on line 4"),
        (5, "'# BEGIN SOLUTION' is not closed by an '# END SOLUTION' in the same cell"),
    ]


def test_regions() -> None:
    lines = ["a", "# BEGIN SOLUTION", "b", "### END SOLUTION", "c", "#begin solution", "d"]
    assert markers.solution_regions(lines) == (markers.Region(1, 3), markers.Region(5, None))
    assert markers.solution_regions(["x"]) == ()


# --------------------------------------------------------------------------------------------
# Cells


@pytest.mark.parametrize(
    ("tag", "honoured"),
    [
        ("solution", True),
        ("Solution", True),
        ("SOLUTION", True),
        ("solutions", True),
        ("Solutions ", True),
        ("soln", True),
        ("soluton", True),
        ("solutoin", True),
        ("sollution", True),
        ("\uff53\uff4f\uff4c\uff55\uff54\uff49\uff4f\uff4e", True),  # fullwidth
        (f"solution{ZWSP}", True),
        ("resolution", False),
        ("solution-video", False),
        ("sol", False),
        ("exercise", False),
    ],
)
def test_solution_tags(tag: str, honoured: bool) -> None:
    assert is_solution_tag(tag) is honoured
    assert is_solution_cell({"tags": ["exercise", tag]}) is honoured
    warnings = tag_problems([tag])
    if honoured and tag != "solution":
        assert len(warnings) == 1 and "did you mean 'solution'?" in warnings[0]
    else:
        assert warnings == []


def test_solution_and_notes_cells() -> None:
    assert is_solution_cell({"workshopkit": {"solution": True}})
    assert not is_solution_cell({"workshopkit": {"solution": False}})
    assert not is_solution_cell({"workshopkit": {"solution": "yes"}})  # an error at check
    # nbgrader: a solution cell without regions is replaced whole; with regions, only those
    assert is_solution_cell({"nbgrader": {"solution": True}}, "x = 1")
    assert not is_solution_cell({"nbgrader": {"solution": True}}, "### BEGIN SOLUTION\nx = 1")
    assert is_solution_cell({"nbgrader": {"solution": True}}, "text", "markdown")
    notes = {"slideshow": {"slide_type": "notes"}}
    assert removed_for_learners(notes) == "notes"
    assert removed_for_learners({"tags": ["Solution"], **notes}) == "solution"
    assert removed_for_learners({"slideshow": {"slide_type": "skip"}}) is None


@pytest.mark.parametrize(
    ("metadata", "words"),
    [
        ({"solution": True}, 'did you mean tags=["solution"]?'),
        ({"Solutions": None}, 'did you mean tags=["solution"]?'),
        ({"title": "solution"}, "gives the cell a title"),
        ({"title": "Solution"}, "gives the cell a title"),
        ({"workshopKit": {"solution": True}}, "did you mean 'workshopkit'?"),
        ({"workshop_kit": {"solution": True}}, "did you mean 'workshopkit'?"),
        ({"workshopkit": {"solution": "true"}}, "must be true or false"),
        ({"workshopkit": {"solution": 1}}, "must be true or false"),
        ({"workshopkit": {"Solution": True}}, "did you mean 'solution'?"),
        ({"workshopkit": {"solutions": True}}, "did you mean 'solution'?"),
        ({"workshopkit": "solution"}, "must be a mapping"),
        # speaker notes that are not the `notes` slide type stay in the learner notebook
        ({"tags": ["notes"]}, 'did you mean slideshow={"slide_type": "notes"}?'),
        ({"tags": ["Speaker-Notes"]}, "tag 'Speaker-Notes' does not make speaker notes"),
        ({"tags": ["speaker_note"]}, "does not make speaker notes"),
        ({"notes": True}, "cell option 'notes' does not make speaker notes"),
        ({"title": "Notes"}, "gives the cell a title; it does not make speaker notes"),
    ],
)
def test_metadata_near_misses_are_errors(metadata: dict[str, object], words: str) -> None:
    problems = metadata_problems(metadata)
    assert len(problems) == 1 and words in problems[0], problems


def test_ordinary_metadata_is_fine() -> None:
    for metadata in (
        {},
        {"tags": ["solution"]},
        {"workshopkit": {"solution": True}},
        {"title": "Fit a line"},
        {"nbgrader": {"solution": True, "grade": False}},
        {"tags": ["notes"], "slideshow": {"slide_type": "notes"}},  # notes already
        {"tags": ["nodes", "footnotes", "notebook"]},
        {"title": "Lecture notes on graphs"},
    ):
        assert metadata_problems(metadata) == []


# --------------------------------------------------------------------------------------------
# The three consumers agree


def _lesson(tmp_path: Path, body: str, name: str = "lesson.py") -> Path:
    head = (
        "# ---\n# jupyter:\n"
        "#   kernelspec: {display_name: Python 3, language: python, name: python3}\n"
        "#   workshopkit:\n#     title: T\n#     level: beginner\n#     minutes: 5\n# ---\n\n"
    )
    path = tmp_path / name
    path.write_text(head + body, encoding="utf-8")
    return path


def _outcome(tmp_path: Path, body: str) -> tuple[bool, str, str]:
    """(check passed, learner notebook text, deck cells text) for a lesson body."""
    loaded = load_lesson(_lesson(tmp_path, body), tmp_path)
    assert loaded.source is not None, loaded.diagnostics
    lesson, diagnostics = check_lesson(loaded.source)
    if lesson is None:
        assert any(d.is_error for d in diagnostics)
        return False, "", ""
    nb = to_notebook(lesson)
    learner = json.dumps(learner_notebook(nb), ensure_ascii=False)
    deck = prepare_slides(slides_source_notebook(nb), include_solutions=False)
    return True, learner, json.dumps(deck, ensure_ascii=False)


SPELLINGS = [f"{b}\n{{code}}\n{e}" for b, e in HONOURED] + [
    f"{line}\n{{code}}\n# END SOLUTION" for line in NEAR_MISSES
]


@pytest.mark.parametrize("template", SPELLINGS, ids=ascii)
def test_validator_stripper_and_slides_agree(tmp_path: Path, template: str) -> None:
    """Either `check` refuses the lesson, or neither the learner notebook nor the deck shows
    the secret (and the solution notebook does)."""
    body = '# %% tags=["exercise"]\n' + template.format(code='secret = "SECRET-1"') + "\n"
    passed, learner, deck = _outcome(tmp_path, body)
    honoured = template.split("\n")[0] in [b for b, _ in HONOURED]
    assert passed is honoured
    if passed:
        assert "SECRET-1" not in learner and "SECRET-1" not in deck
        assert "exercise: define secret" in learner
        assert "...  # your code here" in deck


def test_cells_the_learner_never_sees(tmp_path: Path) -> None:
    body = "".join(
        f"# %% {options}\nprint('SECRET-{n}')\n\n"
        for n, options in enumerate(
            [
                'tags=["Solution"]',
                'tags=["solutions", "exercise"]',
                'tags=["soln"]',
                'workshopkit={"solution": true}',
                'nbgrader={"solution": true, "grade": false}',
                'slideshow={"slide_type": "notes"}',
            ]
        )
    )
    body += '# %% [markdown] tags=["SOLUTION"]\n# SECRET-md\n\n'
    body += '# %% [markdown] slideshow={"slide_type": "notes"}\n# NOTES-only\n\n# %%\nx = 1\n'
    passed, learner, deck = _outcome(tmp_path, body)
    assert passed
    assert "SECRET-" not in learner and "NOTES-only" not in learner
    assert "SECRET-" not in deck.replace("SECRET-5", "")  # a notes code cell stays a note
    assert "NOTES-only" in deck  # speaker notes stay in the slides
    source = load_lesson(tmp_path / "lesson.py", tmp_path).source
    assert source is not None
    lesson, _ = check_lesson(source)
    assert lesson is not None
    solution = json.dumps(solution_notebook(to_notebook(lesson)))
    assert all(f"SECRET-{n}" in solution for n in range(6)) and "NOTES-only" in solution


# --------------------------------------------------------------------------------------------
# Names a removed cell defines and a kept cell uses


def _cells(*sources: tuple[str, dict[str, object]]) -> list[Cell]:
    cells = []
    line = 10
    for index, (source, metadata) in enumerate(sources):
        cells.append(Cell(index, "code", line, line + 1, source, metadata))
        line += source.count("\n") + 3
    return cells


SOLUTION = {"tags": ["solution"]}


def test_a_name_defined_only_by_a_solution_is_reported_with_both_lines() -> None:
    cells = _cells(("x = 1", {}), ("w = 2\nb = 3", SOLUTION), ("y = x\nprint(w)", {}))
    assert names_used_after_removal(cells) == [
        markers.NameAfterRemoval("w", cells[2].body_line + 1, cells[1].body_line, "solution")
    ]


@pytest.mark.parametrize(
    "kept",
    [
        "w = 0",
        "import w",
        "from m import w",
        "import numpy as w",
        "def w(): pass",
        "class w: pass",
        "for w in range(3): pass",
        "with open('f') as w: pass",
        "(w := 3)",
        "w: int = 3",
        "def f():\n    global w\n    w = 1",
    ],
)
def test_names_bound_where_learners_keep_them_are_fine(kept: str) -> None:
    cells = _cells(("w = 2", SOLUTION), (kept, {}), ("print(w)", {}))
    assert names_used_after_removal(cells) == []
    # bound in the same cell as the use also counts
    cells = _cells(("w = 2", SOLUTION), (kept + "\nprint(w)", {}))
    assert names_used_after_removal(cells) == []


@pytest.mark.parametrize(
    "use",
    [
        "print([w for w in range(3)])",  # a comprehension's own variable
        "f = lambda w: w + 1",
        "def f(w):\n    return w",
        "def f():\n    w = 1\n    return w",
        "class A:\n    w = 1\n    v = w",
        "obj.w = 3\nprint(obj.w)",  # an attribute, not the name
        "print('w')",
        "# w is not used",
    ],
)
def test_uses_that_are_not_the_solutions_name_are_fine(use: str) -> None:
    cells = _cells(("w = 2", SOLUTION), ("obj = A()", {}), (use, {}))
    assert names_used_after_removal(cells) == []


def test_uses_inside_functions_and_exercise_regions() -> None:
    cells = _cells(
        ("w = 2\nsum = 1", SOLUTION),
        ("def f():\n    return w\nprint(sum)", {}),  # `sum` is also a builtin: no NameError
        ("# BEGIN SOLUTION\nanswer = 42\n# END SOLUTION", {"tags": ["exercise"]}),
        ("print(answer)", {}),  # learners define `answer` in the exercise (its stub says so)
    )
    found = names_used_after_removal(cells)
    assert [(f.name, f.line) for f in found] == [("w", cells[1].body_line + 1)]


def test_notes_code_cells_and_unknown_bindings() -> None:
    notes = {"slideshow": {"slide_type": "notes"}}
    found = names_used_after_removal(_cells(("k = 2", notes), ("print(k)", {})))
    assert [(f.name, f.removal) for f in found] == [("k", "notes")]
    # after a star import or %run, any name may exist: nothing is reported
    for unknown in ("from helpers import *", "%run setup.py"):
        cells = _cells(("k = 2", SOLUTION), (unknown, {}), ("print(k)", {}))
        assert names_used_after_removal(cells) == []
    # a cell that does not parse is skipped, the rest still checked
    cells = _cells(("k = 2", SOLUTION), ("print(k", {}), ("print(k)", {}))
    assert [f.name for f in names_used_after_removal(cells)] == ["k"]


# --------------------------------------------------------------------------------------------
# Property: generated lessons, real builds, no secret reaches learners


BEGINS = [b for b, _ in HONOURED]
ENDS = [e for _, e in HONOURED]
HONOURED_TAGS = ["solution", "Solution", "SOLUTION", "solutions", "soln", "Soln", "soluton"]
SOLUTION_METADATA = ['workshopkit={"solution": true}', 'nbgrader={"solution": true}']


@dataclass
class Generated:
    """A generated workshop: its files, its secrets and the lines that must be reported."""

    files: dict[str, str] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)  # never in anything learners get
    notes: set[str] = field(default_factory=set)  # never in learner notebooks (decks: notes)
    near_misses: set[str] = field(default_factory=set)  # "path:line" that must be errors


class _LessonWriter:
    def __init__(self, out: Generated, rng: random.Random, relpath: str, ident: str) -> None:
        self.out, self.rng, self.relpath, self.ident = out, rng, relpath, ident
        self.lines = [
            "# ---",
            "# jupyter:",
            "#   kernelspec: {display_name: Python 3, language: python, name: python3}",
            "#   workshopkit:",
            f"#     id: {ident}",
            f"#     title: Generated {ident}",
            "#     level: beginner",
            "#     minutes: 5",
            "# ---",
            "",
            "# %% [markdown]",
            f"# # Generated {ident}",
            "",
        ]
        self.count = 0

    def secret(self, kind: str = "SECRET") -> str:
        self.count += 1
        value = f"{kind}-{self.ident}-{self.count}-{self.rng.randrange(16**8):08x}"
        (self.out.notes if kind == "NOTES" else self.out.secrets).add(value)
        return value

    def cell(self, header: str, *body: str) -> None:
        self.lines += [header, *body, ""]

    def near_miss(self, header: str, *body: str, at: int) -> None:
        """A cell whose body line `at` must be reported (the header's line when `at` is -1)."""
        line = len(self.lines) + 1 + (at + 1)
        self.out.near_misses.add(f"{self.relpath}:{line}")
        self.cell(header, *body)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _write_lesson(w: _LessonWriter, near_miss_rate: float) -> None:
    rng = w.rng
    n = 0
    for _ in range(rng.randint(4, 8)):
        n += 1
        begin, end = rng.choice(BEGINS), rng.choice(ENDS)
        if rng.random() < near_miss_rate:
            _near_miss_cell(w, n)
            continue
        kind = rng.choice(["module", "function", "tag", "metadata", "markdown", "notes"])
        if kind == "module":
            value = w.secret()
            w.cell(
                '# %% tags=["exercise"]',
                f"x_{n} = 1",
                begin,
                f'v_{n} = "{value}"',
                f"print(v_{n})  # the output goes too",
                end,
            )
        elif kind == "function":
            value = w.secret()
            w.cell(
                '# %% tags=["exercise"]',
                f"def f_{n}(x):",
                f"    {begin}",
                f'    return x + len("{value}")',
                f"    {end}",
                "",
                "",
            )
        elif kind == "tag":
            tags = json.dumps([rng.choice(HONOURED_TAGS), *rng.sample(["exercise", "x"], 1)])
            w.cell(f"# %% tags={tags}", f'print("{w.secret()}")')
        elif kind == "metadata":
            w.cell(f"# %% {rng.choice(SOLUTION_METADATA)}", f's_{n} = "{w.secret()}"')
        elif kind == "markdown":
            tag = json.dumps([rng.choice(HONOURED_TAGS)])
            w.cell(f"# %% [markdown] tags={tag}", f"# The answer is {w.secret()}.")
        else:
            notes = '# %% [markdown] slideshow={"slide_type": "notes"}'
            w.cell(notes, f"# Say {w.secret('NOTES')} out loud.")
        w.cell("# %%", f"print('visible {n}')")


def _near_miss_cell(w: _LessonWriter, n: int) -> None:
    rng = w.rng
    value = w.secret()
    kind = rng.choice(["code", "after-code", "markdown", "raw", "hidden", "option", "metadata"])
    if kind == "code":
        spelling = rng.choice([m for m in NEAR_MISSES if not m.startswith(("x =", " ", "###"))])
        w.near_miss('# %% tags=["exercise"]', spelling, f'n_{n} = "{value}"', at=0)
    elif kind == "after-code":
        w.near_miss('# %% tags=["exercise"]', f'n_{n} = "{value}"  # BEGIN SOLUTION', at=0)
    elif kind == "markdown":
        line = rng.choice(["# # BEGIN SOLUTION", "# BEGIN SOLUTION", "# **End Solution**"])
        w.near_miss("# %% [markdown]", line, f"# {value}", at=0)
    elif kind == "raw":
        w.near_miss("# %% [raw]", f"# {value}", "# ### END SOLUTION", at=1)
    elif kind == "hidden":
        w.near_miss("# %%", "### BEGIN HIDDEN TESTS", f"assert '{value}'", at=0)
    elif kind == "option":
        option = rng.choice(["solution", "solution=true", "Solution"])
        w.near_miss(f"# %% {option}", f'print("{value}")', at=-1)
    else:
        meta = rng.choice(['{"solution": "yes"}', '{"Solution": true}', '{"solutions": true}'])
        w.near_miss(f"# %% workshopkit={meta}", f'print("{value}")', at=-1)


def generate(seed: int, lessons: int, near_miss_rate: float) -> Generated:
    rng = random.Random(seed)
    out = Generated()
    out.files["workshop.toml"] = f'title = "Generated {seed}"\n'
    for number in range(lessons):
        ident = f"l{seed}-{number}"
        relpath = f"lessons/{ident}/{ident}.py"
        writer = _LessonWriter(out, rng, relpath, ident)
        _write_lesson(writer, near_miss_rate)
        out.files[relpath] = writer.text()
    return out


def _learner_texts(dist: Path) -> list[tuple[str, str, bool]]:
    """(name, text, is a learner notebook) of everything in dist/ and in its zips that learners
    get: every file but the solution notebooks."""
    found = []
    for path in sorted(dist.rglob("*")):
        if not path.is_file() or path.name.endswith(".solution.ipynb"):
            continue
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as bundle:
                for name in bundle.namelist():
                    if not name.endswith(".solution.ipynb"):
                        text = bundle.read(name).decode("utf-8", errors="replace")
                        found.append((f"{path.name}:{name}", text, name.endswith(".ipynb")))
        else:
            text = path.read_bytes().decode("utf-8", errors="replace")
            found.append((str(path.relative_to(dist)), text, path.suffix == ".ipynb"))
    return found


# (seed, lessons, near-miss rate): three workshops that must build, two that must not
PROPERTY_CASES = [(1, 3, 0.0), (2, 3, 0.0), (3, 2, 0.0), (4, 3, 0.25), (5, 2, 0.4)]


@pytest.mark.kernel
@pytest.mark.slow
def test_no_secret_reaches_learners_in_any_build(tmp_path: Path) -> None:
    outcomes = []
    for seed, lessons, rate in PROPERTY_CASES:
        generated = generate(seed, lessons, rate)
        root = tmp_path / f"w{seed}"
        for rel, text in generated.files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
        mark, env = mark_env(SOURCE_DATE_EPOCH="0")
        done = cli("build", root, env=env, timeout=300)
        assert wait_gone(mark) == []
        outcomes.append(done.returncode)
        if generated.near_misses:
            assert done.returncode == 2, done.stderr
            reported = set(re.findall(r"^(\S+?:\d+): error: ", done.stderr, re.MULTILINE))
            assert generated.near_misses <= reported, (
                generated.near_misses - reported,
                done.stderr,
            )
            assert not (root / "dist").exists()
            continue
        assert done.returncode == 0, done.stderr
        texts = _learner_texts(root / "dist")
        assert sum(notebook for *_, notebook in texts) == 2 * lessons  # dist/ and the zip
        for name, text, notebook in texts:
            for secret in generated.secrets:
                assert secret not in text, f"{secret} leaked into {name}"
            if notebook:
                for note in generated.notes:
                    assert note not in text, f"speaker notes {note} in {name}"
        solutions = "".join(
            p.read_text(encoding="utf-8") for p in (root / "dist").rglob("*.solution.ipynb")
        )
        assert all(secret in solutions for secret in generated.secrets)  # it ran, and is kept
    assert outcomes.count(0) == 3 and outcomes.count(2) == 2, outcomes


def test_generated_lessons_use_every_kind_of_spelling() -> None:
    """The property test's generator really produces the variety it claims."""
    text = "".join(
        t
        for seed, lessons, rate in PROPERTY_CASES
        for t in generate(seed, lessons, rate).files.values()
    )
    used = sum(1 for begin in BEGINS if begin in text)
    assert used >= len(BEGINS) // 2, used
    for needle in (
        'tags=["Solution"',
        "workshopkit=",
        "nbgrader=",
        '"notes"',
        "[raw]",
        "[markdown]",
    ):
        assert needle in text, needle
    assert any(generate(seed, n, rate).near_misses for seed, n, rate in PROPERTY_CASES)
