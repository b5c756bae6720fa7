"""Incremental export: a part of `dist/` is rendered again only when its inputs changed.

`dist/` is made of units, each a function of its inputs and of `code_identity` (workshopkit's
version, the size and mtime of every file of the installed package: code, templates, vendored
files; and the builder's Python environment, every distribution with its version, since
nbconvert, jinja2 and bleach render the files):

```
unit             files                            inputs
static           _static/                         (code_identity only)
lesson:<id>      lessons/<id>/                    the lesson's text and paths, its status, the
                                                  SHA-256 of its executed notebook, its assets
                                                  by name and content
bundle:<track>   <track>.zip                      workshop title, track, lessons in and left out,
                                                  requirements, SOURCE_DATE_EPOCH, what _static/
                                                  leaves out, the SHA-256 of every file it zips
site             index.html, <track>/index.html   the pages' view objects (all they print)
event-deck:<id>  events/<id>/<id>.slides.html     the event, the lesson units of its talks
event-pages      events/<id>/index.html           the pages' view objects
```

`SHA256SUMS` and `report.json` are always written. A unit whose digest equals the one the
previous build of the same output folder recorded is not rendered: its files are hard-linked
from the previous output into the staging folder (copied where a link cannot be made), and what
the unit reported (its diagnostics, a zip's size and digest) comes from the record.

The previous output is never trusted blindly. Each file must still have the device, inode,
size, mtime and ctime recorded once it was in place (an edit, a `touch`, a `chmod`, a replaced
file all change one of them); otherwise it is read and its SHA-256 compared with the one
recorded when it was written, and copied (a fresh inode) if it matches. A unit with a file
missing or different is rendered again, so a file edited or deleted in `dist/` comes back on
the next build. Files added to `dist/` by hand are not carried over: the new output holds
exactly what a build from scratch writes.

The record is `<root>/.workshopkit/export/<digest of the output path>.json`, written after the
swap (`ExportState.save`); without one, every unit is rendered.

`serve` exports in two passes (`defer`): the first renders what an author looks at (lessons,
pages) and carries the slow units whose inputs changed (a track's zip, an event's deck) over
from the previous output as they were, intact but stale, recorded under their old digest; the
second, a plain export, renders them (and defers what is left once the author saved again). So
no pass leaves a half-written or missing file, and the last ends with what a build from scratch
writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files as package_files
from pathlib import Path
from typing import Any

from .. import __version__
from ..fileio import write_atomic
from ._io import copy_file, reraise_as_export

__all__ = ["STATE_DIR", "ExportState", "code_identity", "state_path"]

STATE_DIR = ".workshopkit/export"
STATE_FORMAT = 1
HASH_CHUNK = 1 << 20


@lru_cache(maxsize=1)
def _package_fingerprint() -> str:
    """Every file of the installed workshopkit package, by path, size and mtime."""
    base = Path(str(package_files("workshopkit")))
    digest = hashlib.sha256()
    for folder, dirs, names in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            path = Path(folder) / name
            with contextlib.suppress(OSError):
                info = path.stat()
                rel = path.relative_to(base).as_posix()
                digest.update(f"{rel}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def code_identity() -> str:
    """What renders the files, besides their inputs (module doc)."""
    from ..cache import environment_identity

    return json.dumps([__version__, _package_fingerprint(), environment_identity(sys.executable)])


def state_path(root: Path, output: Path) -> Path:
    """Where the record of the builds of `output` is kept (named after its path relative to
    the workshop when it is inside, so that a moved or copied workshop keeps it)."""
    where = output.relative_to(root).as_posix() if output.is_relative_to(root) else str(output)
    name = hashlib.sha256(where.encode("utf-8")).hexdigest()[:24]
    return root / STATE_DIR / f"{name}.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(HASH_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _identity(info: os.stat_result) -> list[int]:
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


@dataclass
class ExportState:
    """The previous build's units (read from `path`) and this build's (written by `save`)."""

    dest: Path  # the staging folder
    previous: Path | None  # the output folder being replaced, if there is one
    path: Path | None  # the record; None: render everything, record nothing
    code: str = ""
    # carry changed slow units over, stale (module doc: `serve`); a function: from when it
    # says so (serve's second pass, once the author saved again)
    defer: bool | Callable[[], bool] = False
    units: dict[str, dict[str, Any]] = field(default_factory=dict)  # this build's
    deferred: list[str] = field(default_factory=list)  # units carried over stale
    _old: dict[str, Any] = field(default_factory=dict)
    _staged: dict[str, list[int]] = field(default_factory=dict)  # path -> [ino, size, mtime]

    def __post_init__(self) -> None:
        if self.path is None:
            return
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("format") == STATE_FORMAT:
                units = data.get("units")
                self._old = units if isinstance(units, dict) else {}

    def digest(self, unit: str, *inputs: Any) -> str:
        """The digest of a unit's inputs (JSON, or `str` of what JSON cannot hold)."""
        text = json.dumps([STATE_FORMAT, self.code, unit, inputs], sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def reuse(self, unit: str, digest: str) -> dict[str, Any] | None:
        """Stage the unit's files from the previous output if its digest is the one recorded
        and every file is still what was written; returns what the unit reported, or None
        (then render it)."""
        old = self._old.get(unit)
        if self.previous is None or not isinstance(old, dict) or old.get("digest") != digest:
            return None
        try:
            plan = [self._check(entry) for entry in old["files"]]
            if any(how is None for _, _, how in plan):
                return None
            for rel, _, how in plan:
                self._stage(rel, how == "link")
            extra = dict(old.get("extra") or {})
        except (OSError, ValueError, TypeError, KeyError):
            return None
        self.units[unit] = {"digest": digest, "files": [[r, s] for r, s, _ in plan], "extra": extra}
        return extra

    def carry(
        self, unit: str, digest: str, keep: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> dict[str, Any] | None:
        """`reuse`; else, with `defer`, the unit's previous files as they are (`stale`), listed
        in `deferred`; None: render it."""
        reused = self.reuse(unit, digest)
        if reused is not None or not (self.defer() if callable(self.defer) else self.defer):
            return reused
        carried = self.stale(unit, keep)
        if carried is not None:
            self.deferred.append(unit)
        return carried

    def stale(
        self, unit: str, keep: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> dict[str, Any] | None:
        """Stage the unit's previous files as they are, whatever its inputs now (each file still
        checked to be what was written), recorded under their old digest so that the next
        export renders the unit, if `keep` accepts what the unit reported then; None if not."""
        old = self._old.get(unit)
        if not isinstance(old, dict) or not isinstance(old.get("digest"), str):
            return None
        if not keep(dict(old.get("extra") or {})):
            return None
        return self.reuse(unit, old["digest"])

    def _check(self, entry: Any) -> tuple[str, str, str | None]:
        """(path, sha256, how to stage it: "link", "copy", or None when it changed)."""
        rel, sha, identity = entry
        source = self._previous_file(rel)
        try:
            info = os.lstat(source)
        except OSError:
            return rel, sha, None
        if not stat.S_ISREG(info.st_mode):
            return rel, sha, None
        if identity is not None and _identity(info) == identity:
            return rel, sha, "link"
        if info.st_size != _recorded_size(identity, info.st_size):
            return rel, sha, None
        return rel, sha, "copy" if sha256_file(source) == sha else None

    def _previous_file(self, rel: str) -> Path:
        assert self.previous is not None
        parts = Path(rel).parts
        if Path(rel).is_absolute() or ".." in parts:  # a damaged record
            raise ValueError(f"bad path in the export record: {rel!r}")
        return self.previous / rel

    def _stage(self, rel: str, link: bool) -> None:
        source, target = self._previous_file(rel), self.dest / rel
        with reraise_as_export(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            if link:
                try:
                    os.link(source, target)
                except OSError:
                    copy_file(source, target)
            else:
                copy_file(source, target)
            info = target.stat()
        self._staged[rel] = [info.st_ino, info.st_size, info.st_mtime_ns]

    def written(self, unit: str, digest: str, paths: Iterable[Path], **extra: Any) -> None:
        """Record the files a unit just rendered into the staging folder, with their SHA-256."""
        entries = []
        for path in paths:
            rel = path.relative_to(self.dest).as_posix()
            info = path.stat()
            self._staged[rel] = [info.st_ino, info.st_size, info.st_mtime_ns]
            entries.append([rel, sha256_file(path)])
        self.units[unit] = {"digest": digest, "files": entries, "extra": extra}

    def file_digests(self, *units: str) -> list[list[str]]:
        """(path, sha256) of every file of `units` this build staged."""
        return [entry for unit in units for entry in self.units.get(unit, {}).get("files", [])]

    def save(self, output: Path) -> None:
        """Record this build's units, each file with its stat in `output` (after the swap); a
        file whose inode, size or mtime is no longer what was staged is recorded without one,
        so that the next build reads it."""
        if self.path is None:
            return
        units: dict[str, Any] = {}
        for unit, record in self.units.items():
            entries = []
            for rel, sha in record["files"]:
                identity = None
                with contextlib.suppress(OSError):
                    info = os.lstat(output / rel)
                    now = [info.st_ino, info.st_size, info.st_mtime_ns]
                    if stat.S_ISREG(info.st_mode) and now == self._staged.get(rel):
                        identity = _identity(info)
                entries.append([rel, sha, identity])
            units[unit] = {**record, "files": entries}
        data = json.dumps({"format": STATE_FORMAT, "units": units}, sort_keys=True)
        with contextlib.suppress(OSError):  # without a record, the next build renders all
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, data.encode("utf-8"), durable=False)


def _recorded_size(identity: Any, default: int) -> int:
    if isinstance(identity, list) and len(identity) == 5 and isinstance(identity[2], int):
        return identity[2]
    return default


def lesson_inputs(
    lesson: Any, status: str, notebook: Path | None, assets: Iterable[Any], hashes: Any
) -> list[Any]:
    """What a lesson's files are made of (module doc): `hashes` digests the assets."""
    executed = sha256_file(notebook) if notebook is not None else None
    return [
        hashlib.sha256(lesson.text.encode("utf-8")).hexdigest(),
        lesson.relpath,
        str(lesson.path),
        lesson.id,
        status,
        executed,
        [[asset.name, hashes.digest(asset.source)] for asset in assets],
    ]


def diagnostics_json(diagnostics: Iterable[Any]) -> list[list[Any]]:
    return [[d.path, d.line, d.severity.value, d.message] for d in diagnostics]


def diagnostics_from(data: Any) -> list[Any]:
    from ..model import Diagnostic, Severity

    return [Diagnostic(str(p), int(n), Severity(s), str(m)) for p, n, s, m in data or []]


def mapping_repr(values: Mapping[str, Any]) -> list[Any]:
    return sorted([k, repr(v)] for k, v in values.items())
