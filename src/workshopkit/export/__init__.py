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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ValidationFailed
from ..model import Diagnostic, Lesson, LessonResult, Status, Workshop
from ..report import ReportFacts, report_json
from ._io import ExportError, copy_tree, durable, fsync_tree, write_text
from .bundles import Bundle

if TYPE_CHECKING:
    from ..wheelhouse import Wheelhouse
    from .bundles import Install
    from .incremental import ExportState

__all__ = ["ExportError", "ExportResult", "export_workshop", "save_export_state"]

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
    state: ExportState | None = None  # what to record once `dest` is in place
    deferred: tuple[str, ...] = ()  # with `defer`: units carried over stale (export.incremental)


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
    previous: Path | None = None,
    wheelhouse: Wheelhouse | None = None,
    defer: bool | Callable[[], bool] = False,
    flushed: bool = True,
    keep_failed: bool = False,
) -> ExportResult:
    """Write the dist layout into `dest` (an empty folder). Raises `ExportError` (exit 3) when a
    file cannot be written, naming it, and `ValidationFailed` (exit 2) for unsafe assets.
    `facts` is what `report.json` says beyond the lessons (the command, its exit code, times).
    `previous` is the output folder `dest` will replace: what did not change since the build
    that wrote it is taken from there instead of rendered again (`export.incremental`); the
    result's `state` records this build once `dest` is in its place (`save_export_state`).
    `wheelhouse`: the wheels each zip carries (build --wheelhouse). With `defer` (serve's first
    pass), a zip or event deck whose inputs changed is carried over stale from `previous`
    (listed in the result's `deferred`); an export without it brings them up to date. A
    function: defer from when it returns True (serve: the author saved again).
    `flushed`: every file is flushed to disk (not for serve's preview). `keep_failed` (serve's
    preview): a failed lesson keeps the files the previous build wrote for it, unchanged, so
    the page an author has open stays; it is still left out of bundles, pages and event decks."""
    with durable(flushed):
        return _export(
            workshop,
            results,
            dest,
            source_date_epoch,
            facts,
            previous,
            wheelhouse,
            defer,
            keep_failed,
        )


def _export(  # export_workshop's arguments, once its files' durability is set
    workshop: Workshop,
    results: Iterable[LessonResult] | Mapping[str, LessonResult],
    dest: Path,
    source_date_epoch: int | None,
    facts: ReportFacts | None,
    previous: Path | None,
    wheelhouse: Wheelhouse | None,
    defer: bool | Callable[[], bool],
    keep_failed: bool,
) -> ExportResult:
    from .bundles import Install
    from .incremental import ExportState, code_identity, state_path
    from .site import site_css_path

    by_id = _by_id(results)
    site_css_path()  # fail early if the package data is missing
    requirements, assets, diagnostics = _checked_assets(workshop)
    dest.mkdir(parents=True, exist_ok=True)
    record = state_path(workshop.root, previous) if previous is not None else None
    state = ExportState(dest, previous, record, code_identity(), defer=defer)
    files = _write_static(state)
    setup, launch_files = _launch_setup(workshop, requirements, state)
    files.extend(launch_files)
    written = _write_lessons(workshop, by_id, assets, state, diagnostics, setup, keep_failed)
    files.extend(written.files)
    bundles = _write_bundles(workshop, written, state, requirements, source_date_epoch, wheelhouse)
    files.extend(bundle.path for bundle in bundles)
    files.append(_write_sums(dest, bundles))
    install = Install(requirements is not None, wheelhouse)
    files.extend(_write_pages(workshop, by_id, written, bundles, state, install))
    files.append(_write_report(workshop, by_id, written, bundles, facts, diagnostics, dest))
    fsync_tree(dest)
    exported = written.exported
    return ExportResult(
        dest=dest,
        files=tuple(files),
        bundles=tuple(bundles),
        exported=tuple(exported),
        left_out=tuple(lesson.id for lesson in workshop.lessons if lesson.id not in exported),
        diagnostics=tuple(sorted(set(diagnostics))),
        state=state,
        deferred=tuple(state.deferred),
    )


