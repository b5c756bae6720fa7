"""The attendee pages: `index.html` and `<track-id>/index.html` (DESIGN.md §5).

Everything the pages show is computed here into small view objects; the Jinja templates in
`workshopkit/templates/site/` only loop and print, with autoescaping on, so titles, tags and
objectives can never inject markup. The pages use no script at all and carry a restrictive
Content-Security-Policy; their one stylesheet is `_static/site.css`. Nothing loads from the
network.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..model import LaunchConfig, Lesson, LessonResult, Status, Track, Workshop
from ._io import ExportError, write_text
from .bundles import Bundle, Install, format_minutes
from .notebooks import learner_path, slides_path, solution_path

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = [
    "CSP",
    "SITE_CSS",
    "event_views",
    "format_size",
    "render_event",
    "render_site",
    "site_css_path",
    "write_site",
]

SITE_CSS = "site.css"
# 'self' does not match sibling files for a page opened from file:// in Chromium: list file: too.
CSP = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self' file:",
        "img-src 'self' file: data:",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)
KIND_LABELS = {"lesson": "", "talk": "Talk", "lightning": "Lightning talk"}


def _package_path(*parts: str) -> Path:
    return Path(str(files("workshopkit").joinpath(*parts)))


def site_css_path() -> Path:
    path = _package_path("static", SITE_CSS)
    if not path.is_file():
        raise ExportError(f"site stylesheet not found; searched: [{path}]")
    return path


def template_dir() -> Path:
    path = _package_path("templates", "site")
    missing = [
        name
        for name in ("index.html.j2", "track.html.j2", "event.html.j2")
        if not (path / name).is_file()
    ]
    if missing:
        raise ExportError(
            f"site template(s) {', '.join(missing)} not found; searched: [{path}]"
            " (is workshopkit installed with its package data?)"
        )
    return path


@functools.lru_cache(maxsize=1)
def _environment() -> Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def format_size(size: int) -> str:
    """A file size the way people read them: 812 bytes, 14 kB, 2.4 MB."""
    if size < 1000:
        return f"{size} bytes"
    value = float(size)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
    return f"{size} bytes"  # pragma: no cover


# --------------------------------------------------------------------------------------------
# View objects


@dataclass(frozen=True, slots=True)
class LinkView:
    label: str
    href: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class LessonView:
    id: str
    number: int
    title: str
    level: str
    minutes: int
    kind: str
    tags: tuple[str, ...]
    objectives: tuple[str, ...]
    requires: tuple[LinkView, ...]
    status: str  # passed | failed | skipped | not-run
    note: str  # why it is marked
    links: tuple[LinkView, ...]
    launch: tuple[LinkView, ...] = ()  # Colab, Binder, View: with [launch] only

    @property
    def anchor(self) -> str:
        return f"lesson-{self.id}"

    @property
    def available(self) -> bool:
        return bool(self.links)


@dataclass(frozen=True, slots=True)
class DownloadView:
    href: str
    name: str
    size: str
    sha256: str
    lessons: int


@dataclass(frozen=True, slots=True)
class TrackView:
    id: str
    title: str
    description: str
    lessons: tuple[LessonView, ...]
    download: DownloadView | None
    minutes: str
    levels: str
    left_out: int

    @property
    def href(self) -> str:
        return f"{self.id}/index.html"


@dataclass(frozen=True, slots=True)
class ProgrammeItemView:
    start: str
    end: str
    title: str
    minutes: int
    kind: str  # "", "Talk", "Lightning talk", "Break"
    speaker: str
    href: str  # the item's slides, "" for breaks and lessons without files
    level: str = ""  # "" for breaks
    status: str = ""  # passed | failed | skipped | not-run; "" for breaks
    note: str = ""  # why a talk is marked

    @property
    def is_break(self) -> bool:
        return self.kind == "Break"


@dataclass(frozen=True, slots=True)
class EventView:
    id: str
    title: str
    when: str  # "2026-12-10, 18:30-20:30"
    venue: str
    description: str
    minutes: str
    items: tuple[ProgrammeItemView, ...]
    date: str = ""
    times: str = ""  # "18:30–20:30", or "" without a start time
    total: int = 0  # minutes of the programme
    budget: int | None = None  # the event's minutes, if it has a budget
    href: str = ""  # the event's page, from the page the view is for
    deck: str = ""  # the combined deck, "" when there is none
    failed: int = 0  # talks that failed their last test run

    @property
    def over_budget(self) -> int:
        return max(0, self.total - self.budget) if self.budget is not None else 0


@dataclass(frozen=True, slots=True)
class SiteView:
    title: str
    description: tuple[str, ...]  # paragraphs
    tracks: tuple[TrackView, ...]
    lessons: int
    minutes: str
    failed: int
    has_requirements: bool = True
    events: tuple[EventView, ...] = ()
    install: Install = field(default_factory=lambda: Install(True))
    generator: str = f"workshopkit {__version__}"
    csp: str = CSP
    extra: Mapping[str, Any] = field(default_factory=dict)


def _paragraphs(text: str) -> tuple[str, ...]:
    blocks = [" ".join(block.split()) for block in text.strip().split("\n\n")]
    return tuple(block for block in blocks if block)


def _status(result: LessonResult | None) -> tuple[str, str]:
    if result is None:
        return "not-run", "Not run in this build."
    if result.status is Status.FAILED:
        where = f" ({result.error})" if result.error else ""
        return "failed", f"Failed its last test run{where}; left out of the download."
    if result.status is Status.SKIPPED:
        reason = f": {result.reason}" if result.reason else ""
        return "skipped", f"Not run in this build{reason}. Its notebook has no outputs yet."
    return "passed", ""


def _file_links(lesson: Lesson, root: str) -> tuple[LinkView, ...]:
    title = lesson.meta.title
    return (
        LinkView("Slides", root + slides_path(lesson.id), f"Slides: {title}"),
        LinkView("Notebook", root + learner_path(lesson.id), f"Notebook: {title}"),
        LinkView("Solution", root + solution_path(lesson.id), f"Solution: {title}"),
    )


def _launch_links(lesson: Lesson, launch: LaunchConfig | None) -> tuple[LinkView, ...]:
    """Open in Colab / Binder and View, for the published learner notebook ([launch] only)."""
    if launch is None:
        return ()
    from ..launch import launch_links

    links = launch_links(launch, learner_path(lesson.id))
    title = lesson.meta.title
    return (
        LinkView("Open in Colab", links.colab, f"Open {title} in Google Colab"),
        LinkView("Open in Binder", links.binder, f"Open {title} in Binder"),
        LinkView("View", links.view, f"View {title} online"),
    )


def _lesson_view(
    lesson: Lesson,
    number: int,
    result: LessonResult | None,
    exported: bool,
    root: str,
    titles: Mapping[str, str],
    in_track: set[str],
    launch: LaunchConfig | None = None,
) -> LessonView:
    status, note = _status(result)
    requires = tuple(
        LinkView(titles.get(r, r), f"#lesson-{r}" if r in in_track else "")
        for r in lesson.meta.requires
    )
    return LessonView(
        id=lesson.id,
        number=number,
        title=lesson.meta.title,
        level=lesson.meta.level.value,
        minutes=lesson.meta.minutes,
        kind=KIND_LABELS.get(lesson.meta.kind, lesson.meta.kind),
        tags=lesson.meta.tags,
        objectives=lesson.meta.objectives,
        requires=requires,
        status=status,
        note=note,
        links=_file_links(lesson, root) if exported else (),
        launch=_launch_links(lesson, launch) if exported else (),
    )


def _levels(lessons: Sequence[Lesson]) -> str:
    seen = list(dict.fromkeys(lesson.meta.level.value for lesson in lessons))
    if not seen:
        return ""
    return seen[0] if len(seen) == 1 else f"{seen[0]} to {seen[-1]}"


def event_page_path(event_id: str) -> str:
    return f"events/{event_id}/index.html"


def event_deck_path(event_id: str) -> str:
    return f"events/{event_id}/{event_id}.slides.html"


def _programme_item(item: Any, results: Mapping[str, LessonResult], href: str) -> ProgrammeItemView:
    """One item of a programme: a break, or a lesson with its status and slides."""
    lesson = item.lesson
    if lesson is None:
        return ProgrammeItemView(item.start, item.end, item.title, item.minutes, "Break", "", "")
    status, note = _status(results.get(lesson.id))
    if status == "failed":
        note = note.replace("left out of the download", "no slides this time")
    return ProgrammeItemView(
        item.start,
        item.end,
        item.title,
        item.minutes,
        KIND_LABELS.get(lesson.meta.kind, ""),
        item.speaker,
        href,
        level=lesson.meta.level.value,
        status=status,
        note=note,
    )


def _event_view(
    event: Any,
    programme: Any,
    items: tuple[ProgrammeItemView, ...],
    root: str,
    deck: str,
) -> EventView:
    first, last = (items[0].start, items[-1].end) if items else ("", "")
    times = f"{first}\u2013{last}" if first else ""
    return EventView(
        id=event.id,
        title=event.title,
        when=", ".join(part for part in (str(event.date), times) if part),
        venue=event.venue,
        description=" ".join(event.description.split()),
        minutes=format_minutes(programme.minutes),
        items=items,
        date=str(event.date),
        times=times,
        total=programme.minutes,
        budget=event.minutes,
        href=root + event_page_path(event.id),
        deck=deck,
        failed=sum(1 for i in items if i.status == "failed"),
    )


def event_views(
    workshop: Workshop,
    results: Mapping[str, LessonResult],
    exported: set[str],
    root: str,
    decks: Mapping[str, str] | None = None,
) -> tuple[EventView, ...]:
    """One view per event; `decks` maps event ids to their combined deck's href (if any)."""
    if not workshop.config.events:
        return ()
    from ..events import plan_programme

    views = []
    for event in workshop.config.events:
        programme = plan_programme(event, workshop)
        items = tuple(
            _programme_item(
                item,
                results,
                root + slides_path(item.lesson.id)
                if item.lesson is not None and item.lesson.id in exported
                else "",
            )
            for item in programme.items
        )
        views.append(_event_view(event, programme, items, root, (decks or {}).get(event.id, "")))
    return tuple(views)


