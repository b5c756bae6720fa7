"""Per-lesson files in `dist/lessons/<id>/` (DESIGN.md §5).

- `<id>.ipynb`: the learner copy (`transforms.learner_notebook` of the lesson as written);
- `<id>.solution.ipynb`: the solution copy (`transforms.solution_notebook` of the executed
  notebook; of the unexecuted one for a lesson skipped for a stated reason, e.g. no GPU);
- `<id>.slides.html`: the reveal.js deck of the executed notebook, solutions left out unless a
  cell is tagged `show-in-slides` (see `transforms.slides_source_notebook`);
- the lesson's assets (see `export.assets`), at their path relative to the lesson's folder.

Notebook files are deterministic: `nbformat.writes` sorts keys, cell ids are fixed by the
transforms, and no timestamps or machine paths survive them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..model import Diagnostic, Lesson, Severity, exported_names
from ._io import copy_file, write_bytes, write_text
from .assets import Asset

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from .layout import SlideProblem

__all__ = [
    "STATIC_PREFIX",
    "learner_path",
    "notebook_bytes",
    "read_notebook",
    "slide_diagnostics",
    "slides_path",
    "solution_path",
    "write_lesson",
]

STATIC_PREFIX = "../../_static"  # from dist/lessons/<id>/ to dist/_static


def learner_path(lesson_id: str) -> str:
    return f"lessons/{lesson_id}/{exported_names(lesson_id)[0]}"


def solution_path(lesson_id: str) -> str:
    return f"lessons/{lesson_id}/{exported_names(lesson_id)[1]}"


def slides_path(lesson_id: str) -> str:
    return f"lessons/{lesson_id}/{exported_names(lesson_id)[2]}"


def notebook_bytes(nb: NotebookNode) -> bytes:
    """The notebook as nbformat writes it (sorted keys, one-space indent), ending in a newline."""
    import nbformat

    text: str = nbformat.writes(nb, version=4)  # type: ignore[no-untyped-call]
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def read_notebook(path: Path) -> NotebookNode:
    import nbformat

    nb: NotebookNode = nbformat.read(str(path), as_version=4)  # type: ignore[no-untyped-call]
    return nb


def write_lesson(
    lesson: Lesson,
    executed: NotebookNode | None,
    assets: Sequence[Asset],
    dest: Path,
    *,
    slides: bool = True,
    diagnostics: list[Diagnostic] | None = None,
    shared_css: bool = False,
    setup_cell: str | None = None,
) -> list[Path]:
    """Write one lesson's notebooks, slides and assets under `dest` (the dist root); what the
    slides' layout reports (see `export.layout`) is added to `diagnostics` as warnings. With
    `shared_css` the deck links `_static/notebook.css` (written by the caller). `setup_cell`
    becomes the learner notebook's first code cell (the Colab setup of `[launch]`)."""
    from ..load import to_notebook
    from ..transforms import learner_notebook, slides_source_notebook, solution_notebook

    source = to_notebook(lesson)
    ran = executed if executed is not None else source
    learner = learner_notebook(source)
    if setup_cell is not None:
        learner.cells.insert(0, _setup_cell(setup_cell))
    written = [
        write_bytes(dest / learner_path(lesson.id), notebook_bytes(learner)),
        write_bytes(dest / solution_path(lesson.id), notebook_bytes(solution_notebook(ran))),
    ]
    if slides:
        from .slides import prepare_deck, render_slides

        deck = prepare_deck(
            slides_source_notebook(ran), include_solutions=False, folder=lesson.folder
        )
        if diagnostics is not None:
            diagnostics.extend(slide_diagnostics(lesson, deck.problems))
        html = render_slides(
            deck.nb,
            static_prefix=STATIC_PREFIX,
            title=lesson.meta.title,
            sanitize_html=True,
            shared_css=shared_css,
        )
        written.append(write_text(dest / slides_path(lesson.id), html))
    folder = dest / "lessons" / lesson.id
    written.extend(copy_file(asset.source, folder / asset.name) for asset in assets)
    return written


def _setup_cell(source: str) -> NotebookNode:
    from nbformat.v4 import new_code_cell

    from ..launch import COLAB_CELL_ID

    cell: NotebookNode = new_code_cell(source)  # type: ignore[no-untyped-call]
    cell.id = COLAB_CELL_ID
    return cell


def slide_diagnostics(lesson: Lesson, problems: Sequence[SlideProblem]) -> list[Diagnostic]:
    """The layout's problems as warnings at the `path:line` of the lesson's cells."""
    out = []
    for problem in problems:
        line = lesson.line_of("")
        if problem.cell is not None and 0 < problem.cell <= len(lesson.cells):
            line = lesson.cells[problem.cell - 1].body_line + problem.offset
        message = f"lesson '{lesson.id}': slides: {problem.message}"
        out.append(Diagnostic(lesson.relpath, line, Severity.WARNING, message))
    return out
