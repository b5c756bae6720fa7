"""The one declarative table of every setting: `workshop.toml` and the lesson header's block.

Each `Field` has a name, a `Kind` (its type: how a value is checked, converted and described),
a default and a sentence of documentation. `config.py` and `validate.py` read their input with
`read_table`, so an unknown key, a wrong type or a missing required key gets the same located
message everywhere, and `reference_markdown()` renders the README's reference from the same
table (`python -m workshopkit.schema`), so the documentation cannot drift from the checks.

Cross-field rules (unique ids, a track's known levels, an event's breaks after its lessons) stay
with the code that needs them; nothing here does I/O.
"""

from __future__ import annotations

import datetime
import difflib
import keyword
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .model import KINDS, LEVEL_NAMES, WINDOWS_RESERVED

__all__ = [
    "HEADER",
    "ID_PATTERN",
    "LAUNCH",
    "WORKSHOP",
    "Field",
    "Kind",
    "Table",
    "brief",
    "did_you_mean",
    "github_repository",
    "id_problem",
    "parameter_problem",
    "read_table",
    "reference_markdown",
]

# `fullmatch` everywhere: `$` also matches before a trailing newline, so "abc\n" would pass.
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TIME = re.compile(r"([01]?\d|2[0-3]):[0-5]\d")
BRIEF = 80  # characters of a value quoted in a message


