"""`workshopkit import`: turn Jupyter notebooks into lessons.

A notebook (`.ipynb`, a MyST or plain Markdown `.md`, a jupytext `.py`) becomes
`<to>/<id>/<id>.py`, a `py:percent` lesson written by jupytext, with:

- **Cells** as they were, outputs dropped, empty cells left out. Cell metadata other than `tags`
  and `slideshow` is dropped (and a `slide_type` that workshopkit does not know, with it).
  Lines that jupytext would read back as the start of a new cell (a `# %%` comment in code,
  `%% text` in markdown) are escaped, a markdown code fence left open is closed, and the result
  is read back with jupytext and with workshopkit's own reader: a notebook that does not come
  back cell for cell is not imported.
- **A `workshopkit` block**: `id` from the file name (slugified, unique among the imported
  notebooks and the lessons of the workshop that `--to` is in), `title` from the first heading
  (markdown formatting, links and HTML removed; else the file name), `level` from `--level`
  (else `beginner`, with a warning), `minutes` estimated (see `estimate_minutes`), empty `tags`,
  `requires` and `objectives` for the author to fill in.
- **Its kernelspec**, if the notebook's kernel runs Python; a notebook in another language is
  not imported.
- **Its assets** beside it, keeping their paths relative to the notebook: files that markdown
  references (`![](img.png)`, `<img src=...>`, links to files), files that code names in a
  string literal, and local modules it imports. A file referenced from outside the notebook's
  folder (`../data/x.csv`) is copied inside the lesson's folder (`data/x.csv`) and the reference
  rewritten, as are cell attachments (`attachment:image.png` -> `image.png`). Links to another
  notebook imported in the same run point at that lesson's notebook (`../<id>/<id>.ipynb`, where
  `workshopkit build` puts it). URLs are left alone. Files are copied only from the notebook's
  project (its git repository, else its folder's parent) and never hidden ones: a notebook
  cannot smuggle `~/.ssh/id_rsa` or `../../.env` into a workshop's bundles; such references, and
  any other that leaves the notebook's folder, are rewritten to a name inside the lesson's
  folder and reported, so that the lesson passes `check`.

Nothing is overwritten without `force`; each file is written to a temporary file and renamed,
assets first, so a lesson never exists half-written. What needs the author's eye is reported as
a `Finding`, located at the line of the written lesson and naming the notebook's cell: saved
error outputs without a `raises-exception` tag, downloads, `%%` cell magics, widgets, `input()`,
absolute paths, and every rewrite.

jupytext and nbformat are imported only when notebooks are read.
"""

from __future__ import annotations

import base64
import binascii
import enum
import filecmp
import html
import io
import json
import os
import re
import time
import tokenize
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from .config import find_root
from .discover import discover
from .errors import ExitCode
from .export.assets import MarkdownRef, imported_modules, markdown_references, name_problem
from .fileio import write_atomic
from .load import (
    LessonSource,
    closes_fence,
    has_workshopkit_block,
    is_cell_marker,
    load_lesson,
    opening_fence,
    parse_header,
    read_text,
    scan_cells,
)
from .markers import is_solution_cell, is_solution_tag
from .model import (
    LEVEL_NAMES,
    SLIDE_TYPES,
    TAG_RAISES,
    TAG_SOLUTION,
    Diagnostic,
    Severity,
    exported_names,
    tags_from,
)
from .validate import check_lesson, declared_id, id_key, id_problem, slugify

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = [
    "FORMATS",
    "CellFinding",
    "Finding",
    "FindingKind",
    "ImportOptions",
    "ImportResult",
    "ImportedLesson",
    "display_path",
    "estimate_minutes",
    "import_notebooks",
    "title_from",
]

# The notebook formats read, by suffix: jupytext's format, or how to find it.
FORMATS: Mapping[str, str] = {
    ".ipynb": "ipynb",
    ".md": "md",  # md:myst when jupytext recognises MyST (front matter, {code-cell} blocks)
    ".markdown": "md",
    ".myst": "md:myst",
    ".mystnb": "md:myst",
    ".mnb": "md:myst",
    ".py": "py",  # percent, light, ... as jupytext recognises it
}
KEPT_CELL_METADATA = ("tags", "slideshow")

# The minutes estimate (`estimate_minutes`): prose presented at PROSE_WPM words a minute, plus
# CODE_CELL_MINUTES for each code cell (run it, read its output, say what it shows); rounded to
# the nearest ROUND_MINUTES, at least ROUND_MINUTES.
PROSE_WPM = 120
CODE_CELL_MINUTES = 1.0
ROUND_MINUTES = 5

DEFAULT_KERNELSPEC: Mapping[str, str] = {
    "display_name": "Python 3",
    "language": "python",
    "name": "python3",
}
_WRITE_FORMAT: Mapping[str, Any] = {
    # jupytext's percent writer without its one difference from the reader we need: it turns
    # `%%bash` cells into `# %% language="bash"`, which jupytext reads back but workshopkit
    # refuses. Hydrogen is percent with that off; with magics commented it writes percent.
    "extension": ".py",
    "format_name": "hydrogen",
    "comment_magics": True,
    "notebook_metadata_filter": "-all",  # the header is ours
    "cell_metadata_filter": ",".join((*KEPT_CELL_METADATA, "-all")),
    "root_level_metadata_as_raw_cell": False,  # a leading raw `---` cell stays a raw cell
}


class FindingKind(enum.Enum):
    """What a finding is about (the report counts findings by kind)."""

    NOT_IMPORTED = "not-imported"  # an error: the notebook was not imported
    ERROR_OUTPUT = "error-output"  # a saved error output, and no raises-exception tag
    DOWNLOAD = "download"  # code that downloads data or installs packages
    CELL_MAGIC = "cell-magic"  # a %% cell magic
    WIDGET = "widget"  # ipywidgets in code or in saved outputs
    INPUT = "input"  # input() / getpass()
    ABSOLUTE_PATH = "absolute-path"
    ASSET = "asset"  # a referenced file copied from elsewhere, missing, or not copied
    REWRITTEN = "rewritten"  # a line, reference or metadata changed to fit a lesson
    KERNEL = "kernel"
    LEVEL = "level"
    WORKSHOP = "workshop"  # --to is not inside a workshop

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Finding:
    """Something about an imported notebook that needs the author's eye (or why it failed)."""

    kind: FindingKind
    diagnostic: Diagnostic  # at the written lesson's line, or at the notebook when not written

    @property
    def is_error(self) -> bool:
        return self.diagnostic.is_error

    def __str__(self) -> str:
        return str(self.diagnostic)


@dataclass(frozen=True, slots=True)
class ImportOptions:
    to: Path = Path()  # lessons go to <to>/<id>/<id>.py
    level: str | None = None  # None: beginner, with a warning
    force: bool = False  # overwrite files written by an earlier import
    base: Path | None = None  # paths in messages are relative to this folder (default: cwd)


@dataclass(frozen=True, slots=True)
class ImportedLesson:
    source: Path  # the notebook, as given
    path: Path  # the lesson file written
    id: str
    title: str
    minutes: int
    assets: tuple[Path, ...]  # files written beside it (already identical ones included)
    seconds: float  # time spent on this notebook: read, convert, check, write


@dataclass(frozen=True, slots=True)
class ImportResult:
    lessons: tuple[ImportedLesson, ...]
    findings: tuple[Finding, ...]
    notebooks: int  # how many distinct notebooks were given

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return tuple(f.diagnostic for f in self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_error)

    @property
    def written(self) -> tuple[Path, ...]:
        return tuple(p for lesson in self.lessons for p in (*lesson.assets, lesson.path))

    @property
    def counts(self) -> Counter[str]:
        """Warnings by kind."""
        return Counter(f.kind.value for f in self.findings if not f.is_error)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.INVALID if self.errors else ExitCode.OK


@dataclass(frozen=True, slots=True)
class CellFinding:
    """A finding inside one cell, before the lesson's lines are known."""

    kind: FindingKind
    cell: int  # 0-based index of the cell in the notebook
    offset: int  # 0-based line in the cell's source
    message: str
    severity: Severity = Severity.WARNING


def _note(out: list[CellFinding], kind: FindingKind, cell: int, offset: int, message: str) -> None:
    out.append(CellFinding(kind, cell, offset, message))


# --------------------------------------------------------------------------------------------
# Reading notebooks


