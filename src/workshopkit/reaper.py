"""No process outlives its lesson: a child subreaper above each kernel (Linux).

A lesson can start processes that leave every group a kill can aim at: a child with an empty
environment in a session of its own, a double-forked daemon, `!setsid cmd &`. What none of them
can leave is the process tree. So each kernel is started through this file, run as a script
(`launcher_argv`): the launcher makes itself a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`),
starts the kernel and stays its parent. An orphan anywhere below it (a daemon whose parent
exited, the kernel's children when the kernel dies) is re-parented to the launcher instead of
init, so every process the lesson started is a descendant of the launcher until it is reaped.

`reap(pid, start)` freezes every descendant of a process with SIGSTOP, until a pass over the
process table finds none it has not stopped (a stopped process cannot fork), then kills them with
SIGKILL, and repeats until none is left: a process forking while it is being killed cannot
slip through. The executor reaps below the launcher when a lesson ends, times out or the run is
interrupted; the launcher reaps below itself when its kernel dies, when it is asked to stop
(SIGTERM, SIGHUP) and when its own parent, the executor, dies; then it exits with the kernel's
own status (exit code, or the signal that killed it), so a dead kernel is reported as before.

Standard library only, and its cheapest parts (`os` rather than `pathlib` or `contextlib`): the
launcher runs as `python -I -S reaper.py KERNEL-ARGV...`, once per kernel. Where there
is no subreaper (macOS, Windows) or no /proc, kernels start as before and `reap` finds nothing;
the executor's process-group kill and environment tag are the fallback there.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False  # not `typing`'s: importing typing costs the launcher 9 ms
if TYPE_CHECKING:
    import signal
    from collections.abc import Sequence
else:
    try:  # the C module behind `signal`: the same names, as plain ints (no enum: 7 ms less CPU)
        import _signal as signal
    except ImportError:
        import signal

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
REAP_TIMEOUT = 5.0  # seconds one `reap` may take before it gives up (a process stuck in D state)


def _signals(*names: str) -> tuple[int, ...]:
    """The named signals this system has (the module is imported everywhere; used on Linux)."""
    return tuple(getattr(signal, name) for name in names if hasattr(signal, name))


_STOP_SIGNALS = _signals("SIGTERM", "SIGHUP")  # to the launcher: end the kernel and its tree
# Reset to their defaults in the kernel: the launcher ignores SIGINT (an interrupt is sent to the
# whole process group and is the kernel's), and Python ignores SIGPIPE and SIGXFSZ at start-up.
_KERNEL_DEFAULTS = (*_signals("SIGINT", "SIGPIPE", "SIGXFSZ", "SIGCHLD"), *_STOP_SIGNALS)


def supported() -> bool:
    """Whether kernels get a subreaper here: Linux, with /proc."""
    return sys.platform.startswith("linux") and os.path.isdir("/proc/self")  # noqa: PTH112


def launcher_argv(cmd: Sequence[str]) -> list[str]:
    """`cmd` (a kernel's command line) started under a launcher that reaps what it leaves.

    Unchanged where no launcher can help, or when `cmd[0]` cannot be found: starting it then
    fails in the caller, with the caller's own message, as it would without a launcher."""
    import shutil

    cmd = list(cmd)
    script = os.path.abspath(__file__)  # noqa: PTH100
    if not cmd or not sys.executable or not supported() or not script.endswith(".py"):
        return cmd
    if shutil.which(cmd[0]) is None:
        return cmd
    return [sys.executable, "-I", "-S", script, *cmd]


def is_launcher(pid: int) -> bool:
    """Whether `pid` is a launcher (one that found no subreaper has become its kernel)."""
    try:
        fd = os.open(f"/proc/{pid}/cmdline", os.O_RDONLY)
    except OSError:
        return False
    try:
        argv = os.read(fd, 65536).split(b"\0")
    except OSError:
        return False
    finally:
        os.close(fd)
    return len(argv) > 3 and argv[3] == os.fsencode(os.path.abspath(__file__))  # noqa: PTH100


def start_time(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot): with the pid, names one process for good."""
    entry = _stat(pid)
    return entry[2] if entry is not None else None


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of `pid`, from /proc/PID/stat."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ")" ends it
    fields = data[data.rfind(b")") + 2 :].split()
    try:
        return int(fields[1]), fields[0].decode("ascii", "replace"), int(fields[19])
    except (IndexError, ValueError):
        return None


def descendants(pid: int) -> dict[int, int]:
    """Every live (not zombie) descendant of `pid`: pid -> start time. One pass over /proc."""
    children: dict[int, list[tuple[int, int]]] = {}
    try:
        names = os.listdir("/proc")  # noqa: PTH208
    except OSError:
        return {}
    for name in names:
        if not name.isdigit():
            continue
        entry = _stat(int(name))
        if entry is None or entry[1] in ("Z", "X", "x"):
            continue
        children.setdefault(entry[0], []).append((int(name), entry[2]))
    found: dict[int, int] = {}
    todo = [pid]
    while todo:
        for child, started in children.get(todo.pop(), ()):
            if child not in found and child != pid:
                found[child] = started
                todo.append(child)
    return found


class _Handle:
    """One process being reaped: a pidfd where the system has them, so that a signal can never
    reach another process that took a dead one's pid."""

    def __init__(self, pid: int, started: int) -> None:
        self.pid = pid
        self.started = started
        self.fd: int | None = None
        self.killed = False
        pidfd_open = getattr(os, "pidfd_open", None)
        if pidfd_open is not None:
            try:
                self.fd = pidfd_open(pid)
            except OSError:
                self.fd = None

    def same(self) -> bool:
        """Still the process that was listed (its pid not reused meanwhile)."""
        return start_time(self.pid) == self.started

    def send(self, signum: int) -> None:
        try:
            if self.fd is not None:
                signal.pidfd_send_signal(self.fd, signum)  # type: ignore[attr-defined,unused-ignore]
            else:
                os.kill(self.pid, signum)
        except OSError:  # gone already
            pass

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def reap(pid: int, start: int | None = None, timeout: float = REAP_TIMEOUT) -> int:
    """Freeze, then kill, every descendant of `pid` (not `pid` itself), until none is left.

    `start` is `pid`'s start time when it was known to be the right process: if `pid` has
    ended since (and the number may now be another process's), nothing is touched. Returns how
    many processes were killed. Descendants are only gone for good while `pid` stays alive and
    is a subreaper (the launcher): otherwise an orphan may leave the tree."""
    if not supported():
        return 0
    deadline = time.monotonic() + timeout
    handles: dict[int, _Handle] = {}
    try:
        while time.monotonic() < deadline:
            if start is not None and start_time(pid) != start:
                break
            live = descendants(pid)
            fresh = [p for p, started in live.items() if _fresh(handles, p, started)]
            if fresh:  # stop them all; then look again, for children forked meanwhile
                for child in fresh:
                    handle = _Handle(child, live[child])
                    handles[child] = handle
                    if handle.same():
                        handle.send(signal.SIGSTOP)
                continue
            pending = [handles[p] for p in live if not handles[p].killed]
            if pending:  # every live descendant is stopped: none can fork any more
                for handle in pending:
                    handle.send(signal.SIGKILL)
                    handle.killed = True
                continue
            if not live:
                break
            time.sleep(0.002)  # killed, not dead yet
    finally:
        for handle in handles.values():
            handle.close()
    return sum(1 for handle in handles.values() if handle.killed)


def _fresh(handles: dict[int, _Handle], pid: int, started: int) -> bool:
    handle = handles.get(pid)
    if handle is None:
        return True
    if handle.started != started:  # the pid was reused by a new descendant
        handle.close()
        return True
    return False


# --- the launcher (run as a script) ---------------------------------------------------------


def _become_subreaper() -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _exit_like(status: int | None) -> None:
    """Exit as the kernel did: the same exit code, or killed by the same signal."""
    code = os.waitstatus_to_exitcode(status) if status is not None else 1
    if code < 0:
        import resource

        signum = -code
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file from the launcher
        try:  # noqa: SIM105
            signal.signal(signum, signal.SIG_DFL)
        except (OSError, ValueError):  # SIGKILL: always the default
            pass
        os.kill(os.getpid(), signum)
        os._exit(128 + signum)  # a signal that does not terminate (none does: the kernel died)
    os._exit(code)


def launch(argv: Sequence[str]) -> None:
    """Become a subreaper, start `argv` (the kernel), and stay until it and every process below
    are gone; then exit with the kernel's status. Never returns."""
    if not _become_subreaper():
        os.execvp(argv[0], list(argv))  # no subreaper after all: be the kernel, as before
    parent = os.getppid()
    env = dict(os.environ)
    if env.get("JPY_PARENT_PID"):  # ipykernel exits when its parent goes: that is us now
        env["JPY_PARENT_PID"] = str(os.getpid())
    stop: list[int] = []
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # wakes select via the pipe
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in _STOP_SIGNALS:
        signal.signal(signum, lambda signum, frame: stop.append(signum))
    try:
        kernel = os.posix_spawnp(argv[0], list(argv), env, setsigdef=_KERNEL_DEFAULTS)
    except OSError as exc:
        sys.stderr.write(f"workshopkit: could not start {argv[0]}: {exc}\n")
        sys.stderr.flush()
        os._exit(127)
    watch_parent: int | None = None
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None:
        try:
            watch_parent = pidfd_open(parent)  # readable when the executor exits
        except OSError:
            watch_parent = None
    import select

    status: int | None = None
    while status is None and not stop and os.getppid() == parent:
        ready = [wake_r] if watch_parent is None else [wake_r, watch_parent]
        if watch_parent in select.select(ready, [], [], 1.0)[0]:
            break
        try:
            while os.read(wake_r, 512):
                pass
        except BlockingIOError:
            pass
        status = _collect(kernel, status)
    reap(os.getpid())
    while True:  # every child is dead or dying: collect them all
        try:
            pid, code = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if pid == kernel:
            status = code
    _exit_like(status)


def _collect(kernel: int, status: int | None) -> int | None:
    """Reap whatever children have exited (adopted orphans too); the kernel's status once it has."""
    while True:
        try:
            pid, code = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status
        if pid == 0:
            return status
        if pid == kernel:
            status = code


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.stderr.write("usage: python -I -S reaper.py KERNEL-ARGV...\n")
        raise SystemExit(2)
    launch(sys.argv[1:])
