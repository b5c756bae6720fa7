"""Notebook -> notebook steps shared by the exporters (DESIGN.md §2, §5).

Every function here returns a new notebook and never changes its argument. The two public
transforms run `nbformat.validate` on what they return, so an invalid notebook is caught at the
export boundary, named by the transform that produced it.

What a solution marker, a solution cell and a notes cell are is defined once, in `markers`
(the validator and the slide exporter use the same definitions).

Learner copy (`learner_notebook`)
    - solution cells (tagged `solution` or a honoured variant such as `Solution`, or flagged
      `workshopkit: {solution: true}`) and speaker-notes cells (`slide_type: notes`) are removed,
      code and markdown alike;
    - in the other code cells, each `# BEGIN SOLUTION` ... `# END SOLUTION` region (any marker
      spelling `markers` honours, nbgrader's `### BEGIN SOLUTION` included) becomes a stub
      at the region's indentation (the smallest indentation of its code lines):

      * where a value is needed, that is where the region `return`s or `yield`s, or binds names
        that code after it may use (assignments, `for` targets, imports, `def`/`class`)::

            # your code here
            raise NotImplementedError("exercise: define my_price")

        so the learner's notebook fails *at the exercise*, with a message saying what to write,
        rather than with a confusing `NameError` or `None` further down;
      * otherwise (a region that only calls things, e.g. `plt.plot(x, y)`)::

            ...  # your code here

    - outputs, execution counts and `language_info` (the build's interpreter) are cleared;
    - papermill's error banner cells, its `injected-parameters` cell and volatile metadata
      (`papermill`, `execution` timings, `ExecuteTime`, `workshopkit_source`, jupytext's
      round-trip hints) go;
      kernelspec, tags and `slideshow` metadata stay.

Solution copy (`solution_notebook`)
    The executed notebook with its outputs, minus papermill's cells and the volatile metadata.
    The `# BEGIN SOLUTION` / `# END SOLUTION` marker comments are *kept*: the code is exactly
    what ran, and the markers show instructors and learners which lines were the exercise.

Both give cells deterministic ids (`cell-<n>`, n = the cell's number in the lesson's `.py`
file), so learner and solution copies share ids and repeated builds give identical files.
"""

from __future__ import annotations

import ast
import copy
import re
from typing import TYPE_CHECKING, Any

from .load import SOURCE_KEY
from .markers import (
    Bindings,
    analysable,
    has_regions,
    marker_kind,
    removed_for_learners,
    solution_regions,
    strip_solution_marks,
)
from .model import TAG_SHOW_IN_SLIDES, cell_tags

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = [
    "TAG_INJECTED_PARAMETERS",
    "TAG_PAPERMILL_ERROR",
    "TAG_SHOW_IN_SLIDES",
    "TransformError",
    "clean_notebook",
    "learner_notebook",
    "slides_source_notebook",
    "solution_notebook",
    "stub_breaks_cell",
    "stub_solutions",
]

TAG_PAPERMILL_ERROR = "papermill-error-cell-tag"
TAG_INJECTED_PARAMETERS = "injected-parameters"
_PAPERMILL_TAGS = frozenset({TAG_PAPERMILL_ERROR, TAG_INJECTED_PARAMETERS})

# Metadata that changes from run to run or describes the build machine, not the lesson.
VOLATILE_NOTEBOOK_KEYS = frozenset({"papermill", "jupytext", "widgets_state_volatile"})
VOLATILE_CELL_KEYS = frozenset(
    {
        "papermill",
        "execution",
        "ExecuteTime",
        SOURCE_KEY,
        # jupytext's round-trip hints for the .py file; meaningless in an .ipynb
        "lines_to_next_cell",
        "lines_to_end_of_cell_marker",
        "cell_marker",
    }
)

_DEF = re.compile(r"^([ \t]*)(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)")
STUB_COMMENT = "# your code here"


class TransformError(ValueError):
    """A transform produced something invalid; the message names the transform and the cell."""