@dataclass(frozen=True, slots=True)
class _Notebook:
    given: Path
    path: Path  # resolved
    shown: str  # as named in messages
    fmt: str
    nb: NotebookNode = field(repr=False)
    seconds: float = 0.0  # spent reading it


def _absolute(path: Path) -> Path:
    """`path` made absolute, `..` collapsed, symlinks not resolved."""
    return Path(os.path.normpath(path.absolute()))


def _shown(path: Path, base: Path) -> str:
    absolute = _absolute(path)
    if absolute.is_relative_to(base):
        return absolute.relative_to(base).as_posix() or "."
    return absolute.as_posix()


def display_path(path: Path, base: Path | None = None) -> str:
    """`path` as messages show it: relative to `base` (the current folder) when inside it."""
    return _shown(path, _absolute(base or Path.cwd()))


def _not_imported(shown: str, message: str, line: int = 0) -> Finding:
    return Finding(FindingKind.NOT_IMPORTED, Diagnostic(shown, line, Severity.ERROR, message))


_PY_NOTEBOOK = re.compile(r"^#\s*(%%|\+\s*$|---\s*$)", re.MULTILINE)


def _read(given: Path, base: Path) -> _Notebook | Finding:
    """Read one notebook with jupytext, in the format its suffix (and content) says."""
    shown = _shown(given, base)
    suffixes = ", ".join(FORMATS)
    if not given.exists():
        return _not_imported(shown, "no such file")
    if given.is_dir():
        return _not_imported(shown, f"is a folder; name the notebooks in it ({suffixes})")
    suffix = given.suffix.lower()
    if suffix not in FORMATS:
        return _not_imported(shown, f"not a notebook: expected a file ending in {suffixes}")
    try:
        text, problem = read_text(given, shown)
    except OSError as exc:
        return _not_imported(shown, f"cannot read: {exc.strerror}")
    if text is None:
        message = problem.message if problem else "cannot be decoded"
        return _not_imported(shown, message, problem.line if problem else 0)
    import jupytext
    from jupytext.formats import guess_format

    fmt = FORMATS[suffix]
    if fmt == "ipynb":
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            what = exc.msg.removesuffix(" at")
            message = (
                f"not a notebook: invalid JSON ({what[:1].lower()}{what[1:]} at column {exc.colno})"
            )
            return _not_imported(shown, message, exc.lineno)
    elif fmt == "md":
        fmt = "md:myst" if guess_format(text, suffix)[0] == "myst" else "md"
    elif fmt == "py":
        if has_workshopkit_block(text):
            return _not_imported(shown, "is already a lesson (its header has a workshopkit block)")
        if not _PY_NOTEBOOK.search(text):
            return _not_imported(
                shown,
                "not a notebook: a .py file needs a Jupytext header or '# %%' cell markers",
            )
        fmt = f"py:{guess_format(text, suffix)[0]}"
    try:
        nb = jupytext.reads(text, fmt=fmt)
    except Exception as exc:  # jupytext and nbformat raise many kinds; all mean "unreadable"
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        return _not_imported(shown, f"cannot read it as a notebook ({fmt}): {reason}")
    if not any(_text(cell.get("source", "")).strip() for cell in nb.cells):
        return _not_imported(shown, "has no cells with content")
    return _Notebook(given, given.resolve(), shown, fmt, nb)


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


# --------------------------------------------------------------------------------------------
# Title and minutes

_ATX = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_HTML_HEADING = re.compile(r"<h[1-6]\b[^>]*>(.*?)</h[1-6]\s*>", re.IGNORECASE | re.DOTALL)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _outside_fences(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of the markdown lines outside fenced code blocks."""
    fence: str | None = None
    for number, line in enumerate(text.split("\n")):
        match = _FENCE.match(line)
        if fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            continue
        if match:
            fence = match.group(1)
            continue
        yield number, line


def plain_text(markdown: str) -> str:
    """Markdown inline text without its formatting: links keep their text, images, HTML tags and
    emphasis markers go, entities and escapes are decoded."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", markdown)
    text = re.sub(r"!\[[^\]]*\]\[[^\]]*\]", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\[[^\]]*\]", r"\1", text)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    text = re.sub(r"</?[A-Za-z][^>]*>", "", text)
    text = re.sub(r"`+([^`]*)`+", r"\1", text)
    for marker in (r"\*\*", r"__", r"\*", r"_", r"~~"):
        text = re.sub(rf"(?<![\w\\]){marker}(?=\S)(.+?)(?<=\S){marker}(?!\w)", r"\1", text)
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)
    text = html.unescape(text).replace("¶", "")
    return " ".join(text.split())


def title_from(markdown_cells: Sequence[str]) -> str | None:
    """The text of the first heading (`#`, setext or `<h1>`-`<h6>`), or None."""
    for source in markdown_cells:
        previous = ""
        for _, line in _outside_fences(source):
            candidates: list[str] = []
            html_heading = _HTML_HEADING.search(line)
            if html_heading:
                candidates.append(html_heading.group(1))
            atx = _ATX.match(line)
            if atx:
                candidates.append(atx.group(1) or "")
            elif (
                _SETEXT.match(line)
                and previous.strip()
                and not previous.lstrip().startswith(("-", "*", "+", ">"))
            ):
                candidates.append(previous)
            for candidate in candidates:
                title = plain_text(candidate)
                if title:
                    return title
            previous = line
    return None


_WORD = re.compile(r"\w+(?:['’.-]\w+)*")


def prose_words(markdown: str) -> int:
    """Words a presenter reads out: markdown outside code fences, without URLs and HTML."""
    lines = [line for _, line in _outside_fences(markdown)]
    return len(_WORD.findall(plain_text("\n".join(lines)).replace("$", " ")))


def estimate_minutes(words: int, code_cells: int) -> int:
    """Teaching minutes: `words` of prose at PROSE_WPM words a minute, plus CODE_CELL_MINUTES
    for each code cell, rounded to the nearest ROUND_MINUTES (at least ROUND_MINUTES)."""
    raw = words / PROSE_WPM + code_cells * CODE_CELL_MINUTES
    return max(ROUND_MINUTES, ROUND_MINUTES * int(raw / ROUND_MINUTES + 0.5))


# --------------------------------------------------------------------------------------------
# Ids


def _base_id(stem: str) -> str:
    ident = slugify(stem) or "lesson"
    if id_problem(ident):
        ident = f"{ident}-lesson"
    return ident


def _numbered(ident: str, number: int) -> str:
    if number == 1:
        return ident
    suffix = f"-{number}"
    return ident[: 64 - len(suffix)].rstrip("-") + suffix


def _lesson_path(to: Path, ident: str) -> Path:
    return _absolute(to / ident / f"{ident}.py")


def existing_ids(root: Path) -> dict[str, Path]:
    """The ids the lessons of a workshop claim (by `id_key`), and their files."""
    taken: dict[str, Path] = {}
    for path in discover(root):
        loaded = load_lesson(path, root)
        ident = declared_id(loaded.source) if loaded.source else slugify(path.stem)
        if ident:
            taken.setdefault(id_key(ident), path.resolve())
    return taken


def _allocate_ids(notebooks: Sequence[_Notebook], to: Path, taken: Mapping[str, Path]) -> list[str]:
    """An id for each notebook: its slugified stem, numbered `-2`, `-3`... while another notebook
    or a lesson elsewhere in the workshop has it. A lesson at the very file the id leads to is the
    same lesson (an earlier import), not a clash."""
    used: set[str] = set()
    ids = []
    for notebook in notebooks:
        base = _base_id(notebook.path.stem)
        number = 1
        while True:
            ident = _numbered(base, number)
            owner = taken.get(id_key(ident))
            if id_key(ident) not in used and owner in (None, _lesson_path(to, ident).resolve()):
                break
            number += 1
        used.add(id_key(ident))
        ids.append(ident)
    return ids


# --------------------------------------------------------------------------------------------
# Cells


@dataclass(slots=True)
class _Cell:
    index: int  # in the notebook
    cell_type: str
    lines: list[str]
    metadata: dict[str, Any]
    outputs: list[Any]
    attachments: Mapping[str, Any]

    @property
    def source(self) -> str:
        return "\n".join(self.lines)


