"""What a solution is, defined once: marker lines, solution regions, solution cells, notes cells.

The validator (`validate`), the learner stripper (`transforms`) and the slide exporter
(`export.slides`) all ask this module, so what `check` accepts is exactly what the exports remove.
Standard library only: `check` imports it.

Marker lines (code cells)
    A line is *normalised* first: Unicode NFKC (fullwidth letters and `＃` become ASCII, no-break
    and ideographic spaces become spaces), invisible format characters (zero-width spaces, BOM,
    soft hyphen) removed, every run of whitespace read as one space. A normalised line that is one
    or more `#`, then `BEGIN SOLUTION` or `END SOLUTION` in any case, then optionally free text
    that does not continue the word, is a marker: `# BEGIN SOLUTION`, nbgrader's
    `### BEGIN SOLUTION`, `#begin  solution`, `# END SOLUTION (hint)`. A *region* runs from a
    BEGIN line to the next END line of the same cell, both included (an unclosed one to the end
    of the cell; `check` reports it).

Near misses are errors (`check` and `build` exit 2 before anything is exported), never a pass:
    a comment that starts like a marker but is not one (`# BEGIN SOLUTIONS`, `# BEGINSOLUTION`,
    `# BEGIN_SOLUTION`, `# -- BEGIN SOLUTION --`), a marker after code on the same line, nbgrader's
    `### BEGIN HIDDEN TESTS`, and a line of a markdown or raw cell that starts like a marker
    (markers work in code cells only; a markdown answer goes in a cell tagged `solution`).

Solution cells (left out of the learner notebook and the slides)
    A cell tagged `solution`, or with a tag that is one spelling away from it (`Solution`,
    `SOLUTION`, `solutions`, `soln`, `soluton`: honoured, with a warning at `check`); a cell with
    `workshopkit: {solution: true}` metadata; a cell with nbgrader's `nbgrader: {solution: true}`
    and no region (with regions, nbgrader replaces only the regions, and so do we).

Notes cells
    `slideshow: {slide_type: notes}`: speaker notes, left out of the learner notebook, kept in the
    solution notebook and in the slides' speaker view.
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
import textwrap
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .model import SLIDE_TYPE_NOTES, TAG_SOLUTION, Cell, tags_from
from .schema import brief

__all__ = [
    "Bindings",
    "NameAfterRemoval",
    "Region",
    "analysable",
    "bindings",
    "code_line_problem",
    "has_regions",
    "is_notes_cell",
    "is_solution_cell",
    "is_solution_tag",
    "marker_kind",
    "marker_problems",
    "metadata_problems",
    "names_used_after_removal",
    "normalise",
    "removed_for_learners",
    "solution_regions",
    "strip_solution_marks",
    "tag_problems",
    "text_line_problem",
]

MarkerKind = Literal["begin", "end"]
Removal = Literal["solution", "notes"]

# Text without "sol" or "hidden" (after normalising) is neither a marker nor a near miss: most
# lines and cells are skipped on this test alone.
_HINT = re.compile(r"sol|hidden", re.IGNORECASE)
# Cyrillic and Greek letters that look like Latin ones, and Turkish dotted/dotless i: a marker
# spelled with them is not honoured (it is not the marker), so it must read as a near miss.
_LOOKALIKES = str.maketrans(
    "АВЕКМНОРСТХаеорсухІіЈјЅѕӀӏΑΒΕΗΙΚΜΝΟΡΤΧΥΖοινİı",
    "ABEKMHOPCTXaeopcyxIiJjSsIlABEHIKMNOPTXYZoivIi",
)
_MARKER = re.compile(r"#[#\s]*(begin|end) solution(?!\w)", re.IGNORECASE)
# After the '#' that starts a comment: decoration, then something that reads like a marker.
_NEAR_CODE = re.compile(
    r"#[\W_]*(?:(?P<kind>begin|end)[\W_]*(?:solution|soln)|(?P<hidden>begin|end)[\W_]*hidden"
    r"[\W_]*tests?)",
    re.IGNORECASE,
)
# A markdown or raw line that starts (after markdown decoration, not a backtick) like a marker.
_NEAR_TEXT = re.compile(
    r"(?:[^\w`]|_)*(?P<kind>begin|end)[\W_]*(?:solution|soln|hidden[\W_]*tests?)", re.IGNORECASE
)
# Commented-out or quoted code (`# end_solution = optimiser.run()`) is not a near miss.
_CODE_LIKE = re.compile(r"[#\s]*[A-Za-z_]\w*\s*(?:[-+*/%@&|^]?=(?!=)|\(|\.\w|\[)")
_SOLUTION_WORDS = ("solution", "solutions")
_TAG_SEPARATORS = re.compile(r"[\s_.-]+")


# --------------------------------------------------------------------------------------------
# Lines


def normalise(text: str) -> str:
    """NFKC, format characters (zero-width spaces, BOM, soft hyphen) removed, whitespace runs
    read as one space, stripped."""
    if text.isascii():
        return " ".join(text.split())
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(text.split())


def _candidate(line: str) -> tuple[str, str] | None:
    """The normalised line and its look-alikes-as-Latin skeleton, or None when the line cannot
    be a marker or a near miss (the fast path)."""
    if line.isascii():
        return (text := normalise(line), text) if _HINT.search(line) else None
    text = normalise(line)
    skeleton = text.translate(_LOOKALIKES)
    return (text, skeleton) if _HINT.search(skeleton) else None


def _may_hold_markers(source: str) -> bool:
    """False when no line of `source` can be a marker or a near miss (most cells)."""
    return not source.isascii() or _HINT.search(source) is not None


def marker_kind(line: str) -> MarkerKind | None:
    """'begin' or 'end' for a marker line of a code cell, else None."""
    found = _candidate(line)
    match = _MARKER.match(found[0]) if found else None
    if match is None:
        return None
    return "begin" if match.group(1)[0] in "bB" else "end"  # (`İ`.lower() is two characters)


def _comment_start(text: str) -> int | None:
    """Index of the `#` that starts the line's comment, outside string quotes (one line only)."""
    quote = ""
    escaped = False
    for index, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            return index
    return None


