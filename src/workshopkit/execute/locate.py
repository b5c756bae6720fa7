"""Where in the lesson's `.py` file a cell of the executed notebook, or a traceback, points.

`load.to_notebook` records each cell's source line and number in its metadata (`SOURCE_KEY`);
papermill adds an injected-parameters cell with none, and IPython tracebacks name the line inside
the cell (`Cell In[n], line L`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..model import TAG_RAISES, Lesson, Location, cell_tags, strip_ansi

if TYPE_CHECKING:
    from nbformat import NotebookNode

CELL_LINE = re.compile(r"Cell In\[(\d+)\], line (\d+)")
TRACEBACK_LINES = 30


def short_traceback(lines: Sequence[str]) -> str:
    """A kernel's traceback as plain text: its last `TRACEBACK_LINES` lines."""
    text = strip_ansi("\n".join(lines)).strip("\n")
    parts = text.split("\n")
    if len(parts) > TRACEBACK_LINES:
        parts = ["...", *parts[-TRACEBACK_LINES:]]
    return "\n".join(parts)


def source_of(cell: NotebookNode) -> tuple[int, int | None]:
    """The `.py` line where `cell` starts, and its 1-based number (0, None: not from the file)."""
    from ..load import SOURCE_KEY

    where = cell.get("metadata", {}).get(SOURCE_KEY, {})
    return int(where.get("line", 0)), where.get("cell")


def _traceback_offset(traceback: str, exec_count: int | None) -> int:
    """Line offset inside the failing cell, from its `Cell In[n], line L` traceback frame."""
    found = [(int(count), int(line)) for count, line in CELL_LINE.findall(traceback)]
    if not found:
        return 0
    for count, line in found:
        if count == exec_count:
            return max(0, line - 1)
    return max(0, found[0][1] - 1)


def locate(
    lesson: Lesson, nb: NotebookNode | None, index: int | None, traceback: str = ""
) -> Location:
    """Where executed-notebook cell `index` is in the lesson (the header: no such cell), at the
    line its `traceback` names, if any."""
    if nb is None or index is None or not 0 <= index < len(nb.cells):
        return Location(lesson.relpath, lesson.line_of(""))
    line, number = source_of(nb.cells[index])
    if not line:  # papermill's injected-parameters cell: point at the parameters cell
        for cell in nb.cells[:index][::-1]:
            line, number = source_of(cell)
            if line:
                break
        return Location(lesson.relpath, line or lesson.line_of(""), number)
    offset = _traceback_offset(traceback, nb.cells[index].get("execution_count"))
    return Location(lesson.relpath, line + offset, number)


def first_failed_cell(nb: NotebookNode | None) -> int | None:
    """The index of the cell papermill marked failed, else of the first unexpected error output."""
    if nb is None:
        return None
    for index, cell in enumerate(nb.cells):
        papermill = cell.get("metadata", {}).get("papermill", {})
        if papermill.get("exception") or papermill.get("status") == "failed":
            return index
    for index, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", [])
        if TAG_RAISES not in cell_tags(cell) and any(
            o.get("output_type") == "error" for o in outputs
        ):
            return index
    return None
