"""Which files a lesson needs next to its notebook (its assets), and whether they are safe to copy.

The rule (documented for authors in the README):

1. **Referenced from markdown**: `![alt](img.png)`, `[text](data.csv)`, reference definitions
   `[id]: file.pdf`, and HTML `src=` / `href=` attributes. URLs with a scheme (`https:`,
   `data:`, `mailto:`, `attachment:`), `//host` and `#anchors` are not files and are ignored.
2. **Opened by code**: a string literal in a code cell that names an existing file in the
   lesson's folder or below (`pd.read_csv("house_prices.csv")`), or a module the lesson imports
   from its own folder (`from helpers import plot` with `helpers.py` beside the lesson).
3. **A lesson's own folder**: when a lesson's folder holds no other lesson (and is not the
   workshop root), every file in it and below is an asset, except `.py` files (lessons, or
   helper scripts not imported), hidden files, `*.ipynb`, `*.pyc`, and the folders a lesson's
   scratch copy leaves out too (`lessonfiles.IGNORED_FOLDERS`, virtualenvs).

Assets keep their path relative to the lesson's folder: `lessons/<id>/<path>` in `dist/` and in
every bundle, so the code's relative paths still work.

Refused, as errors found before any kernel starts (exit 2), naming the lesson and reference:
a reference that leaves the workshop root (`../../secret.txt`) or is absolute (in markdown);
a symlink resolving outside the workshop root (the link path is named; it is not followed);
a markdown image that leaves the lesson's folder (bundles ship only the lesson's folder);
names that are not portable (backslashes, control characters, `CON`/`aux`..., over 255
characters) or that clash with the lesson's own exported files. A markdown image that does not
exist is a warning; code literals are only considered when they name an existing file.

Never shipped, with one warning naming it (`folder_warnings`, shared with the scratch copy and
the cache key through `lessonfiles`): named pipes, sockets, devices and broken symlinks.

Nothing here imports nbformat or jupytext: `check` can afford it.
"""

from __future__ import annotations

import ast
import functools
import io
import os
import re
import stat
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from ..lessonfiles import (
    LeftOut,
    ignored_folder,
    is_virtualenv,
    list_folder,
    special_kind,
    within,
)
from ..model import WINDOWS_RESERVED, Diagnostic, Lesson, Severity, Workshop, exported_names

__all__ = [
    "Asset",
    "MarkdownRef",
    "check_assets",
    "imported_modules",
    "lesson_assets",
    "markdown_references",
    "name_problem",
    "requirements_file",
]

