"""Reproducible zips, one per track, and `SHA256SUMS` (DESIGN.md §5; failure-modes.md 22-24, 33-34).

The same sources and the same `SOURCE_DATE_EPOCH` give byte-identical zips, whatever the time,
time zone, umask or file system order:

- entries are sorted by name and all sit under one top folder, `<track-id>/`;
- every entry's date is `SOURCE_DATE_EPOCH` read in UTC (clamped to the zip range), or
  1980-01-01 00:00 when it is unset; modes are 0644, or 0755 for executable files;
- no directory entries, no extra fields, no comment, deflate at a fixed level (wheels, already
  compressed, are stored);
- names are checked before writing: relative, POSIX, no `..`, no backslash, no NUL.

A zip is written to `.<name>.part` in the same folder, flushed, then renamed into place.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..model import Lesson, Track
from ..wheelhouse import WHEELS_FOLDER, Wheelhouse
from ._io import ExportError, flushing, fsync_dir, reraise_as_export, write_text

__all__ = [
    "Bundle",
    "BundleEntry",
    "Install",
    "check_entry_name",
    "readme_text",
    "sha256_file",
    "track_bundle",
    "write_sha256sums",
    "write_zip",
    "zip_date_time",
]

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
ZIP_LAST = (2107, 12, 31, 23, 59, 58)
COMPRESS_LEVEL = 9
FILE_MODE = 0o644
EXEC_MODE = 0o755


@dataclass(frozen=True, slots=True)
class BundleEntry:
    """One file in a zip: its archive name, and its content (bytes) or the file holding it."""

    name: str
    data: bytes | None = None
    source: Path | None = None
    executable: bool = False
    stored: bool = False  # already compressed (a wheel): stored as it is, not deflated again

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.source is not None
        return self.source.read_bytes()


@dataclass(frozen=True, slots=True)
class Bundle:
    """A written zip: what the index page shows and SHA256SUMS lists."""

    track_id: str
    path: Path
    size: int
    sha256: str
    entries: int

    @property
    def name(self) -> str:
        return self.path.name


def zip_date_time(source_date_epoch: int | None) -> tuple[int, int, int, int, int, int]:
    """The date stamped on every entry: `SOURCE_DATE_EPOCH` in UTC, else 1980-01-01."""
    if source_date_epoch is None:
        return ZIP_EPOCH
    stamp = time.gmtime(max(0, source_date_epoch))[:6]
    if stamp < ZIP_EPOCH:
        return ZIP_EPOCH
    if stamp > ZIP_LAST:
        return ZIP_LAST
    return (stamp[0], stamp[1], stamp[2], stamp[3], stamp[4], stamp[5])


def check_entry_name(name: str) -> None:
    """Raise `ValueError` unless `name` is a safe, relative POSIX archive name."""
    problems = []
    if not name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        problems.append("absolute or empty")
    if "\\" in name:
        problems.append("contains a backslash")
    if "\x00" in name or any(ord(c) < 32 for c in name):
        problems.append("contains a control character")
    if any(part in {"", ".", ".."} for part in name.split("/")):
        problems.append("has an empty, '.' or '..' part")
    if problems:
        raise ValueError(f"unsafe zip entry name {name!r}: {', '.join(problems)}")


def entries_from_folder(
    folder: Path, prefix: str, *, skip: Iterable[str] = ()
) -> list[BundleEntry]:
    """Every regular file under `folder` as entries named `<prefix>/<relative path>`, except
    those whose relative path, or first folder, is in `skip`."""
    skipped = set(skip)
    out: list[BundleEntry] = []
    for here, dirs, names in os.walk(folder):
        dirs.sort()
        for name in names:
            path = Path(here) / name
            rel = path.relative_to(folder).as_posix()
            if rel in skipped or rel.split("/", 1)[0] in skipped:
                continue
            if path.is_symlink() or not path.is_file():
                continue
            executable = bool(path.stat().st_mode & stat.S_IXUSR)
            out.append(BundleEntry(f"{prefix}/{rel}", source=path, executable=executable))
    return out


def write_zip(
    target: Path, entries: Sequence[BundleEntry], *, source_date_epoch: int | None
) -> tuple[int, str]:
    """Write a reproducible zip; returns (size, sha256). Raises `ExportError` naming `target`."""
    ordered = sorted(entries, key=lambda e: e.name)
    seen: set[str] = set()
    for entry in ordered:
        check_entry_name(entry.name)
        if entry.name in seen:
            raise ValueError(f"duplicate zip entry name {entry.name!r}")
        seen.add(entry.name)
    date_time = zip_date_time(source_date_epoch)
    part = target.with_name(f".{target.name}.part")
    try:
        with reraise_as_export(target), part.open("wb") as fh:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
                for entry in ordered:
                    info = zipfile.ZipInfo(entry.name, date_time=date_time)
                    info.create_system = 3  # Unix, so external_attr carries the mode
                    mode = EXEC_MODE if entry.executable else FILE_MODE
                    info.external_attr = (stat.S_IFREG | mode) << 16
                    info.compress_type = (
                        zipfile.ZIP_STORED if entry.stored else zipfile.ZIP_DEFLATED
                    )
                    zf.writestr(info, entry.read(), compresslevel=COMPRESS_LEVEL)
            fh.flush()
            if flushing():
                os.fsync(fh.fileno())
        with reraise_as_export(target):
            part.replace(target)
            fsync_dir(target.parent)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return target.stat().st_size, sha256_file(target)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_sha256sums(dest: Path, bundles: Sequence[Bundle]) -> Path:
    """`SHA256SUMS` in `sha256sum -c` format (two spaces, text mode), sorted by file name."""
    lines = [f"{b.sha256}  {b.name}\n" for b in sorted(bundles, key=lambda b: b.name)]
    for bundle in bundles:
        if "\n" in bundle.name or "\\" in bundle.name:
            raise ExportError(f"bundle name {bundle.name!r} cannot be listed in SHA256SUMS")
    return write_text(dest / "SHA256SUMS", "".join(lines))


# --------------------------------------------------------------------------------------------
# Track bundles


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def format_minutes(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


@dataclass(frozen=True, slots=True)
class Install:
    """How attendees install what the lessons need, said the same way in the zip's README, on
    the track page and in the index footer: with a wheelhouse, offline; without, what needs the
    network."""

    has_requirements: bool
    wheelhouse: Wheelhouse | None = None

    @property
    def offline(self) -> bool:
        return self.wheelhouse is not None

    @property
    def command(self) -> str:
        """The one pip command (run in the unzipped track folder)."""
        what = "-r requirements.txt jupyterlab" if self.has_requirements else "jupyterlab"
        if self.wheelhouse is not None:
            return f"pip install --no-index --find-links {WHEELS_FOLDER} {what}"
        return f"pip install {what}"

    @property
    def needs(self) -> str:
        """One sentence: what works with no network, and what does not."""
        if self.wheelhouse is not None:
            return (
                "Everything here installs and runs with no network: the "
                f"`{WHEELS_FOLDER}/` folder holds every package the lessons need, for "
                f"{self.wheelhouse.describe()}."
            )
        libraries = (
            "the libraries in `requirements.txt`"
            if self.has_requirements
            else ("JupyterLab (plus the libraries the lessons import)")
        )
        return (
            "The notebooks, slides and data here open with no network, but installing "
            f"{libraries} downloads them: do it before the workshop, not on the venue's wifi."
        )

    @property
    def elsewhere(self) -> str:
        """For a wheelhouse: what to run on another platform or Python."""
        if self.wheelhouse is None:
            return ""
        online = (
            "pip install -r requirements.txt jupyterlab"
            if self.has_requirements
            else ("pip install jupyterlab")
        )
        return f"On another platform or Python version, with a network: `{online}`."


def _title_lines(workshop_title: str, track: Track) -> list[str]:
    lines = [f"# {' '.join(workshop_title.split())}", "", f"## {' '.join(track.title.split())}", ""]
    if track.description:
        lines += [track.description.strip(), ""]
    return lines


def _order_lines(included: Sequence[Lesson], left_out: Sequence[Lesson]) -> list[str]:
    """The lessons in order, as a table, and those left out."""
    minutes = sum(lesson.meta.minutes for lesson in included)
    lines = [
        f"{len(included)} lesson{'s' * (len(included) != 1)}, {format_minutes(minutes)} of "
        "teaching time. Work through them in this order (beginner to advanced; every lesson "
        "comes after the ones it builds on):",
        "",
        "| # | Lesson | Level | Minutes | Notebook | Slides |",
        "|---|--------|-------|---------|----------|--------|",
    ]
    for number, lesson in enumerate(included, start=1):
        lines.append(
            f"| {number} | {_cell(lesson.meta.title)} | {lesson.meta.level.value} | "
            f"{lesson.meta.minutes} | `lessons/{lesson.id}/{lesson.id}.ipynb` | "
            f"`lessons/{lesson.id}/{lesson.id}.slides.html` |"
        )
    if left_out:
        names = ", ".join(f"`{lesson.id}`" for lesson in left_out)
        lines += ["", f"Not included because they failed their last test run: {names}."]
    return lines


def _start_lines(install: Install) -> list[str]:
    """How to install and start Jupyter, saying exactly what needs the network."""
    comment = "" if install.offline else "   # needs the network"
    python = install.wheelhouse.python if install.wheelhouse else "3.10 or newer"
    lines = [
        "",
        "## Start",
        "",
        f"{install.needs} With Python {python}:",
        "",
        "```",
        "python -m venv .venv",
        "source .venv/bin/activate        # Windows: .venv\\Scripts\\activate",
        install.command + comment,
        "jupyter lab",
        "```",
        "",
    ]
    if install.elsewhere:
        lines += [install.elsewhere, ""]
    return [
        *lines,
        "Then open each lesson's notebook in `lessons/<id>/<id>.ipynb`, in the order above. "
        "Exercises say `# your code here`; the worked answers, with their outputs, are in "
        "`<id>.solution.ipynb` next to each notebook.",
        "",
        "The slides (`<id>.slides.html`) open in any web browser, with no network needed: "
        "arrow keys move between slides, `s` opens the speaker notes.",
    ]


def _lesson_lines(included: Sequence[Lesson]) -> list[str]:
    """One section per lesson: level, minutes, prerequisites, objectives."""
    lines = ["", "## Lessons"]
    for number, lesson in enumerate(included, start=1):
        meta = lesson.meta
        lines += ["", f"### {number}. {' '.join(meta.title.split())}", ""]
        lines.append(f"{meta.level.value}, {meta.minutes} min, `{lesson.id}`")
        if meta.requires:
            lines += ["", "Builds on: " + ", ".join(f"`{r}`" for r in meta.requires)]
        if meta.objectives:
            lines += ["", "You will:", ""]
            lines += [f"- {' '.join(o.split())}" for o in meta.objectives]
    return lines


def readme_text(
    workshop_title: str,
    track: Track,
    included: Sequence[Lesson],
    left_out: Sequence[Lesson],
    *,
    has_requirements: bool,
    wheelhouse: Wheelhouse | None = None,
) -> str:
    """The bundle's README.md: order, levels, minutes, and how to install and start Jupyter."""
    install = Install(has_requirements, wheelhouse)
    lines = _title_lines(workshop_title, track)
    lines += _order_lines(included, left_out)
    lines += _start_lines(install)
    lines += _lesson_lines(included)
    return "\n".join(lines) + "\n"


