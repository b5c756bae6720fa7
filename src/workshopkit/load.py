"""Stage 2: read a lesson file into its header and cells, keeping every cell's source line.

`check` must stay fast, so this module reads the `py:percent` text itself (importing jupytext costs
~0.6 s). It follows jupytext's percent reader (1.16 to 1.19, the range pinned in pyproject.toml)
rule for rule, so its cells *are* the notebook's cells: the header opens on the first line and
keeps every key under `jupyter:`; `# %%` inside a triple-quoted string, or inside a fenced code
block of a markdown cell, does not start a cell; two blank lines before a marker are dropped, and
so is one; cell options are `key=value` pairs with JSON (or Python literal) values, or one JSON
object; commented magics (`# %matplotlib inline`) are uncommented. `tests/test_load.py` checks
this scanner, and the notebook `to_notebook` builds from it, against the installed jupytext.

Execution and export use `to_notebook`, which builds the notebook from these same cells (not from
a second reading by jupytext): what `check` validated is what runs and what is exported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .model import Cell, Diagnostic, Severity
from .schema import brief

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from .model import Lesson

HEADER_FENCE = "# ---"
SOURCE_KEY = "workshopkit_source"  # cell metadata key locating a notebook cell in its `.py` file

# jupytext's regular expressions, for Python scripts (header.py, cell_reader.py, cell_metadata.py,
# magics.py).
_HEADER_RE = re.compile(r"^---\s*$")
_BLANK_RE = re.compile(r"^\s*$")
_JUPYTER_RE = re.compile(r"^jupyter\s*:\s*$")
_LEFTSPACE_RE = re.compile(r"^\s")
_ENCODING_RE = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-_.a-zA-Z0-9]+)")
_START_CODE = re.compile(r"^\s*#\s*%%(%*)\s(.*)$")
_START_ALT = re.compile(r"^\s*#\s*(%%|<codecell>|In\[[0-9 ]*\]:?)\s*$")
_CODE_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_IS_IDENTIFIER = re.compile(r"^[a-zA-Z_\.]+[a-zA-Z0-9_\.]*$")
_IS_VALID_METADATA_KEY = re.compile(r"^[a-zA-Z0-9_\.@/-]+$")
_MAGIC_RE = re.compile(r"^\s*(# |#)*(%|%%|%%%)[a-zA-Z]")
_MAGIC_FORCE_ESC_RE = re.compile(r"^\s*(# |#)*(%|%%|%%%)[a-zA-Z](.*)#\s*escape")
_MAGIC_NOT_ESC_RE = re.compile(r"^\s*(# |#)*(%|%%|%%%)[a-zA-Z](.*)#\s*noescape")
_LINE_CONTINUATION_RE = re.compile(r".*\\\s*$")
_PYTHON_HELP_OR_BASH_CMD = re.compile(r"^\s*(?:(?:# |#)+\s*)?(\?|!)\s*[A-Za-z\.\~\$\\\/\{\}]")
_PYTHON_MAGIC_CMD = re.compile(
    r"^(# |#)*(cat|cd|cp|mv|rm|rmdir|mkdir|copy|ddir|echo|ls|ldir|mkdir|ren|rmdir)($|\s$|\s[^=,])"
)
_IPYTHON_MAGIC_HELP = re.compile(r"^\s*(# )*[^\s]*\?\s*$")
_PYTHON_MAGIC_ASSIGN = re.compile(
    r"^(# |#)*\s*([a-zA-Z_][a-zA-Z_$0-9]*)\s*=\s*(%|%%|%%%|!)[a-zA-Z](.*)"
)
_ESCAPED_CODE_START = re.compile(r"^(# |#)*(#|# )\+")
# `str.splitlines()`, which jupytext uses, also ends lines at these; Python and editors do not.
_OTHER_LINE_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_BAD_OPTIONS = "incorrectly_encoded_metadata"  # jupytext's key for cell options it cannot parse
_TRIPLE_QUOTES = ('"' * 3, "'" * 3)


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
    def notebook_metadata(self) -> Mapping[str, Any]:
        """The header's `jupyter:` mapping, which jupytext makes the notebook's metadata."""
        jupyter = self.header.get("jupyter")
        return jupyter if isinstance(jupyter, dict) else {}

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
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        byte = data[exc.start : exc.start + 1]
        guess = byte.decode("cp1252", errors="replace")
        hint = f", which is {guess!r} in Windows-1252/Latin-1" if guess.isprintable() else ""
        return None, _error(
            relpath,
            line,
            f"not UTF-8: byte 0x{byte[0]:02x} in column {column}{hint}; save the file as UTF-8",
        )
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, None


def _lines(text: str) -> list[str]:
    """The text's lines, as `str.splitlines()` gives them when only `\\n` ends lines."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _uncomment(line: str, comment: str = "#") -> str:
    """Remove a leading `# ` or `#` (jupytext's `uncomment`)."""
    if not comment:
        return line
    if line.startswith(comment + " "):
        return line[len(comment) + 1 :]
    return line[len(comment) :] if line.startswith(comment) else line