# Characters that end a line for jupytext (`str.splitlines`) but not for Python or Jupyter.
_OTHER_LINE_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _cells(nb: NotebookNode, out: list[CellFinding]) -> list[_Cell]:
    """The notebook's non-empty cells, with sources normalised and metadata reduced."""
    cells = []
    for index, raw in enumerate(nb.cells):
        cell_type = raw.get("cell_type", "code")
        cell_type = cell_type if cell_type in ("code", "markdown") else "raw"
        source = _text(raw.get("source", "")).replace("\r\n", "\n").replace("\r", "\n")
        if _OTHER_LINE_BREAKS.search(source):
            source = _replace_line_breaks(source, cell_type, index, out)
        lines = source.split("\n")
        while lines and not lines[-1].strip():
            lines.pop()
        if not lines:
            continue  # an empty cell: nothing to teach
        metadata = _kept_metadata(raw.get("metadata") or {}, index, out)
        if is_solution_cell(raw.get("metadata") or {}, source, cell_type):
            _keep_solution(metadata, index, out)
        cells.append(
            _Cell(
                index,
                cell_type,
                lines,
                metadata,
                list(raw.get("outputs", ())) if cell_type == "code" else [],
                raw.get("attachments") or {},
            )
        )
    return cells


def _replace_line_breaks(source: str, cell_type: str, index: int, out: list[CellFinding]) -> str:
    """Line-break characters other than `\\n`: escaped inside string literals of code, spaces
    elsewhere (jupytext would split lines there, Python would not)."""
    names = sorted({f"U+{ord(c):04X}" for c in _OTHER_LINE_BREAKS.findall(source)})
    first = source[: _OTHER_LINE_BREAKS.search(source).start()].count("\n")  # type: ignore[union-attr]
    if cell_type == "code":
        pieces = []
        last = 0
        for start, end, token in _string_tokens(source):
            pieces.append(_OTHER_LINE_BREAKS.sub(" ", source[last:start]))
            pieces.append(
                _OTHER_LINE_BREAKS.sub(lambda m: f"\\u{ord(m.group()):04x}", token)
                if not re.match(r"(?i)[a-z]*r", token)
                else _OTHER_LINE_BREAKS.sub(" ", token)
            )
            last = end
        pieces.append(_OTHER_LINE_BREAKS.sub(" ", source[last:]))
        result = "".join(pieces)
        how = "escaped in strings, spaces elsewhere"
    else:
        result = _OTHER_LINE_BREAKS.sub(" ", source)
        how = "replaced by spaces"
    _note(
        out,
        FindingKind.REWRITTEN,
        index,
        first,
        f"{', '.join(names)} {how}: jupytext would read them as line ends",
    )
    return result


def _string_tokens(source: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, text) offsets of the string literals in Python source (none if it does not
    tokenize)."""
    starts = [0]
    for line in source.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.STRING:
                start = starts[token.start[0] - 1] + token.start[1]
                end = starts[token.end[0] - 1] + token.end[1]
                yield start, end, source[start:end]
    except (tokenize.TokenError, SyntaxError):
        return


def _kept_metadata(
    metadata: Mapping[str, Any], index: int, out: list[CellFinding]
) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    tags = metadata.get("tags")
    if tags is not None:
        good = list(dict.fromkeys(tags_from(metadata)))
        if not isinstance(tags, list) or len(good) != len(tags):
            _note(out, FindingKind.REWRITTEN, index, 0, f"tags {tags!r} reduced to {good!r}")
        if good:
            kept["tags"] = good
    slideshow = metadata.get("slideshow")
    if isinstance(slideshow, Mapping) and slideshow.get("slide_type") in SLIDE_TYPES:
        kept["slideshow"] = {"slide_type": slideshow["slide_type"]}
    elif slideshow and (not isinstance(slideshow, Mapping) or slideshow.get("slide_type")):
        _note(
            out,
            FindingKind.REWRITTEN,
            index,
            0,
            f"slideshow metadata {slideshow!r} dropped (slide_type must be one of "
            f"{', '.join(SLIDE_TYPES)})",
        )
    return kept


def _keep_solution(metadata: dict[str, Any], index: int, out: list[CellFinding]) -> None:
    """A cell its notebook marks as a solution (nbgrader's `solution: true`, say) stays one: the
    metadata that said so is not kept, so the lesson says it with the `solution` tag."""
    tags = metadata.setdefault("tags", [])
    if not any(is_solution_tag(tag) for tag in tags):
        tags.append(TAG_SOLUTION)
        _note(
            out,
            FindingKind.REWRITTEN,
            index,
            0,
            "a solution cell in the notebook's metadata: tagged 'solution', so the learner "
            "notebook leaves it out",
        )


# --------------------------------------------------------------------------------------------
# Escaping what jupytext would read back differently


def _escape_cells(cells: Sequence[_Cell], out: list[CellFinding]) -> list[str]:
    """Escape the lines jupytext's percent reader would take for cell markers; close markdown
    code fences left open (the reader would look for their end in later cells).

    Returns the problems that cannot be escaped."""
    problems = []
    for cell in cells:
        if cell.cell_type == "code":
            problem = _escape_code(cell, out)
            if problem:
                problems.append(problem)
        else:
            _escape_text(cell, out)
    return problems


def _escape_code(cell: _Cell, out: list[CellFinding]) -> str | None:
    """`# %%` comments outside strings written as `## %%`; a string left open at the end of
    the cell is a problem (returned): jupytext would read the next cells into it."""
    from jupytext.stringparser import StringParser

    parser = StringParser("python")
    for number, line in enumerate(cell.lines):
        if not parser.is_quoted() and is_cell_marker(line):
            cell.lines[number] = line.replace("#", "##", 1)
            _note(
                out,
                FindingKind.REWRITTEN,
                cell.index,
                number,
                f"comment {line.strip()!r} written as "
                f"{cell.lines[number].strip()!r}: as it was, jupytext would start a "
                "new cell there",
            )
        parser.read_line(line)
    if parser.is_quoted():
        return (
            f"cell {cell.index + 1}: a string is left open at the end of the cell, so "
            "jupytext would read the cells after it as part of the string; close it"
        )
    return None


def _escape_text(cell: _Cell, out: list[CellFinding]) -> None:
    """Markdown or raw lines that read as cell markers, outside code fences, escaped (reported
    for raw cells, where the escape shows); a fence left open closed at the end of the cell."""
    fence: tuple[str, int] | None = None
    for number, line in enumerate(cell.lines):
        if fence is not None:
            if closes_fence(line, fence):
                fence = None
            continue
        opened = opening_fence(line)
        if opened is not None:
            fence = opened
            continue
        if is_cell_marker(f"# {line}"):
            cell.lines[number] = _escaped_marker(line)
            if cell.cell_type == "raw":
                _note(
                    out,
                    FindingKind.REWRITTEN,
                    cell.index,
                    number,
                    f"raw line {line!r} written as {cell.lines[number]!r}: as it was, "
                    "jupytext would start a new cell there",
                )
    if fence is not None:
        cell.lines.append(fence[0] * fence[1])


def _escaped_marker(line: str) -> str:
    """A markdown line that reads as a cell marker, as the same text that does not:
    `%%...` -> `\\%%...`, `In[1]:` -> `In\\[1]:`, `<codecell>` -> `<codecell >`."""
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if stripped.startswith("<codecell>"):
        escaped = "<codecell >" + stripped[len("<codecell>") :]
    elif stripped.startswith("In"):
        escaped = stripped.replace("[", "\\[", 1)
    else:
        escaped = "\\" + stripped
    return indent + escaped


# --------------------------------------------------------------------------------------------
# Assets and references


@dataclass(frozen=True, slots=True)
class _Ref:
    cell: int  # index into the list of cells
    line: int  # 0-based line in the cell
    start: int
    end: int
    written: str  # the reference as written (its span)
    target: Path | bytes | None  # what to copy (None: missing, only the reference is rewritten)
    wanted: str  # the name it would like beside the lesson
    order: int  # allocation order: 0 imports, 1 inside the folder, 2 outside, 3 attachments
    kind: str  # image | link | code | import | attachment | notebook
    current: str | None = None  # the name it resolves to now, if beside the lesson it is kept


class _Assets:
    """Names beside the lesson, each for one file or one attachment's bytes."""

    def __init__(self, reserved: set[str]) -> None:
        self.reserved = {name.casefold() for name in reserved}
        self.files: dict[str, Path | bytes] = {}
        self.by_target: dict[Path | bytes, str] = {}
        self.taken: set[str] = set()

    def name_for(self, wanted: str, target: Path | bytes, *, fixed: bool) -> str | None:
        """The name `target` gets (None when `fixed` and `wanted` is not free)."""
        if target in self.by_target:
            return self.by_target[target]
        name = wanted
        number = 1
        while name.casefold() in self.taken or name.casefold() in self.reserved:
            if fixed:
                return None
            number += 1
            stem, dot, suffix = wanted.rpartition(".")
            if not stem or "/" in suffix:
                stem, dot, suffix = wanted, "", ""
            name = f"{stem}-{number}{dot}{suffix}"
        self.files[name] = target
        self.by_target[target] = name
        self.taken.add(name.casefold())
        return name


_SAFE_PART = re.compile(r"[^A-Za-z0-9._+-]+")


def _safe_name(name: str) -> str:
    """`name` as it is if `name_problem` accepts it, else with each part made portable."""
    if name_problem(name) is None:
        return name
    parts = []
    for part in name.split("/"):
        if part in ("", ".", ".."):
            continue
        clean = _SAFE_PART.sub("-", part).strip("-. ") or "file"
        if name_problem(clean):
            clean = f"_{clean}"
        parts.append(clean[:100])
    return "/".join(parts) or "file"


def _ref_text(name: str, written: str) -> str:
    """`name` written as a markdown/HTML reference in place of `written` (keeping `<...>`, and a
    query or #fragment)."""
    inner = written[1:-1] if written.startswith("<") and written.endswith(">") else written
    tail = ""
    cut = re.search(r"[?#]", inner)
    if cut:
        tail = inner[cut.start() :]
    new = quote(name, safe="/") + tail
    return f"<{new}>" if written.startswith("<") else new


_ABSOLUTE = re.compile(r"^(?:/|~[/\\]|[A-Za-z]:[\\/])[^\s/\\]")
_MAGIC_LINE = re.compile(r"^\s*(?:[%!]|\w+\s*=\s*[%!])|\?\s*$")
_ATTACHMENT = re.compile(r"attachment:([^)\s\"'>]+)")
_IMAGE_SUFFIX = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/svg+xml": ".svg",
    "image/webp": ".webp",
}


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _relative(path: Path, folder: Path) -> str:
    return Path(os.path.relpath(path, folder)).as_posix()


