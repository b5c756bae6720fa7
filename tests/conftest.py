"""Shared fixtures: golden files and the synthetic workload (helpers are in cli_support.py).

Golden files live under `tests/golden/`; `pytest --update-golden` rewrites them from the current
output (then read the diff before committing it). Scenario workshops, one per bad input, live
under `tests/resources/<case>/` and are checked in place (they are never written to).

Kernels start as `workshopkit run` starts them by default (forked on Linux, see
`forkkernel`); `WORKSHOPKIT_KERNEL_START=exec pytest ...` (or `=fork`) runs every test that
starts kernels the other way. The header of the test session says which.
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


def pytest_report_header(config: pytest.Config) -> str:
    from workshopkit.forkkernel import ENV_VAR, default_mode

    return f"workshopkit kernel start: {default_mode()} ({ENV_VAR} to change it)"


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
