"""Fast kernel start: kernels forked from a fork server instead of exec'd (`kernel_start = "fork"`).

`ForkProvisioner` is a jupyter_client kernel provisioner (entry point
`jupyter_client.kernel_provisioners`: `workshopkit-fork`), so nbclient and papermill use it
unchanged. For a kernelspec that runs the standard ipykernel launcher
(`[python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]`), it asks a fork server
(`workshopkit._kernel.forkserver`, one per kernel environment) for a fresh kernel, and hands
jupyter_client a Popen-like `ForkedKernel`. For anything else, on platforms without fork or a
child subreaper, and whenever the fork server fails, it starts the kernel as before (exec, under
`reaper`'s launcher): a failing fork server costs a warning, never a lesson.

A kernel environment is the kernel's Python, the kernelspec's argv and the environment (less the
variables that name one lesson's kernel), and the packages its server pre-imports (`preload_for`:
what the lesson imports of numpy, pandas, scipy and scikit-learn, so each kernel of a server has
pre-imported only packages its lesson imports): a change in any of them starts another server, and a
server whose installed packages changed (a sys.path folder's mtime) refuses to fork and is
replaced. `ForkServers` holds the servers of one run; `close()` ends them (and, through their
launchers, every kernel they forked).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from . import reaper
from ._kernel.forkserver import PRELOADABLE
from .requirements import lessons_own, python_tree, written_modules

if TYPE_CHECKING:
    from .model import Lesson

FORK_PROVISIONER = "workshopkit-fork"
SERVER_MODULE = "forkserver.py"
SERVER_START_TIMEOUT = 60.0  # seconds a new server may take to import the kernel stack
REQUEST_TIMEOUT = 10.0  # seconds a running server may take to fork a kernel
# Variables that name one lesson's kernel, not its environment (see `processes`).
PER_KERNEL = frozenset({"WORKSHOPKIT_KERNEL", "JPY_PARENT_PID", "JPY_SESSION_NAME"})
KERNEL_START_MODES = ("fork", "exec")
ENV_VAR = "WORKSHOPKIT_KERNEL_START"  # overrides the default mode (tests run both ways)


class ForkError(Exception):
    """The fork server could not give a kernel (the kernel then starts by exec)."""


class PreloadError(ForkError):
    """A fork server could not preload the lessons' modules safely (one without is started)."""


def default_mode() -> str:
    """`fork` where it is safe (fork and a child subreaper: Linux), else `exec`;
    `WORKSHOPKIT_KERNEL_START=fork|exec` decides when set."""
    forced = os.environ.get(ENV_VAR, "").strip().lower()
    if forced in KERNEL_START_MODES:
        return forced
    return "fork" if platform_problem() is None else "exec"


def platform_problem() -> str | None:
    """Why kernels cannot be forked on this machine (None: they can)."""
    if not hasattr(os, "fork") or not hasattr(socket, "AF_UNIX"):
        return "this platform has no fork"
    if not reaper.supported():
        return "this platform has no child subreaper (Linux only)"
    if not hasattr(socket, "send_fds"):
        return "this Python cannot pass file descriptors (3.9+)"
    return None


def launcher_split(cmd: Sequence[str]) -> tuple[str, list[str], list[str]] | None:
    """(python, its `-X` options, the launcher's arguments) of a standard ipykernel launcher's
    command line, `python [-X OPTION ...] -m ipykernel_launcher -f FILE ...` (`ipykernel
    install` writes `-Xfrozen_modules=off`); None for any other command line. The fork server
    runs with the same options; any other interpreter option (-I, -E, -S ...) changes how the
    interpreter starts, so such a kernel is exec'd."""
    argv = [str(a) for a in cmd]
    if len(argv) < 5:
        return None
    at = 1
    while at < len(argv) and argv[at].startswith("-X") and len(argv[at]) > 2:
        at += 1
    if argv[at : at + 3] != ["-m", "ipykernel_launcher", "-f"] or len(argv) < at + 4:
        return None
    return argv[0], argv[1:at], argv[at + 2 :]


