"""Stage 3: turn lesson sources into validated lessons, collecting every problem. Pure: no I/O."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence

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
    SLIDE_TYPES,
    TAG_PARAMETERS,
    TAG_RAISES,
    Cell,
    Diagnostic,
    Lesson,
    LessonMeta,
    Level,
    Severity,
)
from .schema import HEADER, LEVEL, RESOURCES, brief, did_you_mean, id_problem, read_table
from .transforms import stub_breaks_cell

__all__ = [
    "BLOCK_KEYS",
    "SLIDE_TYPES",
    "check_declared_ids",
    "check_ids",
    "check_lesson",
    "check_requires",
    "declared_id",
    "id_key",
    "id_problem",
    "slugify",
    "unknown_level_message",
]

BLOCK_KEYS = HEADER.names
RESOURCE_KEYS = RESOURCES.names


def slugify(stem: str) -> str:
    text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:64]


def unknown_level_message(name: object) -> str:
    """`unknown level 'expert' (expected beginner, intermediate, advanced)`, with a close match."""
    return LEVEL.problems("level", name)[0][1]


def id_key(ident: str) -> str:
    """Ids that differ only by case or Unicode normalisation share this key."""
    return unicodedata.normalize("NFKC", ident).casefold()


class _Checker:
    def __init__(self, source: LessonSource) -> None:
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    def report(self, key: str, message: str, severity: Severity = Severity.ERROR) -> None:
        """A problem at the line of header key `key` (`resources.gpu` falls back to `resources`,
        then to the block's line)."""
        lines = self.source.key_lines
        while key and key not in lines:
            key = key.rpartition(".")[0]
        line = lines.get(key, lines.get("", 1))
        self.diagnostics.append(Diagnostic(self.source.relpath, line, severity, message))


def check_lesson(source: LessonSource) -> tuple[Lesson | None, list[Diagnostic]]:
    """Validate one lesson's `workshopkit` block (the fields of `schema.HEADER`) and cells."""
    c = _Checker(source)
    block = source.block
    if not isinstance(block, dict):
        c.report("", "the 'workshopkit' block must be a mapping of keys such as title and level")
        return None, c.diagnostics
    values = read_table(HEADER, block, "", c.report)
    ident = _lesson_id(source, values["id"], "id" in block, c)
    resources = read_table(RESOURCES, values["resources"], "resources", c.report)
    _check_cells(source, c)
    if any(d.is_error for d in c.diagnostics):
        return None, c.diagnostics
    meta = LessonMeta(
        id=ident,
        title=values["title"],
        level=Level(values["level"]),
        minutes=values["minutes"],
        tags=values["tags"],
        requires=values["requires"],
        objectives=values["objectives"],
        kind=values["kind"],
        gpu=resources["gpu"],
        kernel_start=values["kernel_start"],
    )
    lesson = Lesson(
        path=source.path,
        relpath=source.relpath,
        meta=meta,
        cells=source.cells,
        text=source.text,
        kernel=source.kernel,
        key_lines=source.key_lines,
        notebook_metadata=source.notebook_metadata,
    )
    return lesson, c.diagnostics


def _lesson_id(source: LessonSource, given: str | None, explicit: bool, c: _Checker) -> str:
    """The lesson's id (given, else its slugified file stem), reporting why it is unusable."""
    ident = given if given is not None else slugify(source.path.stem)
    problem = id_problem(ident)
    if problem:
        shown = ident if len(ident) <= 80 else ident[:77] + "..."
        origin = "" if explicit else " (from the file name; set 'id' in the header)"
        slug = slugify(ident)
        suggest = slug and slug != ident and len(ident) <= 64 and not id_problem(slug)
        hint = f" (try '{slug}')" if suggest else ""
        c.report("id", f"lesson id {shown!r}{origin} {problem}{hint}")
    return ident


def _check_cells(source: LessonSource, c: _Checker) -> None:
    relpath = source.relpath
    parameter_cells = 0
    for cell in source.cells:
        report = functools.partial(_report_cell, c.diagnostics, relpath, cell.marker_line)
        tags = cell.metadata.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            report(f"'tags' must be a list of strings such as [\"exercise\"], not {brief(tags)}")
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
                f"not {brief(slideshow)}"
            )
        elif slideshow is not None:
            slide_type = slideshow.get("slide_type")
            if slide_type not in SLIDE_TYPES:
                close = did_you_mean(str(slide_type), SLIDE_TYPES)
                report(
                    f"unknown slide_type {brief(slide_type)}{close}; "
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
            message = f"lesson id {brief(ident)}{origin} is already used by {where}"
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
    by_id = {lesson.id: lesson for lesson in lessons}
    out: list[Diagnostic] = []
    for lesson in lessons:
        for req in lesson.meta.requires:
            if req in known and req not in by_id:
                continue
            if req == lesson.id:
                message = f"lesson '{req}' requires itself"
            elif req not in by_id:
                message = f"requires unknown lesson '{req}'{did_you_mean(req, by_id)}"
            else:
                continue
            out.append(
                Diagnostic(lesson.relpath, lesson.line_of("requires"), Severity.ERROR, message)
            )
    for cycle in _cycles(lessons, by_id):
        start = by_id[cycle[0]]
        message = f"prerequisites form a cycle: {' -> '.join(cycle)}"
        out.append(Diagnostic(start.relpath, start.line_of("requires"), Severity.ERROR, message))
    return out


def _cycles(lessons: Sequence[Lesson], by_id: Mapping[str, Lesson]) -> list[list[str]]:
    """Each cycle of `requires` once, from the lesson where a depth-first search in path order
    meets it (iterative: a chain of 10,000 prerequisites must not exhaust the stack)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    found: list[list[str]] = []
    reported: set[frozenset[str]] = set()
    for lesson in lessons:
        if lesson.id in state:
            continue
        path: list[str] = [lesson.id]
        todo = [iter(lesson.meta.requires)]
        state[lesson.id] = 1
        while todo:
            req = next(todo[-1], None)
            if req is None:
                state[path.pop()] = 2
                todo.pop()
            elif req not in by_id or req == path[-1]:
                continue
            elif state.get(req) == 1:
                cycle = [*path[path.index(req) :], req]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    found.append(cycle)
            elif req not in state:
                state[req] = 1
                path.append(req)
                todo.append(iter(by_id[req].meta.requires))
    return found
