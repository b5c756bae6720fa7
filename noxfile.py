"""Developer sessions: `nox` runs lint, typecheck and tests; `nox -l` lists them all.

`.ci/run` runs `nox -s lint typecheck tests` on a fresh machine. Sessions run on the Python that
runs nox (no interpreter is ever downloaded) in virtualenvs made with uv when it is installed.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.needs_version = ">=2024.3.2"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.download_python = "never"
nox.options.sessions = ["lint", "typecheck", "tests"]

ROOT = Path(__file__).parent
EXAMPLE = Path("workshops/ml-meetup")
EXAMPLE_REQUIREMENTS = EXAMPLE / "requirements.txt"
KERNEL = "python3"
# The tool versions CI checks with (bump deliberately: a new release may add rules or reformat).
RUFF = "ruff==0.17.6"
MYPY = ["mypy==2.4.1", "types-PyYAML"]
IMPORT_LINTER = "import-linter==2.17"

# Fails unless the kernel spec named python3 runs this very interpreter (the session's venv).
CHECK_KERNEL = f"""
import os, sys
from jupyter_client.kernelspec import KernelSpecManager
spec = KernelSpecManager().get_kernel_spec({KERNEL!r})
exe = spec.argv[0]
if exe in ("python", "python3"):
    raise SystemExit(f"kernel {KERNEL!r} runs {{exe!r}} from PATH, not {{sys.executable}}")
if os.path.realpath(exe) != os.path.realpath(sys.executable) and exe != sys.executable:
    raise SystemExit(f"kernel {KERNEL!r} runs {{exe}}, not {{sys.executable}}")
print(f"kernel {KERNEL!r}: {{exe}} ({{spec.resource_dir}})")
"""


def example_requirements() -> list[str]:
    return ["-r", str(EXAMPLE_REQUIREMENTS)] if (ROOT / EXAMPLE_REQUIREMENTS).is_file() else []


def install_kernel(session: nox.Session) -> None:
    """A `python3` kernel spec inside the venv, pointing at the venv's interpreter."""
    session.env["JUPYTER_PREFER_ENV_PATH"] = "1"  # the venv's kernels before ~/.local's
    session.run("python", "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL)
    session.run("jupyter", "kernelspec", "list")
    session.run("python", "-c", CHECK_KERNEL)


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, with the example workshop's requirements (integration tests run it)."""
    # pip too: uv's venvs have none, and `build --wheelhouse` and the starter's vendored wheel
    # are tested by running pip as a user's venv would; dask for test_execute_dask
    session.install("-e", ".[test,dask]", "pip", *example_requirements())
    install_kernel(session)
    # pytest's exit code 5 (no tests collected) fails the session like any other non-zero code
    session.run("pytest", "-q", "-n", "2", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and the import contracts in pyproject.toml (layers, no cycles) with lint-imports."""
    session.install(RUFF, IMPORT_LINTER)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # lint-imports reads the sources; nothing needs installing, nothing is cached in the tree
    session.run("lint-imports", "--no-cache", env={"PYTHONPATH": str(ROOT / "src")})


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src/ (settings in pyproject.toml)."""
    # pytest: the pytest plugin is checked too; dask: execute/cluster.py
    session.install("-e", ".[test,dask]", *MYPY)
    session.run("mypy")


@nox.session(default=False)
def example(session: nox.Session) -> None:
    """Build the example workshop into dist/ml-meetup."""
    session.install("-e", ".", *example_requirements())
    install_kernel(session)
    session.run("workshopkit", "build", str(EXAMPLE), "-o", "dist/ml-meetup", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks side by side with peers (benchmarks/run.py)."""
    if not (ROOT / "benchmarks" / "run.py").is_file():
        session.skip("no benchmarks/run.py")
    session.install("-e", ".[test]", *example_requirements())
    install_kernel(session)
    session.run("python", "benchmarks/run.py", *session.posargs)