def save_export_state(exported: ExportResult, output: Path) -> None:
    """Record what this export wrote, once it is in place at `output` (after the swap)."""
    if exported.state is not None:
        exported.state.save(output)


@dataclass(frozen=True, slots=True)
class _Lessons:
    """What `_write_lessons` wrote: lesson ids in order, their files, which decks have math,
    and the executed notebooks of the lessons that passed (for event decks)."""

    exported: list[str]
    files: list[Path]
    with_math: set[str]
    notebooks: dict[str, Path]


def _write_static(state: ExportState) -> list[Path]:
    """`_static/`: the vendored files and the decks' shared notebook stylesheet."""
    from .slides import static_dir, write_notebook_css

    digest = state.digest("static")
    static = state.dest / "_static"
    if state.reuse("static", digest) is None:
        files = copy_tree(static_dir(), static)
        files.append(write_notebook_css(static))
        state.written("static", digest, files)
    return [state.dest / rel for rel, _ in state.file_digests("static")]


def _launch_setup(
    workshop: Workshop, requirements: Path | None, state: ExportState
) -> tuple[str | None, list[Path]]:
    """With `[launch]`: the learner notebooks' Colab setup cell, and `requirements.txt` at the
    dist root (Binder builds from it); (None, []) without `[launch]`."""
    from ..launch import colab_setup_source
    from ..requirements import read_requirements
    from ._io import copy_file
    from .incremental import sha256_file

    if workshop.config.launch is None:
        return None, []
    if requirements is None:
        return colab_setup_source(()), []
    found = read_requirements(requirements, workshop.root)
    digest = state.digest("launch", sha256_file(requirements))
    if state.reuse("launch", digest) is None:
        state.written("launch", digest, [copy_file(requirements, state.dest / "requirements.txt")])
    files = [state.dest / rel for rel, _ in state.file_digests("launch")]
    return colab_setup_source(found.install_args()), files


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
    state: ExportState,
    diagnostics: list[Diagnostic],
    setup_cell: str | None = None,
    keep_failed: bool = False,
) -> _Lessons:
    """Write each lesson that did not fail into `lessons/<id>/`, or take it from the previous
    build when nothing it is made of changed; appends what its deck left out to `diagnostics`.
    `keep_failed`: a failed lesson's files of the previous build are kept as they were."""
    from ..cache import CACHE_DIR, HASHES_NAME, FileHashes
    from .incremental import diagnostics_from, diagnostics_json, lesson_inputs

    hashes = FileHashes(workshop.root / CACHE_DIR / HASHES_NAME)
    done = _Lessons([], [], set(), {})
    for lesson in workshop.lessons:
        result = by_id.get(lesson.id)
        if result is None or result.status is Status.FAILED:
            if keep_failed and result is not None:
                state.stale(f"lesson:{lesson.id}")
            continue
        notebook = result.notebook if result.status is Status.PASSED else None
        unit = f"lesson:{lesson.id}"
        inputs = lesson_inputs(lesson, result.status.value, notebook, assets[lesson.id], hashes)
        digest = state.digest(unit, inputs, setup_cell)
        reused = state.reuse(unit, digest)
        if reused is None:
            found: list[Diagnostic] = []
            paths = _write_lesson(
                lesson, notebook, assets[lesson.id], state.dest, found, setup_cell
            )
            state.written(
                unit, digest, paths, diagnostics=diagnostics_json(found), math=_has_math(paths)
            )
            reused = state.units[unit]["extra"]
        diagnostics.extend(diagnostics_from(reused.get("diagnostics")))
        if reused.get("math"):
            done.with_math.add(lesson.id)
        if notebook is not None:
            done.notebooks[lesson.id] = notebook
        done.files.extend(state.dest / rel for rel, _ in state.file_digests(unit))
        done.exported.append(lesson.id)
    hashes.save()
    return done