def _header_bounds(lines: list[str]) -> tuple[int, int] | None:
    """Lenient header search, for discovery: 0-based indexes of the opening and closing `# ---`.

    Blank, `#!` and coding lines before the header are skipped (loading reports them); the
    closing index is -1 for an unterminated header.
    """
    start = 0
    while start < len(lines) and (
        not lines[start].strip() or lines[start].startswith(("#!", "# -*-"))
    ):
        start += 1
    if start >= len(lines) or not _HEADER_RE.match(_uncomment(lines[start])):
        return None
    for end in range(start + 1, len(lines)):
        line = lines[end]
        if not line.startswith("#"):
            break
        if _HEADER_RE.match(_uncomment(line)):
            return start, end
    return start, -1


def has_workshopkit_block(text: str) -> bool:
    """Cheap test used by discovery: does the Jupytext header mention a `workshopkit` key?"""
    lines = text.removeprefix("\ufeff").splitlines()[:400]
    bounds = _header_bounds(lines)
    if bounds is None:
        return False
    start, end = bounds
    body = lines[start + 1 : end if end >= 0 else len(lines)]
    return any(re.search(r"\bworkshopkit\s*:", line) for line in body)


def _yaml_key_lines(node: Any, first_line: int) -> dict[str, int]:
    """Lines of the keys inside `jupyter.workshopkit` ("" for the block itself), from the marks
    of the composed YAML `node`."""
    import yaml

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


def _header_start(lines: list[str]) -> tuple[int, str | None]:
    """Where jupytext expects the opening `# ---`: the first line after an optional `#!` line and
    an optional coding line. Also returns the encoding of a coding line jupytext refuses."""
    index = 1 if lines and lines[0].startswith("#!") else 0
    if index < len(lines):
        coding = _ENCODING_RE.match(lines[index])
        if coding:
            return index + 1, None if coding.group(1) == "utf-8" else coding.group(1)
    return index, None


@dataclass(frozen=True, slots=True)
class _Fences:
    """Where a header's `# ---` lines are (0-based), and the lines jupytext keeps out of it."""

    start: int
    end: int  # -1: never closed
    stop: int  # the first line that does not start with '#'
    outside: tuple[int, ...]  # header lines outside `jupyter:`, which jupytext makes a raw cell


def _opening_problem(lines: list[str], relpath: str) -> tuple[int, Diagnostic | None]:
    """The index of the opening `# ---`; or, when it is not where jupytext wants it, the header's
    line to report (0: none) and the problem."""
    start, bad_coding = _header_start(lines)
    if bad_coding is not None:
        message = (
            f"coding {bad_coding!r}: jupytext only reads files declared "
            "'# -*- coding: utf-8 -*-' (save the file as UTF-8 and fix or remove this line)"
        )
        return start, _error(relpath, start, message)
    if start >= len(lines) or not _HEADER_RE.match(_uncomment(lines[start])):
        bounds = _header_bounds(lines)
        if bounds is not None and bounds[0] > start:
            message = (
                f"the Jupytext header must begin on line {start + 1}; jupytext ignores a header "
                "that comes after other lines (remove the lines before '# ---')"
            )
            return bounds[0] + 1, _error(relpath, start + 1, message)
        return 0, _error(relpath, 1, "no Jupytext header ('# ---' ... '# ---')")
    return start, None


