"""`build --wheelhouse`: wheels for the requirements and JupyterLab, so attendees install offline.

`pip download --only-binary=:all:` fetches, for each platform asked for, every wheel that
`pip install -r requirements.txt jupyterlab` would install there, into one folder; each track's
zip carries them in `<track-id>/wheels/` (stored, not compressed again), and its README gives the
offline command, `pip install --no-index --find-links wheels -r requirements.txt jupyterlab`.
Wheels only: an sdist would need a compiler and build tools at the venue.

Platforms (`--platform`, repeatable; none: the platform and Python running the build):

- `manylinux`: `manylinux_2_17` to `manylinux_2_28`, `x86_64` (Linux on Intel/AMD, glibc 2.28+);
- `macos`: `macosx_12_0_arm64`, then `macosx_12_0_x86_64` (macOS 12+, Apple silicon and Intel);
- `windows`: `win_amd64` (64-bit Windows).

Downloads are cached in `.workshopkit/wheels/<key>/`, the key hashing the requirements (and the
files they include), the platforms and the Python version: a rebuild with nothing changed uses
the cache and needs no network. pip failing (no network, no wheel for a platform) is an
`InfrastructureError` (exit 3) quoting pip's own reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InfrastructureError

__all__ = [
    "PLATFORMS",
    "WHEELS_FOLDER",
    "Wheelhouse",
    "WheelhouseSpec",
    "fetch_wheelhouse",
    "pip_download_args",
]

WHEELS_FOLDER = "wheels"
EXTRA = ("jupyterlab",)  # what the install command adds to the requirements
_MANYLINUX = tuple(f"manylinux_2_{minor}_x86_64" for minor in range(28, 16, -1))
# name -> (label, one tuple of pip platforms per `pip download` run)
PLATFORMS: dict[str, tuple[str, tuple[tuple[str, ...], ...]]] = {
    "manylinux": ("Linux (x86_64)", ((*_MANYLINUX, "manylinux2014_x86_64"),)),
    "macos": (
        "macOS 12 or later (Apple silicon and Intel)",
        (("macosx_12_0_arm64",), ("macosx_12_0_x86_64",)),
    ),
    "windows": ("Windows (64-bit)", (("win_amd64",),)),
}
MARKER = "complete.json"
PIP_TIMEOUT = 1800  # seconds for one `pip download`


@dataclass(frozen=True, slots=True)
class WheelhouseSpec:
    """What `--wheelhouse` asked for: platform names (none: this one) and a Python version."""

    platforms: tuple[str, ...] = ()
    python: str | None = None  # "3.11"; None: the Python running the build


@dataclass(frozen=True, slots=True)
class Wheelhouse:
    """The downloaded wheels, ready to be zipped."""

    wheels: tuple[Path, ...]
    platforms: tuple[str, ...]  # names from PLATFORMS; () for the build's own platform
    python: str
    # how this build got the wheels, not what they are: left out of the repr and equality that
    # the incremental export's page digests are made of (a warm build must match a cold one)
    cached: bool = field(default=False, repr=False, compare=False)
    seconds: float = field(default=0.0, repr=False, compare=False)

    @property
    def size(self) -> int:
        return sum(w.stat().st_size for w in self.wheels)

    def describe(self) -> str:
        """ "Python 3.11 on Linux (x86_64)" and the like."""
        where = [PLATFORMS[p][0] for p in self.platforms] or [_this_platform()]
        return f"Python {self.python} on {' and '.join(where)}"


def _this_platform() -> str:
    import platform

    return f"{platform.system() or sys.platform} ({platform.machine() or 'this machine'})"


def _python(spec: WheelhouseSpec) -> str:
    return spec.python or f"{sys.version_info.major}.{sys.version_info.minor}"


def pip_download_args(
    requirements: Path | None, dest: Path, platforms: Sequence[str], python: str | None
) -> list[str]:
    """The `pip download` command line for one run (one set of pip platforms)."""
    args = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--dest", str(dest)]
    args += ["--disable-pip-version-check", "--no-input", "--progress-bar", "off"]
    for name in platforms:
        args += ["--platform", name]
    if python is not None:
        args += ["--python-version", python, "--implementation", "cp"]
    if requirements is not None:
        args += ["-r", str(requirements)]
    return [*args, *EXTRA]


def _cache_key(requirements: Path | None, spec: WheelhouseSpec) -> str:
    from .requirements import read_requirements

    digest = hashlib.sha256()
    facts = {"platforms": sorted(spec.platforms), "python": _python(spec), "extra": EXTRA}
    if requirements is not None:
        found = read_requirements(requirements, requirements.parent)
        facts["requirements"] = list(found.install_args())
        facts["text"] = requirements.read_text(encoding="utf-8", errors="replace")
    digest.update(json.dumps(facts, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()[:20]


def _cached(folder: Path) -> tuple[Path, ...] | None:
    """The wheels of a completed download, or None if there is none (or a file went missing)."""
    try:
        names = json.loads((folder / MARKER).read_text(encoding="utf-8"))["wheels"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    wheels = tuple(folder / str(name) for name in names)
    return wheels if wheels and all(w.is_file() for w in wheels) else None


def _pip_reason(stderr: str) -> str:
    """pip's own reason, from the lines of its stderr that say what went wrong."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    keys = ("ERROR:", "Could not", "No matching", "Failed to establish", "unreachable", "resolve")
    picked = [line for line in lines if any(k in line for k in keys)]
    return "; ".join(dict.fromkeys(picked[-3:] or lines[-2:])) or "no output"


def _run_pip(args: list[str], label: str) -> None:
    env = {**os.environ, "PIP_NO_INPUT": "1", "PYTHONUTF8": "1"}
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, env=env, timeout=PIP_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InfrastructureError(f"--wheelhouse: pip download for {label} failed: {exc}") from exc
    if done.returncode == 0:
        return
    if "No module named pip" in done.stderr:
        raise InfrastructureError(
            f"--wheelhouse needs pip in the Python running workshopkit ({sys.executable}): "
            "`python -m ensurepip` installs it"
        )
    raise InfrastructureError(
        f"--wheelhouse: pip could not download the wheels for {label}: "
        f"{_pip_reason(done.stderr)} (it needs the network, or a package index pip can reach, "
        "and a wheel of every requirement for that platform)"
    )


def fetch_wheelhouse(root: Path, requirements: Path | None, spec: WheelhouseSpec) -> Wheelhouse:
    """Download (or reuse from the cache) the wheels `spec` asks for; raises
    `InfrastructureError` (exit 3) when pip fails."""
    started = time.monotonic()
    for name in spec.platforms:
        if name not in PLATFORMS:
            raise InfrastructureError(
                f"--platform {name!r}: expected one of {', '.join(PLATFORMS)}"
            )
    folder = root / ".workshopkit" / "wheels" / _cache_key(requirements, spec)
    python = _python(spec)
    found = _cached(folder)
    if found is not None:
        return Wheelhouse(found, spec.platforms, python, True, time.monotonic() - started)
    folder.mkdir(parents=True, exist_ok=True)
    pinned = spec.python if (spec.python or spec.platforms) else None
    runs = [(name, pips) for name in spec.platforms for pips in PLATFORMS[name][1]]
    for name, pips in runs or [("this platform", ())]:
        _run_pip(pip_download_args(requirements, folder, pips, pinned or python), name)
    wheels = tuple(sorted(folder.glob("*.whl")))
    (folder / MARKER).write_text(json.dumps({"wheels": [w.name for w in wheels]}) + "\n")
    return Wheelhouse(wheels, spec.platforms, python, False, time.monotonic() - started)
