"""Read `workshop.toml` (DESIGN.md §3) into a frozen `WorkshopConfig`, with a line for every key.

Every problem becomes a `Diagnostic`; nothing here raises for bad content.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .model import (
    LEVEL_NAMES,
    BreakSpec,
    Diagnostic,
    EventSpec,
    ExecutionConfig,
    Level,
    LightningRules,
    Severity,
    TrackSpec,
    WorkshopConfig,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

CONFIG_NAME = "workshop.toml"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

_TOP_KEYS = ("title", "description", "requirements", "execution", "tracks", "events")
_EXECUTION_KEYS = ("kernel", "timeout", "lesson_timeout", "jobs", "parameters", "env")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TRACK_KEYS = ("id", "title", "description", "levels", "tags", "lessons")
_EVENT_KEYS = (
    "id",
    "title",
    "description",
    "date",
    "start",
    "venue",
    "minutes",
    "lessons",
    "speakers",
    "breaks",
    "lightning",
)
_LIGHTNING_KEYS = ("max_minutes", "max_slides", "must_show_code")
_BREAK_KEYS = ("after", "minutes", "title")


def did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds a `workshop.toml`."""
    start = start.resolve()
    for folder in (start, *start.parents) if start.is_dir() else start.parents:
        if (folder / CONFIG_NAME).is_file():
            return folder
    return None


_TOML_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')


def _key_lines(text: str) -> dict[str, int]:
    """Map dotted key paths to their lines: `title`, `execution.timeout`, `tracks.1.lessons`,
    and the strings of an array, one per line or not: `tracks.1.lessons.0`."""
    lines: dict[str, int] = {}
    table = ""
    counts: dict[str, int] = {}
    array: tuple[str, int, int] | None = None  # an open multi-line array: path, depth, next item
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if array is not None:
            path, depth, item = array
            depth, item = _array_items(line, path, depth, item, number, lines)
            array = (path, depth, item) if depth > 0 else None
            continue
        table_array = re.match(r"^\[\[\s*([\w.-]+)\s*\]\]", line)
        single = re.match(r"^\[\s*([\w.-]+)\s*\]", line)
        if table_array:
            name = table_array.group(1)
            index = counts.get(name, -1) + 1
            counts[name] = index
            table = f"{name}.{index}"
            lines[table] = number
        elif single:
            table = single.group(1)
            lines[table] = number
        else:
            key = re.match(r'^([\w-]+|"[^"]*")\s*=\s*', line)
            if key:
                path = f"{table}.{key.group(1).strip(chr(34))}" if table else key.group(1)
                lines.setdefault(path, number)
                if line[key.end() :].startswith("["):
                    depth, item = _array_items(line[key.end() :], path, 0, 0, number, lines)
                    array = (path, depth, item) if depth > 0 else None
    return lines


def _array_items(
    text: str, path: str, depth: int, item: int, number: int, lines: dict[str, int]
) -> tuple[int, int]:
    """Record the line of each string item of the array at `path`; returns (depth, next item)."""
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "#":
            break
        if char in "\"'":
            match = _TOML_STRING.match(text, pos)
            if match is None:
                break
            if depth == 1:
                lines.setdefault(f"{path}.{item}", number)
                item += 1
            pos = match.end()
            continue
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth <= 0:
                return 0, item
        pos += 1
    return depth, item


def _table_label(where: str) -> str:
    """How a key path's table reads in workshop.toml: `[execution]`, `[[tracks]]`, ..."""
    if not where:
        return "the top level"
    parts = where.split(".")
    if parts[0] in ("tracks", "events"):
        inner = ".".join(p for p in parts[2:] if not p.isdigit())
        return f"[[{parts[0]}]]" + (f" '{inner}'" if inner else "")
    return f"[{where}]"


