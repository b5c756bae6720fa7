"""Stage 2: read a lesson file into its header and cells, keeping every cell's source line.

`check` must stay fast, so this module scans the `py:percent` text itself (importing jupytext costs
~0.6 s) with the same rules as jupytext's percent reader: cell markers `# %%`, string- and
fence-aware cell ends, `key=value` JSON cell options. `to_notebook` then builds the real notebook
with `jupytext.reads(..., fmt="py:percent")` and checks that both agree cell by cell.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .model import Cell, Diagnostic, Severity

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from .model import Lesson

HEADER_FENCE = "# ---"
SOURCE_KEY = "workshopkit_source"  # cell metadata key locating a notebook cell in its `.py` file
_START_CODE = re.compile(r"^\s*#\s*%%(%*)\s(.*)$")
_START_ALT = re.compile(r"^\s*#\s*(%%|<codecell>|In\[[0-9 ]*\]:?)\s*$")
_CELL_TYPES = {"markdown": "markdown", "md": "markdown", "raw": "raw"}
_KEY_EQ = re.compile(r"\s*([A-Za-z_][\w.-]*)=")
_FENCE_OPEN = re.compile(r"^\s*(`{3,}|~{3,})")


@dataclass(frozen=True, slots=True)
class LessonSource:
    """A lesson file as read from disk, before its `workshopkit` block is validated."""

    path: Path
    relpath: str
    text: str = field(repr=False)
    header: Mapping[str, Any] = field(repr=False)
    header_line: int  # line of the opening `# ---`
    key_lines: Mapping[str, int] = field(repr=False)  # workshopkit key -> line; "" -> the block
    cells: tuple[Cell, ...] = ()

    @property
    def block(self) -> Any:
        jupyter = self.header.get("jupyter")
        return jupyter.get("workshopkit") if isinstance(jupyter, dict) else None

    @property
    def kernel(self) -> str | None:
        jupyter = self.header.get("jupyter")
        spec = jupyter.get("kernelspec") if isinstance(jupyter, dict) else None
        name = spec.get("name") if isinstance(spec, dict) else None
        return name if isinstance(name, str) else None


@dataclass(frozen=True, slots=True)
class LoadResult:
    source: LessonSource | None
    diagnostics: tuple[Diagnostic, ...] = ()


def _error(relpath: str, line: int, message: str) -> Diagnostic:
    return Diagnostic(relpath, line, Severity.ERROR, message)


def read_text(path: Path, relpath: str) -> tuple[str | None, Diagnostic | None]:
    """Decode a file as UTF-8 (a BOM and CRLF line ends are normalised away)."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, _error(
            relpath, line, f"not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        )
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, None


def _header_bounds(lines: list[str]) -> tuple[int, int] | None:
    """0-based indexes of the opening and closing `# ---`, or None when there is no header.

    The closing index is -1 for an unterminated header.
    """
    start = 0
    while start < len(lines) and (
        not lines[start].strip() or lines[start].startswith(("#!", "# -*-"))
    ):
        start += 1
    if start >= len(lines) or lines[start].rstrip() != HEADER_FENCE:
        return None
    for end in range(start + 1, len(lines)):
        line = lines[end]
        if line.rstrip() == HEADER_FENCE:
            return start, end
        if not line.startswith("#"):
            break
    return start, -1


def _uncomment(line: str) -> str:
    if line.startswith("# "):
        return line[2:]
    return line[1:] if line.startswith("#") else line


def has_workshopkit_block(text: str) -> bool:
    """Cheap test used by discovery: does the Jupytext header mention a `workshopkit` key?"""
    lines = text.splitlines()[:400]
    bounds = _header_bounds(lines)
    if bounds is None:
        return False
    start, end = bounds
    body = lines[start + 1 : end if end >= 0 else len(lines)]
    return any(re.match(r"^#\s+workshopkit\s*:", line) for line in body)