# --------------------------------------------------------------------------------------------
# Solution regions -> stubs


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _is_code_line(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


_ASSIGNED = re.compile(r"^\s*([A-Za-z_][\w, ]*?)\s*(?:[-+*/%@&|^]|//|\*\*|>>|<<)?=(?!=)")


def _region_needs(lines: list[str]) -> tuple[bool, list[str]]:
    """(returns, names bound) for a solution region; a regex fallback when it does not parse."""
    try:
        tree = ast.parse(analysable(lines))
    except SyntaxError:
        returns = any(re.match(r"^\s*(return|yield)\b", line) for line in lines)
        names: list[str] = []
        for line in lines:
            match = _ASSIGNED.match(line)
            if match:
                for name in re.split(r"[,\s]+", match.group(1)):
                    if name.isidentifier() and name not in names:
                        names.append(name)
        return returns, names
    visitor = Bindings()
    for statement in tree.body:
        visitor.visit(statement)
    return visitor.returns, visitor.names


def _enclosing_function(before: list[str], indent: str) -> str | None:
    """The name of the `def` a region at `indent` sits in, looking back through `before`."""
    threshold = len(indent)
    for line in reversed(before):
        if not _is_code_line(line) or len(_indent_of(line)) >= threshold:
            continue
        match = _DEF.match(line)
        if match:
            return match.group(2)
        threshold = len(_indent_of(line))
        if threshold == 0:
            return None
    return None


def _stub(region: list[str], marker_indent: str, before: list[str]) -> list[str]:
    code = [line for line in region if _is_code_line(line)]
    indent = min((_indent_of(line) for line in code), key=len) if code else marker_indent
    returns, names = _region_needs(region) if code else (False, [])
    if returns:
        function = _enclosing_function(before, indent)
        what = f"complete {function}()" if function else "return the result"
    elif names:
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        what = f"define {shown}"
    else:
        return [f"{indent}...  {STUB_COMMENT}"]
    return [f"{indent}{STUB_COMMENT}", f'{indent}raise NotImplementedError("exercise: {what}")']


def has_solution_region(source: str) -> bool:
    return has_regions(source)


def stub_solutions(source: str) -> str:
    """Replace every solution region of a code cell (see `markers`) by a stub.

    A region never closed runs to the end of the cell (validation reports it before any build).
    """
    lines = source.split("\n")
    out: list[str] = []
    done = 0
    for region in solution_regions(lines):
        out.extend(lines[done : region.begin])
        done = region.stop(len(lines))
        body = lines[region.begin + 1 : region.end]  # `end` None: to the end of the cell
        out.extend(_stub(body, _indent_of(lines[region.begin]), lines[: region.begin]))
    out.extend(lines[done:])
    return "\n".join(out)


def _parses(source: str) -> bool:
    try:
        ast.parse(analysable(source.split("\n")))
    except SyntaxError:
        return False
    return True


def stub_breaks_cell(source: str) -> bool:
    """Whether stubbing a valid cell's regions leaves invalid Python (a region that cuts a
    statement in half). `check` reports it; `learner_notebook` refuses it."""
    return has_regions(source) and _parses(source) and not _parses(stub_solutions(source))


# --------------------------------------------------------------------------------------------
# Cleaning


def _copy(nb: NotebookNode) -> NotebookNode:
    return copy.deepcopy(nb)


def _cell_number(cell: Any, position: int) -> int:
    source = cell.get("metadata", {}).get(SOURCE_KEY)
    if isinstance(source, dict) and isinstance(source.get("cell"), int):
        return int(source["cell"])
    return position


def clean_notebook(nb: NotebookNode) -> NotebookNode:
    """A copy without papermill's cells and volatile metadata, with deterministic cell ids."""
    out = _copy(nb)
    kept = []
    used: set[str] = set()
    for position, cell in enumerate(
        (c for c in out.cells if not set(cell_tags(c)) & _PAPERMILL_TAGS), start=1
    ):
        number = _cell_number(cell, position)
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        if "tags" in cell.metadata and not cell.metadata["tags"]:
            del cell.metadata["tags"]
        ident = f"cell-{number}"
        while ident in used:  # only if an input notebook repeats a source number
            ident += "x"
        used.add(ident)
        cell["id"] = ident
        kept.append(cell)
    out.cells = kept
    for key in VOLATILE_NOTEBOOK_KEYS:
        out.metadata.pop(key, None)
    if (out.get("nbformat"), out.get("nbformat_minor", 0)) < (4, 5):
        for cell in out.cells:
            cell.pop("id", None)
    return out


def _validate(nb: NotebookNode, transform: str) -> NotebookNode:
    import nbformat

    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise TransformError(f"{transform} produced an invalid notebook: {exc.message}") from exc
    return nb


def _source_label(cell: Any) -> str:
    source = cell.get("metadata", {}).get(SOURCE_KEY)
    if isinstance(source, dict) and "line" in source:
        return f"cell {source.get('cell')} (line {source['line']})"
    return f"cell {cell.get('id', '?')}"


def learner_notebook(nb: NotebookNode) -> NotebookNode:
    """The attendee's copy: solutions stubbed or removed, no outputs, no volatile metadata."""
    work = _copy(nb)
    work.cells = [
        c
        for c in work.cells
        if removed_for_learners(c.get("metadata", {}), str(c.source), c.cell_type) is None
    ]
    for cell in work.cells:
        if cell.cell_type != "code":
            continue
        source = str(cell.source)
        if has_solution_region(source):
            if stub_breaks_cell(source):
                raise TransformError(
                    f"learner_notebook: the stub for the solution in {_source_label(cell)} is "
                    "not valid Python; keep each '# BEGIN SOLUTION' ... '# END SOLUTION' region "
                    "to whole statements"
                )
            cell.source = stub_solutions(source)
        cell.outputs = []
        cell.execution_count = None
    work.metadata.pop("language_info", None)  # describes the build's run, not the lesson
    return _validate(clean_notebook(work), "learner_notebook")


def solution_notebook(executed_nb: NotebookNode) -> NotebookNode:
    """The instructor's copy: executed, with outputs and the solution markers."""
    return _validate(clean_notebook(executed_nb), "solution_notebook")


def slides_source_notebook(nb: NotebookNode) -> NotebookNode:
    """The notebook handed to the slides renderer, with the `show-in-slides` opt-in applied.

    Learner-facing decks leave solutions out. A cell tagged `show-in-slides` is shown whole:
    a solution cell stays in the deck, and a code cell's `# BEGIN SOLUTION` ... `# END SOLUTION`
    region is shown as code (the marker lines removed) instead of a stub.
    """
    out = clean_notebook(nb)
    for cell in out.cells:
        if TAG_SHOW_IN_SLIDES not in cell_tags(cell):
            continue
        strip_solution_marks(cell.metadata)
        if cell.cell_type == "code":
            cell.source = "\n".join(
                line for line in str(cell.source).split("\n") if marker_kind(line) is None
            )
    return out