def standard_launcher(spec_argv: Sequence[str]) -> bool:
    """Whether a kernelspec's argv is the standard ipykernel launcher's."""
    split = launcher_split(spec_argv)
    return split is not None and split[2] == ["-f", "{connection_file}"]


def unwrapped(cmd: Sequence[str]) -> list[str]:
    """A kernel command line without `reaper`'s launcher in front of it."""
    cmd = list(cmd)
    script = os.path.abspath(reaper.__file__)  # noqa: PTH100
    if len(cmd) > 4 and cmd[1:3] == ["-I", "-S"] and cmd[3] == script:
        return cmd[4:]
    return cmd


def preload_for(lesson: Lesson) -> tuple[str, ...]:
    """The modules a fork server may import before forking `lesson`'s kernel: those the lesson
    imports of the fork-safe packages (`PRELOADABLE`: numpy, pandas, scipy, scikit-learn), in
    the order it imports them, each only if the lesson imports it before it could change how
    it imports (sets an environment variable, changes `sys.path`, installs a package: numpy
    reads OPENBLAS_NUM_THREADS when it is imported), and none the lesson's folder has a module
    of its own for (`numpy.py`, or one it writes). `from X import Y` also names `X.Y?` (Y
    may be a submodule: preloaded if it is one). Never matplotlib (it fixes its backend when
    imported), nor any package that may start threads or a GPU context when imported."""
    found: dict[str, int] = {}
    barrier: int | None = None
    for cell in lesson.cells:
        if cell.cell_type != "code":
            continue
        at = _barrier(cell.source)
        if at is not None:
            line = cell.body_line + at - 1
            barrier = line if barrier is None else min(barrier, line)
        if "import" not in cell.source:
            continue
        for module, line in _cell_imports(cell.source):
            if module.split(".")[0] in PRELOADABLE:
                found.setdefault(module, cell.body_line + line - 1)
    # a module of the lesson's own folder, or one it writes, is what its kernel imports
    local = written_modules(lesson)
    shadowed = {top for top in PRELOADABLE if lessons_own(top, lesson.folder, local)}
    ordered = sorted(found.items(), key=lambda item: item[1])
    return tuple(
        m
        for m, line in ordered
        if (barrier is None or line < barrier) and m.split(".")[0] not in shadowed
    )


def _cell_imports(source: str) -> list[tuple[str, int]]:
    """(module, line in the cell) of each absolute import in a code cell's Python."""
    tree = python_tree(source)
    if tree is None:
        return []
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.append((node.module, node.lineno))
            names = [a.name for a in node.names if a.name != "*"]
            found += [(f"{node.module}.{name}?", node.lineno) for name in names]
    return found


# A line that may change how a later import resolves: the environment (a `.env` file loaded
# too), sys.path, an install.
_BARRIER = re.compile(
    r"\benviron\s*(?:\[[^\]]*\]\s*=[^=]|\.\s*(?:update|setdefault|pop|popitem|clear|__setitem__)\b"
    r"|\|=)|\bdel\s+(?:os\s*\.\s*)?environ\b|\b(?:putenv|unsetenv|addsitedir|load_dotenv)\b"
    r"|^\s*%+dotenv\b"
    r"|\bsys\s*\.\s*(?:path|meta_path|path_hooks)\b"
    r"|^\s*%+(?:env|set_env|pip|conda|mamba|micromamba|run|load)\b"
    r"|\b(?:pip|conda|mamba|uv)\b.*\binstall\b",
    re.MULTILINE,
)


def _barrier(source: str) -> int | None:
    """The first line (1-based, in the cell) that may change how a later import resolves."""
    match = _BARRIER.search(source)
    return None if match is None else source.count("\n", 0, match.start()) + 1