MAX_NAME = 255
_SKIP_SUFFIXES = (".py", ".pyc", ".pyo", ".ipynb")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_MD_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_MD_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
_HTML_ATTR = re.compile(r"""\b(src|href|poster)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_IMPORT = re.compile(r"^\s*(?:from\s+([A-Za-z_]\w*)\s+import\b|import\s+([A-Za-z_][\w\s,.]*))")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Asset:
    """A file copied next to a lesson's notebooks."""

    name: str  # POSIX path relative to the lesson's folder (and to lessons/<id>/ in dist)
    source: Path  # the file to copy (symlinks inside the workshop resolved)
    reason: str  # markdown | code | import | folder


@dataclass(frozen=True, slots=True)
class _Ref:
    text: str  # as written
    line: int  # line in the lesson's .py file
    kind: str  # image | link | code


def name_problem(name: str) -> str | None:
    """Why a relative asset name cannot go into dist/ and zips, or None."""
    if not name or name in {".", ".."}:
        return "is empty"
    if "\\" in name:
        return "contains a backslash (use '/')"
    if _CONTROL.search(name):
        return "contains a control character"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "is an absolute path"
    for part in name.split("/"):
        if part in {"", ".", ".."}:
            return "is not a plain relative path"
        if len(part) > MAX_NAME:
            return f"has a name longer than {MAX_NAME} characters"
        if part.split(".")[0].lower() in WINDOWS_RESERVED:
            return f"uses {part!r}, a reserved file name on Windows"
        if part.endswith((" ", ".")):
            return "has a name ending in a space or '.', which Windows cannot store"
    return None


def _shown(ref: str) -> str:
    text = ref if len(ref) <= 80 else ref[:77] + "..."
    return text.encode("unicode_escape").decode("ascii") if _CONTROL.search(text) else text


# --------------------------------------------------------------------------------------------
# Finding references


def _clean_url(raw: str) -> str | None:
    ref = raw.strip()
    if ref.startswith("<") and ref.endswith(">"):
        ref = ref[1:-1].strip()
    if not ref or ref.startswith(("#", "//", "?")) or _SCHEME.match(ref):
        return None  # not a file: an anchor, or a URL (`https:`, `data:`, `attachment:`, `x:`)
    ref = re.split(r"[?#]", ref, maxsplit=1)[0]
    return unquote(ref) if ref else None


@dataclass(frozen=True, slots=True)
class MarkdownRef:
    """A file reference in markdown text, as `markdown_references` finds it."""

    line: int  # 0-based line in the text
    start: int  # columns of the reference as written (`raw`) in that line
    end: int
    raw: str
    ref: str  # the file path it names: brackets, query and fragment removed, %-escapes decoded
    kind: str  # image | link


def markdown_references(text: str) -> Iterator[MarkdownRef]:
    """Every file reference in markdown: images, links, reference definitions, HTML `src=`,
    `href=` and `poster=`. URLs with a scheme (`attachment:` too) and anchors are left out."""
    for number, line in enumerate(text.split("\n")):
        found: list[tuple[re.Match[str], int, str]] = []
        found.extend((m, 1, "image") for m in _MD_IMAGE.finditer(line))
        found.extend((m, 1, "link") for m in _MD_LINK.finditer(line))
        definition = _MD_DEF.match(line)
        if definition:
            found.append((definition, 1, "link"))
        for match in _HTML_ATTR.finditer(line):
            group = next(g for g in (2, 3, 4) if match.group(g) is not None)
            found.append((match, group, "link" if match.group(1).lower() == "href" else "image"))
        for match, group, kind in found:
            ref = _clean_url(match.group(group))
            if ref:
                start, end = match.span(group)
                yield MarkdownRef(number, start, end, match.group(group), ref, kind)


def _markdown_refs(lesson: Lesson) -> Iterator[_Ref]:
    for cell in lesson.cells:
        if cell.cell_type != "markdown":
            continue
        for found in markdown_references(cell.source):
            yield _Ref(found.ref, cell.body_line + found.line, found.kind)


@functools.lru_cache(maxsize=4096)
def _string_literals(source: str) -> tuple[tuple[int, str], ...]:
    """(0-based line, value) of each plain string literal in a code cell; remembered, since
    a build scans every lesson twice (validate, export) and `serve` scans them on each save."""
    return tuple(_scan_string_literals(source))


def _scan_string_literals(source: str) -> Iterator[tuple[int, str]]:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        for number, line in enumerate(source.split("\n")):
            for match in re.finditer(r"""(["'])([^"'\n]{1,255})\1""", line):
                yield number, match.group(2)
        return
    for token in tokens:
        if token.type != tokenize.STRING:
            continue
        try:
            value = ast.literal_eval(token.string)
        except (ValueError, SyntaxError):
            continue  # f-strings and the like
        if isinstance(value, str) and 0 < len(value) < 1024 and "\n" not in value:
            yield token.start[0] - 1, value


def _code_refs(lesson: Lesson) -> Iterator[_Ref]:
    for cell in lesson.cells:
        if cell.cell_type != "code" or not ("'" in cell.source or '"' in cell.source):
            continue  # no string literal, nothing to tokenize
        for offset, value in _string_literals(cell.source):
            if _SCHEME.match(value) and len(value.split(":")[0]) > 1:
                continue
            yield _Ref(value, cell.body_line + offset, "code")


def imported_modules(line: str) -> list[str]:
    """The top-level modules a line of code imports (`import a.b, c as d` -> a, c)."""
    match = _IMPORT.match(line)
    if not match:
        return []
    names = [match.group(1)] if match.group(1) else re.split(r"\s*,\s*", match.group(2))
    tops = (name.strip().split(" ")[0].split(".")[0] for name in names)
    return [top for top in tops if top.isidentifier()]


def _imported_modules(lesson: Lesson) -> Iterator[tuple[str, int]]:
    for cell in lesson.cells:
        if cell.cell_type != "code":
            continue
        for offset, line in enumerate(cell.source.split("\n")):
            for top in imported_modules(line):
                yield top, cell.body_line + offset


# --------------------------------------------------------------------------------------------
# Checking and collecting


def _normal(path: Path) -> Path:
    """`path` with `.` and `..` collapsed lexically (symlinks are not resolved)."""
    return Path(os.path.normpath(path))


def _kind(path: Path) -> str:
    """What is at `path`: "missing", "dangling" (a broken symlink), "dir" or "file" (anything
    else that exists), from one `lstat` (and a `stat` for a symlink)."""
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            try:
                mode = path.stat().st_mode
            except OSError:
                return "dangling"
    except (OSError, ValueError):
        return "missing"
    return "dir" if stat.S_ISDIR(mode) else "file"


class _Collector:
    def __init__(self, lesson: Lesson, layout: _Layout) -> None:
        self.lesson = lesson
        self.root = layout.root
        self.real_root = layout.real_root
        self.folder = _normal(lesson.folder)
        self.prefix = str(self.folder) + os.sep
        self.real_folder = os.path.realpath(self.folder)
        self.assets: dict[str, Asset] = {}
        self.diagnostics: list[Diagnostic] = []
        self.refused: set[Path] = set()
        self.reserved = set(exported_names(lesson.id))

    def error(self, line: int, message: str, path: str | None = None) -> None:
        self.diagnostics.append(
            Diagnostic(path or self.lesson.relpath, line, Severity.ERROR, message)
        )

    def warning(self, line: int, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.lesson.relpath, line, Severity.WARNING, message))

    def rel_to_root(self, path: Path) -> str:
        return Path(os.path.relpath(path, self.root)).as_posix()

    def name_of(self, path: Path) -> str:
        """`path` relative to the lesson's folder, POSIX (string slicing when it is inside)."""
        text = str(path)
        if text.startswith(self.prefix) and os.sep == "/":
            return text[len(self.prefix) :]
        return Path(os.path.relpath(path, self.folder)).as_posix()

    def resolve(self, name: str) -> tuple[Path, int | None]:
        """The real path of `folder/name` and its mode (None: broken), with one `lstat` per
        part below the lesson's folder unless a part is a symlink (then `realpath`)."""
        current = self.real_folder
        mode: int | None = None
        for part in name.split("/"):
            current = f"{current}/{part}"  # POSIX paths (see errors.unsupported_platform)
            try:
                mode = os.lstat(current).st_mode
            except OSError:
                mode = None
            if mode is None or stat.S_ISLNK(mode):
                real = Path(os.path.realpath(self.folder / name))
                try:
                    return real, real.stat().st_mode
                except OSError:
                    return real, None
        return Path(current), mode

    def add(self, path: Path, reason: str, line: int, ref: str) -> None:
        """Add the file at lexical `path` (inside the lesson folder) after the safety checks."""
        name = self.name_of(path)
        if name in self.assets:
            return  # the same file, found again (by a reference and by the folder walk)
        problem = name_problem(name)
        who = f"lesson '{self.lesson.id}'"
        if problem:
            self.error(line, f"{who}: asset '{_shown(ref)}' {problem}")
            return
        if name in self.reserved:
            self.error(line, f"{who}: asset '{name}' clashes with the lesson's exported {name}")
            return
        real, mode = self.resolve(name)
        if not within(real, self.real_root):
            if path in self.refused:
                return
            self.refused.add(path)
            link = self.rel_to_root(path)
            self.error(
                line,
                f"{who}: asset '{_shown(ref)}' is a symlink ({link}) pointing outside the "
                "workshop root; refusing to follow it",
                path=None if line else link,
            )
            return
        if mode is None or not stat.S_ISREG(mode):
            reason_left = "broken" if mode is None else "special"
            detail = "a broken symlink" if mode is None else special_kind(mode)
            if mode is None and not path.is_symlink():
                return  # vanished meanwhile
            self.diagnostics.append(_left_out(LeftOut(path, reason_left, detail), self.root))
            return
        self.assets[name] = Asset(name, real, reason)

    def reference(self, ref: _Ref) -> None:
        """Check a reference and add the file it names, if it names one in the lesson's folder."""
        lexical = self._locate(ref)
        if lexical is None:
            return
        who, shown = f"lesson '{self.lesson.id}'", _shown(ref.text)
        kind = _kind(lexical)
        exists, dangling, is_dir = kind in ("dir", "file"), kind == "dangling", kind == "dir"
        if dangling and not within(Path(os.path.realpath(lexical)), self.real_root):
            self.add(lexical, "markdown", ref.line, ref.text)  # reports the outside link
        elif dangling:
            self.warning(ref.line, f"{who}: '{shown}' is a broken symlink")
        elif not exists:
            if ref.kind == "image":
                self.warning(ref.line, f"{who}: image '{shown}' not found")
        elif not is_dir:
            self.add(lexical, "code" if ref.kind == "code" else "markdown", ref.line, ref.text)

    def _locate(self, ref: _Ref) -> Path | None:
        """The lexical path a reference names inside the lesson's folder, or None (reporting
        why, unless it is a code string that names no file here)."""
        who, shown = f"lesson '{self.lesson.id}'", _shown(ref.text)
        if "\x00" in ref.text or len(ref.text) > 4096:
            if ref.kind != "code":
                self.error(ref.line, f"{who}: reference '{shown}' is not a usable file name")
            return None
        absolute = ref.text.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", ref.text)
        if ref.kind == "code" and (absolute or ref.text.startswith("~") or "\\" in ref.text):
            return None  # code may read absolute paths of its own; they are not assets
        if absolute:
            message = "is an absolute path; use a path relative to the lesson"
            self.error(ref.line, f"{who}: reference '{shown}' {message}")
            return None
        lexical = Path(os.path.normpath(f"{self.folder}/{ref.text}"))
        if ref.kind == "code" and _kind(lexical) in ("missing", "dir"):
            return None  # a string that does not name a file here
        if not within(lexical, self.root):
            message = "leaves the workshop root; assets must sit inside the workshop"
            self.error(ref.line, f"{who}: reference '{shown}' {message}")
            return None
        if not within(lexical, self.folder):
            if ref.kind == "image":
                self.error(
                    ref.line,
                    f"{who}: image '{shown}' is outside the lesson's folder; move it next to "
                    "the lesson (bundles ship only the lesson's folder)",
                )
            elif ref.kind == "code":
                self.warning(
                    ref.line,
                    f"{who}: '{shown}' is outside the lesson's folder and will not be next to "
                    "the exported notebook",
                )
            return None
        problem = name_problem(Path(os.path.relpath(lexical, self.folder)).as_posix())
        if problem:
            self.error(ref.line, f"{who}: reference '{shown}' {problem}")
            return None
        return lexical

    def module(self, name: str, line: int) -> None:
        module = self.folder / f"{name}.py"
        package = self.folder / name
        if module.is_file() and module != _normal(self.lesson.path):
            self.add(module, "import", line, f"{name}.py")
        elif (package / "__init__.py").is_file():
            for path in _walk(package, include_py=True):
                self.add(path, "import", line, os.path.relpath(path, self.folder))

    def folder_files(self, lesson_paths: frozenset[Path]) -> None:
        for path in _walk(self.folder, include_py=False, links=self):
            if path not in lesson_paths:
                self.add(path, "folder", 0, self.name_of(path))