def _shown(text: str) -> str:
    text = text if len(text) <= 60 else text[:57] + "..."
    return ascii(text)


def code_line_problem(line: str) -> str | None:
    """Why a line of a code cell that reads like a solution marker is not one, or None."""
    found = _candidate(line)
    if found is None or _MARKER.match(found[0]):
        return None
    text = found[1]
    start = _comment_start(text)
    if start is None:
        return None
    match = _NEAR_CODE.match(text, start)
    if match is None or _CODE_LIKE.match(text, start):
        return None
    shown = _shown(line.strip())
    if match.group("hidden"):
        return (
            f"{shown}: nbgrader's hidden tests are not supported, so the learner notebook would "
            'show them; move the tests to a cell tagged "solution"'
        )
    kind = match.group("kind").upper()
    if text[:start].strip():
        return (
            f"{shown}: a solution marker after code is an ordinary comment, so the learner "
            f"notebook would show the solution; put '# {kind} SOLUTION' on a line of its own"
        )
    return (
        f"{shown} is not a solution marker, so the learner notebook would show the solution; "
        f"write '# {kind} SOLUTION' (any case, any number of '#', then optional text)"
    )


def text_line_problem(line: str, cell_type: str) -> str | None:
    """Why a line of a markdown or raw cell that starts like a solution marker is an error."""
    found = _candidate(line)
    if found is None:
        return None
    text = found[1]
    match = _NEAR_TEXT.match(text)
    if match is None or _CODE_LIKE.match(text):
        return None
    return (
        f"{_shown(line.strip())} in a {cell_type} cell: solution markers work in code cells "
        'only, so the learner notebook would show this text; tag the cell "solution" to leave '
        "it out of the learner notebook and the slides"
    )