def _fences(lines: list[str], start: int) -> _Fences:
    """Find the closing `# ---` after the opening one at `start`."""
    outside: list[int] = []
    in_jupyter = False
    for index in range(start + 1, len(lines)):
        line = lines[index]
        if not line.startswith("#"):
            return _Fences(start, -1, index, tuple(outside))
        text = _uncomment(line)
        if _HEADER_RE.match(text):
            return _Fences(start, index, len(lines), tuple(outside))
        if _JUPYTER_RE.match(text):
            in_jupyter = True
        elif text and not _LEFTSPACE_RE.match(text):
            in_jupyter = False
        if not in_jupyter:
            outside.append(index)
    return _Fences(start, -1, len(lines), tuple(outside))


def _outside_problem(lines: list[str], index: int, relpath: str) -> Diagnostic:
    shown = _uncomment(lines[index]).strip()
    if re.match(r"^jupyter\s*:", shown):
        message = (
            "jupytext reads 'jupyter:' only alone on its line, with its keys indented below "
            "it; as written, this line would become a raw cell"
        )
    else:
        what = f"{_shorten(shown)!r} is" if shown else "a blank line is"
        message = (
            f"{what} outside the 'jupyter:' section of the header, so jupytext would make it "
            "a raw cell (indent it under 'jupyter:', or remove it)"
        )
    return _error(relpath, index + 1, message)


def parse_header(
    lines: list[str], relpath: str
) -> tuple[dict[str, Any], int, dict[str, int], int, Diagnostic | None]:
    """Parse the YAML header; returns (header, header_line, key_lines, first_body_index, error).

    `first_body_index` is where the first cell starts: as in jupytext, one blank line after the
    closing `# ---` belongs to the header.
    """
    start, problem = _opening_problem(lines, relpath)
    if problem is not None:
        return {}, start, {}, 0, problem
    fences = _fences(lines, start)
    if fences.end < 0:
        reason = (
            f"line {fences.stop + 1} is the first that does not start with '#'"
            if fences.stop < len(lines)
            else "the file ends first"
        )
        message = f"the Jupytext header opened here has no closing '# ---' ({reason})"
        return {}, start + 1, {}, len(lines), _error(relpath, start + 1, message)
    first_body = fences.end + 1
    if first_body < len(lines) and _BLANK_RE.match(_uncomment(lines[first_body])):
        first_body += 1
    yaml_text = "\n".join(_uncomment(line) for line in lines[start + 1 : fences.end])
    header, key_lines, problem = read_yaml_header(yaml_text, start + 2, relpath)
    if problem is None and fences.outside:
        problem = _outside_problem(lines, fences.outside[0], relpath)
    if problem is not None:
        return {}, start + 1, {}, first_body, problem
    return header, start + 1, key_lines, first_body, None