def _yaml_key_lines(yaml_text: str, first_line: int) -> dict[str, int]:
    """Lines of the keys inside `jupyter.workshopkit`, read from the YAML node marks."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    node = yaml.compose(yaml_text, Loader=loader)
    lines: dict[str, int] = {}

    def child(mapping: Any, key: str) -> Any:
        if not isinstance(mapping, yaml.MappingNode):
            return None
        for k, v in mapping.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                lines[f"@{key}"] = first_line + k.start_mark.line
                return v
        return None

    block = child(child(node, "jupyter"), "workshopkit")
    if "@workshopkit" in lines:
        lines[""] = lines.pop("@workshopkit")
    if isinstance(block, yaml.MappingNode):
        for k, _ in block.value:
            if isinstance(k, yaml.ScalarNode):
                lines[str(k.value)] = first_line + k.start_mark.line
    return {k: v for k, v in lines.items() if not k.startswith("@")}


def parse_header(
    lines: list[str], relpath: str
) -> tuple[dict[str, Any], int, dict[str, int], int, Diagnostic | None]:
    """Parse the YAML header; returns (header, header_line, key_lines, first_body_index, error)."""
    import yaml

    bounds = _header_bounds(lines)
    if bounds is None:
        return {}, 0, {}, 0, _error(relpath, 1, "no Jupytext header ('# ---' ... '# ---')")
    start, end = bounds
    if end < 0:
        return (
            {},
            start + 1,
            {},
            len(lines),
            _error(relpath, start + 1, "the Jupytext header opened here is never closed by '# ---'"),
        )
    yaml_text = "\n".join(_uncomment(line) for line in lines[start + 1 : end])
    first_line = start + 2  # 1-based file line of the first YAML line
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        header = yaml.load(yaml_text, Loader=loader) or {}
        key_lines = _yaml_key_lines(yaml_text, first_line)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + mark.line if mark else start + 1
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        return {}, start + 1, {}, end + 1, _error(relpath, line, f"invalid YAML header: {problem}")
    if not isinstance(header, dict):
        return {}, start + 1, {}, end + 1, _error(relpath, start + 1, "the header is not a mapping")
    return header, start + 1, key_lines, end + 1, None


def parse_cell_options(text: str) -> tuple[str, dict[str, Any]] | None:
    """Parse what follows `# %%`: an optional title, `[markdown]`/`[raw]`, then `key=value` JSON.

    Returns (cell_type, metadata), or None where jupytext would fall back to
    `incorrectly_encoded_metadata`.
    """
    cell_type = "code"
    text = text.strip()
    for token, kind in _CELL_TYPES.items():
        marker = f"[{token}]"
        if marker in text:
            cell_type = kind
            text = text.replace(marker, " ", 1).strip()
            break
    metadata: dict[str, Any] = {}
    if not text:
        return cell_type, metadata
    brace = text.find("{")
    equal = text.find("=")
    if brace >= 0 and (equal < 0 or brace < equal):
        try:
            value = json.loads(text[brace:])
        except ValueError:
            return None
        if text[:brace].strip():
            metadata["title"] = text[:brace].strip()
        return (cell_type, value) if isinstance(value, dict) else None
    first = _KEY_EQ.search(text)
    if first is None:
        metadata["title"] = text
        return cell_type, metadata
    if text[: first.start()].strip():
        metadata["title"] = text[: first.start()].strip()
    decoder = json.JSONDecoder()
    pos = first.start()
    while pos < len(text):
        match = _KEY_EQ.match(text, pos)
        if match is None:
            return None
        try:
            value, pos = decoder.raw_decode(text, match.end())
        except ValueError:
            return None
        metadata[match.group(1)] = value
        while pos < len(text) and text[pos] == " ":
            pos += 1
    return cell_type, metadata


class _StringTracker:
    """Tracks whether a line ends inside a triple-quoted Python string (as jupytext does)."""

    def __init__(self) -> None:
        self.quote: str | None = None

    def read_line(self, line: str) -> None:
        i = 0
        while i < len(line):
            if self.quote is not None:
                if line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = None
                    continue
                i += 2 if line[i] == "\\" else 1
                continue
            ch = line[i]
            if ch == "#":
                return
            if line.startswith(('"""', "'''"), i):
                self.quote = line[i : i + 3]
                i += 3
                continue
            if ch in "\"'":
                end = i + 1
                while end < len(line) and line[end] != ch:
                    end += 2 if line[end] == "\\" else 1
                i = end + 1
                continue
            i += 1


def _is_marker(line: str) -> bool:
    return bool(_START_CODE.match(line) or _START_ALT.match(line))


