"""The command line: the only module that imports click. Heavy stages are imported lazily."""

from __future__ import annotations

import sys
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


def _open(path: Path, only: tuple[Path, ...] = ()) -> Any:
    """Run the cheap stages and print their diagnostics; exit 2 if the workshop is invalid."""
    from .pipeline import open_workshop
    from .report import diagnostics_summary, github_annotation, in_github_actions

    opened = open_workshop(path, only)
    for diagnostic in opened.diagnostics:
        click.echo(str(diagnostic), err=True)
        if in_github_actions():
            kind = "error" if diagnostic.is_error else "warning"
            click.echo(github_annotation(kind, diagnostic.path, diagnostic.line, diagnostic.message))
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


@cli.command()
@click.argument("path", type=PATH_ARG, default=Path("."))
def check(path: Path) -> None:
    """Validate the workshop at PATH without starting a kernel."""
    from .report import diagnostics_summary

    opened = _open(path)
    click.echo(diagnostics_summary(opened.diagnostics, opened.lesson_count), err=True)


@cli.command(name="list")
@click.argument("path", type=PATH_ARG, default=Path("."))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def list_(path: Path, as_json: bool) -> None:
    """Print each track and its lessons in teaching order."""
    from .report import print_tracks

    opened = _open(path)
    print_tracks(opened.workshop, sys.stdout, as_json=as_json)


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


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="workshopkit")