@dataclass(frozen=True, slots=True)
class ForkStats:
    """How a run's kernels started (report.json's `kernel_start`)."""

    mode: str  # what was asked: "fork" | "exec"
    forked: int
    execed: int
    fallbacks: tuple[str, ...]  # why kernels were exec'd in fork mode, each reason once


class ForkedKernel:
    """A forked kernel, as jupyter_client sees a `subprocess.Popen`: `pid` is its launcher's
    (the kernel's parent, a child subreaper in a session of its own), `kernel_pid` the kernel's
    (in a process group of its own). The exit status comes from the launcher, on `conn`, once
    every process below it is gone."""

    def __init__(self, conn: socket.socket, pid: int, kernel_pid: int) -> None:
        self.conn = conn
        self.pid = pid
        self.kernel_pid = kernel_pid
        self.returncode: int | None = None
        self.stdin = self.stdout = self.stderr = None
        self._buffer = b""
        self._lock = threading.Lock()

    def _read(self, timeout: float | None) -> None:
        with self._lock:
            if self.returncode is not None:
                return
            deadline = None if timeout is None else time.monotonic() + timeout
            while b"\n" not in self._buffer:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    ready = select.select([self.conn], [], [], left)[0]
                except (OSError, ValueError):
                    ready = [self.conn]
                if not ready:
                    return
                try:
                    data = self.conn.recv(4096)
                except OSError:
                    data = b""
                if not data:  # the launcher died without a word: killed
                    self.returncode = -signal.SIGKILL
                    self._close()
                    return
                self._buffer += data
            line, _, self._buffer = self._buffer.partition(b"\n")
            try:
                status = json.loads(line).get("status")
            except ValueError:
                status = None
            code = os.waitstatus_to_exitcode(status) if isinstance(status, int) else 1
            self.returncode = code
            self._close()

    def _close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()

    def poll(self) -> int | None:
        self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._read(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(f"kernel {self.kernel_pid}", timeout or 0)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.kernel_pid, signum)

    def kill(self) -> None:
        """Kill the kernel (its launcher then kills what is left below it, and reports)."""
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkServer:
    """One fork server: a process in the kernel's environment (see `_kernel.forkserver`)."""

    def __init__(
        self,
        python: str,
        options: Sequence[str],
        env: Mapping[str, str],
        preload: Sequence[str] = (),
    ) -> None:
        self.loaded: tuple[str, ...] = ()  # what the server imported (see _kernel.forkserver)
        self.folder = Path(tempfile.mkdtemp(prefix="workshopkit-forkserver-"))
        self.socket_path = str(self.folder / "socket")
        script = self.folder / SERVER_MODULE
        source = resources.files("workshopkit._kernel").joinpath(SERVER_MODULE)
        script.write_text(source.read_text("utf-8"), encoding="utf-8")
        self.log = self.folder / "server-stderr.log"
        reaper_path = os.path.abspath(reaper.__file__)  # noqa: PTH100
        argv = [python, *options, str(script), self.socket_path, reaper_path]
        if preload:
            argv.append(",".join(preload))
        with self.log.open("wb") as log:
            try:
                self.process = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    env=dict(env),
                    cwd=self.folder,
                    start_new_session=True,  # a terminal's Ctrl-C is the executor's to handle
                )
            except OSError as exc:
                shutil.rmtree(self.folder, ignore_errors=True)
                raise ForkError(f"could not start the fork server: {exc}") from exc
        self.started = reaper.start_time(self.process.pid)
        self._await_ready()

    def _await_ready(self) -> None:
        assert self.process.stdout is not None
        ready = select.select([self.process.stdout], [], [], SERVER_START_TIMEOUT)[0]
        line = self.process.stdout.readline() if ready else b""
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict) or not message.get("ready"):
            problem = message.get("problem") if isinstance(message, dict) else None
            self.close()
            if isinstance(message, dict) and message.get("preload") is False:
                raise PreloadError(str(problem))
            raise ForkError(problem or f"the fork server did not start{self._tail()}")
        loaded = message.get("loaded")
        if isinstance(loaded, list):
            self.loaded = tuple(str(m) for m in loaded)

    def _tail(self) -> str:
        with contextlib.suppress(OSError):
            lines = [ln for ln in self.log.read_text("utf-8", "replace").splitlines() if ln.strip()]
            if lines:
                return f": {lines[-1]}"
        return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: str,
        stdio: Sequence[int],
        orig: Sequence[str] = (),
    ) -> ForkedKernel:
        """A new kernel: `python -m ipykernel_launcher ARGV` in `cwd` with `env`."""
        request = {"argv": list(argv), "env": dict(env), "cwd": cwd, "orig_argv": list(orig)}
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.settimeout(REQUEST_TIMEOUT)
            conn.connect(self.socket_path)
            socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], list(stdio))
            reply = b""
            while not reply.endswith(b"\n"):
                data = conn.recv(4096)
                if not data:
                    break
                reply += data
        except OSError as exc:
            conn.close()
            raise ForkError(f"the fork server did not answer ({exc}){self._exit_note()}") from exc
        line, _, rest = reply.partition(b"\n")
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict) or "pid" not in message:
            conn.close()
            error = message.get("error") if isinstance(message, dict) else None
            raise ForkError(error or f"the fork server did not answer{self._exit_note()}")
        conn.settimeout(None)
        kernel = ForkedKernel(conn, int(message["pid"]), int(message["kernel"]))
        kernel._buffer = rest
        return kernel

    def _exit_note(self) -> str:
        code = self.process.poll()
        if code is None:
            return ""
        return f"; it exited with {code}" if code >= 0 else f"; it was killed by signal {-code}"

    def close(self) -> None:
        """End the server: it stops every launcher, which ends its kernel and what it started."""
        process = self.process
        with contextlib.suppress(OSError):
            if process.stdin is not None:
                process.stdin.close()  # the server's signal to stop
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            reaper.reap(process.pid, self.started)
            with contextlib.suppress(OSError):
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        reaper.reap(process.pid, self.started) if process.poll() is None else None
        if process.stdout is not None:
            with contextlib.suppress(OSError):
                process.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class _Pool:
    """What the views of one run's `ForkServers` share."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.servers: dict[Any, ForkServer] = {}
        self.starting: dict[Any, threading.Lock] = {}
        self.broken: dict[Any, str] = {}
        self.unpreloadable: dict[Any, str] = {}  # environments whose preloads were unsafe
        self.fallbacks: dict[str, None] = {}
        self.forked = 0
        self.execed = 0
        self.closed = False


class ForkServers:
    """The fork servers of a run, by kernel environment and preloaded packages; counts how its
    kernels started. `preloading(modules)` gives a view of the same servers that forks kernels
    from one that has imported `modules` (see `preload_for`)."""

    def __init__(self, mode: str = "fork") -> None:
        self.mode = mode
        self.preload: tuple[str, ...] = ()
        self._pool = _Pool()

    def preloading(self, modules: Sequence[str]) -> ForkServers:
        """These servers, forking kernels from one that has imported `modules` first."""
        view = ForkServers(self.mode)
        view._pool = self._pool
        view.preload = tuple(modules)
        return view

    @property
    def _servers(self) -> dict[Any, ForkServer]:
        return self._pool.servers

    @property
    def preload_problems(self) -> tuple[str, ...]:
        """Why servers of this run could not preload (their kernels were forked without)."""
        with self._pool.lock:
            return tuple(self._pool.unpreloadable.values())

    def stats(self) -> ForkStats:
        pool = self._pool
        with pool.lock:
            return ForkStats(self.mode, pool.forked, pool.execed, tuple(pool.fallbacks))

    def execed_because(self, reason: str | None) -> None:
        pool = self._pool
        with pool.lock:
            pool.execed += 1
            if reason is not None and self.mode == "fork":
                pool.fallbacks.setdefault(reason, None)

    def fork(
        self,
        spec_argv: Sequence[str],
        cmd: Sequence[str],
        env: Mapping[str, str],
        cwd: str,
        stdio: Sequence[int],
    ) -> ForkedKernel:
        """A kernel forked for `cmd` (a standard launcher's command line); ForkError if not."""
        split = launcher_split(cmd)
        if split is None:
            raise ForkError("not the standard ipykernel launcher")
        python, options, arguments = split
        server_env = {k: v for k, v in env.items() if k not in PER_KERNEL}
        base = (
            python,
            tuple(options),
            tuple(str(a) for a in spec_argv),
            tuple(sorted(server_env.items())),
        )
        pool = self._pool
        for _ in range(3):  # a stale server is replaced
            with pool.lock:
                preload = () if base in pool.unpreloadable else self.preload
            # one server per set of preloaded packages: a kernel has imported none it does not
            key = (*base, tuple(sorted({m.split(".")[0] for m in preload})))
            try:
                server = self._server(key, python, options, server_env, preload)
            except PreloadError as exc:
                with pool.lock:
                    pool.unpreloadable[base] = str(exc)
                continue
            try:
                kernel = server.fork(arguments, env, cwd, stdio, cmd)
            except ForkError as exc:
                if str(exc).startswith("stale"):
                    self._drop(key, server)
                    continue
                with pool.lock:
                    pool.broken[key] = str(exc)
                self._drop(key, server)
                raise
            with pool.lock:
                pool.forked += 1
            return kernel
        raise ForkError("the fork server kept finding its packages changed")

    def _server(
        self,
        key: Any,
        python: str,
        options: Sequence[str],
        env: Mapping[str, str],
        preload: Sequence[str],
    ) -> ForkServer:
        pool = self._pool
        with pool.lock:
            if pool.closed:
                raise ForkError("the run is over")
            if key in pool.broken:
                raise ForkError(pool.broken[key])
            starting = pool.starting.setdefault(key, threading.Lock())
        with starting:
            with pool.lock:
                server = pool.servers.get(key)
            if server is not None and server.alive():
                return server
            if server is not None:  # died since the last kernel: a failure, not a restart
                reason = f"the fork server stopped{server._exit_note()}"
                with pool.lock:
                    pool.broken[key] = reason
                self._drop(key, server)
                raise ForkError(reason)
            try:
                server = ForkServer(python, options, env, preload)
            except PreloadError:
                raise
            except ForkError as exc:
                with pool.lock:
                    pool.broken[key] = str(exc)
                raise
            with pool.lock:
                if pool.closed:
                    server.close()
                    raise ForkError("the run is over")
                pool.servers[key] = server
            return server

    def _drop(self, key: Any, server: ForkServer) -> None:
        pool = self._pool
        with pool.lock:
            if pool.servers.get(key) is server:
                del pool.servers[key]
        server.close()

    def close(self) -> None:
        """End every server (and every kernel still running under one); a later `fork` starts
        a new one."""
        pool = self._pool
        with pool.lock:
            servers = list(pool.servers.values())
            pool.servers.clear()
        for server in servers:
            server.close()

    def cancel(self) -> None:
        """The run was interrupted: end every server, and fork no more kernels."""
        with self._pool.lock:
            self._pool.closed = True
        self.close()


_DEFAULT: ForkServers | None = None
_DEFAULT_LOCK = threading.Lock()


def default_servers() -> ForkServers:
    """The servers of kernels started outside workshopkit's executor (ended at exit)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            import atexit

            _DEFAULT = ForkServers()
            atexit.register(_DEFAULT.close)
        return _DEFAULT


def _stdio(kwargs: Mapping[str, Any]) -> tuple[list[int], list[IO[Any]]]:
    """The kernel's stdin, stdout and stderr as descriptors (and the files opened for them).

    stdin is at its end, as jupyter_client leaves an exec'd kernel's (a pipe it closes at once):
    a subprocess reading it gets EOF instead of hanging."""
    opened: list[IO[Any]] = []
    fds: list[int] = []
    for name, default in (("stdin", 0), ("stdout", 1), ("stderr", 2)):
        value = kwargs.get(name)
        if value is None or value == subprocess.PIPE:
            value = subprocess.DEVNULL if name == "stdin" else default
        if value == subprocess.DEVNULL:
            null = open(os.devnull, "r+b")  # noqa: SIM115, PTH123
            opened.append(null)
            fds.append(null.fileno())
        elif value == subprocess.STDOUT:
            fds.append(fds[1])
        elif isinstance(value, int):
            fds.append(value)
        else:
            fds.append(value.fileno())
    return fds, opened


class ForkProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, forking standard IPython kernels from a fork server.

    The servers come from the kernel manager's `fork_servers` attribute (the executor's, one
    per run), else from a process-wide pool ended at exit."""

    forked: ForkedKernel | None = None
    started_by: str = "exec"

    def _servers(self) -> ForkServers:
        servers = getattr(self.parent, "fork_servers", None)
        return servers if isinstance(servers, ForkServers) else default_servers()

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        servers = self._servers()
        reason = self._exec_reason(cmd, servers)
        if reason is None:
            kernel_cmd = unwrapped(cmd)
            fds, opened = _stdio(kwargs)
            env = dict(kwargs.get("env") or os.environ)
            cwd = str(kwargs.get("cwd") or Path.cwd())
            try:
                spec_argv = list(self.kernel_spec.argv)
                kernel = await asyncio.get_running_loop().run_in_executor(
                    None, servers.fork, spec_argv, kernel_cmd, env, cwd, fds
                )
            except ForkError as exc:
                reason = f"fork server failed: {exc}"
            else:
                self.process = kernel  # type: ignore[assignment]  # Popen-like
                self.forked = kernel
                self.started_by = "fork"
                self.pid = kernel.pid
                self.pgid = kernel.kernel_pid
                self.cwd = cwd
                return self.connection_info
            finally:
                for file in opened:
                    file.close()
        servers.execed_because(reason)
        self.started_by = "exec"
        return await super().launch_kernel(cmd, **kwargs)

    def _exec_reason(self, cmd: Sequence[str], servers: ForkServers) -> str | None:
        if servers.mode != "fork":
            return "exec"  # asked for: not a fallback
        problem = platform_problem()
        if problem is not None:
            return problem
        spec = self.kernel_spec
        if (
            not standard_launcher(spec.argv)
            or getattr(spec, "interrupt_mode", "signal") != "signal"
        ):
            return f"kernel {self.kernel_name!r} does not run the standard ipykernel launcher"
        if launcher_split(unwrapped(cmd)) is None:
            return f"kernel {self.kernel_name!r} does not run the standard ipykernel launcher"
        return None

    @property
    def kernel_name(self) -> str:
        return str(getattr(self.parent, "kernel_name", "?"))

    async def wait(self) -> int | None:
        if self.forked is None:
            return await super().wait()
        while self.forked.poll() is None:
            await asyncio.sleep(0.005)
        self.process = None
        return self.forked.returncode

    async def kill(self, restart: bool = False) -> None:
        await super().kill(restart)
        forked = self.forked
        if forked is not None:  # the launcher reports within milliseconds: no 0.1 s polls
            await asyncio.get_running_loop().run_in_executor(None, _settle, forked)

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart)
        if self.forked is not None and self.forked.returncode is None:
            self.forked.kill()
            _settle(self.forked)


def _settle(kernel: ForkedKernel) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        kernel.wait(timeout=2)