def _download(
    bundle: Bundle | None, lessons: Sequence[LessonView], root: str
) -> DownloadView | None:
    if bundle is None:
        return None
    return DownloadView(
        href=root + bundle.name,
        name=bundle.name,
        size=format_size(bundle.size),
        sha256=bundle.sha256,
        lessons=sum(1 for lesson in lessons if lesson.available),
    )


def _track_view(
    workshop: Workshop,
    track: Track,
    results: Mapping[str, LessonResult],
    exported: set[str],
    bundle: Bundle | None,
    root: str,
) -> TrackView:
    titles = {lesson.id: lesson.meta.title for lesson in workshop.lessons}
    ids = {lesson.id for lesson in track.lessons}
    launch = workshop.config.launch
    lessons = tuple(
        _lesson_view(
            lesson, number, results.get(lesson.id), lesson.id in exported, root, titles, ids, launch
        )
        for number, lesson in enumerate(track.lessons, start=1)
    )
    return TrackView(
        id=track.id,
        title=track.title,
        description=" ".join(track.description.split()),
        lessons=lessons,
        download=_download(bundle, lessons, root),
        minutes=format_minutes(track.minutes),
        levels=_levels(track.lessons),
        left_out=sum(1 for lesson in lessons if not lesson.available),
    )


def site_view(
    workshop: Workshop,
    results: Mapping[str, LessonResult],
    exported: set[str],
    bundles: Mapping[str, Bundle],
    *,
    root: str,
    install: Install | None = None,
) -> SiteView:
    """The view of the whole site; `root` is the path from the page to the dist root."""
    tracks = tuple(
        _track_view(workshop, track, results, exported, bundles.get(track.id), root)
        for track in workshop.tracks
    )
    failed = sum(
        1
        for lesson in workshop.lessons
        if lesson.id in results and results[lesson.id].status is Status.FAILED
    )
    has_requirements = bool(workshop.config.requirements)
    return SiteView(
        title=workshop.config.title,
        description=_paragraphs(workshop.config.description),
        tracks=tracks,
        lessons=len(workshop.lessons),
        minutes=format_minutes(sum(lesson.meta.minutes for lesson in workshop.lessons)),
        failed=failed,
        has_requirements=has_requirements,
        events=event_views(workshop, results, exported, root),
        install=install or Install(has_requirements),
    )


