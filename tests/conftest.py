"""Shared fixtures: golden files, the CLI in-process, scenario workshops.

Golden files live under `tests/golden/`; `pytest --update-golden` rewrites them from the current
output (then read the diff before committing it). Scenario workshops, one per bad input, live
under `tests/resources/<case>/` and are checked in place (they are never written to).
"""

from __future__ import annotations

import difflib
import shutil
import sys
from collections.abc import Callable, Sequence
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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/ files from the current output instead of comparing",
    )


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


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    return Golden(bool(request.config.getoption("--update-golden")))


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


@pytest.fixture
def run_cli() -> Callable[..., CliResult]:
    return invoke


def scenario(case: str) -> Path:
    path = RESOURCES / case
    assert (path / "workshop.toml").is_file(), f"no scenario {case}"
    return path


@pytest.fixture
def copy_scenario(tmp_path: Path) -> Callable[[str], Path]:
    """Copy `tests/resources/<case>` to tmp_path, for tests that add or change files."""

    def copy(case: str) -> Path:
        target = tmp_path / case
        shutil.copytree(scenario(case), target)
        return target

    return copy


@pytest.fixture(scope="session")
def synthetic_workshop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standard benchmark workload: 24 generated lessons in three tracks."""
    import subprocess

    root = tmp_path_factory.mktemp("synthetic") / "workshop"
    subprocess.run(
        [sys.executable, str(GENERATOR), str(root), "-n", "24"],
        check=True,
        capture_output=True,
    )
    return root