def _beside(lexical: Path, folder: Path) -> str:
    """The name a file gets beside the lesson: its path relative to the notebook's folder, or,
    from outside it, that path without its leading `..` parts (`../data/x.csv` -> `data/x.csv`)."""
    relative = Path(os.path.relpath(lexical, folder)).parts
    while relative and relative[0] == "..":
        relative = relative[1:]
    return _safe_name("/".join(relative) or lexical.name)


@dataclass(frozen=True, slots=True)
class _Literal:
    """A plain string literal on one line of a code cell."""

    line: int  # 0-based line in the cell
    start: int  # columns of the token in that line
    end: int
    token: str  # as written, prefix and quotes included
    value: str


def _code_literals(source: str) -> Iterator[_Literal]:
    """Each plain string literal in a code cell; IPython lines (`%magic`, `!shell`,
    `x = !cmd`, `name?`) are skipped."""
    lines = source.split("\n")
    masked = "\n".join("" if _MAGIC_LINE.search(line) else line for line in lines)
    try:
        tokens = [
            t
            for t in tokenize.generate_tokens(io.StringIO(masked).readline)
            if t.type == tokenize.STRING and t.start[0] == t.end[0]
        ]
    except (tokenize.TokenError, SyntaxError):
        tokens = []
        for number, line in enumerate(masked.split("\n"), start=1):
            for match in re.finditer(r"""(["'])([^"'\\\n]{1,255})\1""", line):
                tokens.append(
                    tokenize.TokenInfo(
                        tokenize.STRING,
                        match.group(),
                        (number, match.start()),
                        (number, match.end()),
                        line,
                    )
                )
    for token in tokens:
        prefix = re.match(r"[A-Za-z]*", token.string).group()  # type: ignore[union-attr]
        if any(c in prefix.lower() for c in "bf"):
            continue
        quote_ = token.string[len(prefix) :]
        q = quote_[:3] if quote_[:3] in ('"""', "'''") else quote_[:1]
        value = quote_[len(q) : -len(q)]
        if "r" not in prefix.lower() and "\\" in value:
            continue  # escapes: leave such strings alone
        if 0 < len(value) < 1024:
            yield _Literal(token.start[0] - 1, token.start[1], token.end[1], token.string, value)


_READ_CALL = re.compile(
    r"\b(?:read_\w+|open|load|loadtxt|genfromtxt|fromfile|imread|read)\s*\(\s*$"
)
_FILE_LIKE = re.compile(r"^[^\s*?]*(?:/[^\s*?]+|\.[A-Za-z0-9]{1,5})$")
_WRITES_FILE = re.compile(r"^\s*%%(?:writefile|file)\s+(?:-a\s+)?(\S+)")
_WRITE_MODE = re.compile(r"""^\s*,\s*(?:mode\s*=\s*)?[rbRB]?["'][rbt]*[wax+]""")


_WRITE_CALL = re.compile(
    r"\b(?:savefig|imsave|imwrite|to_[a-z]\w*|save|savez\w*|savetxt|tofile|dump|write_\w+)\s*\(\s*$"
)


def _writes_file(before: str, after: str) -> bool:
    """Is the string literal between `before` and `after` the file a call writes
    (`fig.savefig("a.png")`, `df.to_csv("a.csv")`, `open("a.txt", "w")`)?"""
    opened = re.search(r"\bopen\s*\(\s*$", before) and _WRITE_MODE.match(after)
    return bool(_WRITE_CALL.search(before) or opened)


def _reads_file(before: str, after: str) -> bool:
    """Is the string literal between `before` and `after` the file argument of a reading call
    (`pd.read_csv("x.csv")`, `open("x.txt")`, not `open("x.txt", "w")`)?"""
    return bool(_READ_CALL.search(before)) and not _WRITE_MODE.match(after)


def _made_by_notebook(cells: Sequence[_Cell]) -> set[str]:
    """Names the notebook's own code may create: string literals used other than as the file a
    call reads (`savefig("a.png")`, `name = "a.csv"`), and `%%writefile` targets."""
    made = set()
    for cell in cells:
        if cell.cell_type != "code":
            continue
        written = _WRITES_FILE.match(cell.lines[0])
        if written:
            made.add(written.group(1))
            continue
        for literal in _code_literals(cell.source):
            line = cell.lines[literal.line]
            if not _reads_file(line[: literal.start], line[literal.end :]):
                made.add(literal.value)
    return made


@dataclass(frozen=True, slots=True)
class _Origin:
    """Where a notebook's references lead: what they resolve against and may reach."""

    folder: Path  # the notebook's folder: relative paths resolve against it (as Jupyter does)
    project: Path  # files are copied from inside it only (`_project`)
    batch: Mapping[Path, str]  # the notebooks imported in the same run, and their ids
    made: frozenset[str]  # names the notebook's own code may create (`_made_by_notebook`)


def _find_refs(
    cells: Sequence[_Cell],
    folder: Path,
    batch: Mapping[Path, str],
    out: list[CellFinding],
) -> list[_Ref]:
    """Every reference to a local file, attachment or notebook of the batch, with what it needs.

    `folder` is the notebook's folder, which relative paths are resolved against (as Jupyter
    does)."""
    refs: list[_Ref] = []
    origin = _Origin(folder, _project(folder), batch, frozenset(_made_by_notebook(cells)))
    for position, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            refs.extend(_markdown_refs(position, cell, origin, out))
        elif cell.cell_type == "code":
            refs.extend(_code_refs(position, cell, origin, out))
    return refs