def _write_lesson(
    lesson: Lesson,
    notebook: Path | None,
    assets: Any,
    dest: Path,
    diagnostics: list[Diagnostic],
    setup_cell: str | None = None,
) -> list[Path]:
    """Render one lesson's notebooks, deck and assets into `dest` (`setup_cell`: the learner
    notebook's first cell with `[launch]`)."""
    from ..load import to_notebook
    from .notebooks import read_notebook, write_lesson
    from .sanitize import deck_diagnostics
    from .scrub import scrub_outputs

    executed = scrub_outputs(read_notebook(notebook)) if notebook is not None else None
    deck_source = executed if executed is not None else to_notebook(lesson)
    diagnostics.extend(deck_diagnostics(lesson, deck_source))
    return write_lesson(
        lesson,
        executed,
        assets,
        dest,
        diagnostics=diagnostics,
        shared_css=True,
        setup_cell=setup_cell,
    )


def _write_bundles(
    workshop: Workshop,
    written: _Lessons,
    state: ExportState,
    requirements: Path | None,
    source_date_epoch: int | None,
    wheelhouse: Wheelhouse | None = None,
) -> list[Bundle]:
    """One zip per track, of the lessons exported, or the previous build's when every file it
    holds, and everything its README says, is unchanged."""
    from .bundles import track_bundle
    from .incremental import sha256_file

    done = set(written.exported)
    required = sha256_file(requirements) if requirements is not None else None
    shared = [[str(requirements), required], source_date_epoch, _wheels_identity(wheelhouse)]
    bundles = []
    for track in workshop.tracks:
        included = [lesson for lesson in track.lessons if lesson.id in done]
        missing = [lesson for lesson in track.lessons if lesson.id not in done]
        skip = _static_not_needed(included, written.with_math)
        unit = f"bundle:{track.id}"
        digest = state.digest(
            unit,
            [workshop.config.title, track.id, track.title, track.description],
            [[lesson.id, repr(lesson.meta)] for lesson in included],
            [lesson.id for lesson in missing],
            shared,
            skip,
            state.file_digests("static", *(f"lesson:{lesson.id}" for lesson in included)),
        )
        reused = state.carry(unit, digest)
        if reused is not None:
            size, sha, count = int(reused["size"]), str(reused["sha256"]), int(reused["entries"])
            bundles.append(Bundle(track.id, state.dest / f"{track.id}.zip", size, sha, count))
            continue
        bundle = track_bundle(
            state.dest,
            workshop.config.title,
            track,
            included,
            missing,
            requirements=requirements,
            source_date_epoch=source_date_epoch,
            static_skip=skip,
            wheelhouse=wheelhouse,
        )
        extra = {"size": bundle.size, "sha256": bundle.sha256, "entries": bundle.entries}
        state.written(unit, digest, [bundle.path], **extra)
        bundles.append(bundle)
    return bundles


def _wheels_identity(wheelhouse: Wheelhouse | None) -> list[Any] | None:
    """What a zip's wheels are, for its digest: the target and each wheel's name and size (a
    wheel's name carries its version and tags; PyPI never replaces a file under one name)."""
    if wheelhouse is None:
        return None
    return [wheelhouse.describe(), [[w.name, w.stat().st_size] for w in wheelhouse.wheels]]


def _write_sums(dest: Path, bundles: list[Bundle]) -> Path:
    from .bundles import write_sha256sums

    return write_sha256sums(dest, bundles)


def _write_pages(
    workshop: Workshop,
    by_id: Mapping[str, LessonResult],
    written: _Lessons,
    bundles: list[Bundle],
    state: ExportState,
    install: Install | None = None,
) -> list[Path]:
    """The index and track pages, and each event's page and combined deck: rendered when what
    they show changed, else taken from the previous build."""
    from .site import site_view, write_site

    done = set(written.exported)
    by_track = {b.track_id: b for b in bundles}
    views = [
        site_view(workshop, by_id, done, by_track, root=r, install=install) for r in ("", "../")
    ]
    digest = state.digest("site", [repr(v) for v in views], [t.id for t in workshop.tracks])
    if state.reuse("site", digest) is None:
        pages = write_site(workshop, by_id, done, by_track, state.dest, install=install)
        state.written("site", digest, pages)
    files = [state.dest / rel for rel, _ in state.file_digests("site")]
    if workshop.config.events:
        files.extend(_write_events(workshop, by_id, written, state, install))
    return files


