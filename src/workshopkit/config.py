"""Read `workshop.toml` (DESIGN.md §3) into a frozen `WorkshopConfig`, with a line for every key.

The keys, their types, defaults and documentation are `schema.WORKSHOP`; this module adds the
rules between keys (unique ids, a requirements file that exists) and finds each key's line.
Every problem becomes a `Diagnostic`; nothing here raises for bad content.
"""

from __future__ import annotations

import ast
import keyword
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .model import (
    BreakSpec,
    Diagnostic,
    EventSpec,
    ExecutionConfig,
    LaunchConfig,
    Level,
    LightningRules,
    Severity,
    TrackSpec,
    WorkshopConfig,
)
from .schema import _BREAKS as BREAKS
from .schema import _LIGHTNING as LIGHTNING
from .schema import (
    EVENTS,
    EXECUTION,
    ID_PATTERN,
    LAUNCH,
    TRACKS,
    WORKSHOP,
    Table,
    brief,
    did_you_mean,
    github_repository,
    id_problem,
    parameter_problem,
    read_table,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "CONFIG_NAME",
    "ID_PATTERN",
    "did_you_mean",
    "find_root",
    "load_config",
    "parse_parameter",
    "tomllib",
]

CONFIG_NAME = "workshop.toml"


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds a `workshop.toml`."""
    start = start.resolve()
    for folder in (start, *start.parents) if start.is_dir() else start.parents:
        if (folder / CONFIG_NAME).is_file():
            return folder
    return None


# --------------------------------------------------------------------------------------------
# The line of every key


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class _TomlLines:
    """The line of every key, table and array item of a TOML text that tomllib has accepted.

    Paths are dotted, with array positions as numbers: `execution.timeout`, `tracks.1`,
    `tracks.1.lessons.0`, `events.0.breaks.0.after`. Strings (multi-line ones too) are skipped
    whole, so a `[[tracks]]` line inside a string is text; dotted keys (`execution.timeout = 5`)
    and inline tables get their lines like any other key.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[str, int] = {}
        self.arrays: dict[str, int] = {}  # array-of-tables path -> its last index

    # -- characters
    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def advance(self, count: int = 1) -> None:
        end = min(self.pos + count, len(self.text))
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end

    def skip(self, *, newlines: bool) -> None:
        """Spaces and tabs; and newlines and comments when `newlines`."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.advance()
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.advance((len(self.text) if end < 0 else end) - self.pos)
            else:
                return

    def string(self) -> str:
        """Skip the string at `pos`; returns its text as written (quotes included)."""
        begin = self.pos
        quote = self.peek()
        if self.text.startswith(quote * 3, self.pos):
            self.advance(3)
            while self.pos < len(self.text):
                if quote == '"' and self.peek() == "\\":
                    self.advance(2)
                elif self.text.startswith(quote * 3, self.pos):
                    self.advance(3)
                    while self.peek() == quote:  # up to two quotes belong to the content
                        self.advance()
                    break
                else:
                    self.advance()
        else:
            self.advance()
            while self.pos < len(self.text) and self.peek() not in (quote, "\n"):
                self.advance(2 if quote == '"' and self.peek() == "\\" else 1)
            self.advance()
        return self.text[begin : self.pos]

    # -- keys and values
    def key(self) -> list[str]:
        """A dotted key: bare parts and quoted parts."""
        parts: list[str] = []
        while True:
            self.skip(newlines=False)
            if self.peek() in ("'", '"'):
                written = self.string()
                parts.append(tomllib.loads(f"k = {written}")["k"])
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if match is None:
                    return parts
                parts.append(match.group())
                self.advance(match.end() - self.pos)
            self.skip(newlines=False)
            if self.peek() != ".":
                return parts
            self.advance()

    def assignment(self, table: str) -> None:
        """`key = value` inside `table`."""
        line = self.line
        parts = self.key()
        path = table
        for part in parts:
            path = f"{path}.{part}" if path else part
            self.lines.setdefault(path, line)
        self.skip(newlines=False)
        if self.peek() == "=":
            self.advance()
        self.value(path)

    def value(self, path: str) -> None:
        self.skip(newlines=False)
        char = self.peek()
        if char in ("'", '"'):
            self.string()
        elif char == "[":
            self.advance()
            index = 0
            while True:
                self.skip(newlines=True)
                if self.peek() in ("]", ""):
                    self.advance()
                    return
                if self.peek() == ",":
                    self.advance()
                    continue
                self.lines.setdefault(f"{path}.{index}", self.line)
                self.value(f"{path}.{index}")
                index += 1
        elif char == "{":
            self.advance()
            while True:
                self.skip(newlines=True)
                if self.peek() in ("}", ""):
                    self.advance()
                    return
                if self.peek() == ",":
                    self.advance()
                    continue
                self.assignment(path)
        else:  # a number, a boolean, a date: up to the next separator
            while self.pos < len(self.text) and self.peek() not in ",]}\n#":
                self.advance()

    def header(self) -> str:
        """A `[table]` or `[[array]]` line; returns the table's path."""
        array = self.text.startswith("[[", self.pos)
        self.advance(2 if array else 1)
        line = self.line
        parts = self.key()
        resolved: list[str] = []
        for number, part in enumerate(parts):
            resolved.append(part)
            prefix = ".".join(resolved)
            last = number == len(parts) - 1
            if prefix in self.arrays and not (array and last):
                resolved.append(str(self.arrays[prefix]))
            if not last:
                self.lines.setdefault(".".join(resolved), line)
        path = ".".join(resolved)
        if array:
            index = self.arrays.get(path, -1) + 1
            self.arrays[path] = index
            self.lines.setdefault(path, line)
            path = f"{path}.{index}"
        self.lines.setdefault(path, line)
        self.skip(newlines=False)
        self.advance(2 if array else 1)
        return path

    def run(self) -> dict[str, int]:
        table = ""
        while True:
            self.skip(newlines=True)
            if self.pos >= len(self.text):
                return self.lines
            if self.peek() == "[":
                table = self.header()
            else:
                begin = self.pos
                self.assignment(table)
                if self.pos == begin:  # cannot happen in valid TOML; never loop forever
                    self.advance()