def _project(folder: Path) -> Path:
    """Where a notebook's files may be copied from: its git repository, else its folder's
    parent. A notebook naming `../../../../etc/passwd` or `~/.ssh/id_rsa` gets nothing copied."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate.resolve()
    return folder.parent.resolve()


def _not_copied(path: Path, project: Path) -> str | None:
    """Why the file at `path` is not copied beside the lesson, or None."""
    real = path.resolve()
    if not _within(real, project):
        return f"is outside the notebook's project folder {project}"
    if any(part.startswith(".") for part in real.relative_to(project).parts):
        return "is a hidden file"
    return None


# A reference's place: (cell position, line in the cell, start and end column, as written).
_Span = tuple[int, int, int, int, str]


def _markdown_refs(
    position: int, cell: _Cell, origin: _Origin, out: list[CellFinding]
) -> Iterator[_Ref]:
    """The references of a markdown cell: images and links (absolute or relative), then the
    cell's attachments."""
    for found in markdown_references(cell.source):
        here = (position, found.line, found.start, found.end, found.raw)
        if _ABSOLUTE.match(found.ref) or found.ref.startswith("\\"):
            yield _absolute_ref(here, found, cell.index, origin.project, out)
        else:
            ref = _relative_ref(here, found, cell.index, origin, out)
            if ref is not None:
                yield ref
    yield from _attachment_refs(position, cell, out)


def _absolute_ref(
    here: _Span, found: MarkdownRef, index: int, project: Path, out: list[CellFinding]
) -> _Ref:
    """An absolute path in markdown: copied beside the lesson if it may be, and the reference
    rewritten to its name in any case (reported)."""
    target = Path(found.ref).expanduser()
    name = _safe_name(target.name or "file")
    try:
        why = _not_copied(target, project) if target.is_file() else "is not found here"
    except (OSError, ValueError):
        why = "is not found here"
    done = f"not copied: it {why}" if why else "copied beside the lesson"
    _note(
        out,
        FindingKind.ABSOLUTE_PATH,
        index,
        found.line,
        f"{found.kind} '{found.ref}' is an absolute path; {done}; the reference now reads '{name}'",
    )
    return _Ref(*here, None if why else target, name, 2, found.kind)


def _relative_ref(
    here: _Span, found: MarkdownRef, index: int, origin: _Origin, out: list[CellFinding]
) -> _Ref | None:
    """A relative path in markdown: a notebook of the batch, a file copied beside the lesson,
    or a target that is reported; None when the reference stays as written."""
    ref = found.ref
    folder = origin.folder
    lexical = Path(os.path.normpath(folder / ref))
    inside = _within(lexical, folder)
    try:
        resolved = lexical.resolve()
        is_file, is_dir = lexical.is_file(), lexical.is_dir()
    except (OSError, ValueError):
        return None
    if resolved in origin.batch:
        return _Ref(*here, resolved, origin.batch[resolved], 0, "notebook")
    wanted = _beside(lexical, folder)
    # Inside the notebook's folder a reference stays as written; from outside, it is
    # rewritten to a name inside the lesson's folder (the check refuses references that
    # leave the workshop, and bundles ship only the lesson's folder).
    moved = "" if inside else f"; the reference now reads '{wanted}'"
    if is_file and lexical.suffix.lower() == ".ipynb":
        problem = f"links to the notebook '{ref}', which is not imported with it{moved}"
    elif is_file and (why := _not_copied(lexical, origin.project)):
        problem = f"'{ref}' {why}: not copied{moved}"
    elif is_file:
        if not inside:
            _note(
                out,
                FindingKind.ASSET,
                index,
                found.line,
                f"'{ref}' is outside the notebook's folder: copied beside the lesson as "
                f"'{wanted}' and the reference rewritten",
            )
        current = _relative(lexical, folder) if inside else None
        return _Ref(*here, lexical, wanted, 1 if inside else 2, found.kind, current)
    elif is_dir:
        problem = "" if inside else f"'{ref}' is a folder outside the notebook's folder{moved}"
    elif found.kind == "image" or not inside:
        what = "image" if found.kind == "image" else "link target"
        problem = f"{what} '{ref}' not found next to the notebook{moved}"
    else:
        problem = ""  # a dead link inside the folder: left as it is, as check does
    if problem:
        _note(out, FindingKind.ASSET, index, found.line, problem)
    return None if inside else _Ref(*here, None, wanted, 2, found.kind)


def _attachment_refs(position: int, cell: _Cell, out: list[CellFinding]) -> Iterator[_Ref]:
    """`attachment:name` references: the attachment's bytes, to write beside the lesson as a
    file (an image suffix added from its MIME type), or a finding when the cell lacks it."""
    for number, line in enumerate(cell.lines):
        for match in _ATTACHMENT.finditer(line):
            name = unquote(match.group(1))
            bundle = cell.attachments.get(name)
            data = _attachment_bytes(bundle) if isinstance(bundle, Mapping) else None
            if data is None:
                _note(
                    out,
                    FindingKind.ASSET,
                    cell.index,
                    number,
                    f"attachment '{name}' is not in the cell; the reference is left as it is",
                )
                continue
            wanted = _safe_name(name)
            mime = next(iter(bundle), "")  # type: ignore[arg-type]
            suffix = _IMAGE_SUFFIX.get(mime, "")
            if suffix and not wanted.lower().endswith(suffix):
                wanted += suffix
            _note(
                out,
                FindingKind.REWRITTEN,
                cell.index,
                number,
                f"attachment '{name}' written beside the lesson as a file",
            )
            here = (position, number, match.start(), match.end(), match.group())
            yield _Ref(*here, data, wanted, 3, "attachment")


def _attachment_bytes(bundle: Mapping[str, Any]) -> bytes | None:
    for mime, data in bundle.items():
        text = _text(data)
        if mime == "image/svg+xml" and text.lstrip().startswith("<"):
            return text.encode("utf-8")
        try:
            return base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError):
            return None
    return None


def _code_refs(
    position: int, cell: _Cell, origin: _Origin, out: list[CellFinding]
) -> Iterator[_Ref]:
    """The files a code cell names: in string literals, and local modules it imports."""
    if cell.lines[0].lstrip().startswith("%%"):
        return  # the body of a cell magic is not Python
    for literal in _code_literals(cell.source):
        ref = _literal_ref(position, cell, literal, origin, out)
        if ref is not None:
            yield ref
    yield from _import_refs(position, cell, origin.folder)


def _literal_ref(
    position: int, cell: _Cell, literal: _Literal, origin: _Origin, out: list[CellFinding]
) -> _Ref | None:
    """The file a string literal names, to copy beside the lesson; None for anything else
    (a URL, a file the code writes) and for a file that cannot be copied (reported)."""
    value, number = literal.value, literal.line
    if "://" in value or value.startswith(("http:", "https:", "data:")):
        return None
    if _ABSOLUTE.match(value):
        _note(
            out,
            FindingKind.ABSOLUTE_PATH,
            cell.index,
            number,
            f"absolute path '{value}': it will not exist on attendees' machines; put "
            "the file beside the lesson and name it by a relative path",
        )
        return None
    try:
        lexical = Path(os.path.normpath(origin.folder / value))
        exists = lexical.is_file()
    except (OSError, ValueError):
        return None
    line = cell.lines[number]
    before, after = line[: literal.start], line[literal.end :]
    if not exists:
        if value not in origin.made and _FILE_LIKE.match(value) and _reads_file(before, after):
            _note(
                out,
                FindingKind.ASSET,
                cell.index,
                number,
                f"reads '{value}', which is not next to the notebook: the lesson will "
                "not find it; put the file beside the lesson",
            )
        return None
    if _writes_file(before, after):
        return None  # the code makes this file: a copy would only go stale
    return _copied_literal(position, cell, literal, lexical, origin, out)


def _copied_literal(
    position: int,
    cell: _Cell,
    literal: _Literal,
    lexical: Path,
    origin: _Origin,
    out: list[CellFinding],
) -> _Ref | None:
    """An existing file a string literal names: copied beside the lesson, the string rewritten
    when it comes from outside the notebook's folder (reported), or not copied (reported)."""
    value, number = literal.value, literal.line
    inside = _within(lexical, origin.folder)
    wanted = _beside(lexical, origin.folder)
    why = _not_copied(lexical, origin.project)
    if why:
        message = f"'{value}' {why}: not copied, so the lesson will not find it"
        _note(out, FindingKind.ASSET, cell.index, number, message)
        return None
    if not inside:
        _note(
            out,
            FindingKind.ASSET,
            cell.index,
            number,
            f"'{value}' is outside the notebook's folder: copied beside the lesson as "
            f"'{wanted}' and the string rewritten",
        )
    current = _relative(lexical, origin.folder) if inside else None
    here = (position, number, literal.start, literal.end, literal.token)
    return _Ref(*here, lexical, wanted, 1 if inside else 2, "code", current)


