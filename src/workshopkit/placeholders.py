"""Text left from the starters (`workshopkit new`): fine in a first draft, a warning in a workshop
(an error under `--strict`), so that no attendee reads "What attendees will learn, in a sentence
or two." on the index page.

The placeholders are read from the starters themselves (`templates/`), never copied here, so
editing a starter updates what is recognised:

- `workshop.toml`: the starter's `title` and `description`;
- a lesson header: the starter lesson's `objectives`, when a lesson lists every one of them;
- a lesson cell whose text is a starter lesson cell's, ignoring blank lines, indentation and a
  first heading line (`workshopkit new lesson` rewrites the heading); one warning per lesson, at
  the first such cell, counting the others.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .model import Cell, Diagnostic, Lesson, Severity, WorkshopConfig

__all__ = ["Placeholders", "placeholder_warnings", "starter_placeholders"]


@dataclass(frozen=True, slots=True)
class Placeholders:
    title: str
    description: str
    objectives: tuple[str, ...]
    cells: frozenset[str]  # normalised cell texts


def normalise(cell: Cell) -> str:
    """A cell's text without blank lines, indentation, or a first heading line."""
    lines = [line.strip() for line in cell.source.split("\n") if line.strip()]
    if lines and cell.cell_type == "markdown" and re.match(r"#{1,6}\s", lines[0]):
        lines = lines[1:]
    return "\n".join(lines)


@functools.lru_cache(maxsize=1)
def starter_placeholders() -> Placeholders | None:
    """The placeholders of the installed starters (None if they cannot be read)."""
    from .config import tomllib
    from .errors import WorkshopkitError
    from .load import load_lesson
    from .starters import STARTER_LESSON, STARTER_WORKSHOP, starters_dir

    try:
        folder = starters_dir()
        toml = tomllib.loads((folder / STARTER_WORKSHOP / "workshop.toml").read_text("utf-8"))
        source = load_lesson(folder / STARTER_LESSON, folder).source
    except (WorkshopkitError, OSError, ValueError):
        return None
    if source is None or not isinstance(source.block, dict):
        return None
    objectives = source.block.get("objectives") or []
    cells = frozenset(text for cell in source.cells if (text := normalise(cell)))
    return Placeholders(
        str(toml.get("title", "")),
        str(toml.get("description", "")),
        tuple(str(o) for o in objectives),
        cells,
    )


def placeholder_warnings(
    config: WorkshopConfig, lessons: Sequence[Lesson], found: Placeholders | None = None
) -> list[Diagnostic]:
    """A warning for each place that still holds starter text (see the module doc)."""
    starter = found or starter_placeholders()
    if starter is None:
        return []
    out: list[Diagnostic] = []
    for key in ("title", "description"):
        value = getattr(config, key)
        if value and value.strip() == getattr(starter, key).strip():
            message = f"'{key}' is still the starter's placeholder {value!r}; write your own"
            out.append(Diagnostic(config.relpath, config.line_of(key), Severity.WARNING, message))
    for lesson in lessons:
        out.extend(_lesson_warnings(lesson, starter))
    return out


def _lesson_warnings(lesson: Lesson, starter: Placeholders) -> Iterable[Diagnostic]:
    objectives = lesson.meta.objectives
    if starter.objectives and set(starter.objectives) <= set(objectives):
        message = "'objectives' are still the starter's examples; list what attendees will learn"
        yield Diagnostic(lesson.relpath, lesson.line_of("objectives"), Severity.WARNING, message)
    left = [cell for cell in lesson.cells if normalise(cell) in starter.cells]
    if left:
        others = len(left) - 1
        more = f" (and {others} more cell{'s' * (others > 1)} after it)" if others else ""
        message = (
            f"cell {left[0].number} is the starter lesson's text, unchanged{more}; replace it "
            "with your own"
        )
        yield Diagnostic(lesson.relpath, left[0].marker_line, Severity.WARNING, message)
