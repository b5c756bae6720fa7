"""The pipeline, read top to bottom: discover -> load -> validate -> execute -> assemble -> export.

`open_workshop` runs the cheap stages (no kernel, no papermill or nbconvert import) and is all that
`workshopkit check` and `list` need; the heavy stages are imported where they are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .assemble import assemble_tracks, check_event_items
from .cache import state_problems
from .config import CONFIG_NAME, find_root, load_config
from .discover import discover
from .events import check_events
from .export.assets import check_assets
from .load import load_lesson
from .model import Diagnostic, Lesson, Severity, Workshop
from .placeholders import placeholder_warnings
from .strict import promote
from .validate import check_declared_ids, check_lesson, check_requires, declared_id, slugify


@dataclass(frozen=True, slots=True)
class Opened:
    """The result of the cheap stages: a workshop when it is valid, and every diagnostic."""

    workshop: Workshop | None
    diagnostics: tuple[Diagnostic, ...] = ()
    selected: tuple[Lesson, ...] = ()  # the lessons named on the command line (all by default)
    root: Path | None = None
    lesson_count: int = 0

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]


def open_workshop(path: Path, only: Sequence[Path] = (), *, strict: bool = False) -> Opened:
    """Find the workshop at or above `path`, then discover, load, validate and assemble it.

    With `strict` (or `[execution] strict = true`), every warning is an error."""
    root = find_root(path)
    if root is None:
        shown = str(path)
        return Opened(
            None,
            (
                Diagnostic(
                    shown, 0, Severity.ERROR, f"no {CONFIG_NAME} here or in any parent folder"
                ),
            ),
        )
    config, diagnostics = load_config(root / CONFIG_NAME)
    diagnostics.extend(state_problems(root))  # `.workshopkit` taken by a file
    paths = discover(root)
    sources = []
    for lesson_path in paths:
        loaded = load_lesson(lesson_path, root)
        diagnostics.extend(loaded.diagnostics)
        if loaded.source is not None:
            sources.append(loaded.source)
    lessons: list[Lesson] = []
    invalid: set[str] = set()  # ids of lessons that failed validation
    for source in sources:
        lesson, problems = check_lesson(source)
        diagnostics.extend(problems)
        if lesson is not None:
            lessons.append(lesson)
        elif (ident := declared_id(source)) is not None:
            invalid.add(ident)
    read = {source.path for source in sources}
    invalid.update(slugify(p.stem) for p in paths if p not in read)  # a guess: unreadable
    diagnostics.extend(check_declared_ids(sources))
    diagnostics.extend(check_requires(lessons, invalid))
    if not paths:
        diagnostics.append(
            Diagnostic(
                CONFIG_NAME,
                0,
                Severity.ERROR,
                "no lessons found: a lesson is a .py file whose Jupytext header has a "
                "'workshopkit' block (try `workshopkit new lesson`)",
            )
        )
    if config is None:
        return Opened(None, tuple(sorted(set(diagnostics))), root=root, lesson_count=len(paths))
    tracks, problems = assemble_tracks(config, lessons, invalid)
    diagnostics.extend(problems)
    diagnostics.extend(check_event_items(config, lessons, invalid))
    selected = _select(root, lessons, only, diagnostics)
    workshop = Workshop(config, tuple(lessons), tracks)
    if not any(d.is_error for d in diagnostics):
        diagnostics.extend(check_events(workshop))
        diagnostics.extend(check_assets(workshop))
    diagnostics.extend(placeholder_warnings(config, lessons))
    if strict or config.execution.strict:
        diagnostics = list(promote(diagnostics))
    ordered = tuple(sorted(set(diagnostics)))
    if any(d.is_error for d in ordered):
        return Opened(None, ordered, root=root, lesson_count=len(paths))
    return Opened(workshop, ordered, tuple(selected), root, len(paths))


def _select(
    root: Path, lessons: list[Lesson], only: Sequence[Path], diagnostics: list[Diagnostic]
) -> list[Lesson]:
    if not only:
        return list(lessons)
    wanted = discover(root, only)
    for given in only:
        if given.is_file() and given.resolve() not in wanted:
            diagnostics.append(
                Diagnostic(
                    str(given),
                    0,
                    Severity.ERROR,
                    "not a lesson (no 'workshopkit' block in its header)",
                )
            )
        elif not given.exists():
            diagnostics.append(Diagnostic(str(given), 0, Severity.ERROR, "no such file or folder"))
    keep = set(wanted)
    return [lesson for lesson in lessons if lesson.path in keep]
