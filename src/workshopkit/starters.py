"""`workshopkit new`: copy the commented starters from `templates/` and fill in names."""

from __future__ import annotations

import json
import re
import shutil
from importlib.resources import files
from pathlib import Path

from .errors import InfrastructureError, WorkshopkitError
from .model import LEVEL_NAMES
from .validate import id_problem, slugify

STARTER_LESSON = "lesson.py"
STARTER_WORKSHOP = "workshop"
STARTER_SHARDED_CI = "ci/workshop-shards.yml"  # `new workshop --shards N` writes it instead
WORKFLOW = ".github/workflows/workshop.yml"


def starters_dir() -> Path:
    """The starters: `workshopkit/_starters` in the wheel, or `templates/` in a checkout."""
    packaged = Path(str(files("workshopkit"))) / "_starters"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "templates"
    if checkout.is_dir():
        return checkout
    raise InfrastructureError(
        f"starter templates not found; searched: {packaged}, {checkout} (reinstall workshopkit)"
    )


def _set_header(text: str, key: str, value: str) -> str:
    pattern = re.compile(rf"^(#\s+{key}:\s*).*?(\s+#.*)?$", re.MULTILINE)
    return pattern.sub(lambda m: f"{m.group(1)}{value}{m.group(2) or ''}", text, count=1)


def _yaml_str(value: str) -> str:
    """A double-quoted string that YAML and TOML both read back as `value`."""
    return json.dumps(value, ensure_ascii=False)


def new_lesson(path: Path, title: str, level: str, lesson_id: str | None = None) -> Path:
    """Write a starter lesson at `path` (a `.py` file, or a folder to put `<id>.py` in)."""
    if level not in LEVEL_NAMES:
        raise WorkshopkitError(f"unknown level {level!r} (expected {', '.join(LEVEL_NAMES)})")
    ident = lesson_id or slugify(title if path.suffix != ".py" else path.stem)
    problem = id_problem(ident)
    if problem:
        raise WorkshopkitError(f"lesson id {ident!r} {problem}; pass --id")
    target = path if path.suffix == ".py" else path / f"{ident}.py"
    if target.exists():
        raise WorkshopkitError("already exists; not overwriting it", path=str(target))
    text = (starters_dir() / STARTER_LESSON).read_text(encoding="utf-8")
    text = _set_header(text, "id", ident)
    text = _set_header(text, "title", _yaml_str(title))
    text = _set_header(text, "level", level)
    heading = " ".join(title.split())
    text = re.sub(r"^# # .*$", lambda _: f"# # {heading}", text, count=1, flags=re.MULTILINE)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def sharded_workflow(shards: int) -> str:
    """The starter workflow that runs the lessons in `shards` parallel jobs, then merges their
    results and builds from them (README: Sharding over CI jobs)."""
    if shards < 2:
        raise WorkshopkitError(f"--shards must be at least 2, got {shards}")
    text = (starters_dir() / STARTER_SHARDED_CI).read_text(encoding="utf-8")
    text = text.replace("__SHARDS__", ", ".join(str(n) for n in range(1, shards + 1)))
    return text.replace("__N__", str(shards))


def new_workshop(
    folder: Path, title: str | None = None, *, shards: int | None = None
) -> list[Path]:
    """Copy the starter workshop into `folder` (which must be empty or absent); with `shards`,
    its CI workflow runs the lessons in that many parallel jobs."""
    workflow = sharded_workflow(shards) if shards is not None else None
    if folder.exists() and any(folder.iterdir()):
        raise WorkshopkitError("folder is not empty; not overwriting anything", path=str(folder))
    source = starters_dir() / STARTER_WORKSHOP
    shutil.copytree(
        source, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
    )
    if title:
        toml = folder / "workshop.toml"
        text = toml.read_text(encoding="utf-8")
        line = f"title = {_yaml_str(title)}"
        text = re.sub(r'^title = ".*"$', lambda _: line, text, count=1, flags=re.MULTILINE)
        toml.write_text(text, encoding="utf-8")
    if workflow is not None:
        (folder / WORKFLOW).write_text(workflow, encoding="utf-8")
    return sorted(p for p in folder.rglob("*") if p.is_file())
