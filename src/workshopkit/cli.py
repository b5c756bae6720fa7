"""The command line: the only module that imports click. Heavy stages are imported lazily."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__
from .errors import ExitCode, WorkshopkitError
from .model import LEVEL_NAMES

PATH_ARG = click.Path(path_type=Path)


def _fail(error: WorkshopkitError) -> NoReturn:
    click.echo(f"error: {error}", err=True)
    sys.exit(int(error.exit_code))


def _open(
    path: Path, only: tuple[Path, ...] = (), *, stdout_is_data: bool = False, strict: bool = False
) -> Any:
    """Run the cheap stages and print their diagnostics; exit 2 if the workshop is invalid.

    GitHub annotations go to stdout, except when stdout carries data (`list --json`).
    """
    from .pipeline import open_workshop
    from .report import diagnostics_summary, github_annotation, in_github_actions

    opened = open_workshop(path, only, strict=strict)
    for diagnostic in opened.diagnostics:
        click.echo(str(diagnostic), err=True)
        if in_github_actions():
            kind = "error" if diagnostic.is_error else "warning"
            click.echo(
                github_annotation(kind, diagnostic.path, diagnostic.line, diagnostic.message),
                err=stdout_is_data,
            )
    if opened.workshop is None:
        click.echo(diagnostics_summary(opened.diagnostics, opened.lesson_count), err=True)
        sys.exit(int(ExitCode.INVALID))
    return opened


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="workshopkit")
def cli() -> None:
    """Turn lessons written as plain Python files into a tested, packaged workshop.

    \b
    Exit codes: 0 all lessons passed, 1 a lesson failed, 2 invalid input,
    3 infrastructure (kernel, disk, template), 130 interrupted.
    """


STRICT_HELP = "Make every warning an error [default: [execution] strict, else off]."


@cli.command()
@click.argument("path", type=PATH_ARG, default=Path())
@click.option("--strict", is_flag=True, help=STRICT_HELP)
def check(path: Path, strict: bool) -> None:
    """Validate the workshop at PATH without starting a kernel."""
    from .events import plan_programme
    from .report import diagnostics_summary

    opened = _open(path, strict=strict)
    for event in opened.workshop.config.events:
        programme = plan_programme(event, opened.workshop)
        budget = f" of {event.minutes}" if event.minutes else ""
        click.echo(
            f"event {event.id}: {programme.minutes}{budget} min in {len(programme.items)} items "
            "(slide limits and must_show_code are checked by run and build: they need the "
            "executed notebooks)",
            err=True,
        )
    click.echo(diagnostics_summary(opened.diagnostics, opened.lesson_count), err=True)


@cli.command(name="list")
@click.argument("path", type=PATH_ARG, default=Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--events", "events", is_flag=True, help="Print the event programmes instead.")
def list_(path: Path, as_json: bool, events: bool) -> None:
    """Print each track and its lessons in teaching order (or each event's programme)."""
    from .report import print_events, print_tracks

    opened = _open(path, stdout_is_data=as_json)
    if events:
        print_events(opened.workshop, sys.stdout, as_json=as_json)
    else:
        print_tracks(opened.workshop, sys.stdout, as_json=as_json)


def _parameters(values: tuple[str, ...]) -> dict[str, Any]:
    from .config import parse_parameter

    parsed: dict[str, Any] = {}
    for text in values:
        try:
            name, value = parse_parameter(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="-p/--parameter") from None
        parsed[name] = value
    return parsed


class _Terminated(BaseException):
    """SIGTERM, turned into an exception so that kernels are killed on the way out."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated


@contextlib.contextmanager
def _stopping_kernels(note: str) -> Iterator[None]:
    """Ctrl-C or SIGTERM inside: exit 130/143 (the executor has already killed every kernel)."""
    import signal

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: every kernel was stopped{note}", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except _Terminated:
        click.echo(f"\nterminated: every kernel was stopped{note}", err=True)
        sys.exit(int(ExitCode.TERMINATED))
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_options(func: Any) -> Any:
    """The execution options shared by `run` and `build`, defined once."""
    options = [
        click.option(
            "-j",
            "--jobs",
            type=click.IntRange(min=1),
            help="Lessons run at once [default: [execution] jobs, else 2].",
        ),
        click.option(
            "--timeout",
            type=click.IntRange(min=1),
            help="Seconds per cell [default: [execution] timeout].",
        ),
        click.option(
            "--lesson-timeout",
            type=click.IntRange(min=1),
            help="Seconds per lesson [default: [execution] lesson_timeout].",
        ),
        click.option(
            "-p",
            "--parameter",
            "parameters",
            multiple=True,
            metavar="NAME=VALUE",
            help="Set a value in each lesson's parameters cell (a Python literal); repeatable.",
        ),
        click.option(
            "-k",
            "--kernel",
            help="Kernel for every lesson [default: [execution] kernel, else the lesson's "
            "kernelspec].",
        ),
        click.option(
            "--no-cache",
            is_flag=True,
            help="Run every lesson even if its cached result is still valid.",
        ),
        click.option(
            "--require-gpu",
            is_flag=True,
            help="Fail GPU lessons where no GPU is visible instead of skipping them.",
        ),
        click.option("--strict", is_flag=True, help=STRICT_HELP),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _make_options(kw: dict[str, Any]) -> Any:
    from .execute import RunOptions

    return RunOptions(
        jobs=kw["jobs"],
        timeout=kw["timeout"],
        lesson_timeout=kw["lesson_timeout"],
        parameters=_parameters(kw["parameters"]),
        kernel=kw["kernel"],
        use_cache=not kw["no_cache"],
        require_gpu=kw["require_gpu"],
        strict=kw["strict"],
    )


@cli.command()
@click.argument("paths", type=PATH_ARG, nargs=-1)
@run_options
@click.option("--junit-xml", type=PATH_ARG, help="Also write a JUnit XML report to this file.")
@click.option(
    "--report",
    "report_path",
    type=PATH_ARG,
    help="Where to write report.json [default: .workshopkit/report.json].",
)
def run(
    paths: tuple[Path, ...], junit_xml: Path | None, report_path: Path | None, **kw: Any
) -> None:
    """Execute every lesson of the workshop (or the lessons and folders given).

    Failures name the lesson's source line: lessons/intro.py:42 (cell 3): ValueError: boom
    """

    # Ctrl-C or SIGTERM anywhere (while kernels run, or while reports are written) ends with
    # 130/143; run_lessons kills every kernel on the way out, and reports are written
    # atomically, so the previous report.json stays intact.
    with _stopping_kernels(""):
        _run(paths, junit_xml, report_path, kw)


def _run(
    paths: tuple[Path, ...], junit_xml: Path | None, report_path: Path | None, kw: dict[str, Any]
) -> NoReturn:
    from .errors import InfrastructureError
    from .execute import report_json, run_lessons
    from .fileio import write_text_atomic
    from .progress import RunDisplay
    from .report import error_annotations, in_github_actions, write_json_atomic
    from .report import junit_xml as to_junit

    start = paths[0] if paths else Path()
    opened = _open(
        start if start.is_dir() else start.parent, tuple(p for p in paths), strict=kw["strict"]
    )
    workshop = opened.workshop
    options = _make_options(kw)
    target = report_path or workshop.root / ".workshopkit" / "report.json"
    display = RunDisplay(len(opened.selected))
    try:
        with display:
            report = run_lessons(workshop, opened.selected, options, on_event=display.on_event)
    except InfrastructureError as error:
        # Before any lesson ran (no such kernel): still replace the last report, so that CI never
        # reads an old success.
        write_json_atomic(target, _infrastructure_report(workshop, error))
        if in_github_actions():
            click.echo(_annotation(error))
        _fail(error)
    display.summary(report)
    report = _check_decks(opened.workshop, report)
    write_json_atomic(target, report_json(report, workshop))
    if junit_xml is not None:
        write_text_atomic(junit_xml, to_junit(report.results, report.seconds))
    if in_github_actions():
        for line in error_annotations(report.results):
            click.echo(line)
    sys.exit(int(report.exit_code))


def _infrastructure_report(workshop: Any, error: WorkshopkitError) -> dict[str, Any]:
    import platform

    return {
        "workshop": workshop.config.title,
        "python": platform.python_version(),
        "seconds": 0.0,
        "kernels_started": 0,
        "exit_code": int(error.exit_code),
        "error": str(error),
        "rule_errors": [],
        "lessons": [],
    }


def _annotation(error: WorkshopkitError) -> str:
    from .report import github_annotation

    return github_annotation("error", error.path or "workshop.toml", error.line, error.message)


def _check_decks(workshop: Any, report: Any) -> Any:
    """Event rules that need executed notebooks; a broken rule fails the run (exit 1)."""
    from dataclasses import replace

    from .events import check_decks

    problems = check_decks(workshop, report.results)
    for problem in problems:
        click.echo(str(problem), err=True)
    if any(p.is_error for p in problems):
        return replace(report, rule_errors=tuple(str(p) for p in problems if p.is_error))
    return report


@cli.command()
@click.argument("path", type=PATH_ARG, default=Path())
@click.option(
    "-o", "--output", type=PATH_ARG, help="Output folder [default: dist/ in the workshop]."
)
@click.option(
    "--keep-going",
    is_flag=True,
    help="Write dist/ even when lessons fail (they are marked and left out of bundles).",
)
@run_options
def build(path: Path, output: Path | None, keep_going: bool, **kw: Any) -> None:
    """Check, run and export the workshop into dist/: index page, notebooks, slides, zips.

    dist/ is replaced only when everything succeeded; a failed or interrupted build leaves the
    previous one as it was.
    """

    from .build import build as build_workshop
    from .progress import RunDisplay
    from .report import error_annotations, in_github_actions

    options = _make_options(kw)
    display = RunDisplay(0)
    with _stopping_kernels("; dist/ is as it was"), display:
        outcome = build_workshop(
            path, output, options, keep_going=keep_going, on_event=display.on_event
        )
    for diagnostic in outcome.diagnostics:
        click.echo(str(diagnostic), err=True)
    if outcome.results:
        display.summary_of(outcome.results, outcome.seconds, outcome.kernels_started)
    for message in outcome.messages:
        click.echo(message, err=True)
    if in_github_actions():
        from .report import github_annotation

        for diagnostic in outcome.diagnostics:
            kind = "error" if diagnostic.is_error else "warning"
            click.echo(
                github_annotation(kind, diagnostic.path, diagnostic.line, diagnostic.message)
            )
        for line in error_annotations(outcome.results):
            click.echo(line)
    sys.exit(int(outcome.exit_code))


@cli.group()
def new() -> None:
    """Create a lesson or a workshop from the commented starters."""


@new.command(name="lesson")
@click.argument("path", type=PATH_ARG)
@click.option("--title", "-t", required=True, help="The lesson's title.")
@click.option(
    "--level",
    "-l",
    type=click.Choice(LEVEL_NAMES),
    default="beginner",
    show_default=True,
    help="Who the lesson is for.",
)
@click.option("--id", "lesson_id", help="The lesson id (default: from the file name or title).")
def new_lesson_cmd(path: Path, title: str, level: str, lesson_id: str | None) -> None:
    """Write a starter lesson at PATH (a .py file, or a folder)."""
    from .starters import new_lesson

    try:
        target = new_lesson(path, title, level, lesson_id)
    except WorkshopkitError as error:
        _fail(error)
    click.echo(f"wrote {target}; next: workshopkit check {target.parent}")


@new.command(name="workshop")
@click.argument("folder", type=PATH_ARG)
@click.option("--title", "-t", help="The workshop's title.")
def new_workshop_cmd(folder: Path, title: str | None) -> None:
    """Write a starter workshop into FOLDER: workshop.toml, a lesson, CI workflow, guides."""
    from .starters import new_workshop

    try:
        written = new_workshop(folder, title)
    except WorkshopkitError as error:
        _fail(error)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"next: workshopkit check {folder}")


@cli.command(name="import")
@click.argument("notebooks", type=PATH_ARG, nargs=-1, required=True)
@click.option(
    "--to",
    "to",
    type=PATH_ARG,
    default=Path(),
    help="Folder to write the lessons into, each as <id>/<id>.py [default: the current folder].",
)
@click.option(
    "--level",
    "-l",
    type=click.Choice(LEVEL_NAMES),
    help="Level of every lesson imported [default: beginner, with a warning].",
)
@click.option("--force", is_flag=True, help="Overwrite lessons and files an earlier import wrote.")
def import_cmd(notebooks: tuple[Path, ...], to: Path, level: str | None, force: bool) -> None:
    """Turn notebooks (.ipynb, MyST or Markdown .md, jupytext .py) into lessons.

    Each becomes TO/<id>/<id>.py with the files it references beside it. What needs your eye
    (saved errors, downloads, cell magics, widgets, input(), absolute paths) is reported at the
    line of the written lesson. Exit 2 if a notebook was not imported.
    """
    from .importer import ImportOptions, display_path, import_notebooks

    result = import_notebooks(notebooks, ImportOptions(to=to, level=level, force=force))
    for lesson in result.lessons:
        files = len(lesson.assets)
        extra = f", {files} file{'s' if files != 1 else ''} beside it" if files else ""
        click.echo(
            f"imported {lesson.source} -> {display_path(lesson.path)} "
            f"(id {lesson.id}, {lesson.minutes} min{extra})"
        )
    for finding in result.findings:
        click.echo(str(finding), err=True)
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(result.counts.items()))
    failed = result.notebooks - len(result.lessons)
    click.echo(
        f"imported {len(result.lessons)} of {result.notebooks} notebooks"
        + (f", {failed} not imported" if failed else "")
        + f"; {sum(result.counts.values())} warnings"
        + (f" ({counts})" if counts else ""),
        err=True,
    )
    if result.lessons:
        click.echo(f"next: workshopkit check {display_path(to)}", err=True)
    sys.exit(int(result.exit_code))


def main(argv: list[str] | None = None) -> None:
    from .errors import unsupported_platform

    if (problem := unsupported_platform()) is not None:
        click.echo(f"error: {problem}", err=True)
        sys.exit(int(ExitCode.INFRASTRUCTURE))
    cli.main(args=argv, prog_name="workshopkit")