def read_yaml_header(
    text: str, first_line: int, relpath: str
) -> tuple[dict[str, Any], dict[str, int], Diagnostic | None]:
    """The header's YAML (its first line is file line `first_line`): the mapping, the lines of the
    `workshopkit` keys, or the problem. Parsed once; aliases (`*name`) are refused before anything
    is built, so a few hundred bytes cannot expand into gigabytes (a "billion laughs"), and every
    value must be one a notebook's JSON can hold."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is not None and "*" in text and _has_alias(node):  # an alias needs a '*'
            line = _alias_line(text, loader)
            message = (
                "YAML aliases ('*name', and merge keys '<<') are not allowed in the header; "
                "write the values out"
            )
            return {}, {}, _error(relpath, first_line + line, message)
        header = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        where, problem = _yaml_problem(exc, first_line, first_line - 1)
        return {}, {}, _error(relpath, where, f"invalid YAML header: {problem}")
    except yaml.YAMLError as exc:
        return {}, {}, _error(relpath, first_line - 1, f"invalid YAML header: {exc}")
    finally:
        loader.dispose()
    if header is None:
        return {}, {}, None
    if not isinstance(header, dict):
        return {}, {}, _error(relpath, first_line, "the header is not a mapping")
    found = _not_json(header, ())
    if found is not None:
        path, what = found
        shown = ".".join(str(part) for part in path)
        message = f"'{shown}' is {what}, which a notebook cannot store; quote it to make it text"
        return {}, {}, _error(relpath, first_line + _node_line(node, path), message)
    return header, _yaml_key_lines(node, first_line), None


def _has_alias(root: Any) -> bool:
    """Whether a composed YAML graph reaches a node twice (only an alias does that)."""
    import yaml

    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return True
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack += (key, value)
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return False


def _alias_line(text: str, loader: Any) -> int:
    """The 0-based line of the first alias in `text` (events only: nothing is expanded)."""
    import yaml

    for event in yaml.parse(text, Loader=type(loader)):
        if isinstance(event, yaml.AliasEvent):
            return int(getattr(event.start_mark, "line", 0))
    return 0


def _not_json(value: Any, path: tuple[Any, ...]) -> tuple[tuple[Any, ...], str] | None:
    """The path to the first value that JSON cannot store (a date, a set, binary data, a mapping
    key that is not text), and what it is."""
    if value is None or isinstance(value, str | bool | int | float):
        return None
    items: Any = ()
    if isinstance(value, list):
        items = enumerate(value)
    elif isinstance(value, dict):
        bad = next((key for key in value if not isinstance(key, str)), None)
        if bad is not None:
            return (*path, bad), "a key that is not text"
        items = value.items()
    else:
        kind = {"date": "a date", "datetime": "a date and time", "bytes": "binary data"}
        return path, kind.get(type(value).__name__, f"a {type(value).__name__}")
    for key, item in items:
        found = _not_json(item, (*path, key))
        if found:
            return found
    return None


def _node_line(node: Any, path: tuple[Any, ...]) -> int:
    """The 0-based line of the value at `path` in a composed YAML graph (as far as it goes)."""
    import yaml

    line = int(node.start_mark.line)
    for part in path:
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if str(k.value) == str(part)]
            if not found:
                break
            line, node = int(found[0][0].start_mark.line), found[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part]
            line = int(node.start_mark.line)
        else:
            break
    return line


def _shorten(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _yaml_problem(exc: Any, first_line: int, fallback: int) -> tuple[int, str]:
    """The file line and text of a YAML error: the line of its problem mark, or of its context
    (the opening quote or bracket) when the problem is only noticed at the end of the header."""
    problem = str(exc.problem or "").strip() or "cannot be parsed"
    hint = ""
    if "expected key" in problem or "not allowed here" in problem:
        hint = "; check the indentation"
    mark, context = exc.problem_mark, exc.context_mark
    line = first_line + mark.line if mark is not None else fallback
    if context is None or not exc.context:
        return line, problem + hint
    context_line = first_line + context.line
    if "end of stream" in problem:
        return context_line, f"{problem} ({exc.context} that starts here){hint}"
    if context_line != line:
        return line, f"{problem} ({exc.context} that starts on line {context_line}){hint}"
    return line, f"{exc.context}, {problem}{hint}"


class _StringParser:
    """jupytext's StringParser for Python: does the next line start inside a string?"""

    def __init__(self) -> None:
        self.single: str | None = None
        self.triple: str | None = None
        self.triple_start = -1

    def is_quoted(self) -> bool:
        return bool(self.single or self.triple)

    def read_line(self, line: str) -> None:
        if '"' not in line and "'" not in line:
            return  # only quotes change the state (and `single` was reset at the last line end)
        if not self.is_quoted() and line.lstrip().startswith("#"):
            return
        self.triple_start = -1
        for i, char in enumerate(line):
            if self.single is None and self.triple is None and char == "#":
                break
            if char not in ('"', "'"):
                continue
            if line[i - 1 : i] == "\\":
                continue
            if self.single == char:
                self.single = None
                continue
            if self.single is not None:
                continue
            if line[i - 2 : i + 1] == 3 * char and i >= self.triple_start + 3:
                if self.triple == char:
                    self.triple = None
                    self.triple_start = i
                    continue
                if self.triple is not None:
                    continue
                self.triple = char
                self.triple_start = i
                continue
            if self.triple is not None:
                continue
            self.single = char
        self.single = None