def _import_refs(position: int, cell: _Cell, folder: Path) -> Iterator[_Ref]:
    """The local modules and packages (beside the notebook) a code cell imports."""
    for number, line in enumerate(cell.lines):
        for top in imported_modules(line):
            module, package = folder / f"{top}.py", folder / top
            if module.is_file():
                yield _Ref(position, number, 0, 0, "", module, f"{top}.py", 0, "import")
            elif (package / "__init__.py").is_file():
                for path in sorted(package.rglob("*.py")):
                    if "__pycache__" not in path.parts:
                        rel = path.relative_to(folder).as_posix()
                        yield _Ref(position, number, 0, 0, "", path, rel, 0, "import")


def _place_assets(
    refs: Sequence[_Ref],
    cells: Sequence[_Cell],
    ident: str,
    out: list[CellFinding],
) -> tuple[dict[str, Path | bytes], list[str]]:
    """Name every referenced file beside the lesson and rewrite the references that changed.

    Returns the files to write and the problems that stop the import."""
    reserved = {f"{ident}.py", *exported_names(ident)}
    assets = _Assets(reserved)
    problems: list[str] = []
    edits: dict[tuple[int, int], list[tuple[int, int, str]]] = {}
    for ref in sorted(refs, key=lambda r: r.order):
        cell = cells[ref.cell]
        if ref.kind == "notebook":
            new = _ref_text(f"../{ref.wanted}/{ref.wanted}.ipynb", ref.written)
            edits.setdefault((ref.cell, ref.line), []).append((ref.start, ref.end, new))
            continue
        if ref.target is None:  # missing: only the reference is rewritten
            new = _ref_text(ref.wanted, ref.written)
            edits.setdefault((ref.cell, ref.line), []).append((ref.start, ref.end, new))
            continue
        name = assets.name_for(ref.wanted, ref.target, fixed=ref.kind == "import")
        if name is None:
            problems.append(
                f"cell {cell.index + 1}: imports the module '{ref.wanted}', which would be "
                f"overwritten by the lesson's own {ref.wanted}; rename the module or the notebook"
            )
            continue
        if ref.kind == "import" or name == ref.current:
            continue
        if ref.kind == "code":
            new = _literal_with(ref.written, name)
        elif ref.kind == "attachment":
            new = quote(name, safe="/")
        else:
            new = _ref_text(name, ref.written)
        edits.setdefault((ref.cell, ref.line), []).append((ref.start, ref.end, new))
    for (position, number), changes in edits.items():
        line = cells[position].lines[number]
        for start, end, new in sorted(set(changes), reverse=True):
            line = line[:start] + new + line[end:]
        cells[position].lines[number] = line
    return assets.files, problems


def _literal_with(token: str, value: str) -> str:
    prefix = re.match(r"[A-Za-z]*", token).group()  # type: ignore[union-attr]
    body = token[len(prefix) :]
    q = body[:3] if body[:3] in ('"""', "'''") else body[:1]
    if q in value or "\\" in value:
        return prefix + json.dumps(value)
    return f"{prefix}{q}{value}{q}"


# --------------------------------------------------------------------------------------------
# What needs the author's eye


_DOWNLOADS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern))
    for label, pattern in (
        ("urllib", r"\burlopen\s*\(|\burlretrieve\s*\("),
        (
            "requests",
            r"\brequests\.(?:get|post|request|Session)\b|\bhttpx\.(?:get|stream|Client)\b",
        ),
        ("wget", r"^\s*(?:[!%]\s*)?wget\s+[^=(\s]|\bwget\.download\s*\("),
        ("curl", r"^\s*(?:[!%]\s*)?curl\s+[^=(\s]"),
        ("git clone", r"^\s*(?:[!%]\s*)?git\s+clone\b"),
        (
            "package install",
            r"^\s*(?:[!%]\s*)?(?:python3?\s+-m\s+)?(?:pip3?|conda|mamba|uv\s+pip)\s+install\b",
        ),
        ("fetch_openml", r"\bfetch_openml\s*\("),
        ("sklearn.datasets.fetch_*", r"\bfetch_(?!openml)\w+\s*\("),
        ("load_dataset", r"\bload_dataset\s*\("),
        ("keras datasets", r"\bkeras\.datasets\b|\bkeras\.utils\.get_file\s*\("),
        ("torchvision download", r"\bdownload\s*=\s*True\b"),
        ("nltk.download", r"\bnltk\.download\s*\("),
        ("hf_hub_download", r"\bhf_hub_download\s*\(|\bsnapshot_download\s*\("),
        ("gdown", r"\bgdown\b"),
        ("pandas_datareader", r"\bpandas_datareader\b|\bDataReader\s*\("),
        (
            "a URL read directly",
            r"""\b(?:read_\w+|loadtxt|genfromtxt|imread|load|open)\s*\(\s*[rRuU]?["']https?://""",
        ),
    )
)
_WIDGETS = re.compile(
    r"\b(?:import|from)\s+(?:ipywidgets|ipyleaflet|bqplot|ipympl|ipyvolume|pythreejs)\b"
    r"|^\s*@interact\w*\b|\binteract(?:ive|_manual)?\s*\(|%matplotlib\s+(?:widget|ipympl|notebook)"
    r"|\bFigureWidget\s*\("
)
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_INPUT = re.compile(r"(?<![\w.])(?:input|raw_input|getpass)\s*\(")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TRACEBACK_LINE = re.compile(r"^-*>\s*(\d+)\b", re.MULTILINE)

_MAGIC_HINTS: Mapping[str, str] = {
    "bash": "; it needs bash wherever the lesson runs (not on Windows)",
    "sh": "; it needs a Unix shell wherever the lesson runs (not on Windows)",
    "script": "; it runs an external program, which must exist wherever the lesson runs",
    "system": "; it runs shell commands, which must exist wherever the lesson runs",
    "timeit": "; it runs the cell many times, so `workshopkit run` is slower "
    "(`%%timeit -n1 -r1` runs it once)",
    "writefile": "; the file is written into the lesson's scratch folder when it runs",
    "file": "; the file is written into the lesson's scratch folder when it runs",
    "cython": "; it needs Cython, a C compiler and `%load_ext Cython` in an earlier cell",
    "R": "; it needs R, rpy2 and `%load_ext rpy2.ipython` in an earlier cell",
    "sql": "; it needs ipython-sql and a database wherever the lesson runs",
    "capture": "; its output is hidden, also in the slides",
}


def _scan_cells(cells: Sequence[_Cell], out: list[CellFinding]) -> None:
    for cell in cells:
        if cell.cell_type != "code":
            continue
        _scan_outputs(cell, out)
        first = cell.lines[0].strip()
        if first.startswith("%%"):
            name = first[2:].split(maxsplit=1)[0] if len(first) > 2 else ""
            hint = _MAGIC_HINTS.get(name, "")
            _note(
                out,
                FindingKind.CELL_MAGIC,
                cell.index,
                0,
                f"cell magic %%{name}: written as a '# %%{name}' line, which jupytext reads "
                f"back as the magic, so the cell runs in IPython kernels only{hint}",
            )
        widget_line: int | None = None
        for number, line in enumerate(cell.lines):
            code = line if not line.lstrip().startswith("#") else ""
            labels = [label for label, pattern in _DOWNLOADS if pattern.search(code)]
            if labels:
                _note(
                    out,
                    FindingKind.DOWNLOAD,
                    cell.index,
                    number,
                    f"downloads ({', '.join(labels)}): `workshopkit run` needs the network "
                    "here, and so do attendees on venue wifi; ship the data beside the lesson "
                    "(and packages in requirements.txt) instead",
                )
            if _INPUT.search(code) and not re.search(r"\bdef\s+(?:input|raw_input)\b", code):
                _note(
                    out,
                    FindingKind.INPUT,
                    cell.index,
                    number,
                    "input() waits for someone to type: `workshopkit run` fails here (the "
                    "kernel has no stdin); put the value in a cell tagged parameters instead",
                )
            if widget_line is None and _WIDGETS.search(code):
                widget_line = number
        shown_widget = any(
            isinstance(o, Mapping) and _WIDGET_MIME in (o.get("data") or {}) for o in cell.outputs
        )
        if widget_line is not None or shown_widget:
            _note(
                out,
                FindingKind.WIDGET,
                cell.index,
                widget_line or 0,
                "widgets need a live kernel: the slides and the executed solution notebook "
                "show no working widget; say so to attendees, and list ipywidgets in "
                "requirements.txt",
            )