def key_lines(text: str) -> dict[str, int]:
    """Dotted key path -> line, for a TOML text that parses (see `_TomlLines`)."""
    return _TomlLines(text).run()


# --------------------------------------------------------------------------------------------
# Reading


class _Reader:
    """Collects located diagnostics while the schema's tables are read."""

    def __init__(self, relpath: str, lines: Mapping[str, int]) -> None:
        self.relpath = relpath
        self.lines = lines
        self.diagnostics: list[Diagnostic] = []

    def line(self, key: str) -> int:
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key.rpartition(".")[0]
        return 1

    def error(self, key: str, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.relpath, self.line(key), Severity.ERROR, message))

    def read(self, table: Table, data: Mapping[str, Any], where: str) -> dict[str, Any]:
        return read_table(table, data, where, self.error)


def _parse(path: Path) -> tuple[str | None, Any, Diagnostic | None]:
    """The file's text and TOML data, or the problem that stops reading it."""
    relpath = path.name
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None, None, Diagnostic(relpath, 1, Severity.ERROR, "not UTF-8")
    except OSError as exc:
        return None, None, Diagnostic(relpath, 0, Severity.ERROR, f"cannot read: {exc.strerror}")
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    try:
        return text, tomllib.loads(text), None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else 1
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        return None, None, Diagnostic(relpath, line, Severity.ERROR, f"invalid TOML: {message}")


def load_config(path: Path) -> tuple[WorkshopConfig | None, list[Diagnostic]]:
    """Parse a `workshop.toml`; returns the config (None if unreadable) and every problem found."""
    root = path.parent.resolve()
    text, data, problem = _parse(path)
    if problem is not None or text is None:
        return None, [problem] if problem else []
    r = _Reader(path.name, key_lines(text))
    top = r.read(WORKSHOP, data, "")
    title = top["title"] or ""
    if isinstance(data.get("title"), str) and not title.strip():
        r.error("title", "'title' must not be empty")
    execution = ExecutionConfig(**r.read(EXECUTION, top["execution"], "execution"))
    tracks = tuple(
        t for i, table in enumerate(top["tracks"]) if (t := _track(r, table, i)) is not None
    )
    events = tuple(
        e for i, table in enumerate(top["events"]) if (e := _event(r, table, i)) is not None
    )
    config = WorkshopConfig(
        root=root,
        path=path.resolve(),
        title=title or root.name,
        description=top["description"],
        requirements=top["requirements"],
        execution=execution,
        tracks=tracks,
        events=events,
        key_lines=r.lines,
        launch=_launch(r, top["launch"]),
    )
    if config.requirements and not (root / config.requirements).is_file():
        r.error("requirements", f"requirements file {brief(config.requirements)} not found")
    _check_unique(r, "tracks", [t.id for t in config.tracks])
    _check_unique(r, "events", [e.id for e in config.events])
    return config, r.diagnostics