def _relax_json_loads(text: str, catch: bool) -> Any:
    """A JSON value, else a Python literal (jupytext accepts both)."""
    import ast

    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except Exception:  # a syntax error, or a literal that cannot be built such as {[1]: 2}
        if not catch:
            raise
    return {_BAD_OPTIONS: text}


def _parse_key_equal_value(text: str) -> dict[str, Any]:
    """`key1=value1 key2=value2`, parsed from the right as jupytext does."""
    text = text.strip()
    if not text:
        return {}
    last_space = text.rfind(" ")
    if not text.startswith("--") and _IS_IDENTIFIER.match(text[last_space + 1 :]):
        result: dict[str, Any] = {text[last_space + 1 :]: None}
        if last_space > 0:
            result.update(_parse_key_equal_value(text[:last_space]))
        return result
    equal: int | None = None
    while True:
        equal = text.rfind("=", None, equal)
        if equal < 0:
            return {_BAD_OPTIONS: text}
        previous_space = text[:equal].rstrip().rfind(" ")
        key = text[previous_space + 1 : equal].strip()
        if not _IS_VALID_METADATA_KEY.match(key):
            continue
        try:
            value = _relax_json_loads(text[equal + 1 :], catch=False)
        except Exception:  # try again with a longer value
            continue
        metadata = _parse_key_equal_value(text[:previous_space]) if previous_space > 0 else {}
        metadata[key] = value
        return metadata


def _text_to_metadata(text: str) -> tuple[str, Any]:
    """Split cell options into a title and metadata (jupytext's `text_to_metadata`)."""
    text = text.strip()
    curly = text.find("{")
    equal = text.find("=")
    if curly >= 0 and not 0 <= equal < curly:
        return text[:curly].strip(), _relax_json_loads(text[curly:], catch=True)
    if equal >= 0:
        words = text[:equal].split(" ")
        while words and not words[-1]:
            words.pop()
        if words:
            words.pop()  # the key before the equal sign
    else:
        words = text.split(" ")
    while words and (not words[-1].strip() or words[-1].startswith(".")):
        words.pop()
    title = " ".join(words)
    return title, _parse_key_equal_value(text[len(title) :])


def _options_metadata(text: str) -> dict[str, Any] | None:
    """The metadata of the options after `# %%`, with jupytext's `cell_type`, `title` and
    `cell_depth` keys; None when the options are not a mapping at all."""
    try:
        title, metadata = _text_to_metadata(text)
    except RecursionError:
        return None
    if not isinstance(metadata, dict):
        return None
    for name in ("markdown", "raw", "md"):
        code = f"[{name}]"
        if code in title:
            title = title.replace(code, "").strip()
            metadata["cell_type"] = "markdown" if name == "md" else name
            if name == "md":
                metadata["region_name"] = name
            break
    depth = len(title) - len(title.lstrip("%"))
    if depth:
        metadata["cell_depth"] = depth
        title = title[depth:].strip()
    if title:
        metadata["title"] = title
    return metadata


def _is_active(ext: str, metadata: Mapping[str, Any], default: bool = True) -> bool:
    """jupytext's `is_active`: is the cell active (code) in a file with this extension?"""
    run_control = metadata.get("run_control")
    if isinstance(run_control, dict) and run_control.get("frozen") is True:
        return ext == ".ipynb"
    tags = metadata.get("tags")
    for tag in tags if isinstance(tags, list) else ():
        if isinstance(tag, str) and tag.startswith("active-"):
            return ext.replace(".", "") in tag.split("-")
    active = metadata.get("active")
    if not isinstance(active, str):
        return default
    return ext.replace(".", "") in re.split(r"\.|,", active)