# --------------------------------------------------------------------------------------------
# Regions


@dataclass(frozen=True, slots=True)
class Region:
    """A solution region of a cell: 0-based line indexes of its markers."""

    begin: int
    end: int | None  # None: not closed, runs to the end of the cell

    def stop(self, line_count: int) -> int:
        """The index after the region's last line."""
        return line_count if self.end is None else self.end + 1


def solution_regions(lines: Sequence[str]) -> tuple[Region, ...]:
    """The regions of a code cell's lines: each BEGIN to the next END (a BEGIN inside a region
    belongs to it; `check` reports it)."""
    regions: list[Region] = []
    begin: int | None = None
    for index, line in enumerate(lines):
        kind = marker_kind(line)
        if kind == "begin" and begin is None:
            begin = index
        elif kind == "end" and begin is not None:
            regions.append(Region(begin, index))
            begin = None
    if begin is not None:
        regions.append(Region(begin, None))
    return tuple(regions)


def marker_problems(
    source: str, first_line: int, cell_type: str = "code", *, near_misses: bool = True
) -> list[tuple[int, str]]:
    """(file line, message) for every marker error of a cell whose source starts on
    `first_line`: unbalanced markers, near misses (when `near_misses`), markers outside code."""
    if not _may_hold_markers(source):
        return []
    lines = source.split("\n")
    out: list[tuple[int, str]] = []
    if cell_type != "code":
        if near_misses:
            for offset, line in enumerate(lines):
                problem = text_line_problem(line, cell_type)
                if problem:
                    out.append((first_line + offset, problem))
        return out
    open_line = 0
    for offset, line in enumerate(lines):
        here = first_line + offset
        kind = marker_kind(line)
        if kind == "begin":
            if open_line:
                out.append((here, f"'# BEGIN SOLUTION' inside the one opened on line {open_line}"))
            open_line = here
        elif kind == "end":
            if not open_line:
                message = "'# END SOLUTION' without a '# BEGIN SOLUTION' before it in its cell"
                out.append((here, message))
            open_line = 0
        elif near_misses:
            problem = code_line_problem(line)
            if problem:
                out.append((here, problem))
    if open_line:
        message = "'# BEGIN SOLUTION' is not closed by an '# END SOLUTION' in the same cell"
        out.append((open_line, message))
    return out


def has_regions(source: str) -> bool:
    return _may_hold_markers(source) and any(
        marker_kind(line) == "begin" for line in source.split("\n")
    )


# --------------------------------------------------------------------------------------------
# Cells


def _key(text: str) -> str:
    return _TAG_SEPARATORS.sub("", normalise(text).casefold())


def _one_edit(word: str, target: str) -> bool:
    """At most one insertion, deletion, substitution or swap of neighbours apart."""
    if word == target:
        return True
    if abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and word[diff[0]] == target[diff[1]]
            and word[diff[1]] == target[diff[0]]
        )
    short, long = (word, target) if len(word) < len(target) else (target, word)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _solution_word(key: str) -> bool:
    return key == "soln" or any(_one_edit(key, word) for word in _SOLUTION_WORDS)


def is_solution_tag(tag: str) -> bool:
    """`solution`, or a tag one spelling away from it (case, plural, `soln`, one typo)."""
    return tag == TAG_SOLUTION or _solution_word(_key(tag))


def tag_problems(tags: Iterable[str]) -> list[str]:
    """Warnings for solution tags that are honoured but not spelled `solution`."""
    return [
        f"tag {_shown(tag)} is read as {TAG_SOLUTION!r} (did you mean {TAG_SOLUTION!r}?): the "
        "cell is left out of the learner notebook and the slides"
        for tag in tags
        if tag != TAG_SOLUTION and is_solution_tag(tag)
    ]