def _left_out(item: LeftOut, root: Path) -> Diagnostic:
    """A warning for something the lesson files leave out (the same from every place that finds
    it, so it is reported once)."""
    shown = Path(os.path.relpath(item.path, root)).as_posix()
    return Diagnostic(shown, 0, Severity.WARNING, item.message)


def folder_warnings(workshop: Workshop) -> list[Diagnostic]:
    """What each lesson folder holds that its lessons will not get: named pipes, sockets,
    devices, broken or looping symlinks, and symlinks leaving the workshop (an error, reported
    by `lesson_assets`, in a folder a lesson owns)."""
    found: list[Diagnostic] = []
    owned = _layout(workshop).owned
    root = _normal(workshop.root)
    folders = {os.path.dirname(os.path.normpath(lesson.path)) for lesson in workshop.lessons}  # noqa: PTH120
    for folder in map(Path, sorted(folders)):
        for item in list_folder(folder, workshop.root).left_out:
            if item.reason == "outside" and folder in owned:
                continue
            found.append(_left_out(item, root))
    return found


def _walk(folder: Path, *, include_py: bool, links: _Collector | None = None) -> Iterator[Path]:
    """Files under `folder`, sorted; symlinked folders are checked (when `links`), never entered."""
    for here, dirs, names in os.walk(folder):
        keep = []
        for d in sorted(dirs):
            full = Path(here) / d
            if ignored_folder(d) or is_virtualenv(full):
                continue
            if full.is_symlink():
                if links is not None and not within(full.resolve(), links.real_root):
                    link = links.rel_to_root(full)
                    links.error(
                        0,
                        f"lesson '{links.lesson.id}': symlink {link} points outside the workshop "
                        "root; refusing to follow it",
                        path=link,
                    )
                continue
            keep.append(d)
        dirs[:] = keep
        for name in sorted(names):
            skipped = name.startswith(".") or name.endswith(_SKIP_SUFFIXES)
            if skipped and not (include_py and name.endswith(".py")):
                continue
            yield Path(here) / name


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where a workshop's lessons sit, computed once per workshop (linear in its lessons)."""

    lesson_paths: frozenset[Path]  # every lesson file, lexically normalised
    owned: frozenset[Path]  # folders holding exactly one lesson, at any depth (not the root)
    root: Path  # the workshop root, lexically normalised
    real_root: Path  # the workshop root, symlinks resolved


