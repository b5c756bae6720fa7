"""`workshopkit new`: copy the commented starters from `templates/` and fill in names.

workshopkit is not on PyPI, so `new workshop` also writes the workshopkit that is running, as a
wheel, into the workshop's `_tools/` folder (`_`: no lessons there), and the starter README,
CONTRIBUTING.md and CI workflow install that file: CI builds with exactly the version that
generated the workshop, and works the day it is pushed. The wheel is made from the installed
package (its files, its METADATA and entry points; the starters go in as `_starters/`, as the
real build puts them), byte for byte the same for the same installation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import zipfile
from importlib.resources import files
from pathlib import Path

from .errors import InfrastructureError, WorkshopkitError
from .model import LEVEL_NAMES
from .validate import id_problem, slugify

STARTER_LESSON = "lesson.py"
STARTER_WORKSHOP = "workshop"
STARTER_SHARDED_CI = "ci/workshop-shards.yml"  # `new workshop --shards N` writes it instead
WORKFLOW = ".github/workflows/workshop.yml"
TOOLS = "_tools"  # where `new workshop` puts the workshopkit wheel
WHEEL_TOKEN = "WORKSHOPKIT_WHEEL"  # in the starters' texts: the wheel's path in the workshop
TITLE_TOKEN = "# My workshop"  # the starter README's heading


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
    its CI workflow runs the lessons in that many parallel jobs. The running workshopkit goes
    as a wheel into `_tools/` for the README's and the CI workflow's install line."""
    workflow = sharded_workflow(shards) if shards is not None else None
    if folder.exists() and any(folder.iterdir()):
        raise WorkshopkitError("folder is not empty; not overwriting anything", path=str(folder))
    source = starters_dir() / STARTER_WORKSHOP
    shutil.copytree(
        source, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
    )
    if workflow is not None:
        (folder / WORKFLOW).write_text(workflow, encoding="utf-8")
    wheel = write_own_wheel(folder / TOOLS)
    _fill_in(folder, title, f"{TOOLS}/{wheel.name}")
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _fill_in(folder: Path, title: str | None, wheel: str) -> None:
    """The title in workshop.toml and the README heading; the wheel's path in the texts."""
    if title:
        toml = folder / "workshop.toml"
        text = toml.read_text(encoding="utf-8")
        line = f"title = {_yaml_str(title)}"
        text = re.sub(r'^title = ".*"$', lambda _: line, text, count=1, flags=re.MULTILINE)
        toml.write_text(text, encoding="utf-8")
    heading = f"# {' '.join(title.split())}" if title else TITLE_TOKEN
    for path in sorted(p for p in folder.rglob("*") if p.suffix in {".md", ".yml"}):
        text = path.read_text(encoding="utf-8")
        new = text.replace(WHEEL_TOKEN, wheel)
        if path.name == "README.md" and path.parent == folder:
            new = new.replace(TITLE_TOKEN, heading, 1)
        if new != text:
            path.write_text(new, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# The running workshopkit as a wheel

WHEEL_DATE = (1980, 1, 1, 0, 0, 0)


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _package_files() -> dict[str, bytes]:
    """`workshopkit/...` as installed (no caches), with the starters as `_starters/`."""
    package = Path(__file__).resolve().parent
    out: dict[str, bytes] = {}
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        if path.is_file() and "__pycache__" not in rel.parts and path.suffix != ".pyc":
            out[f"workshopkit/{rel.as_posix()}"] = path.read_bytes()
    if not any(name.startswith("workshopkit/_starters/") for name in out):
        starters = starters_dir()
        for path in sorted(starters.rglob("*")):
            rel = path.relative_to(starters)
            if path.is_file() and "__pycache__" not in rel.parts:
                out[f"workshopkit/_starters/{rel.as_posix()}"] = path.read_bytes()
    return out


def _entry(name: str) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, WHEEL_DATE)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o644 << 16
    return entry


def write_own_wheel(dest: Path) -> Path:
    """Write the running workshopkit as `<dest>/workshopkit-<version>-py3-none-any.whl`."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("workshopkit")
    except PackageNotFoundError as exc:
        raise InfrastructureError("workshopkit's metadata not found (reinstall it)") from exc
    version = dist.version
    info = f"workshopkit-{version}.dist-info"
    members = _package_files()
    members[f"{info}/METADATA"] = (dist.read_text("METADATA") or "").encode("utf-8")
    members[f"{info}/entry_points.txt"] = (dist.read_text("entry_points.txt") or "").encode()
    members[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: workshopkit new workshop\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    record = [_record_line(name, members[name]) for name in sorted(members)]
    members[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / f"workshopkit-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(members):  # dist-info last, as the wheel spec recommends
            if not name.startswith(info):
                zf.writestr(_entry(name), members[name])
        for name in sorted(n for n in members if n.startswith(info)):
            zf.writestr(_entry(name), members[name])
    return target