def _resolve_cell_type(metadata: dict[str, Any]) -> tuple[str, str]:
    """jupytext's cell type (an explicit `cell_type`, else raw for a cell inactive in notebooks),
    and the comment prefix its lines carry ("" for a raw cell that is active in the script)."""
    if "cell_type" in metadata:
        return str(metadata.pop("cell_type")), "#"
    if not _is_active(".ipynb", metadata):
        if metadata.get("active") == "":
            del metadata["active"]
        return "raw", "" if _is_active(".py", metadata) else "#"
    return "code", "#"


def _notebook_cell_type(cell_type: str) -> str:
    return cell_type if cell_type in ("code", "markdown") else "raw"


def parse_cell_options(text: str) -> tuple[str, dict[str, Any]] | None:
    """Parse what follows `# %%`: an optional title, `[markdown]`/`[md]`/`[raw]`, then `key=value`
    pairs with JSON values, or one JSON object.

    Returns (cell_type, metadata), or None where jupytext would fall back to
    `incorrectly_encoded_metadata`.
    """
    metadata = _options_metadata(text)
    if metadata is None or _BAD_OPTIONS in metadata:
        return None
    return _notebook_cell_type(_resolve_cell_type(metadata)[0]), metadata


def _opening_fence(text: str) -> tuple[str, int] | None:
    match = _CODE_FENCE.match(text)
    if not match or (match.group(1)[0] == "`" and "`" in match.group(2)):
        return None
    return match.group(1)[0], len(match.group(1))


def _closes_fence(text: str, fence: tuple[str, int]) -> bool:
    match = _CODE_FENCE.match(text)
    return (
        match is not None
        and match.group(1)[0] == fence[0]
        and len(match.group(1)) >= fence[1]
        and not match.group(2).strip()
    )


def _is_marker(line: str) -> bool:
    return bool(_START_CODE.match(line) or _START_ALT.match(line))


def is_cell_marker(line: str) -> bool:
    """Would jupytext's percent reader start a cell at this line (outside strings and fences)?"""
    return _is_marker(line)


def opening_fence(text: str) -> tuple[str, int] | None:
    """The fence (character, length) that this markdown line opens, if it opens one."""
    return _opening_fence(text)


def closes_fence(text: str, fence: tuple[str, int]) -> bool:
    """Does this markdown line close `fence`?"""
    return _closes_fence(text, fence)


def _cell_end(
    lines: Sequence[str], start: int, cell_type: str, comment: str = "#"
) -> tuple[int, int]:
    """For the cell that begins at `start`: the index after its last line, and that of the next
    cell.

    A `# %%` line starts no cell inside a triple-quoted string, nor inside a fenced code block of
    a markdown or raw cell. Exactly two blank lines before the next marker are not part of the
    cell, nor is one empty line.
    """
    parser = _StringParser()
    fence: tuple[str, int] | None = None
    next_cell = len(lines)
    for i in range(start, len(lines)):
        line = lines[i]
        if parser.is_quoted():
            parser.read_line(line)
            continue
        parser.read_line(line)
        if cell_type in ("markdown", "raw"):
            text = _uncomment(line, comment)
            if fence is not None:
                if _closes_fence(text, fence):
                    fence = None
                continue
            opening = _opening_fence(text)
            if opening and any(
                _closes_fence(_uncomment(later, comment), opening) for later in lines[i + 1 :]
            ):
                fence = opening
                continue
        if i > start and _is_marker(line):
            next_cell = i
            break
    if (
        next_cell - start >= 3
        and not _BLANK_RE.match(lines[next_cell - 3])
        and _BLANK_RE.match(lines[next_cell - 2])
        and _BLANK_RE.match(lines[next_cell - 1])
    ):
        return next_cell - 2, next_cell
    if next_cell > start and lines[next_cell - 1] == "":
        return next_cell - 1, next_cell
    return next_cell, next_cell


