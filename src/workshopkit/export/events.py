"""Event pages and decks: `events/<id>/index.html` and `events/<id>/<id>.slides.html`, and the
event rules that need a talk's executed deck (`check_decks`: lightning slide limits, "every
speaker shows code"), which count slides exactly as the deck is prepared here.

The page is the evening's programme (clock times from the start time, level badges, speakers,
minutes, links to each talk's slides) rendered with the site's templates. The combined deck is
one offline reveal.js deck for the organiser: a title slide for the evening, then for each talk
a section slide (title, speaker, clock time) followed by the talk's own slides, prepared exactly
like its per-lesson deck, and one slide per break. Only talks that passed their test run are in
the deck; an event with none gets no deck. Relative image links of a talk's markdown cells and of
its HTML and markdown outputs are rewritten to point into `../../lessons/<id>/`, where its assets
are exported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..events import Programme, plan_programme
from ..fileio import write_atomic
from ..model import (
    HIDDEN_SLIDE_TYPES,
    NEW_SLIDE_TYPES,
    TAG_SKIP,
    Diagnostic,
    EventSpec,
    LessonResult,
    Severity,
    Status,
    Workshop,
)
from ._io import write_text
from .bundles import Install
from .layout import set_slide_type
from .site import event_deck_path, event_page_path, event_views, render_event, site_view

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = [
    "EVENT_STATIC_PREFIX",
    "DeckFacts",
    "check_decks",
    "deck_facts",
    "deck_names",
    "event_deck",
    "event_deck_inputs",
    "event_page_inputs",
    "write_event_deck",
    "write_event_pages",
]

EVENT_STATIC_PREFIX = "../../_static"  # from dist/events/<id>/ to dist/_static
LESSONS_PREFIX = "../../lessons"  # from dist/events/<id>/ to dist/lessons
DECK_FACTS = ".workshopkit/deck-facts.json"  # see `_FactsMemo`

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|~])")
# ![alt](target ...) and src="target" / src='target' in a markdown cell
_MD_IMAGE = re.compile(r"(!\[[^\]]*\]\(\s*<?)([^)\s>]+)")
_SRC_ATTR = re.compile(r"""(\bsrc\s*=\s*["'])([^"']+)""", re.IGNORECASE)
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _text(value: str) -> str:
    """Plain text for a markdown cell: no markup, no HTML."""
    return html.escape(_MD_SPECIAL.sub(r"\\\1", " ".join(value.split())), quote=False)


def _relocate(url: str, lesson_id: str) -> str:
    if not url or url.startswith(("#", "/", "?")) or _HAS_SCHEME.match(url):
        return url
    return f"{LESSONS_PREFIX}/{lesson_id}/{url}"


def _relocate_links(source: str, lesson_id: str) -> str:
    source = _MD_IMAGE.sub(lambda m: m.group(1) + _relocate(m.group(2), lesson_id), source)
    return _SRC_ATTR.sub(lambda m: m.group(1) + _relocate(m.group(2), lesson_id), source)


def _slide(source: str) -> NotebookNode:
    from nbformat.v4 import new_markdown_cell

    cell: NotebookNode = new_markdown_cell(  # type: ignore[no-untyped-call]
        source, metadata={"slideshow": {"slide_type": "slide"}}
    )
    return cell


def _title_slide(event: EventSpec, programme: Programme) -> NotebookNode:
    lines = [f"# {_text(event.title)}", ""]
    when = " \u00b7 ".join(
        _text(part)
        for part in (str(event.date), f"from {event.start}" if event.start else "")
        if part
    )
    if when:
        lines += [f"**{when}**", ""]
    if event.venue:
        lines += [_text(event.venue), ""]
    talks = len(programme.lessons)
    lines.append(f"{talks} talk{'s' if talks != 1 else ''} \u00b7 {programme.minutes} min")
    return _slide("\n".join(lines))


def _visible(cell: NotebookNode) -> bool:
    slideshow = cell.get("metadata", {}).get("slideshow", {})
    slide_type = slideshow.get("slide_type", "-") if isinstance(slideshow, dict) else "-"
    return slide_type not in HIDDEN_SLIDE_TYPES


def event_deck(
    event: EventSpec, workshop: Workshop, executed: Mapping[str, NotebookNode]
) -> NotebookNode | None:
    """The evening's combined deck (not yet rendered), or None if no talk has an executed
    notebook in `executed` (only talks that passed are given there)."""
    import nbformat

    from ..transforms import slides_source_notebook
    from .slides import prepare_slides

    programme = plan_programme(event, workshop)
    if not any(lesson.id in executed for lesson in programme.lessons):
        return None
    first_nb = next(executed[lesson.id] for lesson in programme.lessons if lesson.id in executed)
    deck: NotebookNode = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    for key in ("kernelspec", "language_info"):
        if key in first_nb.metadata:
            deck.metadata[key] = first_nb.metadata[key]
    cells = [_title_slide(event, programme)]
    for item in programme.items:
        when = f"{item.start}\u2013{item.end}" if item.start else f"{item.minutes} min"
        lesson = item.lesson
        if lesson is None:
            cells.append(_slide(f"# {_text(item.title)}\n\n**{when}** \u00b7 {item.minutes} min"))
            continue
        nb = executed.get(lesson.id)
        if nb is None:
            continue
        by = f"{_text(item.speaker)} \u00b7 " if item.speaker else ""
        cells.append(_slide(f"## {_text(item.title)}\n\n{by}**{when}**"))
        talk = prepare_slides(slides_source_notebook(nb), include_solutions=False)
        started = False
        for cell in talk.cells:
            if cell.cell_type == "markdown":
                cell.source = _relocate_links(str(cell.source), lesson.id)
            for output in cell.get("outputs", []):  # HTML and markdown outputs name files too
                data = output.get("data", {})
                for mime in ("text/html", "text/markdown"):
                    if isinstance(data.get(mime), str):
                        data[mime] = _relocate_links(data[mime], lesson.id)
            if not started and _visible(cell):
                set_slide_type(cell, "slide")  # every talk starts on a slide of its own
                started = True
            cells.append(cell)
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number}"
    deck.cells = cells
    return deck


def write_event_deck(
    event: EventSpec, workshop: Workshop, executed: Mapping[str, NotebookNode], dest: Path
) -> list[Path]:
    """The event's combined deck, if a talk of it passed (else nothing)."""
    from .slides import render_slides

    deck = event_deck(event, workshop, executed)
    if deck is None:
        return []
    page_html = render_slides(
        deck,
        static_prefix=EVENT_STATIC_PREFIX,
        title=event.title,
        sanitize_html=True,
        shared_css=True,
    )
    return [write_text(dest / event_deck_path(event.id), page_html)]


def deck_names(workshop: Workshop, written: Sequence[Path], dest: Path) -> dict[str, str]:
    """Event id -> the file name of its deck, for the events whose deck is among `written`."""
    names = {path.relative_to(dest).as_posix() for path in written}
    return {
        event.id: Path(event_deck_path(event.id)).name
        for event in workshop.config.events
        if event_deck_path(event.id) in names
    }


def write_event_pages(
    workshop: Workshop,
    results: Mapping[str, LessonResult],
    exported: set[str],
    decks: Mapping[str, str],
    dest: Path,
    *,
    install: Install | None = None,
) -> list[Path]:
    """Each event's programme page; `decks` names the events' decks (see `deck_names`)."""
    written: list[Path] = []
    view = site_view(workshop, results, exported, {}, root="../../", install=install)
    for event_view in event_views(workshop, results, exported, "../../", decks):
        event_view = dataclasses.replace(event_view, href="index.html")
        written.append(
            write_text(dest / event_page_path(event_view.id), render_event(view, event_view))
        )
    return written


def event_deck_inputs(
    event: EventSpec, workshop: Workshop, lesson_units: Mapping[str, str | None]
) -> list[Any]:
    """What an event's deck is made of, for the export's digest (`export.incremental`): the
    event, and, for each talk of its programme, the digest of its lesson's export (its text,
    hence its minutes and title; its status, executed notebook and assets)."""
    talks = [lesson.id for lesson in plan_programme(event, workshop).lessons]
    return [repr(event), [[talk, lesson_units.get(talk)] for talk in talks]]


def event_page_inputs(
    workshop: Workshop,
    results: Mapping[str, LessonResult],
    exported: set[str],
    decks: Mapping[str, str],
    install: Install | None = None,
) -> list[Any]:
    """What the event pages show, for the export's digest: the views they are rendered from."""
    return [
        repr(site_view(workshop, results, exported, {}, root="../../", install=install)),
        repr(event_views(workshop, results, exported, "../../", decks)),
    ]


# --------------------------------------------------------------------------------------------
# Event rules that need the executed decks


@dataclass(frozen=True, slots=True)
class DeckFacts:
    """What a talk's slides really show."""

    slides: int
    code_with_output: int


def deck_facts(nb: Any) -> DeckFacts:
    """Count the slides of a prepared deck and the code cells on it that ran and printed."""
    from .slides import prepare_slides

    deck = prepare_slides(nb)
    slides = 0
    code = 0
    visible_seen = False
    for cell in deck.cells:
        slide_type = cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")
        if slide_type in HIDDEN_SLIDE_TYPES:
            continue
        if slide_type in NEW_SLIDE_TYPES or not visible_seen:
            slides += 1  # nbconvert forces the first visible cell to start a slide
        visible_seen = True
        tags = cell.get("metadata", {}).get("tags", [])
        if (
            cell.get("cell_type") == "code"
            and cell.get("execution_count") is not None
            and cell.get("outputs")
            and TAG_SKIP not in tags
        ):
            code += 1
    return DeckFacts(slides, code)


def check_decks(
    workshop: Workshop,
    results: Sequence[LessonResult],
    facts: Mapping[str, DeckFacts] | None = None,
) -> list[Diagnostic]:
    """Slide limits of lightning talks and `must_show_code`, from the executed notebooks (a talk
    that did not pass, or was not run, has no deck to judge)."""
    if not workshop.config.events:
        return []
    by_result = {r.lesson_id: r for r in results}
    known: dict[str, DeckFacts] = dict(facts or {})
    memo = _FactsMemo(workshop.root)
    out: list[Diagnostic] = []
    for event in workshop.config.events:
        rules = event.lightning
        for lesson in plan_programme(event, workshop).lessons:
            if lesson.id not in known:
                result = by_result.get(lesson.id)
                if result is None or result.status is not Status.PASSED or result.notebook is None:
                    continue
                known[lesson.id] = memo.facts(result.notebook)
            fact = known[lesson.id]
            if lesson.meta.kind == "lightning" and fact.slides > rules.max_slides:
                out.append(
                    Diagnostic(
                        lesson.relpath,
                        lesson.line_of(""),
                        Severity.ERROR,
                        f"lightning talk '{lesson.id}' has {fact.slides} slides, over the "
                        f"{rules.max_slides}-slide limit of event '{event.id}'",
                    )
                )
            if rules.must_show_code and fact.code_with_output == 0:
                out.append(
                    Diagnostic(
                        lesson.relpath,
                        lesson.line_of(""),
                        Severity.ERROR,
                        f"'{lesson.id}' shows no code on its slides (event '{event.id}' requires "
                        "every speaker to show a code cell that runs and prints something)",
                    )
                )
    memo.save()
    return sorted(set(out))


class _FactsMemo:
    """Deck facts by the SHA-256 of the executed notebook they were counted from, kept in
    `<root>/.workshopkit/deck-facts.json` for as long as the code that counts them is the same
    (`export.incremental.code_identity`): a warm build lays no deck out to judge the events."""

    def __init__(self, root: Path) -> None:
        from .incremental import code_identity

        self.path = root / DECK_FACTS
        self.code = code_identity()
        self.known: dict[str, list[int]] = {}
        self.used: dict[str, list[int]] = {}
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("code") == self.code:
                self.known = dict(data.get("facts") or {})

    def facts(self, notebook: Path) -> DeckFacts:
        from .incremental import sha256_file

        sha = sha256_file(notebook)
        found = self.known.get(sha)
        if isinstance(found, list) and len(found) == 2 and all(isinstance(n, int) for n in found):
            self.used[sha] = found
            return DeckFacts(found[0], found[1])
        fact = deck_facts(_read(notebook))
        self.used[sha] = [fact.slides, fact.code_with_output]
        return fact

    def save(self) -> None:
        if self.used == self.known:
            return
        data = json.dumps({"code": self.code, "facts": self.used}, sort_keys=True)
        with contextlib.suppress(OSError):  # without it, the next build counts again
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, data.encode("utf-8"), durable=False)


def _read(path: Path) -> Any:
    from .notebooks import read_notebook

    return read_notebook(path)