def brief(value: Any, width: int = BRIEF) -> str:
    """`repr(value)`, cut to `width` characters: a message never carries a huge value."""
    if isinstance(value, str | bytes) and len(value) > 4 * width:
        value = value[: 4 * width]  # do not build the repr of a huge string
    text = repr(value) if not isinstance(value, list | dict) or len(value) < 64 else _short(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _short(value: list[Any] | dict[Any, Any]) -> str:
    kind = "list" if isinstance(value, list) else "mapping"
    return f"<a {kind} of {len(value)} items>"


def did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def id_problem(ident: str) -> str | None:
    """Why `ident` cannot be a lesson, track or event id (each becomes a file name), or None."""
    if "\x00" in ident:
        return "contains a NUL character"
    if not ID_PATTERN.fullmatch(ident):
        return f"must match ^{ID_PATTERN.pattern}$ (lower-case letters, digits and '-', at most 64)"
    if ident in WINDOWS_RESERVED:
        return "is a reserved file name on Windows"
    return None


# --------------------------------------------------------------------------------------------
# Kinds: how a value is checked, converted and described

Problems = list[tuple[str, str]]  # (sub-key such as ".2" or "", message)


@dataclass(frozen=True, slots=True)
class Kind:
    """A value's type. `problems(name, value)` lists what is wrong (empty: valid); `convert` turns
    a valid value into what the program uses. `doc` is the type as the reference shows it."""

    doc: str
    problems: Callable[[str, Any], Problems]
    convert: Callable[[Any], Any] = lambda value: value


def _simple(doc: str, ok: Callable[[Any], bool], expected: str | None = None, **kw: Any) -> Kind:
    """A kind whose only message is `'name' must be <expected>, not <value>`."""
    wanted = expected or doc

    def problems(name: str, value: Any) -> Problems:
        return [] if ok(value) else [("", f"'{name}' must be {wanted}, not {brief(value)}")]

    return Kind(doc, problems, **kw)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def text(expected: str = "a string") -> Kind:
    return _simple("string", lambda v: isinstance(v, str), expected)


def nonempty_text(message: str) -> Kind:
    """A string with something in it; `message` (`missing 'title' (...)`) otherwise."""

    def problems(name: str, value: Any) -> Problems:
        return [] if isinstance(value, str) and value.strip() else [("", message)]

    return Kind("string", problems, lambda v: str(v).strip())


POSITIVE_INT = _simple("positive integer", lambda v: _is_int(v) and v > 0, "a positive integer")
BOOL = _simple("true or false", lambda v: isinstance(v, bool))
TABLE = _simple("table", lambda v: isinstance(v, dict), "a table")


def tables(expected: str = "a list of tables") -> Kind:
    return _simple(
        "array of tables",
        lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
        expected,
    )


def str_list(expected: str = "a list of strings") -> Kind:
    return _simple(
        "list of strings",
        lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        expected,
        convert=tuple,
    )


def _header_strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


# In a lesson header a single string counts as a list of one, and YAML numbers as their text
# (`tags: [2024]`).
HEADER_STRINGS = _simple(
    "list of strings",
    lambda v: (
        v is None
        or isinstance(v, str)
        or (isinstance(v, list) and all(isinstance(x, str) or _is_int(x) for x in v))
    ),
    "a list of strings",
    convert=_header_strings,
)


def _level_message(value: Any) -> str:
    close = did_you_mean(str(value), LEVEL_NAMES).strip().removeprefix("(").removesuffix(")")
    return (
        f"unknown level {brief(value)} (expected {', '.join(LEVEL_NAMES)}"
        f"{'; ' + close if close else ''})"
    )


LEVEL = Kind(
    " \\| ".join(LEVEL_NAMES),
    lambda name, value: [] if value in LEVEL_NAMES else [("", _level_message(value))],
)


def _levels_problems(name: str, value: Any) -> Problems:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        return [("", f"'{name}' must be a list of level names, not {brief(value)}")]
    return [(f".{i}", _level_message(v)) for i, v in enumerate(value) if v not in LEVEL_NAMES]


LEVELS = Kind(
    "list of levels",
    _levels_problems,
    lambda v: tuple(x for x in v if x in LEVEL_NAMES),
)


def _kind_problems(name: str, value: Any) -> Problems:
    if value in KINDS:
        return []
    close = did_you_mean(str(value), KINDS)
    return [("", f"unknown kind {brief(value)}{close} (expected {', '.join(KINDS)})")]


LESSON_KIND = Kind(" \\| ".join(KINDS), _kind_problems)
KERNEL_STARTS = ("fork", "exec")  # how kernels start (forkkernel)
KERNEL_START = _simple(
    " \\| ".join(f"`{m}`" for m in KERNEL_STARTS),
    lambda v: v in KERNEL_STARTS,
    " or ".join(repr(m) for m in KERNEL_STARTS),
)


def identifier(what: str) -> Kind:
    """A track or event id: it names files (`<id>.zip`, `<id>/index.html`)."""

    def problems(name: str, value: Any) -> Problems:
        if not isinstance(value, str):
            return [("", f"'{name}' must be a string, not {brief(value)}")]
        problem = id_problem(value)
        return [("", f"{what} id {brief(value)} {problem}")] if problem else []

    return Kind("id", problems)


def _env_problems(name: str, value: Any) -> Problems:
    if not isinstance(value, list):
        return [("", f"'{name}' must be a list like [\"SEED\"], not {brief(value)}")]
    found: Problems = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        if not isinstance(item, str) or not ENV_NAME.fullmatch(item):
            found.append(
                (
                    f".{i}",
                    f"'{name}' item {brief(item)} is not an environment variable name "
                    "(expected letters, digits and '_', not starting with a digit)",
                )
            )
        elif item in seen:
            found.append((f".{i}", f"'{name}' names {brief(item)} twice"))
        else:
            seen.add(item)
    return found


ENV_NAMES = Kind(
    "list of variable names",
    _env_problems,
    lambda v: tuple(dict.fromkeys(x for x in v if isinstance(x, str) and ENV_NAME.fullmatch(x))),
)

TIME_OF_DAY = _simple(
    '"HH:MM"',
    lambda v: isinstance(v, str) and TIME.fullmatch(v) is not None,
    'a time like "18:30"',
)
DATE = _simple(
    "date",
    lambda v: isinstance(v, str | datetime.date) and not isinstance(v, datetime.datetime),
    "a date",
    convert=str,
)


def _speakers_problems(name: str, value: Any) -> Problems:
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return []
    return [("", f"'{name}' maps lesson ids to names (strings)")]


SPEAKERS = Kind("table of id = name", _speakers_problems, dict)


# GitHub's rules: an owner of letters, digits and single '-'; a repository of letters, digits,
# '.', '_' and '-' (not '.' or '..').
GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
GITHUB_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")
GIT_BRANCH = re.compile(r"[A-Za-z0-9._/-]{1,200}")


def github_repository(value: str) -> tuple[str, str] | None:
    """(owner, repo) of "OWNER/REPO" or "https://github.com/OWNER/REPO[.git][/]", else None."""
    text = value.strip()
    for prefix in ("https://github.com/", "http://github.com/", "github.com/"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :].rstrip("/").removesuffix(".git")
            break
    owner, _, repo = text.partition("/")
    if not (GITHUB_OWNER.fullmatch(owner) and GITHUB_REPO.fullmatch(repo)):
        return None
    return None if repo in {".", ".."} else (owner, repo)


def _repository_problems(name: str, value: Any) -> Problems:
    if isinstance(value, str) and github_repository(value) is not None:
        return []
    return [
        (
            "",
            f"'{name}' must be a GitHub repository like \"owner/repo\" or "
            f'"https://github.com/owner/repo", not {brief(value)}',
        )
    ]


def _branch_problems(name: str, value: Any) -> Problems:
    ok = (
        isinstance(value, str)
        and GIT_BRANCH.fullmatch(value) is not None
        and not value.startswith(("/", "-", "."))
        and not value.endswith(("/", ".lock", "."))
        and ".." not in value
        and "//" not in value
    )
    return [] if ok else [("", f"'{name}' must be a git branch name, not {brief(value)}")]


def _folder_problems(name: str, value: Any) -> Problems:
    parts = value.strip("/").split("/") if isinstance(value, str) else [".."]
    ok = isinstance(value, str) and (
        not value.strip("/")
        or all(GITHUB_REPO.fullmatch(p) and p not in {".", ".."} for p in parts)
    )
    return [] if ok else [("", f"'{name}' must be a folder inside the branch, not {brief(value)}")]


def _url_problems(name: str, value: Any) -> Problems:
    from urllib.parse import urlsplit

    ok = False
    if isinstance(value, str) and value == value.strip() and " " not in value:
        parts = urlsplit(value)
        ok = parts.scheme == "https" and bool(parts.hostname) and not parts.query
        ok = ok and not parts.fragment and not parts.username
    return [] if ok else [("", f"'{name}' must be an https:// URL, not {brief(value)}")]


REPOSITORY = Kind('"owner/repo"', _repository_problems, str.strip)
BRANCH = Kind("git branch", _branch_problems)
FOLDER = Kind("folder", _folder_problems, lambda v: str(v).strip("/"))
URL = Kind("https:// URL", _url_problems, lambda v: str(v).rstrip("/") + "/")


def parameter_problem(value: Any, depth: int = 0) -> str | None:
    """Why a value cannot be a lesson parameter (it must be written into the parameters cell and
    into a JSON cache key), or None: text, numbers, true/false, none, and lists and tables of
    those are fine; dates and times are not."""
    if value is None or isinstance(value, str | bool | int | float):
        return None
    if depth > 32:
        return "is nested too deeply"
    if isinstance(value, list | tuple):
        return next(
            (p for p in (parameter_problem(v, depth + 1) for v in value) if p is not None), None
        )
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return "is a table whose keys are not all strings"
        return next(
            (p for p in (parameter_problem(v, depth + 1) for v in value.values()) if p), None
        )
    if isinstance(value, datetime.date | datetime.time):
        return "is a date or time, which a lesson cannot receive; quote it to pass the text"
    return f"is a {type(value).__name__}, which a lesson cannot receive"


def _parameters_problems(name: str, value: Any) -> Problems:
    if not isinstance(value, dict):
        return [("", f"'{name}' must be a table, not {brief(value)}")]
    found: Problems = []
    for key, item in value.items():
        if not key.isidentifier() or keyword.iskeyword(key):
            found.append((f".{key}", f"parameter name {brief(key)} is not a Python name"))
        elif (problem := parameter_problem(item)) is not None:
            found.append((f".{key}", f"parameter '{key}' {problem}"))
    return found


PARAMETERS = Kind("table of name = value", _parameters_problems, dict)


# --------------------------------------------------------------------------------------------
# Fields and tables

REQUIRED: Any = object()  # a field's default when it must be given


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    doc: str
    default: Any = None
    missing: str | None = None  # the message when a required field is absent
    shown_default: str | None = None  # the default as the reference shows it

    @property
    def required(self) -> bool:
        return self.missing is not None


@dataclass(frozen=True, slots=True)
class Table:
    key: str  # dotted path: "", "execution", "tracks", "events.lightning", "workshopkit"
    label: str  # how a message names it: "the top level", "[execution]", "[[tracks]]"
    doc: str
    fields: tuple[Field, ...]
    array: bool = False  # an array of tables (`[[tracks]]`)
    tables: tuple[Table, ...] = field(default=())  # the tables inside it, for the reference

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


Report = Callable[[str, str], None]  # (dotted key, message)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def read_table(table: Table, data: Mapping[str, Any], where: str, report: Report) -> dict[str, Any]:
    """Every field of `table` from `data`: checked and converted, else its default.

    Reports, through `report(dotted key, message)`: unknown keys (with a close match), missing
    required fields (unless an unknown key is a near miss of it: one message is enough) and
    values of the wrong kind. Absent optional fields and wrong values get the field's default.
    """
    misspelled: set[str] = set()
    for key in data:
        if key not in table.names:
            misspelled.update(difflib.get_close_matches(str(key), table.names, n=1, cutoff=0.6))
            report(
                _join(where, str(key)),
                f"unknown key {brief(str(key))} in {table.label}"
                f"{did_you_mean(str(key), table.names)}; "
                f"expected one of: {', '.join(table.names)}",
            )
    values: dict[str, Any] = {}
    for spec in table.fields:
        default = None if spec.default is REQUIRED else spec.default
        if spec.name not in data:
            if spec.missing is not None and spec.name not in misspelled:
                report(where, spec.missing)
            values[spec.name] = default
            continue
        value = data[spec.name]
        problems = spec.kind.problems(spec.name, value)
        for sub, message in problems:
            report(_join(where, spec.name) + sub, message)
        if problems and not sub_items_only(problems):
            values[spec.name] = default
        else:
            values[spec.name] = spec.kind.convert(value)
    return values


def sub_items_only(problems: Sequence[tuple[str, str]]) -> bool:
    """Whether only items of a list or table are wrong (the rest of the value is still used)."""
    return all(sub for sub, _ in problems)


# --------------------------------------------------------------------------------------------
# The tables

_LIGHTNING = Table(
    "events.lightning",
    "[[events]] 'lightning'",
    "Rules for the event's lightning talks (`lightning = { max_minutes = 5 }`).",
    (
        Field("max_minutes", POSITIVE_INT, "Longest a lightning talk may be.", 5),
        Field("max_slides", POSITIVE_INT, "Most slides a lightning deck may have.", 6),
        Field("must_show_code", BOOL, "Every lightning deck shows at least one code cell.", True),
    ),
)
_BREAKS = Table(
    "events.breaks",
    "[[events]] 'breaks'",
    'Breaks in the programme (`breaks = [{ after = "intro", minutes = 15 }]`).',
    (
        Field("after", text("a lesson id"), "The id of the item the break follows.", REQUIRED),
        Field("minutes", POSITIVE_INT, "Length of the break.", REQUIRED),
        Field("title", text(), "Shown in the programme.", "Break"),
    ),
    array=True,
)
EXECUTION = Table(
    "execution",
    "[execution]",
    "How lessons run.",
    (
        Field(
            "kernel",
            text("a kernel name"),
            "Kernel for every lesson (`jupyter kernelspec list`).",
            shown_default="each lesson's kernelspec, else `python3`",
        ),
        Field("timeout", POSITIVE_INT, "Seconds a single cell may run.", 120),
        Field("lesson_timeout", POSITIVE_INT, "Seconds a whole lesson may run.", 900),
        Field("jobs", POSITIVE_INT, "Lessons executed at once.", 2),
        Field(
            "parameters",
            PARAMETERS,
            "Values for every lesson's `parameters` cell (`-p name=value` overrides one).",
            {},
            shown_default="`{}`",
        ),
        Field(
            "env",
            ENV_NAMES,
            "Environment variables whose values join each lesson's cache key.",
            (),
            shown_default="`[]`",
        ),
        Field(
            "strict",
            BOOL,
            "Every warning is an error, as with `--strict`.",
            False,
        ),
        Field(
            "kernel_start",
            KERNEL_START,
            "How kernels start: forked from a fork server that has imported ipykernel, or "
            "exec'd (see Fast kernels). `--kernel-start` overrides it.",
            shown_default="`fork` on Linux, else `exec`",
        ),
    ),
)
TRACKS = Table(
    "tracks",
    "[[tracks]]",
    "A path through lessons, beginner to advanced, prerequisites first. None: one track with "
    "every lesson.",
    (
        Field(
            "id",
            identifier("track"),
            "Names `<id>.zip` and `<id>/`.",
            REQUIRED,
            "every track needs an 'id'",
        ),
        Field("title", text(), "Shown on the index page.", shown_default="the id"),
        Field("description", text(), "Shown on the track page.", ""),
        Field("levels", LEVELS, "Select lessons of these levels.", (), shown_default="`[]`"),
        Field(
            "tags", str_list(), "Select lessons with any of these tags.", (), shown_default="`[]`"
        ),
        Field(
            "lessons",
            str_list("a list of lesson ids"),
            "Select these lessons by id.",
            (),
            shown_default="`[]`",
        ),
    ),
    array=True,
)
EVENTS = Table(
    "events",
    "[[events]]",
    "An evening's programme, checked against its budget and the lightning rules.",
    (
        Field(
            "id",
            identifier("event"),
            "Names `events/<id>/`.",
            REQUIRED,
            "every event needs an 'id'",
        ),
        Field("title", text(), "Shown on the programme.", shown_default="the id"),
        Field("description", text(), "Shown on the programme.", ""),
        Field("date", DATE, "The day (a TOML date or a string).", ""),
        Field("start", TIME_OF_DAY, "Start time; the programme gets clock times.", ""),
        Field("venue", text(), "Where.", ""),
        Field("minutes", POSITIVE_INT, "The budget every item and break must fit in."),
        Field(
            "lessons",
            str_list("a list of lesson ids"),
            "The items, in order (lessons, talks, lightning talks).",
            REQUIRED,
            "an event needs 'lessons', the ordered list of its items",
        ),
        Field("speakers", SPEAKERS, "Lesson id = speaker's name.", {}, shown_default="`{}`"),
        Field("breaks", tables(), "See `breaks` below.", [], shown_default="`[]`"),
        Field("lightning", TABLE, "See `lightning` below.", {}, shown_default="see below"),
    ),
    array=True,
    tables=(_BREAKS, _LIGHTNING),
)
LAUNCH = Table(
    "launch",
    "[launch]",
    'Where the built `dist/` is published, for "Open in Colab", "Open in Binder" and '
    '"View" links on the pages. None: no links.',
    (
        Field(
            "repository",
            REPOSITORY,
            "The GitHub repository holding the built `dist/`.",
            shown_default="from `pages_url`",
        ),
        Field(
            "branch",
            BRANCH,
            "The branch holding the built `dist/` (Colab and Binder read it there).",
            "gh-pages",
        ),
        Field(
            "path",
            FOLDER,
            "The folder of that branch holding `dist/`.",
            "",
            shown_default="the root",
        ),
        Field(
            "pages_url",
            URL,
            'The published site (`https://owner.github.io/repo/`); "View" links go there.',
            shown_default="none",
        ),
    ),
)
WORKSHOP = Table(
    "",
    "the top level",
    "`workshop.toml`, one per workshop, at its root.",
    (
        Field(
            "title",
            text(),
            "The workshop's name.",
            REQUIRED,
            "workshop.toml needs a 'title' (a string)",
        ),
        Field("description", text(), "A sentence or two for the index page.", ""),
        Field(
            "requirements",
            text("a file name"),
            "A requirements file shipped in every download.",
            shown_default="none",
        ),
        Field("execution", TABLE, "See `[execution]`.", {}, shown_default="see below"),
        Field("tracks", tables("[[tracks]]"), "See `[[tracks]]`.", [], shown_default="one track"),
        Field("events", tables("[[events]]"), "See `[[events]]`.", [], shown_default="none"),
        Field("launch", TABLE, "See `[launch]`.", None, shown_default="no links"),
    ),
    tables=(EXECUTION, TRACKS, EVENTS, LAUNCH),
)

RESOURCES = Table(
    "resources",
    "'resources'",
    "What the lesson needs to run.",
    (
        Field(
            "gpu",
            BOOL,
            "Needs a GPU: skipped, clearly, where none is visible (`--require-gpu` fails it).",
            False,
        ),
    ),
)
HEADER = Table(
    "workshopkit",
    "the workshopkit block",
    "The `workshopkit:` block under `jupyter:` in a lesson's Jupytext header (YAML).",
    (
        Field(
            "id",
            text(),
            "Lower-case letters, digits and `-`, at most 64; unique in the workshop.",
            shown_default="the file name, slugified",
        ),
        Field(
            "title",
            nonempty_text("missing 'title' (a non-empty string)"),
            "Shown on slides, the index page and in bundles.",
            REQUIRED,
            "missing 'title' (a non-empty string)",
        ),
        Field(
            "level",
            LEVEL,
            "Who the lesson is for; tracks go beginner to advanced.",
            REQUIRED,
            f"missing 'level' (expected {', '.join(LEVEL_NAMES)})",
        ),
        Field(
            "minutes",
            POSITIVE_INT,
            "Teaching time, for tracks and event programmes.",
            REQUIRED,
            "missing 'minutes' (a positive integer: the teaching time)",
        ),
        Field("tags", HEADER_STRINGS, "Free-form; tracks select by tag.", (), shown_default="`[]`"),
        Field(
            "requires",
            HEADER_STRINGS,
            "Ids of lessons this one builds on.",
            (),
            shown_default="`[]`",
        ),
        Field(
            "objectives",
            HEADER_STRINGS,
            "What attendees can do afterwards; shown on the index page.",
            (),
            shown_default="`[]`",
        ),
        Field("kind", LESSON_KIND, "For event programmes.", "lesson"),
        Field(
            "kernel_start",
            KERNEL_START,
            "`exec`: this lesson's kernel is never forked (it needs a fresh interpreter, e.g. "
            "its own hash seed); `fork`: as the run says.",
            shown_default="as the run says",
        ),
        Field(
            "resources",
            _simple("mapping", lambda v: isinstance(v, dict), "a mapping such as {gpu: true}"),
            "See `resources` below.",
            {},
            shown_default="`{}`",
        ),
    ),
    tables=(RESOURCES,),
)


# --------------------------------------------------------------------------------------------
# The reference


def _default_text(spec: Field, toml: bool) -> str:
    if spec.shown_default is not None:
        return spec.shown_default
    if spec.default is REQUIRED:
        return "required"
    value = spec.default
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{'true' if value else 'false'}`"
    if isinstance(value, str):
        return f'`"{value}"`' if toml and value else ('`""`' if not value else f"`{value}`")
    return f"`{value}`"


def _table_markdown(table: Table, heading: str, toml: bool) -> list[str]:
    out = [f"**{heading}** {table.doc}", "", "| key | type | default | meaning |"]
    out.append("|---|---|---|---|")
    for spec in table.fields:
        out.append(
            f"| `{spec.name}` | {spec.kind.doc} | {_default_text(spec, toml)} | {spec.doc} |"
        )
    out.append("")
    for inner in table.tables:
        name = inner.key.rpartition(".")[2]
        label = inner.label if inner.label.startswith("[") else f"`{name}`"
        out += _table_markdown(inner, label, toml)
    return out


def reference_markdown() -> str:
    """The settings reference for the README, generated from the tables above."""
    lines = ["### `workshop.toml`", ""]
    lines += _table_markdown(WORKSHOP, "Top level.", toml=True)
    lines += ["### The lesson header", ""]
    lines += _table_markdown(HEADER, "`workshopkit:`", toml=False)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover - `python -m workshopkit.schema`
    print(reference_markdown(), end="")
