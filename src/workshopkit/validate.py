"""Stage 3: turn lesson sources into validated lessons, collecting every problem. Pure: no I/O."""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from .config import ID_PATTERN, did_you_mean
from .load import LessonSource
from .markers import (
    marker_problems,
    metadata_problems,
    names_used_after_removal,
    removed_for_learners,
    solution_regions,
    tag_problems,
)
from .model import (
    KINDS,
    LEVEL_NAMES,
    TAG_PARAMETERS,
    TAG_RAISES,
    Cell,
    Diagnostic,
    Lesson,
    LessonMeta,
    Level,
    Severity,
)
from .transforms import stub_breaks_cell

BLOCK_KEYS = (
    "id",
    "title",
    "level",
    "minutes",
    "tags",
    "requires",
    "objectives",
    "kind",
    "resources",
)
RESOURCE_KEYS = ("gpu",)
SLIDE_TYPES = ("slide", "subslide", "fragment", "skip", "notes", "-")
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)


def slugify(stem: str) -> str:
    text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:64]


def id_problem(ident: str) -> str | None:
    """Why `ident` is not a valid lesson id, or None."""
    if "\x00" in ident:
        return "contains a NUL character"
    if not ID_PATTERN.match(ident):
        return f"must match {ID_PATTERN.pattern} (lower-case letters, digits and '-', at most 64)"
    if ident in _WINDOWS_RESERVED:
        return "is a reserved file name on Windows"
    return None


def unknown_level_message(name: object) -> str:
    """`unknown level 'expert' (expected beginner, intermediate, advanced)`, with a close match."""
    close = did_you_mean(str(name), LEVEL_NAMES).strip().removeprefix("(").removesuffix(")")
    return (
        f"unknown level {name!r} (expected {', '.join(LEVEL_NAMES)}{'; ' + close if close else ''})"
    )


def id_key(ident: str) -> str:
    """Ids that differ only by case or Unicode normalisation share this key."""
    return unicodedata.normalize("NFKC", ident).casefold()