def _write_events(
    workshop: Workshop,
    by_id: Mapping[str, LessonResult],
    written: _Lessons,
    state: ExportState,
    install: Install | None = None,
) -> list[Path]:
    """Each event's combined deck (a unit per event: the event and its talks' lessons) and the
    programme pages (one unit: the views they print)."""
    from .events import (
        deck_names,
        event_deck_inputs,
        event_page_inputs,
        write_event_deck,
        write_event_pages,
    )

    executed = _Executed(written.notebooks)
    lesson_units = {
        lesson_id: state.units.get(f"lesson:{lesson_id}", {}).get("digest")
        for lesson_id in written.exported
    }
    done = set(written.exported)

    def talks_exported(extra: dict[str, Any]) -> bool:
        """A deck carried over stale links into its talks' folders: they must still be there."""
        talks = extra.get("talks")
        return isinstance(talks, list) and set(talks) <= done

    decks: list[Path] = []
    for event in workshop.config.events:
        unit = f"event-deck:{event.id}"
        inputs = event_deck_inputs(event, workshop, lesson_units)
        digest = state.digest(unit, inputs)
        if state.carry(unit, digest, talks_exported) is None:
            files = write_event_deck(event, workshop, executed, state.dest)
            state.written(unit, digest, files, talks=[talk for talk, _ in inputs[1]])
        decks.extend(state.dest / rel for rel, _ in state.file_digests(unit))
    names = deck_names(workshop, decks, state.dest)
    inputs = event_page_inputs(workshop, by_id, done, names, install)
    digest = state.digest("event-pages", inputs)
    if state.reuse("event-pages", digest) is None:
        pages = write_event_pages(workshop, by_id, done, names, state.dest, install=install)
        state.written("event-pages", digest, pages)
    return decks + [state.dest / rel for rel, _ in state.file_digests("event-pages")]


class _Executed(Mapping[str, Any]):
    """The executed notebooks of the lessons that passed, scrubbed, read when first asked for."""

    def __init__(self, paths: Mapping[str, Path]) -> None:
        self.paths = paths
        self.read: dict[str, Any] = {}

    def __getitem__(self, lesson_id: str) -> Any:
        if lesson_id not in self.read:
            from .notebooks import read_notebook
            from .scrub import scrub_outputs

            self.read[lesson_id] = scrub_outputs(read_notebook(self.paths[lesson_id]))
        return self.read[lesson_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)


def _write_report(
    workshop: Workshop,
    by_id: Mapping[str, LessonResult],
    written: _Lessons,
    bundles: list[Bundle],
    facts: ReportFacts | None,
    diagnostics: list[Diagnostic],
    dest: Path,
) -> Path:
    """`report.json`, with no local path of the builder in it (dist/ is published)."""
    facts = replace(
        facts or ReportFacts(),
        diagnostics=tuple(sorted({*(facts.diagnostics if facts else ()), *diagnostics})),
    )
    tracks = {b.track_id: bundle_json(b) for b in bundles}
    done = set(written.exported)
    report = report_json(workshop, workshop.lessons, by_id, facts, exported=done, bundles=tracks)
    for entry in report["lessons"]:
        _scrub_entry(entry)
    return write_text(dest / REPORT_NAME, json.dumps(report, indent=2) + "\n")


def _has_math(paths: Iterable[Path]) -> bool:
    """Whether the deck among `paths` loads KaTeX."""
    from .slides import KATEX_STYLESHEET

    return any(
        p.name.endswith(".slides.html") and KATEX_STYLESHEET in p.read_text(encoding="utf-8")
        for p in paths
    )


def _static_not_needed(lessons: Iterable[Lesson], with_math: set[str]) -> tuple[str, ...]:
    """What a track's zip leaves out of `_static/`: the site's stylesheet (the zip has no site
    pages), and KaTeX (0.6 MB) when none of the track's decks has math."""
    from .site import SITE_CSS

    if any(lesson.id in with_math for lesson in lessons):
        return (SITE_CSS,)
    return (SITE_CSS, "katex")
