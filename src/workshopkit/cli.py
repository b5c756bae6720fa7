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


def _checked(
    path: Path, *, stdout_is_data: bool = False, strict: bool = False, verbose: bool | None = None
) -> Any:
    """Run the CHECK stages and print every diagnostic; exit 2 if the workshop is invalid.

    GitHub annotations go to stdout, except when stdout carries data (`list --json`). With
    `verbose` set (`check`), the .py files that are not lessons are counted (True: listed).
    """
    from .pipeline import CHECK, Job, run_pipeline
    from .report import diagnostics_summary

    outcome = run_pipeline(CHECK, Job(path, command="check", strict=strict))
    for diagnostic in outcome.diagnostics:
        click.echo(str(diagnostic), err=True)
    _annotate(outcome, err=stdout_is_data)
    if outcome.workshop is None:
        click.echo(diagnostics_summary(outcome.diagnostics, outcome.lesson_count), err=True)
        _show_skipped(outcome, verbose)
        sys.exit(int(outcome.exit_code))
    return outcome


def _show_skipped(outcome: Outcome, verbose: bool | None) -> None:
    """How many .py files `check` skipped as not lessons; with --verbose, which."""
    if verbose is None or not outcome.skipped:
        return
    count = len(outcome.skipped)
    hint = "" if verbose else "; --verbose lists them"
    click.echo(
        f"skipped {count} .py file{'s' * (count != 1)} that "
        f"{'is not a lesson' if count == 1 else 'are not lessons'} (no 'workshopkit' block in "
        f"the header){hint}",
        err=True,
    )
    if verbose:
        root = outcome.workshop.root if outcome.workshop is not None else None
        for path in outcome.skipped:
            shown = (
                path.relative_to(root).as_posix() if root and path.is_relative_to(root) else path
            )
            click.echo(f"  {shown}", err=True)


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
@click.option("-v", "--verbose", is_flag=True, help="List the .py files skipped as not lessons.")
def check(path: Path, strict: bool, verbose: bool) -> None:
    """Validate the workshop at PATH without starting a kernel."""
    from .events import plan_programme
    from .report import diagnostics_summary

    outcome = _checked(path, strict=strict, verbose=verbose)
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
    _show_skipped(outcome, verbose)


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


def run_options(func: Any) -> Any:  # long: one declarative list of the shared options
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
            "--kernel-start",
            type=click.Choice(["fork", "exec"]),
            help="How kernels start: forked from a fork server that has imported ipykernel "
            "(fast), or exec'd; a kernel that cannot be forked is exec'd [default: [execution] "
            "kernel_start, else fork on Linux, exec elsewhere].",
        ),
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
        kernel_start=kw["kernel_start"],
    )