class _Checker:
    def __init__(self, source: LessonSource) -> None:
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    def report(self, key: str, message: str, severity: Severity = Severity.ERROR) -> None:
        line = self.source.key_lines.get(key, self.source.key_lines.get("", 1))
        self.diagnostics.append(Diagnostic(self.source.relpath, line, severity, message))

    def strings(self, block: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = block.get(key, [])
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            self.report(key, f"'{key}' must be a list of strings, not {value!r}")
            return ()
        return tuple(str(v) for v in value)


def check_lesson(source: LessonSource) -> tuple[Lesson | None, list[Diagnostic]]:
    """Validate one lesson's `workshopkit` block and cells."""
    c = _Checker(source)
    block = source.block
    if not isinstance(block, dict):
        c.report("", "the 'workshopkit' block must be a mapping of keys such as title and level")
        return None, c.diagnostics
    misspelled: set[str] = set()  # keys that an unknown key is probably a typo of
    for key in block:
        if key not in BLOCK_KEYS:
            misspelled.update(difflib.get_close_matches(str(key), BLOCK_KEYS, n=1, cutoff=0.6))
            c.report(
                str(key),
                f"unknown key '{key}' in the workshopkit block{did_you_mean(str(key), BLOCK_KEYS)}"
                f"; expected one of: {', '.join(BLOCK_KEYS)}",
            )
    raw_id = block.get("id")
    if raw_id is None:
        ident = slugify(source.path.stem)
    elif isinstance(raw_id, str):
        ident = raw_id
    else:
        c.report("id", f"'id' must be a string, not {raw_id!r}")
        ident = slugify(source.path.stem)
    problem = id_problem(ident)
    if problem:
        shown = ident if len(ident) <= 80 else ident[:77] + "..."
        origin = "" if "id" in block else " (from the file name; set 'id' in the header)"
        slug = slugify(ident)
        suggest = slug and slug != ident and len(ident) <= 64 and not id_problem(slug)
        hint = f" (try '{slug}')" if suggest else ""
        c.report("id", f"lesson id {shown!r}{origin} {problem}{hint}")
    title = block.get("title")
    if not isinstance(title, str) or not title.strip():
        if "title" in block or "title" not in misspelled:
            c.report("title" if "title" in block else "", "missing 'title' (a non-empty string)")
        title = ident
    level_name = block.get("level")
    level: Level | None = None
    if level_name is None:
        if "level" not in misspelled:
            c.report("", f"missing 'level' (expected {', '.join(LEVEL_NAMES)})")
    elif level_name not in LEVEL_NAMES:
        c.report("level", unknown_level_message(level_name))
    else:
        level = Level(level_name)
    minutes = block.get("minutes")
    if minutes is None:
        if "minutes" not in misspelled:
            c.report("", "missing 'minutes' (a positive integer: the teaching time)")
    elif isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        c.report("minutes", f"'minutes' must be a positive integer, not {minutes!r}")
        minutes = None
    kind = block.get("kind", "lesson")
    if kind not in KINDS:
        c.report(
            "kind",
            f"unknown kind {kind!r}{did_you_mean(str(kind), KINDS)} (expected {', '.join(KINDS)})",
        )
        kind = "lesson"
    resources = block.get("resources") or {}
    gpu = False
    if not isinstance(resources, dict):
        c.report("resources", "'resources' must be a mapping such as {gpu: true}")
    else:
        for key in resources:
            if key not in RESOURCE_KEYS:
                c.report(
                    "resources", f"unknown resource '{key}'{did_you_mean(str(key), RESOURCE_KEYS)}"
                )
        gpu = resources.get("gpu", False)
        if not isinstance(gpu, bool):
            c.report("resources", f"'resources.gpu' must be true or false, not {gpu!r}")
            gpu = False
    meta_tags = c.strings(block, "tags")
    requires = c.strings(block, "requires")
    objectives = c.strings(block, "objectives")
    _check_cells(source, c)
    if any(d.is_error for d in c.diagnostics) or level is None or minutes is None:
        return None, c.diagnostics
    meta = LessonMeta(
        id=ident,
        title=title.strip(),
        level=level,
        minutes=minutes,
        tags=meta_tags,
        requires=requires,
        objectives=objectives,
        kind=str(kind),
        gpu=gpu,
    )
    lesson = Lesson(
        path=source.path,
        relpath=source.relpath,
        meta=meta,
        cells=source.cells,
        text=source.text,
        kernel=source.kernel,
        key_lines=source.key_lines,
    )
    return lesson, c.diagnostics


def _check_cells(source: LessonSource, c: _Checker) -> None:
    relpath = source.relpath
    parameter_cells = 0
    for cell in source.cells:
        report = functools.partial(_report_cell, c.diagnostics, relpath, cell.marker_line)
        tags = cell.metadata.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            report(f"'tags' must be a list of strings such as [\"exercise\"], not {tags!r}")
            tags = []
        if TAG_PARAMETERS in tags:
            parameter_cells += 1
            if parameter_cells == 2:
                report(
                    "a second 'parameters' cell: papermill injects values after the first only",
                    Severity.WARNING,
                )
        if cell.cell_type != "code" and (TAG_RAISES in tags or TAG_PARAMETERS in tags):
            report(f"tags {tags} have no effect on a {cell.cell_type} cell", Severity.WARNING)
        slideshow = cell.metadata.get("slideshow")
        if slideshow is not None and not isinstance(slideshow, dict):
            report(
                '\'slideshow\' must be a mapping such as {"slide_type": "fragment"}, '
                f"not {slideshow!r}"
            )
        elif slideshow is not None:
            slide_type = slideshow.get("slide_type")
            if slide_type not in SLIDE_TYPES:
                close = did_you_mean(str(slide_type), SLIDE_TYPES)
                report(
                    f"unknown slide_type {slide_type!r}{close}; "
                    f"expected one of: {', '.join(repr(t) for t in SLIDE_TYPES)}"
                )
        _check_solution_marks(relpath, cell, tags, c.diagnostics)
    for found in names_used_after_removal(source.cells):
        if found.removal == "solution":
            where = "the solution"
            fix = (
                "define it in a cell learners keep, or make the solution a '# BEGIN SOLUTION' "
                "region, whose stub names it"
            )
        else:
            where = "a speaker-notes cell"
            fix = "notes cells are left out of it; define it in a cell learners keep"
        message = (
            f"{found.name!r} is used here but defined only in {where} on line "
            f"{found.defined_line}; the learner notebook will raise NameError ({fix})"
        )
        c.diagnostics.append(Diagnostic(relpath, found.line, Severity.WARNING, message))


def _report_cell(
    out: list[Diagnostic],
    relpath: str,
    line: int,
    message: str,
    severity: Severity = Severity.ERROR,
) -> None:
    out.append(Diagnostic(relpath, line, severity, message))


def _check_solution_marks(
    relpath: str, cell: Cell, tags: Sequence[str], out: list[Diagnostic]
) -> None:
    """Solution markers, tags and metadata (see `markers`): near misses are errors, honoured
    tag variants warnings. Near misses in a cell learners never see cannot leak; not reported."""
    for message in tag_problems(tags):
        out.append(Diagnostic(relpath, cell.marker_line, Severity.WARNING, message))
    for message in metadata_problems(cell.metadata):
        out.append(Diagnostic(relpath, cell.marker_line, Severity.ERROR, message))
    kept = removed_for_learners(cell.metadata, cell.source, cell.cell_type) is None
    problems = marker_problems(cell.source, cell.body_line, cell.cell_type, near_misses=kept)
    for line, message in problems:
        out.append(Diagnostic(relpath, line, Severity.ERROR, message))
    if kept and not problems and cell.cell_type == "code" and stub_breaks_cell(cell.source):
        message = (
            "a solution region cuts a statement in half, so the learner notebook's stub would "
            "not be valid Python; keep each '# BEGIN SOLUTION' ... '# END SOLUTION' region to "
            "whole statements"
        )
        first = solution_regions(cell.source.split("\n"))[0].begin
        out.append(Diagnostic(relpath, cell.body_line + first, Severity.ERROR, message))


def check_ids(lessons: Sequence[Lesson]) -> list[Diagnostic]:
    """Duplicate ids (also those differing only by case or Unicode normalisation)."""
    return _clashes(
        (lesson.id, lesson.relpath, lesson.line_of("id"), "id" in lesson.key_lines)
        for lesson in lessons
    )


def check_declared_ids(sources: Sequence[LessonSource]) -> list[Diagnostic]:
    """Like `check_ids`, over the ids every lesson file declares, valid or not, so that `Intro`
    and `intro`, or `café` in NFC and NFD form, are reported as a clash naming both files."""
    claims = []
    for source in sources:
        ident = declared_id(source)
        if ident is not None:
            line = source.key_lines.get("id", source.key_lines.get("", 1))
            claims.append((ident, source.relpath, line, "id" in source.key_lines))
    return _clashes(claims)


def _clashes(claims: Iterable[tuple[str, str, int, bool]]) -> list[Diagnostic]:
    """(id, relpath, line, explicit) claims -> an error on each claim that repeats an earlier id."""
    out: list[Diagnostic] = []
    first: dict[str, tuple[str, str, int, bool]] = {}
    for claim in claims:
        ident, relpath, line, explicit = claim
        other = first.setdefault(id_key(ident), claim)
        if other[1] == relpath:
            continue
        where = f"{other[1]}:{other[2]}"
        origin = "" if explicit else " (from the file name)"
        if other[0] == ident:
            message = f"lesson id {ident!r}{origin} is already used by {where}"
        else:
            message = (
                f"lesson id {ident!a}{origin} differs only by case or Unicode form from "
                f"{other[0]!a} in {where}"
            )
        out.append(Diagnostic(relpath, line, Severity.ERROR, message + "; ids must be unique"))
    return out


def declared_id(source: LessonSource) -> str | None:
    """The id a lesson source claims, valid or not (its `id`, else its slugified file stem)."""
    block = source.block
    raw = block.get("id") if isinstance(block, dict) else None
    if raw is None:
        return slugify(source.path.stem)
    return raw if isinstance(raw, str) else None


def check_requires(lessons: Sequence[Lesson], known: Collection[str] = ()) -> list[Diagnostic]:
    """`requires` naming unknown ids (with close matches) or forming a cycle (named).

    `known` adds the ids of lessons that failed validation, so that requiring one of those is not
    reported a second time as an unknown id.
    """
    out: list[Diagnostic] = []
    by_id = {lesson.id: lesson for lesson in lessons}
    for lesson in lessons:
        for req in lesson.meta.requires:
            if req in known and req not in by_id:
                continue
            if req == lesson.id:
                out.append(
                    Diagnostic(
                        lesson.relpath,
                        lesson.line_of("requires"),
                        Severity.ERROR,
                        f"lesson '{req}' requires itself",
                    )
                )
            elif req not in by_id:
                out.append(
                    Diagnostic(
                        lesson.relpath,
                        lesson.line_of("requires"),
                        Severity.ERROR,
                        f"requires unknown lesson '{req}'{did_you_mean(req, by_id)}",
                    )
                )
    # Cycles: depth-first search, reporting each cycle once at its first lesson in path order.
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(ident: str, stack: list[str]) -> None:
        state[ident] = 1
        stack.append(ident)
        for req in by_id[ident].meta.requires:
            if req not in by_id or req == ident:
                continue
            if state.get(req) == 1:
                cycle = [*stack[stack.index(req) :], req]
                members = frozenset(cycle)
                if members not in reported:
                    reported.add(members)
                    start = by_id[cycle[0]]
                    out.append(
                        Diagnostic(
                            start.relpath,
                            start.line_of("requires"),
                            Severity.ERROR,
                            f"prerequisites form a cycle: {' -> '.join(cycle)}",
                        )
                    )
            elif req not in state:
                visit(req, stack)
        stack.pop()
        state[ident] = 2

    for lesson in lessons:
        if lesson.id not in state:
            visit(lesson.id, [])
    return out