def _scan_outputs(cell: _Cell, out: list[CellFinding]) -> None:
    if TAG_RAISES in cell.metadata.get("tags", ()):
        return
    for output in cell.outputs:
        if not isinstance(output, Mapping) or output.get("output_type") != "error":
            continue
        ename = _ANSI.sub("", str(output.get("ename", "Error")))
        evalue = " ".join(_ANSI.sub("", str(output.get("evalue", ""))).split())
        evalue = evalue if len(evalue) <= 100 else evalue[:97] + "..."
        traceback = _ANSI.sub("", "\n".join(_text(t) for t in output.get("traceback", ())))
        arrow = _TRACEBACK_LINE.search(traceback)
        line = int(arrow.group(1)) - 1 if arrow else 0
        _note(
            out,
            FindingKind.ERROR_OUTPUT,
            cell.index,
            line if 0 <= line < len(cell.lines) else 0,
            f"its saved output shows {ename}: {evalue}, and the cell has no "
            f"'{TAG_RAISES}' tag: tag it if the error is shown on purpose, else fix it "
            "(`workshopkit run` fails on it)",
        )
        return


# --------------------------------------------------------------------------------------------
# Kernel and header


def _kernelspec(nb: NotebookNode) -> tuple[dict[str, str] | None, str | None]:
    """The kernelspec to write (None when the notebook is not Python) and a remark on it."""
    metadata = nb.metadata
    spec = metadata.get("kernelspec") if isinstance(metadata.get("kernelspec"), Mapping) else None
    info = metadata.get("language_info")
    info_language = info.get("name") if isinstance(info, Mapping) else None
    jupytext_meta = metadata.get("jupytext")
    main_language = (
        jupytext_meta.get("main_language") if isinstance(jupytext_meta, Mapping) else None
    )
    if not spec or not spec.get("name"):
        language = info_language or main_language or "python"
        if str(language).lower() != "python":
            return None, f"its language is {language!r}"
        # A text notebook (Markdown, a script) rarely names a kernel: python3 goes without saying.
        remark = None if main_language else "no kernelspec: python3 assumed"
        return dict(DEFAULT_KERNELSPEC), remark
    name = str(spec.get("name"))
    language = str(spec.get("language") or info_language or "")
    if not language and name.lower().startswith("python"):
        language = "python"
    if language.lower() != "python":
        what = f"language {language!r}" if language else "no language"
        return None, f"its kernel {name!r} has {what}"
    written = {
        "display_name": str(spec.get("display_name") or name),
        "language": "python",
        "name": name,
    }
    remark = None
    if name != "python3":
        remark = (
            f"kernel {name!r} kept from the notebook; the workshop's [execution] kernel "
            "overrides it, else it must exist wherever the lesson runs"
        )
    version = str(info.get("version", "")) if isinstance(info, Mapping) else ""
    if name == "python2" or version.startswith("2."):
        remark = (
            f"{remark}; " if remark else ""
        ) + "the notebook was written for Python 2: its code may need porting to Python 3"
    return written, remark


def _yaml_string(value: str) -> str:
    """A double-quoted YAML string with no character jupytext would take for a line end."""
    text = json.dumps(value, ensure_ascii=False)
    return _OTHER_LINE_BREAKS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_KERNELSPEC_LINE = 3  # the line of the header that `_header` writes the kernelspec on


@dataclass(frozen=True, slots=True)
class _Summary:
    """What a lesson's header says about its notebook's cells."""

    title: str  # the first heading, else the notebook's file name
    words: int  # of prose (`prose_words`)
    code_cells: int
    minutes: int  # estimated from both (`estimate_minutes`)


def _summary(cells: Sequence[_Cell], name: str) -> _Summary:
    markdown = [c.source for c in cells if c.cell_type == "markdown"]
    words = sum(prose_words(text) for text in markdown)
    code_cells = sum(1 for c in cells if c.cell_type == "code")
    title = title_from(markdown) or name
    return _Summary(title, words, code_cells, estimate_minutes(words, code_cells))


def _header(
    kernelspec: Mapping[str, str],
    ident: str,
    summary: _Summary,
    level: str | None,
    source_name: str,
) -> list[str]:
    """The lesson's header lines; without a `level`, beginner, with a note to check it."""
    spec = ", ".join(f"{key}: {_yaml_string(value)}" for key, value in kernelspec.items())
    level_note = "" if level is not None else "  # no --level given: check it"
    return [
        "# ---",
        "# jupyter:",
        f"#   kernelspec: {{{spec}}}",
        "#   workshopkit:",
        f"#     id: {ident}",
        f"#     title: {_yaml_string(summary.title)}",
        f"#     level: {level or 'beginner'}{level_note}",
        f"#     minutes: {summary.minutes}  # estimated by workshopkit import: "
        f"{summary.words} words of prose, {summary.code_cells} code cells",
        "#     tags: []",
        "#     requires: []",
        "#     objectives: []  # what attendees can do afterwards",
        f"#     # imported from {_yaml_comment(source_name)}",
        "# ---",
        "",
    ]


