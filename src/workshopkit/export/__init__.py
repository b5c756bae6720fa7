"""Stage 6, export: write the whole `dist/` layout of DESIGN.md §5 into an empty folder.

```
index.html, <track-id>/index.html     export.site
report.json                           report.report_json (one schema for every writer)
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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ValidationFailed
from ..model import Diagnostic, Lesson, LessonResult, Status, Workshop
from ..report import ReportFacts, report_json
from ._io import ExportError, copy_tree, fsync_tree, write_text
from .bundles import Bundle

if TYPE_CHECKING:
    from ..wheelhouse import Wheelhouse

__all__ = ["ExportError", "ExportResult", "export_workshop"]

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


def bundle_json(bundle: Bundle) -> dict[str, Any]:
    """A track's zip as `report.json` lists it."""
    return {"file": bundle.name, "size": bundle.size, "sha256": bundle.sha256}


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
    facts: ReportFacts | None = None,
    wheelhouse: Wheelhouse | None = None,
) -> ExportResult:
    """Write the dist layout into `dest` (an empty folder). Raises `ExportError` (exit 3) when a
    file cannot be written, naming it, and `ValidationFailed` (exit 2) for unsafe assets.
    `facts` is what `report.json` says beyond the lessons (the command, its exit code, times)."""
    from .bundles import Install, track_bundle, write_sha256sums
    from .events import write_events
    from .site import site_css_path, write_site
    from .slides import static_dir, write_notebook_css

    by_id = _by_id(results)
    site_css_path()  # fail early if the package data is missing
    requirements, assets, diagnostics = _checked_assets(workshop)
    dest.mkdir(parents=True, exist_ok=True)
    files: list[Path] = copy_tree(static_dir(), dest / "_static")
    files.append(write_notebook_css(dest / "_static"))
    passed: dict[str, Any] = {}  # executed notebooks of the lessons that passed, for event decks
    setup = _launch_setup(workshop, requirements, dest, files)
    exported = _write_lessons(workshop, by_id, assets, dest, files, diagnostics, passed, setup)
    left_out = [lesson.id for lesson in workshop.lessons if lesson.id not in exported]
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
            wheelhouse=wheelhouse,
        )
        bundles.append(bundle)
        files.append(bundle.path)
    files.append(write_sha256sums(dest, bundles))
    bundles_by_id = {b.track_id: b for b in bundles}
    install = Install(requirements is not None, wheelhouse)
    files.extend(write_site(workshop, by_id, done, bundles_by_id, dest, install=install))
    files.extend(write_events(workshop, by_id, done, passed, dest, install=install))
    facts = replace(
        facts or ReportFacts(),
        diagnostics=tuple(sorted({*(facts.diagnostics if facts else ()), *diagnostics})),
    )
    tracks = {b.track_id: bundle_json(b) for b in bundles}
    report = report_json(workshop, workshop.lessons, by_id, facts, exported=done, bundles=tracks)
    for entry in report["lessons"]:
        _scrub_entry(entry)  # dist/ is published: no local path of the builder in it
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


def _launch_setup(
    workshop: Workshop, requirements: Path | None, dest: Path, files: list[Path]
) -> str | None:
    """With `[launch]`: `requirements.txt` at the dist root (Binder builds from it) and the
    learner notebooks' Colab setup cell; None without `[launch]`."""
    from ..launch import colab_setup_source
    from ..requirements import read_requirements
    from ._io import copy_file

    if workshop.config.launch is None:
        return None
    if requirements is None:
        return colab_setup_source(())
    files.append(copy_file(requirements, dest / "requirements.txt"))
    found = read_requirements(requirements, workshop.root)
    return colab_setup_source(found.install_args())


def _checked_assets(workshop: Workshop) -> tuple[Path | None, dict[str, Any], list[Diagnostic]]:
    """The requirements file and each lesson's assets, with the problems found; raises
    `ValidationFailed` if one is an error (an asset outside the workshop, say)."""
    from .assets import lesson_assets, requirements_file

    requirements, problems = requirements_file(workshop)
    diagnostics = list(problems)
    assets = {}
    for lesson in workshop.lessons:
        found, lesson_problems = lesson_assets(lesson, workshop)
        assets[lesson.id] = found
        diagnostics.extend(lesson_problems)
    if any(d.is_error for d in diagnostics):
        raise ValidationFailed(sorted(set(diagnostics)))
    return requirements, assets, diagnostics


def _write_lessons(
    workshop: Workshop,
    by_id: Mapping[str, LessonResult],
    assets: Mapping[str, Any],
    dest: Path,
    files: list[Path],
    diagnostics: list[Diagnostic],
    passed: dict[str, Any],
    setup_cell: str | None = None,
) -> list[str]:
    """Write each lesson that did not fail into `lessons/<id>/` and return their ids; appends to
    `files`, `diagnostics` (what a deck left out) and `passed` (executed notebooks)."""
    from ..load import to_notebook
    from .notebooks import read_notebook, write_lesson
    from .sanitize import deck_diagnostics
    from .scrub import scrub_outputs

    exported: list[str] = []
    for lesson in workshop.lessons:
        result = by_id.get(lesson.id)
        if result is None or result.status is Status.FAILED:
            continue
        executed = None
        if result.status is Status.PASSED and result.notebook is not None:
            executed = scrub_outputs(read_notebook(result.notebook))
            passed[lesson.id] = executed
        deck_source = executed if executed is not None else to_notebook(lesson)
        diagnostics.extend(deck_diagnostics(lesson, deck_source))
        files.extend(
            write_lesson(
                lesson,
                executed,
                assets[lesson.id],
                dest,
                diagnostics=diagnostics,
                shared_css=True,
                setup_cell=setup_cell,
            )
        )
        exported.append(lesson.id)
    return exported


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