def _flag(metadata: Mapping[str, Any], key: str) -> bool:
    block = metadata.get(key)
    return isinstance(block, Mapping) and block.get("solution") is True


def is_solution_cell(
    metadata: Mapping[str, Any], source: str = "", cell_type: str = "code"
) -> bool:
    """A cell the learner notebook and the slides leave out (see the module docstring)."""
    if any(is_solution_tag(tag) for tag in tags_from(metadata)) or _flag(metadata, "workshopkit"):
        return True
    return _flag(metadata, "nbgrader") and not (cell_type == "code" and has_regions(source))


def is_notes_cell(metadata: Mapping[str, Any]) -> bool:
    slideshow = metadata.get("slideshow")
    return isinstance(slideshow, Mapping) and slideshow.get("slide_type") == SLIDE_TYPE_NOTES


def removed_for_learners(
    metadata: Mapping[str, Any], source: str = "", cell_type: str = "code"
) -> Removal | None:
    """Why the learner notebook leaves a cell out ('solution' or 'notes'), or None."""
    if is_solution_cell(metadata, source, cell_type):
        return "solution"
    return "notes" if is_notes_cell(metadata) else None


# Folded spellings authors use for speaker notes that are not the `notes` slide type: a tag, a
# cell option or a `# %% notes` title would leave the notes in the learner notebook.
_NOTES_WORDS = frozenset({"notes", "note", "speakernotes", "speakernote", "speaker"})
_NOTES_HINT = 'did you mean slideshow={"slide_type": "notes"}?'


def _notes_problems(metadata: Mapping[str, Any]) -> list[str]:
    """Errors for a cell marked as speaker notes in a way nothing honours."""
    if is_notes_cell(metadata):
        return []
    tags = metadata.get("tags")
    marks = [(t, f"tag {_shown(t)}") for t in (tags if isinstance(tags, list) else [])]
    marks += [(key, f"cell option {_shown(key)}") for key in metadata]
    title = metadata.get("title")
    marks.append((title, f"'# %% {title}' gives the cell a title; it"))
    return [
        f"{shown} does not make speaker notes ({_NOTES_HINT}), so the learner notebook would "
        "show this cell"
        for word, shown in marks
        if isinstance(word, str) and _key(word) in _NOTES_WORDS
    ]


def metadata_problems(metadata: Mapping[str, Any]) -> list[str]:
    """Errors for cell metadata that looks like a solution flag, or like speaker notes, but is
    not one."""
    out: list[str] = _notes_problems(metadata)
    for key in metadata:
        if not isinstance(key, str):
            continue
        folded = _key(key)
        if key != "workshopkit" and folded == "workshopkit":
            out.append(
                f"cell metadata {_shown(key)} is not read (did you mean 'workshopkit'?), so a "
                "solution flag in it would be ignored"
            )
        elif _solution_word(folded):
            out.append(
                f"cell option {_shown(key)} has no meaning (did you mean "
                'tags=["solution"]?), so the learner notebook would show this cell'
            )
    title = metadata.get("title")  # `# %% solution` gives a cell *titled* solution (jupytext)
    if isinstance(title, str) and _solution_word(_key(title)):
        out.append(
            f"'# %% {title}' gives the cell a title, not a tag (did you mean "
            "'# %% tags=[\"solution\"]'?), so the learner notebook would show this cell"
        )
    block = metadata.get("workshopkit")
    if block is None:
        return out
    if not isinstance(block, Mapping):
        out.append(
            f"'workshopkit' cell metadata must be a mapping such as {{\"solution\": true}}, "
            f"not {brief(block)}"
        )
        return out
    for key, value in block.items():
        if key == "solution":
            if not isinstance(value, bool):
                out.append(f"'workshopkit.solution' must be true or false, not {brief(value)}")
        elif isinstance(key, str) and _solution_word(_key(key)):
            out.append(
                f"unknown key {_shown(key)} in the 'workshopkit' cell metadata (did you mean "
                "'solution'?), so the learner notebook would show this cell"
            )
    return out


