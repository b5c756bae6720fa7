"""transforms: learner and solution copies (golden files), stubs, and learner copies that run."""

from __future__ import annotations

import ast
import copy
import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from export_scenarios import (
    EXAMPLE,
    fake_executed,
    open_valid,
    scenario,
    with_error_banner,
)
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from workshopkit.export.notebooks import notebook_bytes
from workshopkit.load import to_notebook
from workshopkit.transforms import (
    TransformError,
    clean_notebook,
    learner_notebook,
    slides_source_notebook,
    solution_notebook,
    stub_solutions,
)

VOLATILE = ("papermill", "ExecuteTime", "iopub.execute_input", "workshopkit_source", "jupytext")
# Golden files are .json, not .ipynb: linters (ruff) would lint them as notebooks.
GOLDEN_LEARNER = "learner/exercises.ipynb.json"
GOLDEN_SOLUTION = "learner/exercises.solution.ipynb.json"


@pytest.fixture
def exercises(tmp_path: Path):  # type: ignore[no-untyped-def]
    workshop = open_valid(scenario(tmp_path / "ws"))
    return workshop, workshop.lesson("exercises")


# --------------------------------------------------------------------------------------------
# Golden files


def test_learner_copy_matches_golden(exercises, tmp_path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    _, lesson = exercises
    executed = with_error_banner(fake_executed(to_notebook(lesson), tmp_path))
    from_source = notebook_bytes(learner_notebook(to_notebook(lesson)))
    from_executed = notebook_bytes(learner_notebook(executed))
    assert from_source == from_executed  # papermill's traces leave no mark
    golden.check(GOLDEN_LEARNER, from_source.decode())


def test_solution_copy_matches_golden(exercises, tmp_path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    _, lesson = exercises
    executed = with_error_banner(fake_executed(to_notebook(lesson), tmp_path))
    data = notebook_bytes(solution_notebook(executed))
    golden.check(GOLDEN_SOLUTION, data.decode())
    assert str(tmp_path).encode() not in data


def test_learner_copy_content(exercises) -> None:  # type: ignore[no-untyped-def]
    _, lesson = exercises
    nb = learner_notebook(fake_executed(to_notebook(lesson), Path("/tmp/x")))
    sources = [c.source for c in nb.cells]
    text = "\n".join(sources)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert "answer = predict" not in text  # the solution cell
    assert "The answer is 7" not in text  # a markdown solution cell
    assert "# Parameters" not in text  # papermill's injected cell
    assert 'raise NotImplementedError("exercise: complete predict()")' in text
    assert 'raise NotImplementedError("exercise: define total")' in text
    assert "values = []\n...  # your code here\nprint(values)" in text
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        assert not set(cell.metadata) & {"papermill", "execution", "ExecuteTime"}
        assert "workshopkit_source" not in cell.metadata
        assert re.fullmatch(r"cell-\d+", cell.id)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "papermill" not in nb.metadata and "jupytext" not in nb.metadata
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert ["parameters"] in tags and ["raises-exception"] in tags
    assert nb.cells[0].metadata["slideshow"] == {"slide_type": "slide"}
    nbformat.validate(nb)


def test_solution_copy_keeps_outputs_and_markers(exercises, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, lesson = exercises
    nb = solution_notebook(with_error_banner(fake_executed(to_notebook(lesson), tmp_path)))
    text = "\n".join(c.source for c in nb.cells)
    assert "# BEGIN SOLUTION" in text and "answer = predict" in text
    assert not any("papermill-error-cell-tag" in c.metadata.get("tags", []) for c in nb.cells)
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs for c in code)
    assert "papermill" not in nb.metadata
    assert nb.metadata["language_info"]["name"] == "python"


def test_cell_ids_shared_between_copies(exercises) -> None:  # type: ignore[no-untyped-def]
    _, lesson = exercises
    learner = learner_notebook(to_notebook(lesson))
    solution = solution_notebook(to_notebook(lesson))
    assert {c.id for c in learner.cells} < {c.id for c in solution.cells}


def test_transforms_never_change_their_input(exercises, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, lesson = exercises
    executed = with_error_banner(fake_executed(to_notebook(lesson), tmp_path))
    before = copy.deepcopy(executed)
    learner_notebook(executed)
    solution_notebook(executed)
    slides_source_notebook(executed)
    clean_notebook(executed)
    assert executed == before


def test_volatile_metadata_gone_from_bytes(exercises, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, lesson = exercises
    executed = fake_executed(to_notebook(lesson), tmp_path)
    for data in (
        notebook_bytes(learner_notebook(executed)),
        notebook_bytes(solution_notebook(executed)),
    ):
        for word in VOLATILE:
            assert word.encode() not in data
        assert b"2026-11-23" not in data  # timestamps
        assert str(tmp_path).encode() not in data


def test_notebooks_without_ids_stay_without(tmp_path: Path) -> None:
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    nb.nbformat_minor = 4
    for cell in nb.cells:
        cell.pop("id", None)
    out = learner_notebook(nb)
    assert "id" not in out.cells[0]


# --------------------------------------------------------------------------------------------
# Stubs


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            "def f(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION",
            "def f(x):\n    # your code here\n"
            '    raise NotImplementedError("exercise: complete f()")',
            id="return-in-function",
        ),
        pytest.param(
            "# BEGIN SOLUTION\na, b = 1, 2\n# END SOLUTION\nprint(a)",
            '# your code here\nraise NotImplementedError("exercise: define a, b")\nprint(a)',
            id="assignment",
        ),
        pytest.param(
            "# BEGIN SOLUTION\nplt.plot(x, y)\n# END SOLUTION",
            "...  # your code here",
            id="call-only",
        ),
        pytest.param(
            "def g(x):\n    if x:\n        # BEGIN SOLUTION\n        y = x\n        return y\n"
            "        # END SOLUTION\n    return 0",
            "def g(x):\n    if x:\n        # your code here\n"
            '        raise NotImplementedError("exercise: complete g()")\n    return 0',
            id="nested-block",
        ),
        pytest.param(
            "for i in range(3):\n    # BEGIN SOLUTION\n    %matplotlib inline\n    total += i\n"
            "    # END SOLUTION",
            "for i in range(3):\n    # your code here\n"
            '    raise NotImplementedError("exercise: define total")',
            id="magic-in-region",
        ),
        pytest.param(
            "    # BEGIN SOLUTION\n    # END SOLUTION", "    ...  # your code here", id="empty"
        ),
        pytest.param(
            "# BEGIN SOLUTION\nimport numpy as np\nfrom math import pi\n# END SOLUTION",
            '# your code here\nraise NotImplementedError("exercise: define np, pi")',
            id="imports",
        ),
        pytest.param(
            "x = [i for i in range(3)]  # no markers",
            "x = [i for i in range(3)]  # no markers",
            id="untouched",
        ),
        pytest.param(
            "# BEGIN SOLUTION\nx = 1\n",
            '# your code here\nraise NotImplementedError("exercise: define x")',
            id="unclosed-runs-to-end",
        ),
        pytest.param(
            "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
            "def f(x):\n    # your code here\n"
            '    raise NotImplementedError("exercise: complete f()")',
            id="nbgrader-markers",
        ),
        pytest.param(
            "#\u00a0begin  solution (hint)\nw = 1\n# END\u3000SOLUTION\u00a0\nprint(w)",
            '# your code here\nraise NotImplementedError("exercise: define w")\nprint(w)',
            id="case-and-unicode-spaces",
        ),
        pytest.param(
            "# BEGIN SOLUTION\na = 1\n# END SOLUTION\nb = 2\n"
            "# begin solution\nc = 3\n# end solution",
            '# your code here\nraise NotImplementedError("exercise: define a")\nb = 2\n'
            '# your code here\nraise NotImplementedError("exercise: define c")',
            id="two-regions",
        ),
        pytest.param(
            "def h():\n    # BEGIN SOLUTION\n    yield 1\n    # END SOLUTION",
            "def h():\n    # your code here\n"
            '    raise NotImplementedError("exercise: complete h()")',
            id="generator",
        ),
    ],
)
def test_stub_solutions(source: str, expected: str) -> None:
    assert stub_solutions(source) == expected


def test_every_stub_is_valid_python() -> None:
    source = (
        "class A:\n    def m(self):\n        # BEGIN SOLUTION\n        return 1\n"
        "        # END SOLUTION\n"
        "    def n(self):\n        # BEGIN SOLUTION\n        self.x = 2\n        # END SOLUTION\n"
    )
    ast.parse(stub_solutions(source))


def test_a_stub_that_breaks_the_cell_is_an_error() -> None:
    broken = new_code_cell("x = (\n# BEGIN SOLUTION\n1\n# END SOLUTION\n")
    # a cell that is not valid Python anyway is left to the kernel to report ...
    learner_notebook(new_notebook(cells=[broken]))
    # ... but a region that cuts a valid cell in half is refused, naming the cell
    for source in (
        "if x:\n    # BEGIN SOLUTION\n    y = 1\nelse:\n    # END SOLUTION\n    y = 2",
        "# BEGIN SOLUTION\nfor i in range(3):\n# END SOLUTION\n    print(i)",
    ):
        cell = new_code_cell(source)
        cell.metadata["workshopkit_source"] = {"line": 20, "cell": 4}
        with pytest.raises(TransformError, match=r"cell 4 \(line 20\)"):
            learner_notebook(new_notebook(cells=[cell]))


def test_show_in_slides_opt_in() -> None:
    nb = new_notebook(
        cells=[
            new_code_cell("a = 1", metadata={"tags": ["solution", "show-in-slides"]}),
            new_code_cell("b = 2", metadata={"tags": ["solution"]}),
            new_code_cell(
                "def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION",
                metadata={"tags": ["exercise", "show-in-slides"]},
            ),
        ]
    )
    out = slides_source_notebook(nb)
    assert out.cells[0].metadata["tags"] == ["show-in-slides"]
    assert out.cells[1].metadata["tags"] == ["solution"]
    assert out.cells[2].source == "def f():\n    return 1"
    from workshopkit.export.slides import prepare_slides

    deck = prepare_slides(out, include_solutions=False)
    shown = [c.source for c in deck.cells]
    assert "a = 1" in shown and "b = 2" not in shown and "def f():\n    return 1" in shown


def test_invalid_output_is_reported_by_transform_name() -> None:
    nb = new_notebook(cells=[new_markdown_cell("hi")])
    nb.cells[0]["outputs"] = [new_output("stream", name="stdout", text="x")]  # invalid
    with pytest.raises(TransformError, match="solution_notebook"):
        solution_notebook(nb)


# --------------------------------------------------------------------------------------------
# Learner copies still run, failing only at the exercises


def _bound_names(source: str) -> set[str]:
    names: set[str] = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def _solution_names(nb: nbformat.NotebookNode) -> set[str]:
    """Names a learner has to define: those bound in solution cells and solution regions."""
    names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "solution" in cell.metadata.get("tags", []):
            names |= _bound_names(cell.source)
        for region in re.findall(
            r"#\s*BEGIN SOLUTION\n(.*?)#\s*END SOLUTION", cell.source, flags=re.S
        ):
            import textwrap

            names |= _bound_names(textwrap.dedent(region))
    return names


def run_learner_copy(lesson_folder: Path, nb: nbformat.NotebookNode, tmp: Path) -> list[str]:
    """Execute a learner copy in a copy of its folder; returns the unexpected errors."""
    from nbclient import NotebookClient

    work = tmp / "work"
    shutil.copytree(lesson_folder, work)
    learner = learner_notebook(nb)
    NotebookClient(
        learner,
        kernel_name="python3",
        timeout=120,
        allow_errors=True,
        resources={"metadata": {"path": str(work)}},
    ).execute()
    allowed_names = _solution_names(nb)
    problems = []
    for cell in learner.cells:
        if cell.cell_type != "code":
            continue
        tags = set(cell.metadata.get("tags", []))
        for output in cell.outputs:
            if output.output_type != "error":
                continue
            if tags & {"exercise", "raises-exception"}:
                continue
            if output.ename == "NotImplementedError" and "exercise:" in output.evalue:
                continue  # a stub reached from another cell: still the exercise
            name = re.match(r"name '(\w+)' is not defined", output.evalue)
            if output.ename == "NameError" and name and name.group(1) in allowed_names:
                continue  # a value the learner writes in an exercise
            problems.append(f"{cell.id}: {output.ename}: {output.evalue}\n{cell.source}")
    return problems


@pytest.mark.kernel
def test_scenario_learner_copy_runs(exercises, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, lesson = exercises
    assert run_learner_copy(lesson.folder, to_notebook(lesson), tmp_path) == []


def _example_lessons() -> list[object]:
    if not (EXAMPLE / "workshop.toml").is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason="example workshop not present"))]
    from workshopkit.pipeline import open_workshop

    opened = open_workshop(EXAMPLE)
    if opened.workshop is None:
        return [pytest.param(None, marks=pytest.mark.skip(reason="example workshop invalid"))]
    return [pytest.param(lesson, id=lesson.id) for lesson in opened.workshop.lessons]


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.parametrize("lesson", _example_lessons())
def test_example_learner_copies_run(lesson, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if lesson.meta.gpu:
        pytest.skip("needs a GPU")
    assert run_learner_copy(lesson.folder, to_notebook(lesson), tmp_path) == []


def test_mutating_an_attribute_is_not_defining_a_name() -> None:
    source = "def f(a, out):\n    # BEGIN SOLUTION\n    a.grad += out.grad\n    # END SOLUTION\n"
    assert stub_solutions(source) == "def f(a, out):\n    ...  # your code here\n"


# --------------------------------------------------------------------------------------------
# Every honoured spelling, solution cells, notes cells (the definitions are in `markers`)


def _honoured_scenario() -> tuple[Any, Any]:
    from cli_support import scenario as resource

    from workshopkit.pipeline import open_workshop

    opened = open_workshop(resource("solution_spellings_honoured"))
    assert opened.workshop is not None, [str(d) for d in opened.diagnostics]
    lesson = opened.workshop.lessons[0]
    return lesson, to_notebook(lesson)


def test_learner_copy_hides_every_honoured_spelling() -> None:
    lesson, nb = _honoured_scenario()
    secrets = set(re.findall(r"SECRET-[A-Z-]+", lesson.text))
    assert len(secrets) == 12  # 5 regions, 4 tagged cells, 2 flagged cells, 1 notes cell
    learner = notebook_bytes(learner_notebook(nb)).decode()
    assert [s for s in secrets if s in learner] == []
    assert "SOLUTION" not in learner.upper()  # no marker, no tag variant
    assert learner.count("# your code here") == 5  # one stub per region
    solution = notebook_bytes(solution_notebook(nb)).decode()
    assert [s for s in secrets if s not in solution] == []  # the instructor's copy keeps all


def test_notes_cells_leave_the_learner_copy_only() -> None:
    notes = {"slideshow": {"slide_type": "notes"}}
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Title"),
            new_markdown_cell("Ask who has used nbgrader.", metadata=notes),
            new_code_cell("print('demo for the speaker')", metadata=notes),
            new_code_cell("x = 1"),
        ]
    )
    learner = learner_notebook(nb)
    assert [c.source for c in learner.cells] == ["# Title", "x = 1"]
    assert len(solution_notebook(nb).cells) == 4
    from workshopkit.export.slides import prepare_slides

    deck = prepare_slides(slides_source_notebook(nb))
    assert "Ask who has used nbgrader." in [c.source for c in deck.cells]