def _cell_end(lines: list[str], start: int, cell_type: str) -> int:
    """Index of the line after the cell that begins at `start` (its marker, if any)."""
    tracker = _StringTracker()
    fence: str | None = None
    for i in range(start, len(lines)):
        line = lines[i]
        if tracker.quote is not None:
            tracker.read_line(line)
            continue
        if cell_type == "code":
            tracker.read_line(line)
        else:
            text = _uncomment(line)
            if fence is not None:
                if text.strip().startswith(fence) and not text.strip().strip(fence[0]):
                    fence = None
                continue
            opening = _FENCE_OPEN.match(text)
            if opening and any(
                _uncomment(later).strip() == opening.group(1) for later in lines[i + 1 :]
            ):
                fence = opening.group(1)
                continue
        if i > start and _is_marker(line):
            return i
    return len(lines)


def _trim_blank_tail(body: list[str]) -> list[str]:
    if len(body) >= 2 and not body[-1].strip() and not body[-2].strip():
        return body[:-2]
    if body and body[-1] == "":
        return body[:-1]
    return body


def scan_cells(
    lines: list[str], first: int, relpath: str
) -> tuple[tuple[Cell, ...], list[Diagnostic]]:
    """Split the lines after the header into cells, keeping each cell's lines."""
    cells: list[Cell] = []
    diagnostics: list[Diagnostic] = []
    i = first
    while i < len(lines) and not lines[i].strip():
        i += 1
    while i < len(lines):
        line = lines[i]
        metadata: dict[str, Any] = {}
        cell_type = "code"
        has_marker = _is_marker(line)
        match = _START_CODE.match(line)
        if match:
            parsed = parse_cell_options(line[line.find("%%") + 2 :])
            if parsed is None:
                diagnostics.append(
                    _error(
                        relpath,
                        i + 1,
                        "cannot parse the cell options "
                        f"{line[line.find('%%') + 2 :].strip()!r} "
                        '(expected key=value pairs with JSON values, e.g. tags=["exercise"])',
                    )
                )
                metadata = {"incorrectly_encoded_metadata": line}
            else:
                cell_type, metadata = parsed
        end = _cell_end(lines, i, cell_type)
        body_start = i + 1 if has_marker else i
        body = _trim_blank_tail(lines[body_start:end])
        if cell_type != "code":
            body = [_uncomment(b) for b in body]
        cells.append(
            Cell(
                index=len(cells),
                cell_type=cell_type,
                marker_line=i + 1,
                body_line=body_start + 1,
                source="\n".join(body),
                metadata=metadata,
            )
        )
        i = end
    return tuple(cells), diagnostics


def load_lesson(path: Path, root: Path) -> LoadResult:
    """Read one lesson file. Never raises for bad content: problems become diagnostics."""
    relpath = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    try:
        text, problem = read_text(path, relpath)
    except OSError as exc:
        return LoadResult(None, (_error(relpath, 0, f"cannot read: {exc.strerror}"),))
    if text is None:
        return LoadResult(None, (problem,) if problem else ())
    lines = text.split("\n")
    header, header_line, key_lines, first_body, problem = parse_header(lines, relpath)
    if problem is not None:
        return LoadResult(None, (problem,))
    if not any(_START_CODE.match(line) or _START_ALT.match(line) for line in lines[first_body:]):
        return LoadResult(
            None,
            (
                _error(
                    relpath,
                    first_body + 1 if first_body < len(lines) else header_line,
                    "not py:percent: no '# %%' cell markers after the header",
                ),
            ),
        )
    cells, diagnostics = scan_cells(lines, first_body, relpath)
    key_lines = {"": header_line, **key_lines}
    source = LessonSource(path, relpath, text, header, header_line, key_lines, cells)
    return LoadResult(source, tuple(diagnostics))


def iter_code_cells(lesson: Lesson) -> Iterator[Cell]:
    return (c for c in lesson.cells if c.cell_type == "code")


def to_notebook(lesson: Lesson) -> NotebookNode:
    """The lesson as an nbformat notebook, read by jupytext with the `py:percent` format.

    Each cell gets `metadata.workshopkit_source = {"line": L, "cell": N}` (its `.py` line and
    1-based number) so that later stages can locate it after papermill inserts cells; exports
    strip it again.
    """
    import jupytext

    nb = jupytext.reads(lesson.text, fmt="py:percent")
    if len(nb.cells) != len(lesson.cells):
        raise ValueError(
            f"{lesson.relpath}: jupytext read {len(nb.cells)} cells but workshopkit found "
            f"{len(lesson.cells)}; please report this file"
        )
    for cell, ours in zip(nb.cells, lesson.cells):
        cell.metadata[SOURCE_KEY] = {"line": ours.body_line, "cell": ours.number}
    return nb
