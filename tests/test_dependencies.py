"""pyproject.toml declares every package the code imports (issue 13: nbclient, jupyter_client,
pyzmq and bleach were imported but not declared), and declares nothing it does not use."""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata

from cli_support import REPO

from workshopkit.config import tomllib

SOURCE = REPO / "src" / "workshopkit"
# Imported only where the host provides them: the pytest plugin runs inside pytest, the _kernel
# modules inside the lesson's IPython kernel (ipykernel, declared, brings IPython).
PROVIDED = {
    "pytest": {"pytest_plugin.py"},
    "IPython": {"_kernel/output_cap.py", "_kernel/forkserver.py"},
}
# Declared but never imported: the kernel every lesson runs in.
RUNTIME_ONLY = {"ipykernel"}


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(extra: str | None = None) -> set[str]:
    """The distributions `pyproject.toml` requires (or, with `extra`, that extra adds)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return {normal(re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0]) for spec in specs}


def imported() -> dict[str, set[str]]:
    """Top-level third-party modules imported anywhere in the package -> files importing them."""
    found: dict[str, set[str]] = {}
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "workshopkit":
                    found.setdefault(top, set()).add(path.relative_to(SOURCE).as_posix())
    return found


def test_every_imported_package_is_declared() -> None:
    distributions = metadata.packages_distributions()
    wanted = declared() | declared("dask")  # the dask extra: execute/cluster.py, imported lazily
    missing = {}
    for module, files in imported().items():
        if module == "tomli":  # declared for Python < 3.11 only, imported only there
            assert "tomli" in wanted
            continue
        if files <= PROVIDED.get(module, set()):
            continue
        names = {normal(d) for d in distributions.get(module, [module])}
        if not names & wanted:
            missing[module] = sorted(files)
    assert missing == {}, f"imported but not declared in pyproject.toml: {missing}"


def test_every_declared_package_is_used() -> None:
    distributions = metadata.packages_distributions()
    used = {normal(d) for module in imported() for d in distributions.get(module, [module])}
    assert declared() - used - RUNTIME_ONLY == set()


def test_the_imports_scanned_include_the_ones_issue_13_found() -> None:
    assert {"nbclient", "jupyter_client", "zmq", "bleach"} <= set(imported())