def track_bundle(
    dest: Path,
    workshop_title: str,
    track: Track,
    included: Sequence[Lesson],
    left_out: Sequence[Lesson],
    *,
    requirements: Path | None,
    source_date_epoch: int | None,
    static_skip: Iterable[str] = (),
    wheelhouse: Wheelhouse | None = None,
) -> Bundle:
    """Zip a track from the files already exported into `dest` (the dist folder being built),
    with the wheelhouse's wheels in `<track-id>/wheels/` when there is one."""
    top = track.id
    readme = readme_text(
        workshop_title,
        track,
        included,
        left_out,
        has_requirements=requirements is not None,
        wheelhouse=wheelhouse,
    )
    entries = [BundleEntry(f"{top}/README.md", data=readme.encode("utf-8"))]
    if requirements is not None:
        entries.append(BundleEntry(f"{top}/requirements.txt", source=requirements))
    if wheelhouse is not None:
        entries += [
            BundleEntry(f"{top}/{WHEELS_FOLDER}/{wheel.name}", source=wheel, stored=True)
            for wheel in wheelhouse.wheels
        ]
    if included:
        entries += entries_from_folder(dest / "_static", f"{top}/_static", skip=static_skip)
    for lesson in included:
        folder = dest / "lessons" / lesson.id
        entries += entries_from_folder(folder, f"{top}/lessons/{lesson.id}")
    target = dest / f"{track.id}.zip"
    size, digest = write_zip(target, entries, source_date_epoch=source_date_epoch)
    return Bundle(track.id, target, size, digest, len(entries))