@pytest.mark.parametrize(
    "metadata",
    [
        {"workshopkit": {"solution": True}},
        {"tags": ["Solution"]},
        {"tags": ["solutions", "exercise"]},
        {"tags": ["soln"]},
        {"nbgrader": {"solution": True, "grade": False}},
    ],
    ids=["workshopkit-metadata", "Solution", "solutions", "soln", "nbgrader"],
)
def test_solution_cells_of_every_kind_leave_the_learner_copy(metadata: dict[str, Any]) -> None:
    nb = new_notebook(cells=[new_code_cell("w = 'SECRET'", metadata=metadata), new_code_cell("x")])
    assert [c.source for c in learner_notebook(nb).cells] == ["x"]
    shown = copy.deepcopy(metadata)
    shown["tags"] = [*shown.get("tags", []), "show-in-slides"]
    nb.cells[0].metadata = shown
    slides = slides_source_notebook(nb)  # the show-in-slides opt-in works for every kind
    from workshopkit.export.slides import prepare_slides

    assert "w = 'SECRET'" in [c.source for c in prepare_slides(slides).cells]


def test_nbgrader_solution_cell_with_regions_keeps_the_rest() -> None:
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x  # SECRET\n    ### END SOLUTION"
    cell = new_code_cell(source, metadata={"nbgrader": {"solution": True}})
    out = learner_notebook(new_notebook(cells=[cell]))
    assert out.cells[0].source.startswith("def f(x):\n    # your code here")
    assert "SECRET" not in out.cells[0].source
