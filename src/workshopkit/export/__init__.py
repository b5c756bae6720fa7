"""Stage 6, export: write the whole `dist/` layout of DESIGN.md §5 into an empty folder.

```
index.html, <track-id>/index.html     export.site
report.json                           report_data() below
SHA256SUMS, <track-id>.zip            export.bundles
lessons/<id>/...                      export.notebooks (+ export.slides, export.assets)
events/<id>/index.html, <id>.slides.html   export.events (programme page, combined deck)
_static/                              export.slides.static_dir() and site.css
```

`export_workshop` writes into the folder it is given and nothing else; `workshopkit.build` gives
it a temporary folder and swaps it in place of `dist/` only when everything succeeded. Failed
lessons get no files, are marked on the pages and in `report.json`, and are left out of the
bundles. Importing this package is cheap: nbformat, nbconvert and jupytext load when used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ValidationFailed
from ..model import Diagnostic, Lesson, LessonResult, Status, Workshop
from ._io import ExportError, copy_tree, fsync_tree, write_text
from .bundles import Bundle

__all__ = ["ExportError", "ExportResult", "export_workshop", "report_data"]

GENERATOR = f"workshopkit {__version__}"
REPORT_NAME = "report.json"


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What `export_workshop` wrote."""

    dest: Path
    files: tuple[Path, ...]
    bundles: tuple[Bundle, ...]
    exported: tuple[str, ...]  # ids of lessons with files in lessons/<id>/
    left_out: tuple[str, ...]  # ids of failed lessons: marked, no files, not in bundles
    diagnostics: tuple[Diagnostic, ...] = ()  # asset warnings, what a deck left out


def _by_id(results: Iterable[LessonResult] | Mapping[str, LessonResult]) -> dict[str, LessonResult]:
    if isinstance(results, Mapping):
        return dict(results)
    return {r.lesson_id: r for r in results}


def report_data(
    workshop: Workshop,
    results: Mapping[str, LessonResult],
    bundles: Iterable[Bundle] = (),
    exported: Iterable[str] = (),
) -> dict[str, Any]:
    """`report.json`: each lesson's status, seconds, error {path, line, cell, ename, evalue}."""
    done = set(exported)
    lessons = []
    for lesson in workshop.lessons:
        result = results.get(lesson.id)
        entry: dict[str, Any] = (
            result.to_json()
            if result is not None
            else {
                "id": lesson.id,
                "path": lesson.relpath,
                "status": "not-run",
                "seconds": 0.0,
                "cached": False,
                "reason": "not run in this build",
                "error": None,
                "warnings": [],
            }
        )
        _scrub_entry(entry)
        entry["title"] = lesson.meta.title
        entry["level"] = lesson.meta.level.value
        entry["minutes"] = lesson.meta.minutes
        entry["exported"] = lesson.id in done
        lessons.append(entry)
    counts = {status.value: 0 for status in Status}
    for entry in lessons:
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    by_track = {b.track_id: b for b in bundles}
    tracks = []
    for track in workshop.tracks:
        bundle = by_track.get(track.id)
        tracks.append(
            {
                "id": track.id,
                "title": track.title,
                "minutes": track.minutes,
                "lessons": [lesson.id for lesson in track.lessons],
                "left_out": [lesson.id for lesson in track.lessons if lesson.id not in done],
                "bundle": (
                    {"file": bundle.name, "size": bundle.size, "sha256": bundle.sha256}
                    if bundle
                    else None
                ),
            }
        )
    return {
        "generator": GENERATOR,
        "workshop": workshop.config.title,
        "status": "failed" if counts.get("failed") else "passed",
        "summary": counts,
        "lessons": lessons,
        "tracks": tracks,
    }


def _scrub_entry(entry: dict[str, Any]) -> None:
    """No local path of the builder in a report entry's error and warnings."""
    from .scrub import scrub_text

    error = entry.get("error")
    if isinstance(error, dict):
        for key in ("evalue", "traceback", "message"):
            if isinstance(error.get(key), str):
                error[key] = scrub_text(error[key])
    if isinstance(entry.get("warnings"), list):
        entry["warnings"] = [scrub_text(w) if isinstance(w, str) else w for w in entry["warnings"]]
    if isinstance(entry.get("reason"), str):
        entry["reason"] = scrub_text(entry["reason"])