class _Reader:
    """Type-checks values while collecting located diagnostics."""

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

    def unknown_keys(self, table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in allowed:
                name = f"{where}.{key}" if where else key
                label = _table_label(where)
                self.error(
                    name,
                    f"unknown key '{key}' in {label}{did_you_mean(key, allowed)}; "
                    f"expected one of: {', '.join(allowed)}",
                )

    def get(
        self,
        table: Mapping[str, Any],
        key: str,
        where: str,
        check: Callable[[Any], bool],
        expected: str,
        default: Any = None,
    ) -> Any:
        if key not in table:
            return default
        value = table[key]
        if not check(value):
            name = f"{where}.{key}" if where else key
            self.error(name, f"'{key}' must be {expected}, not {value!r}")
            return default
        return value


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_table(v: Any) -> bool:
    return isinstance(v, dict)


def load_config(path: Path) -> tuple[WorkshopConfig | None, list[Diagnostic]]:
    """Parse a `workshop.toml`; returns the config (None if unreadable) and every problem found."""
    root = path.parent.resolve()
    relpath = path.name
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None, [Diagnostic(relpath, 1, Severity.ERROR, "not UTF-8")]
    except OSError as exc:
        return None, [Diagnostic(relpath, 0, Severity.ERROR, f"cannot read: {exc.strerror}")]
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else 1
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        return None, [Diagnostic(relpath, line, Severity.ERROR, f"invalid TOML: {message}")]
    r = _Reader(relpath, _key_lines(text))
    r.unknown_keys(data, _TOP_KEYS, "")
    title = r.get(data, "title", "", _is_str, "a string", "")
    if "title" not in data:
        r.error("title", "workshop.toml needs a 'title' (a string)")
    elif isinstance(data["title"], str) and not title.strip():
        r.error("title", "'title' must not be empty")
    config = WorkshopConfig(
        root=root,
        path=path.resolve(),
        title=title or root.name,
        description=r.get(data, "description", "", _is_str, "a string", ""),
        requirements=r.get(data, "requirements", "", _is_str, "a file name"),
        execution=_execution(r, r.get(data, "execution", "", _is_table, "a table", {})),
        tracks=tuple(
            t
            for i, table in enumerate(
                r.get(data, "tracks", "", _is_list_of_tables, "[[tracks]]", [])
            )
            if (t := _track(r, table, i)) is not None
        ),
        events=tuple(
            e
            for i, table in enumerate(
                r.get(data, "events", "", _is_list_of_tables, "[[events]]", [])
            )
            if (e := _event(r, table, i)) is not None
        ),
        key_lines=r.lines,
    )
    if config.requirements and not (root / config.requirements).is_file():
        r.error("requirements", f"requirements file '{config.requirements}' not found")
    _check_unique(r, "tracks", [t.id for t in config.tracks])
    _check_unique(r, "events", [e.id for e in config.events])
    return config, r.diagnostics


def _is_list_of_tables(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, dict) for x in v)