def _shard(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    from .shard import parse_shard

    try:
        return parse_shard(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@cli.command()
@click.argument("paths", type=PATH_ARG, nargs=-1)
@run_options
@report_options("Where to write report.json [default: .workshopkit/report.json].")
@click.option(
    "--shard",
    callback=_shard,
    metavar="K/N",
    help="Run part K of N of the lessons (the same parts on every machine; see --durations).",
)
@click.option(
    "--durations",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="A report.json of an earlier run or merge: balance the --shard parts by its durations "
    "[default: equal counts].",
)
@click.option(
    "--results",
    "results",
    type=PATH_ARG,
    help="Keep the results here as files for `merge` and `build --from-results` "
    "[default with --shard: .workshopkit/shard-K-of-N].",
)
def run(
    paths: tuple[Path, ...],
    junit_xml: Path | None,
    report_path: Path | None,
    shard: Any,
    durations: Path | None,
    results: Path | None,
    **kw: Any,
) -> None:
    """Execute every lesson of the workshop (or the lessons and folders given).

    Failures name the lesson's source line: lessons/intro.py:42 (cell 3): ValueError: boom
    """
    from .pipeline import RUN, RUN_RESULTS, RUN_SHARD, Job

    if durations is not None and shard is None:
        raise click.UsageError("--durations balances the parts of --shard K/N; give --shard")
    start = paths[0] if paths else Path()
    folder = start if start.is_dir() else start.parent
    job = Job(
        folder,
        paths,
        _make_options(kw),
        report=report_path,
        junit_xml=junit_xml,
        shard=shard,
        durations=durations,
        results=results,
    )
    stages = RUN_SHARD if shard is not None else RUN_RESULTS if results is not None else RUN
    _run_and_show(stages, job, "")


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
@click.option(
    "--from-results",
    type=PATH_ARG,
    help="Export the results in this folder (of `merge` or `run --results`) instead of "
    "running lessons: no kernel starts; a lesson without a result there is an error (exit 2).",
)
@click.option(
    "--wheelhouse",
    is_flag=True,
    help="Put wheels of the requirements and JupyterLab in each zip, for offline installs.",
)
@click.option(
    "--platform",
    "platforms",
    type=click.Choice(["manylinux", "macos", "windows"]),
    multiple=True,
    help="With --wheelhouse: wheels for this platform (repeat it) [default: this machine's].",
)
@click.option(
    "--python",
    "python_version",
    metavar="X.Y",
    callback=lambda ctx, param, value: _python_version(value),
    help="With --wheelhouse: wheels for this Python [default: the one running workshopkit].",
)
@run_options
@report_options("Also write report.json here (dist/report.json is always written with dist/).")
def build(
    path: Path,
    output: Path | None,
    keep_going: bool,
    from_results: Path | None,
    junit_xml: Path | None,
    report_path: Path | None,
    wheelhouse: bool,
    platforms: tuple[str, ...],
    python_version: str | None,
    **kw: Any,
) -> None:
    """Check, run and export the workshop into dist/: index page, notebooks, slides, zips.

    dist/ is replaced only when every lesson passed (or with --keep-going); a failed or
    interrupted build leaves the previous one as it was. Broken event rules (slide limits,
    code on every talk's slides, the minutes budget) exit 1 but do not stop the build.
    """
    from .pipeline import BUILD, BUILD_FROM_RESULTS, Job

    options = _make_options(kw)
    job = Job(
        path,
        options=options,
        output=output,
        keep_going=keep_going,
        report=report_path,
        junit_xml=junit_xml,
        command="build",
        from_results=from_results,
        wheelhouse=_wheelhouse_spec(wheelhouse, platforms, python_version),
    )
    stages = BUILD_FROM_RESULTS if from_results is not None else BUILD
    _run_and_show(stages, job, "; dist/ is as it was")


@cli.command()
@click.argument("folders", type=PATH_ARG, nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    type=PATH_ARG,
    default=Path("results"),
    show_default=True,
    help="The merged results folder (replaced if it is one already).",
)
def merge(folders: tuple[Path, ...], output: Path) -> None:
    """Join the results folders of `run --shard K/N --results DIR` into one.

    One cache entry per lesson, one report.json and one junit.xml; `build --from-results
    OUTPUT` then exports without running. Exit 2, writing nothing, when a part is missing or
    given twice, two parts ran the same lesson, a lesson has no result, or an entry is corrupt;
    else the merged report's code (1 when a lesson failed).
    """
    from .shard import merge as merge_parts

    merged = merge_parts(folders, output)
    for problem in merged.problems:
        click.echo(f"error: {problem}", err=True)
    if merged.report is None:
        click.echo(f"nothing written: {len(merged.problems)} problem(s)", err=True)
        sys.exit(int(merged.exit_code))
    summary = merged.report["summary"]
    counts = ", ".join(f"{n} {status}" for status, n in summary.items() if n)
    click.echo(
        f"merged {len(merged.parts)} folder(s) into {output}: {merged.lessons} lessons ({counts})"
    )
    sys.exit(int(merged.exit_code))


@cli.command()
@click.argument("path", type=PATH_ARG, default=Path())
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to serve on (0: any free port).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to serve on; another than 127.0.0.1 makes the preview reachable from there.",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in a web browser.")
@click.option("--lesson", "lesson_id", metavar="ID", help="Open and print this lesson's deck.")
def serve(path: Path, port: int, host: str, open_browser: bool, lesson_id: str | None) -> None:
    """Preview the workshop at PATH while you write it: build, serve, rebuild on each save.

    The preview is built into .workshopkit/preview (dist/ is not touched) and served on
    127.0.0.1; each save rebuilds it and the open pages reload (a deck on the slide it showed).
    A failed build keeps the last good preview and shows the errors over the page. Ctrl-C stops
    the server and every kernel (exit 130).
    """
    from .serve import ServeOptions
    from .serve import serve as run_serve

    options = ServeOptions(path, host, port, open_browser, lesson_id)
    with _stopping_kernels("; the server is stopped"):
        try:
            run_serve(options, lambda line: click.echo(line, err=True))
        except WorkshopkitError as error:
            _fail(error)


def _python_version(value: str | None) -> str | None:
    import re

    if value is not None and not re.fullmatch(r"3\.\d{1,2}", value):
        raise click.BadParameter(f"{value!r} is not a Python version like 3.11")
    return value


def _wheelhouse_spec(wanted: bool, platforms: tuple[str, ...], python: str | None) -> Any:
    if not wanted:
        if platforms or python:
            raise click.UsageError("--platform and --python go with --wheelhouse")
        return None
    from .wheelhouse import WheelhouseSpec

    return WheelhouseSpec(tuple(dict.fromkeys(platforms)), python)


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
@click.option(
    "--shards",
    type=click.IntRange(min=2, max=256),
    help="Write a CI workflow that runs the lessons in N parallel jobs, then merges and builds "
    "[default: one job].",
)
def new_workshop_cmd(folder: Path, title: str | None, shards: int | None) -> None:
    """Write a starter workshop into FOLDER: workshop.toml, a lesson, CI workflow, guides."""
    from .starters import new_workshop

    try:
        written = new_workshop(folder, title, shards=shards)
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