_layouts: dict[int, tuple[tuple[Lesson, ...], _Layout]] = {}


def _layout(workshop: Workshop) -> _Layout:
    """The workshop's `_Layout`, cached for the lessons tuple it was computed from (a build asks
    once per lesson; asking each lesson about every other one made `check` quadratic)."""
    cached = _layouts.get(id(workshop.lessons))
    if cached is not None and cached[0] is workshop.lessons:
        return cached[1]
    # strings, not Paths: 10,000 lessons times their depth
    root = os.path.normpath(workshop.root)
    below: dict[str, int] = {}  # folder -> lessons at or below it
    paths = []
    for lesson in workshop.lessons:
        path = os.path.normpath(lesson.path)
        paths.append(Path(path))
        folder = os.path.dirname(path)  # noqa: PTH120
        while True:
            below[folder] = below.get(folder, 0) + 1
            parent = os.path.dirname(folder)  # noqa: PTH120
            if folder == root or parent == folder:
                break
            folder = parent
    owned = frozenset(Path(f) for f, count in below.items() if count == 1 and f != root)
    layout = _Layout(frozenset(paths), owned, Path(root), workshop.root.resolve())
    _layouts.clear()  # one workshop at a time: never holds more than the last one
    _layouts[id(workshop.lessons)] = (workshop.lessons, layout)
    return layout