def _check_unique(r: _Reader, name: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            r.error(f"{name}.{i}.id", f"duplicate {name[:-1]} id '{ident}'")
        seen.add(ident)


def _execution(r: _Reader, table: Mapping[str, Any]) -> ExecutionConfig:
    r.unknown_keys(table, _EXECUTION_KEYS, "execution")
    default = ExecutionConfig()
    return ExecutionConfig(
        kernel=r.get(table, "kernel", "execution", _is_str, "a kernel name"),
        timeout=r.get(
            table, "timeout", "execution", _is_positive_int, "a positive integer", default.timeout
        ),
        lesson_timeout=r.get(
            table,
            "lesson_timeout",
            "execution",
            _is_positive_int,
            "a positive integer",
            default.lesson_timeout,
        ),
        jobs=r.get(
            table, "jobs", "execution", _is_positive_int, "a positive integer", default.jobs
        ),
        parameters=r.get(table, "parameters", "execution", _is_table, "a table", {}),
        env=_env_names(r, table),
    )


def _env_names(r: _Reader, table: Mapping[str, Any]) -> tuple[str, ...]:
    """`[execution] env`: names of environment variables, each checked where it is written."""
    names = r.get(
        table, "env", "execution", lambda v: isinstance(v, list), 'a list like ["SEED"]', []
    )
    found: list[str] = []
    for number, name in enumerate(names):
        where = f"execution.env.{number}"
        if not isinstance(name, str) or not ENV_NAME.match(name):
            r.error(
                where,
                f"'env' item {name!r} is not an environment variable name "
                "(expected letters, digits and '_', not starting with a digit)",
            )
        elif name in found:
            r.error(where, f"'env' names {name!r} twice")
        else:
            found.append(name)
    return tuple(found)


def _ident(r: _Reader, table: Mapping[str, Any], where: str, what: str) -> str | None:
    ident = r.get(table, "id", where, _is_str, "a string")
    if ident is None:
        r.error(where, f"every {what} needs an 'id'")
        return None
    if not ID_PATTERN.match(ident):
        r.error(
            f"{where}.id",
            f"{what} id {ident!r} must match {ID_PATTERN.pattern} "
            "(lower-case letters, digits and '-')",
        )
        return None
    return str(ident)


def _track(r: _Reader, table: Mapping[str, Any], index: int) -> TrackSpec | None:
    where = f"tracks.{index}"
    r.unknown_keys(table, _TRACK_KEYS, where)
    ident = _ident(r, table, where, "track")
    levels: list[Level] = []
    names = r.get(table, "levels", where, _is_str_list, "a list of level names", [])
    for number, name in enumerate(names):
        if name in LEVEL_NAMES:
            levels.append(Level(name))
        else:
            close = did_you_mean(name, LEVEL_NAMES).strip().removeprefix("(").removesuffix(")")
            r.error(
                f"{where}.levels.{number}",
                f"unknown level {name!r} (expected {', '.join(LEVEL_NAMES)}"
                f"{'; ' + close if close else ''})",
            )
    if ident is None:
        return None
    return TrackSpec(
        id=ident,
        title=r.get(table, "title", where, _is_str, "a string", ident),
        line=r.line(where),
        description=r.get(table, "description", where, _is_str, "a string", ""),
        levels=tuple(levels),
        tags=tuple(r.get(table, "tags", where, _is_str_list, "a list of strings", [])),
        lessons=tuple(r.get(table, "lessons", where, _is_str_list, "a list of lesson ids", [])),
    )


def _event(r: _Reader, table: Mapping[str, Any], index: int) -> EventSpec | None:
    where = f"events.{index}"
    r.unknown_keys(table, _EVENT_KEYS, where)
    ident = _ident(r, table, where, "event")
    lessons = r.get(table, "lessons", where, _is_str_list, "a list of lesson ids", [])
    if not lessons:
        r.error(where, "an event needs 'lessons', the ordered list of its items")
    start = r.get(table, "start", where, _is_str, 'a time like "18:30"', "")
    if start and not re.match(r"^([01]?\d|2[0-3]):[0-5]\d$", start):
        r.error(f"{where}.start", f"'start' must be a time like \"18:30\", not {start!r}")
        start = ""
    date = r.get(table, "date", where, lambda v: isinstance(v, str | _date_type()), "a date", "")
    lightning_table = r.get(table, "lightning", where, _is_table, "a table", {})
    r.unknown_keys(lightning_table, _LIGHTNING_KEYS, f"{where}.lightning")
    defaults = LightningRules()
    lightning = LightningRules(
        max_minutes=r.get(
            lightning_table,
            "max_minutes",
            f"{where}.lightning",
            _is_positive_int,
            "a positive integer",
            defaults.max_minutes,
        ),
        max_slides=r.get(
            lightning_table,
            "max_slides",
            f"{where}.lightning",
            _is_positive_int,
            "a positive integer",
            defaults.max_slides,
        ),
        must_show_code=r.get(
            lightning_table,
            "must_show_code",
            f"{where}.lightning",
            _is_bool,
            "true or false",
            defaults.must_show_code,
        ),
    )
    breaks: list[BreakSpec] = []
    for item in r.get(table, "breaks", where, _is_list_of_tables, "a list of tables", []):
        r.unknown_keys(item, _BREAK_KEYS, f"{where}.breaks")
        after = r.get(item, "after", f"{where}.breaks", _is_str, "a lesson id")
        minutes = r.get(item, "minutes", f"{where}.breaks", _is_positive_int, "a positive integer")
        if after is None or minutes is None:
            r.error(f"{where}.breaks", "each break needs 'after' (a lesson id) and 'minutes'")
            continue
        breaks.append(
            BreakSpec(
                after,
                minutes,
                r.get(item, "title", f"{where}.breaks", _is_str, "a string", "Break"),
            )
        )
    speakers = r.get(table, "speakers", where, _is_table, "a table of lesson id = name", {})
    if not all(isinstance(v, str) for v in speakers.values()):
        r.error(f"{where}.speakers", "'speakers' maps lesson ids to names (strings)")
        speakers = {}
    if ident is None:
        return None
    return EventSpec(
        id=ident,
        title=r.get(table, "title", where, _is_str, "a string", ident),
        line=r.line(where),
        lessons=tuple(lessons),
        minutes=r.get(table, "minutes", where, _is_positive_int, "a positive integer"),
        date=str(date),
        start=start,
        venue=r.get(table, "venue", where, _is_str, "a string", ""),
        description=r.get(table, "description", where, _is_str, "a string", ""),
        speakers=dict(speakers),
        breaks=tuple(breaks),
        lightning=lightning,
    )


def _date_type() -> type:
    import datetime

    return datetime.date