# --------------------------------------------------------------------------------------------
# Rendering


def render_site(view_index: SiteView, view_track: SiteView, track_id: str | None) -> str:
    env = _environment()
    if track_id is None:
        return env.get_template("index.html.j2").render(site=view_index, root="")
    track = next(t for t in view_track.tracks if t.id == track_id)
    return env.get_template("track.html.j2").render(site=view_track, track=track, root="../")


def render_event(view: SiteView, event: EventView) -> str:
    """`events/<id>/index.html`: `view` is a site view made with root "../../"."""
    return (
        _environment().get_template("event.html.j2").render(site=view, event=event, root="../../")
    )


def write_site(
    workshop: Workshop,
    results: Mapping[str, LessonResult],
    exported: set[str],
    bundles: Mapping[str, Bundle],
    dest: Path,
    *,
    install: Install | None = None,
) -> list[Path]:
    """Write `index.html` and one `<track-id>/index.html` per track (and `_static/site.css`
    unless the static folder copied there already holds it)."""
    from ._io import copy_file

    index_view = site_view(workshop, results, exported, bundles, root="", install=install)
    track_view = site_view(workshop, results, exported, bundles, root="../", install=install)
    written = []
    if not (dest / "_static" / SITE_CSS).is_file():
        written.append(copy_file(site_css_path(), dest / "_static" / SITE_CSS))
    written.append(write_text(dest / "index.html", render_site(index_view, track_view, None)))
    for track in workshop.tracks:
        html = render_site(index_view, track_view, track.id)
        written.append(write_text(dest / track.id / "index.html", html))
    return written
