"""The processes around a lesson: the environment its kernel starts with, whether a GPU is visible,
and killing a kernel with every process it started.

On Linux each kernel runs under a launcher that is a child subreaper (see `reaper`): every process
the lesson started, whatever session, group or environment it chose, stays below the launcher, and
is frozen and killed first. Then, and where there is no subreaper (macOS), the kernel's process
group goes (the kernel starts its own session), and every process that carries the kernel's tag in
its environment (children that started sessions of their own, daemons).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from .. import reaper
from ..model import strip_ansi

KERNEL_TAG = "WORKSHOPKIT_KERNEL"  # in each kernel's environment, inherited by its children
# Lines of a kernel's stderr that say nothing about why it failed.
STDERR_NOISE = (
    "unencrypted",
    "without encryption",
    "KeyboardInterrupt caught in kernel",
    "To connect another client",
)


def kernel_environment(
    tag: str | None = None, pinned: Sequence[tuple[str, str | None]] = ()
) -> dict[str, str]:
    """The environment kernels start with: this process's, minus what would change how a lesson
    behaves, plus `KERNEL_TAG=tag` if given. Under `pytest --lessons`, PYTEST_CURRENT_TEST would
    make ipykernel stop capturing file-descriptor output, so a subprocess's prints would bypass
    the notebook (and the cap).

    `pinned` (`LessonPlan.env`: the `[execution] env` variables, as the run's planner saw them,
    None for unset) wins over this process's values: the values the cache key hashed are the
    ones the kernel sees, also on a Dask worker whose own environment differs."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    for name, value in pinned:
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    env["PYTHONUNBUFFERED"] = "1"
    if tag is not None:
        env[KERNEL_TAG] = tag
    return env


def gpu_available() -> bool:
    """Whether a GPU is visible: `WORKSHOPKIT_GPU=0/1` decides, else an NVIDIA or DXG device."""
    forced = os.environ.get("WORKSHOPKIT_GPU")
    if forced is not None:
        return forced.strip().lower() in {"1", "true", "yes"}
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in {"", "-1"}:
        return False
    return any(Path(p).exists() for p in ("/dev/nvidia0", "/dev/dxg", "/dev/kfd"))


def kill_kernel(process: subprocess.Popen[bytes], start: int | None, tag: str | None) -> None:
    """Kill a kernel and every process it started, then reap it (see the module doc)."""
    reaper.end_processes(process, start)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        process.kill()
    if tag:
        for pid in tagged_processes(tag):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        process.wait(timeout=5)


def tagged_processes(tag: str) -> list[int]:
    """Processes whose environment holds `KERNEL_TAG=tag` (Linux /proc; elsewhere none)."""
    needle = f"{KERNEL_TAG}={tag}".encode()
    found: list[int] = []
    try:
        entries = os.scandir("/proc")
    except OSError:
        return found
    me = os.getpid()
    with entries:
        for entry in entries:
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            try:
                environ = Path(entry.path, "environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                found.append(int(entry.name))
    return found


def exit_description(process: subprocess.Popen[bytes] | None) -> str:
    """How a dead kernel ended, for its lesson's error: "kernel died: signal 9 (SIGKILL), likely
    out of memory"."""
    code = None
    if process is not None:
        # nbclient notices a dead kernel from its heartbeat; the exit status may lag a little.
        with contextlib.suppress(Exception):
            code = process.wait(timeout=2)
    if code is None:
        return "kernel died"
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hint = ", likely out of memory" if sig == signal.SIGKILL else ""
        return f"kernel died: signal {sig} ({name}){hint}"
    if code in (137, 128 + 9):
        return f"kernel died: exit code {code} (signal 9), likely out of memory"
    return f"kernel died: exit code {code}"


def stderr_tail(path: Path | None, lines: int = 15) -> str:
    """The last `lines` lines of a kernel's stderr log that say something."""
    if path is None or not path.exists():
        return ""
    with path.open("rb") as fh:  # the tail only: a kernel may write a lot to stderr
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 64 * 1024))
        text = strip_ansi(fh.read().decode("utf-8", errors="replace"))
    kept = [ln for ln in text.splitlines() if ln.strip() and not any(n in ln for n in STDERR_NOISE)]
    return "\n".join(kept[-lines:])


class Killable(Protocol):
    def kill(self) -> None: ...


class KernelRegistry:
    """Every live kernel of a run, so that an interrupt can kill them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kernels: set[Killable] = set()
        self.started = 0
        self.cancelled = threading.Event()

    def add(self, kernel: Killable) -> None:
        """A kernel was launched (killed at once if the run was cancelled meanwhile)."""
        with self._lock:
            self._kernels.add(kernel)
            self.started += 1
        if self.cancelled.is_set():
            kernel.kill()

    def remove(self, kernel: Killable) -> None:
        with self._lock:
            self._kernels.discard(kernel)

    def kill_all(self) -> None:
        """Cancel the run: kill every live kernel, and any launched from now on."""
        self.cancelled.set()
        with self._lock:
            kernels = list(self._kernels)
        for kernel in kernels:
            kernel.kill()