def _yaml_comment(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


# --------------------------------------------------------------------------------------------
# Converting one notebook


@dataclass(slots=True)
class _Plan:
    notebook: _Notebook
    ident: str
    lesson: Path
    title: str
    minutes: int
    text: str
    assets: dict[str, Path | bytes]
    findings: list[CellFinding]
    header_findings: list[tuple[FindingKind, int, str]]
    cell_lines: dict[int, int]  # notebook cell index -> line of its first source line


def _convert(
    notebook: _Notebook,
    ident: str,
    options: ImportOptions,
    batch: Mapping[Path, str],
) -> _Plan | list[str]:
    """The lesson text and assets for one notebook, or why it cannot be imported."""
    kernelspec, remark = _kernelspec(notebook.nb)
    if kernelspec is None:
        return [
            f"{remark}; workshopkit runs lessons in Python kernels, so it was not imported",
        ]
    findings: list[CellFinding] = []
    header_findings: list[tuple[FindingKind, int, str]] = []
    if remark:
        header_findings.append((FindingKind.KERNEL, _KERNELSPEC_LINE, remark))
    cells = _cells(notebook.nb, findings)
    if not cells:
        return ["has no cells with content"]
    summary = _summary(cells, notebook.path.stem)
    _scan_cells(cells, findings)
    assets, problems = _adapt_cells(cells, notebook.path.parent, ident, batch, findings)
    if problems:
        return problems
    header = _header(kernelspec, ident, summary, options.level, notebook.path.name)
    text = "\n".join(header) + "\n" + _percent_text(cells)
    lesson = _lesson_path(options.to, ident)
    checked, problems = _check_written(text, cells, lesson)
    if problems:
        return problems
    cell_lines = {cell.index: line for cell, line in zip(cells, checked, strict=True)}
    return _Plan(
        notebook,
        ident,
        lesson,
        summary.title,
        summary.minutes,
        text,
        assets,
        findings,
        header_findings,
        cell_lines,
    )


def _adapt_cells(
    cells: Sequence[_Cell],
    folder: Path,
    ident: str,
    batch: Mapping[Path, str],
    out: list[CellFinding],
) -> tuple[dict[str, Path | bytes], list[str]]:
    """Fit the cells to a lesson: the files they reference named beside it and the references
    rewritten, then the lines jupytext would read back differently escaped.

    Returns the files to write beside the lesson and the problems that stop the import."""
    refs = _find_refs(cells, folder, batch, out)
    assets, problems = _place_assets(refs, cells, ident, out)
    if problems:
        return assets, problems
    return assets, _escape_cells(cells, out)


def _percent_text(cells: Sequence[_Cell]) -> str:
    """The cells written by jupytext as a percent script, without a header (`_WRITE_FORMAT`)."""
    import jupytext
    import nbformat

    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    for cell in cells:
        node: dict[str, Any] = {
            "cell_type": cell.cell_type,
            "source": cell.source,
            "metadata": cell.metadata,
        }
        if cell.cell_type == "code":
            node.update(outputs=[], execution_count=None)
        nb.cells.append(nbformat.from_dict(node))  # type: ignore[no-untyped-call]
    text: str = jupytext.writes(nb, fmt=dict(_WRITE_FORMAT))
    return text


def _check_written(text: str, cells: Sequence[_Cell], lesson: Path) -> tuple[list[int], list[str]]:
    """Read the lesson back with jupytext and with workshopkit's reader, and validate it.

    Returns the line of each cell's source, and the problems (none if it is good)."""
    import jupytext

    relpath = lesson.name
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header, header_line, key_lines, first, problem = parse_header(lines, relpath)
    if problem is not None:
        return [], [f"the header written is invalid ({problem.message}); please report this"]
    ours, diagnostics = scan_cells(lines, first, relpath)
    back = jupytext.reads(text, fmt="py:percent").cells
    expected = [(c.cell_type, c.source, c.metadata) for c in cells]
    for name, got in (
        ("jupytext", [(c.cell_type, c.source, _kept(c.metadata)) for c in back]),
        ("workshopkit", [(c.cell_type, c.source, _kept(c.metadata)) for c in ours]),
    ):
        if got == expected:
            continue
        index = next(
            (i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b),
            min(len(expected), len(got)) - 1,
        )
        cell = cells[max(index, 0)].index + 1
        return [], [
            f"cell {cell}: {name} reads the written lesson back differently "
            f"({len(got)} cells instead of {len(expected)}); please report this notebook"
        ]
    source = LessonSource(
        lesson, relpath, text, header, header_line, {"": header_line, **key_lines}, ours
    )
    _, problems = check_lesson(source)
    errors = [d for d in (*diagnostics, *problems) if d.is_error]
    if errors:
        return [], [f"the lesson would not pass check: {d.message} (line {d.line})" for d in errors]
    return [c.body_line for c in ours], []


def _kept(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {k: metadata[k] for k in KEPT_CELL_METADATA if k in metadata}


# --------------------------------------------------------------------------------------------
# Writing


def _same(path: Path, data: bytes | Path) -> bool:
    if not path.is_file():
        return False
    if isinstance(data, bytes):
        return path.stat().st_size == len(data) and path.read_bytes() == data
    return filecmp.cmp(path, data, shallow=False)


def _write_plan(plan: _Plan, force: bool, base: Path) -> tuple[list[Path], list[str]]:
    """Write one lesson and its assets (the files written), or say what is in the way."""
    folder = plan.lesson.parent
    if folder.exists() and not folder.is_dir():
        return [], [f"{_shown(folder, base)} exists and is not a folder"]
    problems = []
    if plan.lesson.exists() and not force:
        problems.append(
            f"{_shown(plan.lesson, base)} already exists; not overwriting it "
            "(pass --force to replace it)"
        )
    targets = {folder / name: data for name, data in plan.assets.items()}
    for target, data in targets.items():
        if target.exists() and not force and not _same(target, data):
            problems.append(
                f"{_shown(target, base)} already exists with other content; not overwriting "
                "it (pass --force to replace it)"
            )
    if problems:
        return [], problems
    writes: list[tuple[Path, bytes | Path]] = [
        *((target, data) for target, data in targets.items() if not _same(target, data)),
        (plan.lesson, plan.text.encode("utf-8")),  # last: a lesson never lacks its files
    ]
    for target, data in writes:
        try:
            write_atomic(target, data)
        except OSError as exc:
            return [], [f"cannot write {_shown(target, base)}: {exc.strerror or exc}"]
    return [*targets, plan.lesson], []


# --------------------------------------------------------------------------------------------
# The stage


def import_notebooks(paths: Sequence[Path], options: ImportOptions) -> ImportResult:
    """Import each notebook as a lesson; never raises for a bad notebook (see the module doc)."""
    base = _absolute(options.base or Path.cwd())
    to = _absolute(options.to)
    options = ImportOptions(to, options.level, options.force, base)
    shown_to = _shown(to, base)
    refused = _refused(options, shown_to)
    if refused is not None:
        return ImportResult((), (refused,), len(paths))
    findings: list[Finding] = []
    notebooks, distinct = _read_all(paths, base, findings)
    taken = _workshop_ids(to, shown_to, findings)
    ids = _allocate_ids(notebooks, to, taken)
    batch = {n.path: ident for n, ident in zip(notebooks, ids, strict=True)}
    lessons: list[ImportedLesson] = []
    for notebook in notebooks:
        lesson = _import_one(notebook, options, batch, base, findings)
        if lesson is not None:
            lessons.append(lesson)
    if options.level is None and lessons:
        findings.append(
            Finding(
                FindingKind.LEVEL,
                Diagnostic(
                    shown_to,
                    0,
                    Severity.WARNING,
                    "no --level given: every lesson imported is marked 'beginner'; check the "
                    "level in each header",
                ),
            )
        )
    return ImportResult(tuple(lessons), tuple(findings), distinct)


def _refused(options: ImportOptions, shown_to: str) -> Finding | None:
    """Why no notebook can be imported with these options (`--to`, `--level`), or None."""
    if options.to.exists() and not options.to.is_dir():
        return _not_imported(shown_to, "--to must be a folder")
    if options.level is not None and options.level not in LEVEL_NAMES:
        message = f"unknown level {options.level!r} (expected {', '.join(LEVEL_NAMES)})"
        return _not_imported(shown_to, message)
    return None


def _read_all(paths: Sequence[Path], base: Path, out: list[Finding]) -> tuple[list[_Notebook], int]:
    """The notebooks read, each once (by resolved path) in the order given, and how many
    distinct paths were given; why the others cannot be read goes to `out`."""
    notebooks: list[_Notebook] = []
    seen: set[Path] = set()
    read_paths: set[Path] = set()
    for given in paths:
        begin = time.perf_counter()
        if _absolute(given) in seen:
            continue
        seen.add(_absolute(given))
        read = _read(given, base)
        if isinstance(read, Finding):
            out.append(read)
        elif read.path not in read_paths:
            read_paths.add(read.path)
            notebooks.append(replace(read, seconds=time.perf_counter() - begin))
    return notebooks, len(seen)


def _workshop_ids(to: Path, shown_to: str, out: list[Finding]) -> dict[str, Path]:
    """The ids the lessons of the workshop that `to` is in claim (`existing_ids`); a warning
    to `out` when `to` is in no workshop."""
    existing = to
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    root = find_root(existing)
    if root is not None:
        return existing_ids(root)
    out.append(
        Finding(
            FindingKind.WORKSHOP,
            Diagnostic(
                shown_to,
                0,
                Severity.WARNING,
                "not inside a workshop (no workshop.toml here or above); create one with "
                "`workshopkit new workshop` and move the lessons into it before "
                "`workshopkit check`",
            ),
        )
    )
    return {}


def _import_one(
    notebook: _Notebook,
    options: ImportOptions,
    batch: Mapping[Path, str],
    base: Path,
    out: list[Finding],
) -> ImportedLesson | None:
    """Convert one notebook of the batch and write it; its findings, or why it was not
    imported, go to `out`."""
    begin = time.perf_counter()
    ident = batch[notebook.path]
    plan = _convert(notebook, ident, options, batch)
    if isinstance(plan, list):
        out.extend(_not_imported(notebook.shown, problem) for problem in plan)
        return None
    written, problems = _write_plan(plan, options.force, base)
    if problems:
        out.extend(_not_imported(notebook.shown, problem) for problem in problems)
        return None
    out.extend(_located(plan, base))
    return ImportedLesson(
        notebook.given,
        plan.lesson,
        ident,
        plan.title,
        plan.minutes,
        tuple(written[:-1]),
        notebook.seconds + time.perf_counter() - begin,
    )


def _located(plan: _Plan, base: Path) -> Iterator[Finding]:
    """The plan's findings at the lines of the written lesson, naming the notebook's cell."""
    shown = _shown(plan.lesson, base)
    name = plan.notebook.path.name
    located = []
    for kind, line, message in plan.header_findings:
        located.append(
            Finding(kind, Diagnostic(shown, line, Severity.WARNING, f"{name}: {message}"))
        )
    for found in plan.findings:
        first = plan.cell_lines.get(found.cell)
        where = first + found.offset if first is not None else 0
        message = f"{name} cell {found.cell + 1}: {found.message}"
        located.append(Finding(found.kind, Diagnostic(shown, where, found.severity, message)))
    return iter(sorted(located, key=lambda f: f.diagnostic.line))