def export_workshop(
    workshop: Workshop,
    results: Iterable[LessonResult] | Mapping[str, LessonResult],
    dest: Path,
    *,
    source_date_epoch: int | None = None,
) -> ExportResult:
    """Write the dist layout into `dest` (an empty folder). Raises `ExportError` (exit 3) when a
    file cannot be written, naming it, and `ValidationFailed` (exit 2) for unsafe assets."""
    from ..load import to_notebook
    from .assets import lesson_assets, requirements_file
    from .bundles import track_bundle, write_sha256sums
    from .events import write_events
    from .notebooks import read_notebook, write_lesson
    from .sanitize import deck_diagnostics
    from .scrub import scrub_outputs
    from .site import site_css_path, write_site
    from .slides import static_dir, write_notebook_css

    by_id = _by_id(results)
    site_css_path()  # fail early if the package data is missing
    requirements, problems = requirements_file(workshop)
    diagnostics = list(problems)
    assets = {}
    for lesson in workshop.lessons:
        found, lesson_problems = lesson_assets(lesson, workshop)
        assets[lesson.id] = found
        diagnostics.extend(lesson_problems)
    if any(d.is_error for d in diagnostics):
        raise ValidationFailed(sorted(set(diagnostics)))

    dest.mkdir(parents=True, exist_ok=True)
    files: list[Path] = copy_tree(static_dir(), dest / "_static")
    files.append(write_notebook_css(dest / "_static"))
    exported: list[str] = []
    left_out: list[str] = []
    passed: dict[str, Any] = {}  # executed notebooks of the lessons that passed, for event decks
    for lesson in workshop.lessons:
        result = by_id.get(lesson.id)
        if result is None or result.status is Status.FAILED:
            left_out.append(lesson.id)
            continue
        executed = None
        if result.status is Status.PASSED and result.notebook is not None:
            executed = scrub_outputs(read_notebook(result.notebook))
            passed[lesson.id] = executed
        deck_source = executed if executed is not None else to_notebook(lesson)
        diagnostics.extend(deck_diagnostics(lesson, deck_source))
        files.extend(
            write_lesson(
                lesson, executed, assets[lesson.id], dest, diagnostics=diagnostics, shared_css=True
            )
        )
        exported.append(lesson.id)

    done = set(exported)
    with_math = _decks_with_math(dest, exported)
    bundles = []
    for track in workshop.tracks:
        included = [lesson for lesson in track.lessons if lesson.id in done]
        missing = [lesson for lesson in track.lessons if lesson.id not in done]
        bundle = track_bundle(
            dest,
            workshop.config.title,
            track,
            included,
            missing,
            requirements=requirements,
            source_date_epoch=source_date_epoch,
            static_skip=_static_not_needed(included, with_math),
        )
        bundles.append(bundle)
        files.append(bundle.path)
    files.append(write_sha256sums(dest, bundles))
    files.extend(write_site(workshop, by_id, done, {b.track_id: b for b in bundles}, dest))
    files.extend(write_events(workshop, by_id, done, passed, dest))
    report = report_data(workshop, by_id, bundles, exported)
    files.append(write_text(dest / REPORT_NAME, json.dumps(report, indent=2) + "\n"))
    fsync_tree(dest)
    return ExportResult(
        dest=dest,
        files=tuple(files),
        bundles=tuple(bundles),
        exported=tuple(exported),
        left_out=tuple(left_out),
        diagnostics=tuple(sorted(set(diagnostics))),
    )


def _decks_with_math(dest: Path, lesson_ids: Iterable[str]) -> set[str]:
    """The lessons whose deck, as written in `dest`, loads KaTeX (each deck read once)."""
    from .notebooks import slides_path
    from .slides import KATEX_STYLESHEET

    found = set()
    for lesson_id in lesson_ids:
        deck = dest / slides_path(lesson_id)
        if deck.is_file() and KATEX_STYLESHEET in deck.read_text(encoding="utf-8"):
            found.add(lesson_id)
    return found


def _static_not_needed(lessons: Iterable[Lesson], with_math: set[str]) -> tuple[str, ...]:
    """What a track's zip leaves out of `_static/`: the site's stylesheet (the zip has no site
    pages), and KaTeX (0.6 MB) when none of the track's decks has math."""
    from .site import SITE_CSS

    if any(lesson.id in with_math for lesson in lessons):
        return (SITE_CSS,)
    return (SITE_CSS, "katex")
