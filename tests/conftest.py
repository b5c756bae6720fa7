"""Shared fixtures: golden files and the synthetic workload (helpers are in cli_support.py).

Golden files live under `tests/golden/`; `pytest --update-golden` rewrites them from the current
output (then read the diff before committing it). Scenario workshops, one per bad input, live
under `tests/resources/<case>/` and are checked in place (they are never written to).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import GENERATOR, Golden


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/ files from the current output instead of comparing",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    return Golden(bool(request.config.getoption("--update-golden")))


@pytest.fixture(scope="session")
def synthetic_workshop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standard benchmark workload: 24 generated lessons in three tracks."""
    root = tmp_path_factory.mktemp("synthetic") / "workshop"
    subprocess.run(
        [sys.executable, str(GENERATOR), str(root), "-n", "24"],
        check=True,
        capture_output=True,
    )
    return root
