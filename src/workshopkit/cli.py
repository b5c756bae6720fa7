"""The command line: the only module that imports click. Heavy stages are imported lazily."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from . import __version__
from .errors import ExitCode, WorkshopkitError
from .model import LEVEL_NAMES

if TYPE_CHECKING:
    from .pipeline import Job, Outcome, Stage

PATH_ARG = click.Path(path_type=Path)


def _fail(error: WorkshopkitError) -> NoReturn:
    click.echo(f"error: {error}", err=True)
    sys.exit(int(error.exit_code))


def _checked(path: Path, *, stdout_is_data: bool = False, strict: bool = False) -> Any:
    """Run the CHECK stages and print every diagnostic; exit 2 if the workshop is invalid.

    GitHub annotations go to stdout, except when stdout carries data (`list --json`).
    """
    from .pipeline import CHECK, Job, run_pipeline
    from .report import diagnostics_summary

    outcome = run_pipeline(CHECK, Job(path, command="check", strict=strict))
    for diagnostic in outcome.diagnostics:
        click.echo(str(diagnostic), err=True)
    _annotate(outcome, err=stdout_is_data)
    if outcome.workshop is None:
        click.echo(diagnostics_summary(outcome.diagnostics, outcome.lesson_count), err=True)
        sys.exit(int(outcome.exit_code))
    return outcome


def _annotate(outcome: Outcome, *, err: bool = False) -> None:
    """`::error file=...,line=...::` lines for GitHub Actions: every diagnostic, an error that
    stopped the command, every broken event rule and every failed lesson."""
    from .errors import InfrastructureError
    from .report import error_annotations, github_annotation, in_github_actions

    if not in_github_actions():
        return
    for diagnostic in (*outcome.diagnostics, *outcome.rule_breaks):
        kind = "error" if diagnostic.is_error else "warning"
        line = github_annotation(kind, diagnostic.path, diagnostic.line, diagnostic.message)
        click.echo(line, err=err)
    error = outcome.error
    if isinstance(error, InfrastructureError):
        where = error.path or "workshop.toml"
        click.echo(github_annotation("error", where, error.line, error.message), err=err)
    for line in error_annotations(outcome.results):
        click.echo(line, err=err)


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

    outcome = _checked(path, strict=strict)
    for event in outcome.workshop.config.events:
        programme = plan_programme(event, outcome.workshop)
        budget = f" of {event.minutes}" if event.minutes else ""
        click.echo(
            f"event {event.id}: {programme.minutes}{budget} min in {len(programme.items)} items "
            "(slide limits and must_show_code are checked by run and build: they need the "
            "executed notebooks)",
            err=True,
        )
    click.echo(diagnostics_summary(outcome.diagnostics, outcome.lesson_count), err=True)


@cli.command(name="list")
@click.argument("path", type=PATH_ARG, default=Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--events", "events", is_flag=True, help="Print the event programmes instead.")
def list_(path: Path, as_json: bool, events: bool) -> None:
    """Print each track and its lessons in teaching order (or each event's programme)."""
    from .report import print_events, print_tracks

    outcome = _checked(path, stdout_is_data=as_json)
    if events:
        print_events(outcome.workshop, sys.stdout, as_json=as_json)
    else:
        print_tracks(outcome.workshop, sys.stdout, as_json=as_json)


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
        click.option(
            "--executor",
            type=click.Choice(["local", "dask"]),
            help="Where lessons run: local kernels, or the workers of a Dask cluster "
            "(needs workshopkit[dask] and --scheduler) [default: local].",
        ),
        click.option(
            "--scheduler",
            metavar="tcp://HOST:PORT",
            help="The Dask scheduler's address (implies --executor dask).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def report_options(report_help: str) -> Callable[[Any], Any]:
    """`--junit-xml` and `--report`, shared by `run` and `build`."""

    def decorate(func: Any) -> Any:
        func = click.option("--report", "report_path", type=PATH_ARG, help=report_help)(func)
        return click.option(
            "--junit-xml", type=PATH_ARG, help="Also write a JUnit XML report to this file."
        )(func)

    return decorate


def _make_options(kw: dict[str, Any]) -> Any:
    from .execute import RunOptions

    executor, scheduler = kw["executor"], kw["scheduler"]
    if scheduler is not None and executor == "local":
        raise click.UsageError("--scheduler is for --executor dask")
    if executor == "dask" and not scheduler:
        raise click.UsageError("--executor dask needs --scheduler tcp://HOST:PORT")
    return RunOptions(
        executor="dask" if scheduler else "local",
        scheduler=scheduler,
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
@report_options("Where to write report.json [default: .workshopkit/report.json].")
def run(
    paths: tuple[Path, ...], junit_xml: Path | None, report_path: Path | None, **kw: Any
) -> None:
    """Execute every lesson of the workshop (or the lessons and folders given).

    Failures name the lesson's source line: lessons/intro.py:42 (cell 3): ValueError: boom
    """
    from .pipeline import RUN, Job

    start = paths[0] if paths else Path()
    folder = start if start.is_dir() else start.parent
    job = Job(folder, paths, _make_options(kw), report=report_path, junit_xml=junit_xml)
    _run_and_show(RUN, job, "")


def _run_and_show(stages: tuple[Stage, ...], job: Job, note: str) -> NoReturn:
    """Run `stages` with the progress display, print what is left and exit with the code.

    Ctrl-C or SIGTERM anywhere (while kernels run, or while reports are written) ends with
    130/143: run_lessons kills every kernel on the way out, the build's staging folder is
    removed, and reports are written atomically, so the previous report.json stays intact.
    """
    from dataclasses import replace

    from .pipeline import run_pipeline
    from .progress import RunDisplay

    display = RunDisplay(command="build" if job.command == "build" else "run")
    with _stopping_kernels(note), display:
        outcome = run_pipeline(stages, replace(job, on_event=display.on_event))
    display.finish(outcome)
    _annotate(outcome)
    sys.exit(int(outcome.exit_code))


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
@report_options("Also write report.json here (dist/report.json is always written with dist/).")
def build(
    path: Path,
    output: Path | None,
    keep_going: bool,
    junit_xml: Path | None,
    report_path: Path | None,
    **kw: Any,
) -> None:
    """Check, run and export the workshop into dist/: index page, notebooks, slides, zips.

    dist/ is replaced only when every lesson passed (or with --keep-going); a failed or
    interrupted build leaves the previous one as it was. Broken event rules (slide limits,
    code on every talk's slides, the minutes budget) exit 1 but do not stop the build.
    """
    from .pipeline import BUILD, Job

    options = _make_options(kw)
    job = Job(
        path,
        options=options,
        output=output,
        keep_going=keep_going,
        report=report_path,
        junit_xml=junit_xml,
        command="build",
    )
    _run_and_show(BUILD, job, "; dist/ is as it was")


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