def _owns_folder(lesson: Lesson, layout: _Layout) -> bool:
    """Whether the lesson's folder holds no other lesson (and is not the workshop root)."""
    return _normal(lesson.folder) in layout.owned


def lesson_assets(
    lesson: Lesson, workshop: Workshop
) -> tuple[tuple[Asset, ...], tuple[Diagnostic, ...]]:
    """The lesson's assets, sorted by name, and the problems found (see the module docstring)."""
    layout = _layout(workshop)
    collector = _Collector(lesson, layout)
    for ref in _markdown_refs(lesson):
        collector.reference(ref)
    for ref in _code_refs(lesson):
        collector.reference(ref)
    for name, line in _imported_modules(lesson):
        collector.module(name, line)
    if _owns_folder(lesson, layout):
        collector.folder_files(layout.lesson_paths)
    has_error = any(d.is_error for d in collector.diagnostics)
    assets = () if has_error else tuple(collector.assets[k] for k in sorted(collector.assets))
    return assets, tuple(dict.fromkeys(collector.diagnostics))


def requirements_file(workshop: Workshop) -> tuple[Path | None, list[Diagnostic]]:
    """The workshop's requirements file, if any, checked to sit inside the workshop root."""
    name = workshop.config.requirements
    if not name:
        return None, []
    lexical = _normal(workshop.root / name)
    if (
        Path(name).is_absolute()
        or not within(lexical, _normal(workshop.root))
        or not within(lexical.resolve(), workshop.root.resolve())
    ):
        message = f"requirements file '{_shown(name)}' is outside the workshop root"
        line = workshop.config.line_of("requirements")
        return None, [Diagnostic(workshop.config.relpath, line, Severity.ERROR, message)]
    if not lexical.is_file():
        return None, []  # reported when workshop.toml is loaded
    return lexical.resolve(), []


def check_assets(workshop: Workshop) -> list[Diagnostic]:
    """Every asset problem in the workshop, sorted; cheap enough for `workshopkit check`."""
    found: list[Diagnostic] = []
    for lesson in workshop.lessons:
        found.extend(lesson_assets(lesson, workshop)[1])
    found.extend(requirements_file(workshop)[1])
    found.extend(folder_warnings(workshop))
    return sorted(set(found))
