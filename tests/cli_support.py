"""Shared by the foundation tests (check, list, new, load, validate): paths, golden files, the CLI
in-process. A module rather than conftest.py, because `from conftest import` is ambiguous when
several folders have a conftest.py."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

TESTS = Path(__file__).parent
REPO = TESTS.parent
RESOURCES = TESTS / "resources"
GOLDEN = TESTS / "golden"
TEMPLATES = REPO / "templates"
GENERATOR = RESOURCES / "gen_workshop.py"  # copy of the shared benchmark workload generator


class Golden:
    """Compare text with `tests/golden/<name>`, or rewrite it under --update-golden."""

    def __init__(self, update: bool) -> None:
        self.update = update

    def check(self, name: str, text: str) -> None:
        path = GOLDEN / name
        if self.update:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
            return
        if not path.is_file():
            pytest.fail(f"no golden file {path.relative_to(REPO)}; run pytest --update-golden")
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    f"golden/{name}",
                    "actual",
                )
            )
            pytest.fail(f"output differs from golden/{name} (pytest --update-golden):\n{diff}")


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None


def invoke(args: Sequence[str | Path], env: dict[str, str | None] | None = None) -> CliResult:
    """Run `workshopkit ARGS` in-process with click's CliRunner; GITHUB_ACTIONS is unset."""
    from workshopkit.cli import cli

    environment: dict[str, str | None] = {"GITHUB_ACTIONS": None, "NO_COLOR": "1"}
    environment.update(env or {})
    result = CliRunner().invoke(cli, [str(a) for a in args], env=environment, catch_exceptions=True)
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return CliResult(result.exit_code, result.stdout, result.stderr, exception)


def scenario(case: str) -> Path:
    path = RESOURCES / case
    assert (path / "workshop.toml").is_file(), f"no scenario {case}"
    return path