def _launch(r: _Reader, table: Mapping[str, Any] | None) -> LaunchConfig | None:
    """`[launch]`: the repository comes from `repository`, else from a github.io `pages_url`."""
    if table is None:
        return None
    values = r.read(LAUNCH, table, "launch")
    repository = values["repository"]
    pages = values["pages_url"] or ""
    found = github_repository(repository) if repository else _repository_of_pages(pages)
    if found is None:
        if repository is None and "repository" not in table:
            r.error(
                "launch",
                "[launch] needs 'repository' (\"owner/repo\"), or a 'pages_url' of the form "
                "https://owner.github.io/repo/",
            )
        return None
    return LaunchConfig(found[0], found[1], values["branch"], values["path"], pages)


def _repository_of_pages(url: str) -> tuple[str, str] | None:
    """(owner, repo) of "https://owner.github.io/repo/" (or of "https://owner.github.io/")."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host.endswith(".github.io"):
        return None
    owner = host.removesuffix(".github.io")
    first = parts.path.strip("/").split("/")[0]
    return github_repository(f"{owner}/{first or host}")


def _check_unique(r: _Reader, name: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            r.error(f"{name}.{i}.id", f"duplicate {name[:-1]} id '{ident}'")
        seen.add(ident)


def _has_id(values: Mapping[str, Any], table: Mapping[str, Any]) -> bool:
    """Whether the table's id is usable (a missing or bad one was reported by the schema)."""
    return "id" in table and values["id"] is not None and id_problem(values["id"]) is None


def _track(r: _Reader, table: Mapping[str, Any], index: int) -> TrackSpec | None:
    where = f"tracks.{index}"
    values = r.read(TRACKS, table, where)
    if not _has_id(values, table):
        return None
    ident = values["id"]
    return TrackSpec(
        id=ident,
        title=values["title"] if values["title"] is not None else ident,
        line=r.line(where),
        description=values["description"],
        levels=tuple(Level(name) for name in values["levels"]),
        tags=values["tags"],
        lessons=values["lessons"],
    )


def _event(r: _Reader, table: Mapping[str, Any], index: int) -> EventSpec | None:
    where = f"events.{index}"
    values = r.read(EVENTS, table, where)
    lightning = r.read(LIGHTNING, values["lightning"], f"{where}.lightning")
    breaks: list[BreakSpec] = []
    for number, item in enumerate(values["breaks"]):
        found = r.read(BREAKS, item, f"{where}.breaks.{number}")
        if found["after"] is None or found["minutes"] is None:
            r.error(f"{where}.breaks", "each break needs 'after' (a lesson id) and 'minutes'")
            continue
        breaks.append(BreakSpec(found["after"], found["minutes"], found["title"]))
    if not _has_id(values, table):
        return None
    ident = values["id"]
    return EventSpec(
        id=ident,
        title=values["title"] if values["title"] is not None else ident,
        line=r.line(where),
        lessons=values["lessons"] or (),
        minutes=values["minutes"],
        date=values["date"],
        start=values["start"],
        venue=values["venue"],
        description=values["description"],
        speakers=values["speakers"],
        breaks=tuple(breaks),
        lightning=LightningRules(**lightning),
    )


# --------------------------------------------------------------------------------------------
# `-p name=value`


def parse_parameter(text: str) -> tuple[str, Any]:
    """`name=value` from `-p`: the value read as workshop.toml reads it (`true`, `false`, numbers,
    quoted strings, arrays, inline tables), else as a Python literal (`True`, `None`, `'text'`).

    Raises ValueError for anything else: a bare word such as `Tru` is a typo more often than
    text, so it must be quoted (`-p 'name="Tru"'`).
    """
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"expected name=value with a Python name before '=', got {brief(text)}")
    value = _parameter_value(name, raw.strip())
    problem = parameter_problem(value)
    if problem is not None:
        raise ValueError(f"-p {name}: the value {brief(raw.strip())} {problem}")
    return name, value


def _parameter_value(name: str, raw: str) -> Any:
    if raw and "\n" not in raw:
        try:
            data = tomllib.loads(f"v = {raw}")
            if list(data) == ["v"]:
                return data["v"]
        except tomllib.TOMLDecodeError:
            pass
        try:
            return ast.literal_eval(raw)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            pass
    suggestion = raw.replace("\\", "\\\\").replace('"', '\\"')
    raise ValueError(
        f"{name}={brief(raw)[1:-1]} is not a value: expected true, false, a number, a quoted "
        "string, or a list or table of those, as in workshop.toml (Python literals such as "
        f"True and None work too); to pass it as text, quote it: -p '{name}=\"{suggestion}\"'"
    )