def _unescape(line: str) -> str:
    """Remove one `#` comment level, keeping the indentation (jupytext's `unesc`)."""
    body = line.lstrip()
    indent = line[: len(line) - len(body)]
    if body.startswith("# "):
        return indent + body[2:]
    if body.startswith("#"):
        return indent + body[1:]
    return line


def _is_magic(line: str) -> bool:
    """Is this (possibly commented) line an IPython magic or shell command, for jupytext?"""
    if _MAGIC_FORCE_ESC_RE.match(line):
        return True
    if _MAGIC_NOT_ESC_RE.match(line):
        return False
    return bool(
        _MAGIC_RE.match(line)
        or _PYTHON_HELP_OR_BASH_CMD.match(line)
        or _PYTHON_MAGIC_ASSIGN.match(line)
        or _IPYTHON_MAGIC_HELP.match(line)
        or _PYTHON_MAGIC_CMD.match(line)
    )


def _uncomment_magics(lines: list[str]) -> list[str]:
    parser = _StringParser()
    continued = False
    for i, line in enumerate(lines):
        if not parser.is_quoted() and (continued or _is_magic(line)):
            lines[i] = _unescape(line)
            continued = bool(_LINE_CONTINUATION_RE.match(line))
        parser.read_line(line)
    return lines


def _unescape_code_starts(lines: list[str]) -> list[str]:
    parser = _StringParser()
    for i, line in enumerate(lines):
        if not parser.is_quoted() and _ESCAPED_CODE_START.match(line):
            unescaped = _unescape(line)
            if _ESCAPED_CODE_START.match(unescaped):
                lines[i] = unescaped
        parser.read_line(line)
    return lines


def _cell_source(
    lines: list[str], metadata: Mapping[str, Any], cell_type: str, comment: str = "#"
) -> str:
    """The cell's text as jupytext puts it in the notebook (jupytext's `extract_content`)."""
    if not _is_active(".py", metadata, cell_type == "code"):
        # a markdown or raw cell may be written as one triple-quoted string
        content = "\n".join(lines).strip()
        for prefix in ("", "r", "R"):
            for quote in _TRIPLE_QUOTES:
                left = prefix + quote
                if (
                    content.startswith(left)
                    and content.endswith(quote)
                    and len(content) >= len(left) + len(quote)
                ):
                    inner = content[len(left) : -len(quote)]
                    return "\n".join(inner.removeprefix("\n").removesuffix("\n").splitlines())
    language = metadata.get("language")
    if not _is_active(".py", metadata) or (
        "active" not in metadata and language and language != "python"
    ):
        return "\n".join(_uncomment(line) for line in lines)
    lines = _uncomment_magics(list(lines))
    if cell_type == "code":
        return "\n".join(_unescape_code_starts(lines))
    return "\n".join(_uncomment(line, comment) for line in lines)


def scan_cells(
    lines: list[str], first: int, relpath: str
) -> tuple[tuple[Cell, ...], list[Diagnostic]]:
    """Split the lines after the header (from index `first`) into cells, as jupytext does."""
    cells: list[Cell] = []
    diagnostics: list[Diagnostic] = []
    i = first
    while i < len(lines):
        line = lines[i]
        metadata: dict[str, Any] = {}
        if line[:1].isspace() and _is_marker(line):
            message = (
                "this indented '# %%' starts a new cell (jupytext reads it as a cell marker), "
                "splitting the code around it; dedent it or remove it"
            )
            diagnostics.append(Diagnostic(relpath, i + 1, Severity.WARNING, message))
        if _START_CODE.match(line):
            options = line[line.find("%%") + 2 :]
            parsed = _options_metadata(options)
            if parsed is None or _BAD_OPTIONS in parsed:
                bad = options.strip() if parsed is None else str(parsed[_BAD_OPTIONS])
                diagnostics.append(
                    _error(
                        relpath,
                        i + 1,
                        f"cannot parse the cell options {brief(bad)}: expected key=value pairs "
                        'with JSON values, e.g. tags=["exercise"] (is a bracket or quote missing?)',
                    )
                )
            metadata = parsed or {}
        language = metadata.get("language")
        if language == "python":
            del metadata["language"]
        elif language is not None:
            diagnostics.append(
                _error(
                    relpath,
                    i + 1,
                    f"the cell option language={brief(language)} is not supported; "
                    "start the cell with a cell magic such as %%bash instead",
                )
            )
        cell_type, comment = _resolve_cell_type(metadata)
        end, next_cell = _cell_end(lines, i, cell_type, comment)
        body_start = i + 1 if _is_marker(line) else i
        cells.append(
            Cell(
                index=len(cells),
                cell_type=_notebook_cell_type(cell_type),
                marker_line=i + 1,
                body_line=body_start + 1,
                source=_cell_source(lines[body_start:end], metadata, cell_type, comment),
                metadata=metadata,
            )
        )
        i = next_cell
    return tuple(cells), diagnostics