def strip_solution_marks(metadata: dict[str, Any]) -> None:
    """Remove whatever makes a cell a solution cell (for `show-in-slides`), in place."""
    if "tags" in metadata:
        metadata["tags"] = [t for t in tags_from(metadata) if not is_solution_tag(t)]
    for key in ("workshopkit", "nbgrader"):
        block = metadata.get(key)
        if isinstance(block, dict):
            block.pop("solution", None)


# --------------------------------------------------------------------------------------------
# Names a solution binds, and names learners' cells use


_MAGIC = re.compile(r"^([ \t]*)[%!]")


def analysable(lines: Sequence[str]) -> str:
    """Lines as parseable Python: dedented, IPython magics and shell lines replaced by `pass`."""
    body = [_MAGIC.sub(r"\1pass  # ", line) for line in lines]
    return textwrap.dedent("\n".join(body))


class Bindings(ast.NodeVisitor):
    """Names a piece of code binds in its own scope (with the 1-based line of the first binding)
    and whether it returns or yields; nested function, class, lambda and comprehension bodies
    are other scopes and are not visited (a `global` statement in a function is counted)."""

    def __init__(self) -> None:
        self.lines: dict[str, int] = {}
        self.returns = False
        self.star = False  # `from m import *`: anything may be bound

    @property
    def names(self) -> list[str]:
        return list(self.lines)

    def _add(self, name: str, node: ast.AST) -> None:
        self.lines.setdefault(name, getattr(node, "lineno", 0))

    def _bind(self, target: ast.AST) -> None:
        # Only plain names are bound; `a.grad += ...` or `x[i] = ...` mutate, they define nothing.
        if isinstance(target, ast.Name):
            self._add(target.id, target)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._bind(element)
        elif isinstance(target, ast.Starred):
            self._bind(target.value)

    def visit_Return(self, node: ast.Return) -> None:
        self.returns = True

    def visit_Yield(self, node: ast.Yield) -> None:
        self.returns = True

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self.returns = True

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind(target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._bind(node.target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._bind(node.target)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._bind(node.target)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        self._bind(node.target)
        self.generic_visit(node)

    visit_AsyncFor = visit_For  # type: ignore[assignment]

    def visit_withitem(self, node: ast.withitem) -> None:
        if node.optional_vars is not None:
            self._bind(node.optional_vars)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.asname or alias.name.split(".")[0], node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "*":
                self.star = True
            else:
                self._add(alias.asname or alias.name, node)

    def _named(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self._add(node.name, node)  # the body is another scope: only its `global`s count
        for statement in ast.walk(node):
            if isinstance(statement, ast.Global):
                for name in statement.names:
                    self._add(name, statement)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._named(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._named(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._named(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        return

    def visit_comprehension(self, node: ast.comprehension) -> None:
        return  # comprehension variables do not leak


def bindings(code: str) -> Bindings | None:
    """What `code` binds at its top level, or None when it does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    visitor = Bindings()
    for statement in tree.body:
        visitor.visit(statement)
    return visitor


def _global_references(code: str) -> set[str]:
    """Names `code` reads from the module namespace (locals of functions, classes, lambdas and
    comprehensions excluded: `symtable` resolves the scopes)."""
    try:
        table = symtable.symtable(code, "<cell>", "exec")
    except (SyntaxError, ValueError):
        return set()
    used = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    stack = list(table.get_children())
    while stack:
        scope = stack.pop()
        used.update(
            s.get_name() for s in scope.get_symbols() if s.is_referenced() and s.is_global()
        )
        stack.extend(scope.get_children())
    return used


def _first_use(code: str, name: str) -> int:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return 1
    lines = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)
    ]
    return min(lines, default=1)


# Names every kernel has without a definition: builtins and IPython's.
_ALWAYS_DEFINED = frozenset(dir(builtins)) | {
    "display",
    "get_ipython",
    "In",
    "Out",
    "exit",
    "quit",
    "_",
    "__",
    "___",
    "_i",
    "_ii",
    "_iii",
    "_oh",
    "_ih",
    "_dh",
}
_RUN_MAGIC = re.compile(r"^\s*%(run|load|store)\b")
_STAR_IMPORT = re.compile(r"^\s*from\s+\S+\s+import\s+\*")
_UNKNOWN_BINDINGS = re.compile(r"%(?:run|load|store)\b|import\s+\*")


@dataclass(frozen=True, slots=True)
class NameAfterRemoval:
    """A learner's cell reads `name`, which only a removed cell defines (file lines)."""

    name: str
    line: int  # where it is read
    defined_line: int  # where the removed cell binds it
    removal: Removal


def _learner_code(cell: Cell) -> list[str]:
    """A kept code cell's lines as the learner sees them, line for line: each region becomes
    `pass` at its indentation, then blank lines."""
    lines = cell.source.split("\n")
    for region in solution_regions(lines):
        stop = region.stop(len(lines))
        marker = lines[region.begin]
        indent = marker[: len(marker) - len(marker.lstrip(" \t"))]
        lines[region.begin : stop] = [f"{indent}pass"] + [""] * (stop - region.begin - 1)
    return lines


def names_used_after_removal(cells: Sequence[Cell]) -> list[NameAfterRemoval]:
    """Names that a code cell kept in the learner notebook reads, but that only a cell removed
    from it (a solution cell, a notes cell) defined earlier: the learner notebook raises
    NameError there. A name bound anywhere the learner keeps (or writes, in an exercise region),
    a builtin, and anything after a star import or `%run` are not reported.

    Only removed cells, and kept cells whose text mentions a name they bind, are parsed: `check`
    runs this on every lesson."""
    code_cells = [c for c in cells if c.cell_type == "code"]
    removals = [removed_for_learners(c.metadata, c.source, c.cell_type) for c in code_cells]
    parsed: dict[int, Bindings | None] = {
        i: bindings(analysable(code_cells[i].source.split("\n")))
        for i, removal in enumerate(removals)
        if removal is not None
    }
    candidates = {name for bound in parsed.values() if bound for name in bound.lines}
    candidates -= _ALWAYS_DEFINED
    if not candidates:
        return []
    mentions = re.compile(r"\b(?:" + "|".join(sorted(candidates)) + r")\b")
    kept: set[str] = set()
    removed: dict[str, tuple[int, Removal]] = {}
    found: list[NameAfterRemoval] = []
    for index, (cell, removal) in enumerate(zip(code_cells, removals, strict=True)):
        if removal is not None:
            for name, line in (b.lines if (b := parsed[index]) else {}).items():
                if name in candidates and name not in kept and name not in removed:
                    removed[name] = (cell.body_line + line - 1, removal)
            continue
        lines = cell.source.split("\n")
        if _UNKNOWN_BINDINGS.search(cell.source) and any(
            _RUN_MAGIC.match(line) or _STAR_IMPORT.match(line) for line in lines
        ):
            return found  # what this cell binds is unknown: stop before any false alarm
        if not mentions.search(cell.source):
            continue  # binds and reads none of the names that matter
        bound = bindings(analysable(lines))
        if bound is None:
            continue  # not Python (a `%%bash` cell) or broken: the run reports that
        if removed:
            code = analysable(_learner_code(cell))
            for name in sorted(_global_references(code) & removed.keys()):
                if name not in kept and name not in bound.lines:
                    defined, why = removed.pop(name)
                    line = cell.body_line + _first_use(code, name) - 1
                    found.append(NameAfterRemoval(name, line, defined, why))
        kept.update(bound.lines)
    return found
