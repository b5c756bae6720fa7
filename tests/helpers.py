"""Helpers for execution tests: tiny workshops in tmp_path, lesson texts, process checks."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

RESOURCES = Path(__file__).parent / "resources"
FAULTS = RESOURCES / "faults"
WORKSHOPKIT = [sys.executable, "-m", "workshopkit"]

Cell = str | tuple[str, Iterable[str]]  # code, or (code, tags)


def lesson_text(
    *cells: Cell,
    title: str = "A lesson",
    level: str = "beginner",
    kernel: str = "python3",
    extra: str = "",
) -> str:
    """A py:percent lesson: header (8 lines + `extra`) then one `# %%` cell per argument.

    A cell is its code, or `(code, tags)`; code starting with `# %%` is used as written.
    """
    lines = [
        "# ---",
        "# jupyter:",
        f"#   kernelspec: {{display_name: Python 3, language: python, name: {kernel}}}",
        "#   workshopkit:",
        f"#     title: {title}",
        f"#     level: {level}",
        "#     minutes: 5",
    ]
    lines += [f"#     {x}" for x in extra.splitlines() if x.strip()]
    lines += ["# ---", ""]
    for cell in cells:
        code, tags = (cell, ()) if isinstance(cell, str) else cell
        if code.startswith("# %%"):
            lines.append(code.rstrip("\n"))
        else:
            tags = list(tags)
            marker = "# %%" + (" tags=[" + ", ".join(f'"{t}"' for t in tags) + "]" if tags else "")
            lines += [marker, code.rstrip("\n")]
        lines.append("")
    return "\n".join(lines)


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing `needle`."""
    for number, line in enumerate(text.split("\n"), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


def write_toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def make_workshop(
    root: Path,
    lessons: Mapping[str, str],
    *,
    execution: Mapping[str, Any] | None = None,
    parameters: Mapping[str, Any] | None = None,
    files: Mapping[str, str] | None = None,
) -> Path:
    """Write workshop.toml, lessons (relpath -> text) and other files under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    toml = ['title = "Test workshop"', "", "[execution]"]
    toml += [f"{k} = {write_toml_value(v)}" for k, v in (execution or {}).items()]
    if parameters:
        toml += ["", "[execution.parameters]"]
        toml += [f"{k} = {write_toml_value(v)}" for k, v in parameters.items()]
    (root / "workshop.toml").write_text("\n".join(toml) + "\n", encoding="utf-8")
    for rel, text in {**lessons, **(files or {})}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def open_ok(root: Path, only: Iterable[Path] = ()) -> Any:
    """The validated workshop at `root` (fails the test on diagnostics errors)."""
    from workshopkit.pipeline import open_workshop

    opened = open_workshop(root, tuple(only))
    assert opened.workshop is not None, "\n".join(str(d) for d in opened.diagnostics)
    return opened


def run_workshop(root: Path, only: Iterable[Path] = (), **options: Any) -> Any:
    """`run_lessons` on the selected lessons; returns (report, results by lesson id)."""
    from workshopkit.execute import RunOptions, run_lessons

    opened = open_ok(root, only)
    report = run_lessons(opened.workshop, opened.selected, RunOptions(**options))
    return report, {r.lesson_id: r for r in report.results}


def mark_env(**extra: str) -> tuple[str, dict[str, str]]:
    """A unique marker and an environment carrying it, to find a run's processes later."""
    mark = uuid.uuid4().hex
    env = {**os.environ, "WORKSHOPKIT_TEST_MARK": mark, "NO_COLOR": "1"}
    for name in ("GITHUB_ACTIONS", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST"):
        env.pop(name, None)
    env.update(extra)
    return mark, env


def marked_processes(mark: str) -> list[Any]:
    """Live processes whose environment carries `mark` (zombies count as gone)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("WORKSHOPKIT_TEST_MARK") == mark:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return found


def wait_gone(mark: str, timeout: float = 5.0) -> list[Any]:
    """Wait until no process carries `mark`; returns the survivors (empty when all are gone)."""
    deadline = time.monotonic() + timeout
    while True:
        left = marked_processes(mark)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def kill_marked(mark: str) -> None:
    """Clean-up after a failed assertion, so one test's leftovers never disturb another."""
    for proc in marked_processes(mark):
        with contextlib.suppress(Exception):
            proc.kill()


def cli(
    *args: str | Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`workshopkit ARGS` in a subprocess (a real process: signals, exit codes, streams)."""
    if env is None:
        _, env = mark_env()
    return subprocess.run(
        [*WORKSHOPKIT, *map(str, args)],
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def copy_resources(
    src: Path, root: Path, *, execution: Mapping[str, Any] | None = None, sub: str = "lessons"
) -> Path:
    """A workshop at `root` whose `sub` folder is a copy of `src` (scenario lessons)."""
    import shutil

    shutil.copytree(src, root / sub)
    make_workshop(root, {}, execution=execution)
    (root / ".gitignore").write_text(".workshopkit/\n", encoding="utf-8")
    return root


def git_init(root: Path) -> None:
    """Commit everything under `root` in a fresh repository (to check a run leaves it clean)."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "lessons"], check=True)


def git_status(root: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def read_report(path: Path) -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def lessons_by_id(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["id"]: entry for entry in report["lessons"]}


T = TypeVar("T")


def shared_once(factory: Any, name: str, compute: Callable[[Path], T]) -> T:
    """`compute(folder)` once per test session, even across pytest-xdist workers.

    Module fixtures run once per worker under xdist; expensive shared runs (many kernels) are
    computed by the first worker that needs them, under a lock, and the others load the pickled
    result. `compute` must return something picklable and put its files under `folder`.
    """
    import fcntl
    import pickle

    base = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, shared by its workers
    folder = base / f"shared-{name}"
    done = base / f"shared-{name}.pickle"
    with (base / f"shared-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            value: T = pickle.loads(done.read_bytes())
            return value
        folder.mkdir()
        value = compute(folder)
        done.write_bytes(pickle.dumps(value))
        return value


_RETRIED = re.compile(r"kernel start-up failed (\d+) time\(s\)")


def fresh_kernels(report: Any) -> int:
    """Kernels a run started, not counting start-up retries (a port taken by another process
    can make a kernel die while starting; workshopkit retries it and says so)."""
    if isinstance(report, Mapping):
        started = int(report["kernels_started"])
        warnings = [w for lesson in report["lessons"] for w in lesson["warnings"]]
    else:
        started = report.kernels_started
        warnings = [w for result in report.results for w in result.warnings]
    retries = sum(int(m.group(1)) for w in warnings if (m := _RETRIED.search(w)))
    return started - retries


def own_warnings(warnings: Iterable[str]) -> list[str]:
    """A lesson's warnings, less start-up retry notes (which depend on the machine's load)."""
    return [w for w in warnings if not _RETRIED.search(w)]