def _line_break_problems(text: str, relpath: str) -> list[Diagnostic]:
    """Characters that jupytext (`str.splitlines`) takes for line ends, unlike Python."""
    problems = []
    for match in _OTHER_LINE_BREAKS.finditer(text):
        code = ord(match.group())
        escape = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
        problems.append(
            _error(
                relpath,
                text.count("\n", 0, match.start()) + 1,
                f"character U+{code:04X} ends a line for jupytext but not for Python; "
                f"remove it (inside a string, write {escape} instead)",
            )
        )
    return problems


def load_lesson(path: Path, root: Path) -> LoadResult:
    """Read one lesson file. Never raises for bad content: problems become diagnostics."""
    relpath = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    try:
        text, problem = read_text(path, relpath)
    except OSError as exc:
        return LoadResult(None, (_error(relpath, 0, f"cannot read: {exc.strerror}"),))
    if text is None:
        return LoadResult(None, (problem,) if problem else ())
    diagnostics = _line_break_problems(text, relpath)
    lines = _lines(text)
    header, header_line, key_lines, first_body, problem = parse_header(lines, relpath)
    if problem is not None:
        return LoadResult(None, (*diagnostics, problem))
    if not any(_is_marker(line) for line in lines[first_body:]):
        line = first_body + 1 if first_body < len(lines) else header_line
        message = (
            "not py:percent: no '# %%' cell markers after the header "
            "(start each cell with '# %%', or '# %% [markdown]' for text)"
        )
        return LoadResult(None, (*diagnostics, _error(relpath, line, message)))
    cells, problems = scan_cells(lines, first_body, relpath)
    diagnostics.extend(problems)
    key_lines = {"": header_line, **key_lines}
    source = LessonSource(path, relpath, text, header, header_line, key_lines, cells)
    return LoadResult(source, tuple(diagnostics))


def iter_code_cells(lesson: Lesson) -> Iterator[Cell]:
    return (c for c in lesson.cells if c.cell_type == "code")


def to_notebook(lesson: Lesson | LessonSource) -> NotebookNode:
    """The lesson as an nbformat notebook, built from the cells this module read: the very cells
    `check` validated and the cache key hashed, so validation, execution and export can never see
    different cells. (They are jupytext's cells: `tests/test_load.py` compares every lesson in the
    repository, tricky and random ones with `jupytext.reads(text, fmt="py:percent")`.) The
    notebook's metadata is the header's `jupyter:` mapping, as jupytext makes it.

    Each cell gets `metadata.workshopkit_source = {"line": L, "cell": N}` (its `.py` line and
    1-based number) so that later stages can locate it after papermill inserts cells; exports
    strip it again.
    """
    import copy

    from nbformat import from_dict

    cells = []
    for ours in lesson.cells:
        metadata = copy.deepcopy(dict(ours.metadata))
        metadata[SOURCE_KEY] = {"line": ours.body_line, "cell": ours.number}
        cell: dict[str, Any] = {"id": f"cell-{ours.number}", "cell_type": ours.cell_type}
        cell.update(metadata=metadata, source=ours.source)
        if ours.cell_type == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    metadata = copy.deepcopy(dict(lesson.notebook_metadata))
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells}
    nb: NotebookNode = from_dict(notebook)  # type: ignore[no-untyped-call]
    return nb
