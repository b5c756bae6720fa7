"""A fork server: imports the ipykernel stack once, then forks a fresh IPython kernel per request.

Runs in the kernel's Python (see `workshopkit._kernel`), as a script:

    python forkserver.py SOCKET REAPER [PRELOAD]

started by `workshopkit.forkkernel` with the environment the kernels would get (so every
variable Python reads at start-up, PYTHONHASHSEED, PYTHONPATH, ..., is as an exec'd kernel would
see it). It imports ipykernel and what a kernel imports at start-up (never matplotlib: it would
fix the plotting backend), then the modules PRELOAD names (comma-separated: what the lessons it
serves import of a few fork-safe packages, numpy, pandas, scipy, scikit-learn; `name?` is
imported only if it is a module, as in `from scipy import stats`). A preloaded module must
import silently (no output, no warning), leave no descriptor open and no thread running once
forked (OpenBLAS, which numpy and scipy load, stops its pool before a fork and restarts it in the
child when it is used: one throw-away fork lets it do so); otherwise the server says so and exits
(`{"ready": false, "preload": false}`), and the executor starts one without preloads. It checks
it is the only thread, listens on the Unix socket SOCKET, writes one JSON line on stdout
("ready") and serves until its stdin (a pipe from the executor) closes.

Each request is a connection carrying one JSON line (the kernel's arguments after
`-m ipykernel_launcher`, its environment and working directory) and three file descriptors (the
kernel's stdin, stdout, stderr). The server forks a *launcher* for it, and goes back to
listening. The launcher, like `reaper.launch` for an exec'd kernel:

- starts a session of its own and becomes a child subreaper: whatever the lesson starts stays
  below it, and is killed (`reaper.reap`) when the kernel ends, when the executor closes the
  connection (it died, or is done with the kernel), or on SIGTERM/SIGHUP;
- forks the kernel, in a process group of its own (interrupts go to that group);
- writes `{"pid": launcher, "kernel": kernel}` on the connection, and once every process below
  it is gone, `{"status": wait status of the kernel}`; then exits.

The kernel, before it runs ipykernel's own `launch_new_instance`, undoes what it shares with the
server: it closes every inherited descriptor but its three, resets every signal handler, the
signal mask and the wake-up fd, takes the requested environment, working directory, sys.argv
and sys.path (as `python -m ipykernel_launcher` would have them), a fresh `__main__`, and new
seeds for `random` (and numpy, if something imported it). What cannot change after a fork is
hash randomisation: every kernel of one server shares the server's hash seed (random per server
unless PYTHONHASHSEED is set, which then holds for the server as for an exec'd kernel).

The server refuses a request (`{"error": "stale: ..."}`) and exits when the installed packages
changed since it started (the mtime of a sys.path folder), so that the executor starts a new one.
Standard library only, apart from the ipykernel stack it imports.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any

# What an IPython kernel imports while it starts (ipykernel 6-7): imported once, here.
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.iostream",
    "ipykernel.debugger",
    "ipykernel.comm",
    "IPython.core.interactiveshell",
    "IPython.core.completer",
    "IPython.core.history",
    "IPython.core.magics",
    "IPython.core.oinspect",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.logger",
    "IPython.extensions.storemagic",
    "IPython.utils.wildcard",
    "tornado.platform.asyncio",
    "ipykernel_launcher",
    "jupyter_client.session",
    "comm",
    "sqlite3",
    "psutil",
)
# Never imported by the server: a kernel must pick them (and their state) itself. The first
# group only when PRELOAD names them; the rest never (plotting backends, GPU contexts, threads).
PRELOADABLE = ("numpy", "pandas", "scipy", "sklearn")
FORBIDDEN = ("matplotlib", "torch", "tensorflow", "jax", "cupy", "numba", "pyarrow")
MAX_REQUEST = 1 << 22
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NAME = 15
# Process names (`ps -o comm`, psutil's `name()`): a forked process keeps the server's command
# line, so its name is what tells a kernel from its launcher and from the server.
SERVER_NAME, LAUNCHER_NAME, KERNEL_NAME = b"wk-forkserver", b"wk-launcher", b"ipykernel"


def _signals(*names: str) -> list[int]:
    return [getattr(signal, n) for n in names if hasattr(signal, n)]


def main(argv: list[str]) -> None:
    path, reaper_path = argv[0], argv[1]
    wanted = [m for m in (argv[2] if len(argv) > 2 else "").split(",") if m]
    reaper = _load_reaper(reaper_path)
    # `python forkserver.py` put this file's folder first; `python -m` would have put the cwd,
    # which ipykernel_launcher removes again: a kernel's sys.path is the rest
    base_path = sys.path[1:]
    preloaded, problem = _import_all(wanted)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    fingerprint = _fingerprint(base_path)
    _become_subreaper()
    _name(SERVER_NAME)
    _say({"ready": problem is None, "problem": problem, "pid": os.getpid(), "loaded": preloaded})
    if problem is not None:
        os._exit(1)
    gc.collect()
    gc.freeze()  # the kernels' collections then leave the shared pages alone
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the executor's Ctrl-C is its business
    launchers: set[int] = set()
    server = _Server(listener, wake_r, wake_w, reaper, base_path, fingerprint, launchers)
    server.preloading = bool(wanted)
    while True:
        watched: list[Any] = [listener, wake_r, 0]
        ready: list[Any] = select.select(watched, [], [], 5.0)[0]
        if 0 in ready and not os.read(0, 4096):
            break  # the executor is gone, or done
        if wake_r in ready:
            _drain(wake_r)
        server.collect()
        if listener in ready:
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            if not server.serve(conn):
                break
    listener.close()
    with contextlib.suppress(OSError):
        os.unlink(path)  # noqa: PTH108
    server.end()
    os._exit(0)


def _import_all(wanted: Sequence[str]) -> tuple[list[str], str | None]:
    """Import the kernel stack, then the lessons' modules `wanted`: what was imported, and why
    forking would be unsafe (None: it is not). Exits at once if a wanted module is unsafe."""
    loaded: list[str] = []
    for name in PRELOAD:
        try:
            __import__(name)
            loaded.append(name)
        except Exception:  # an older or newer ipykernel: the kernel imports what it needs
            pass
    _warm()
    problem = _unsafe(False)
    if problem is None and wanted:
        problem = _preload(wanted, loaded)
        if problem is not None:
            _say({"ready": False, "preload": False, "problem": problem, "pid": os.getpid()})
            os._exit(1)
        problem = _unsafe(True)
    return loaded, problem


def _warm() -> None:
    """Fill, once, caches every kernel fills as it starts: the regular expressions compiled to
    split a cell into tokens (tokenize's is the largest) and to parse command lines."""
    import argparse

    argparse.ArgumentParser(add_help=False)
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        TransformerManager().transform_cell("x = 1\n")  # type: ignore[no-untyped-call]
    except Exception:  # another IPython: each kernel compiles them itself
        pass


def _say(message: dict[str, Any]) -> None:
    os.write(1, (json.dumps(message) + "\n").encode())
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # nothing else goes to the executor's pipe; no kernel inherits it
    os.close(null)


def _load_reaper(path: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("workshopkit_reaper", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"workshopkit fork server: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unsafe(preloading: bool) -> str | None:
    """Why forking here would be unsafe (None: it is not): a module a kernel must import itself
    is loaded (the PRELOADABLE ones unless the server preloads), or a thread runs."""
    if not hasattr(os, "fork"):
        return "no fork on this platform"
    never = FORBIDDEN if preloading else (*FORBIDDEN, *PRELOADABLE)
    loaded = [m for m in never if m in sys.modules]
    if loaded:
        return f"the kernel stack imported {', '.join(loaded)}"
    threads = _threads()
    if threads != 1:
        return f"the kernel stack started {threads - 1} thread(s)"
    return None


def _preload(wanted: Sequence[str], loaded: list[str]) -> str | None:
    """Import the lessons' modules `wanted` (appended to `loaded`); None if each imported
    safely, else why not (see the module doc)."""
    import tempfile
    import warnings

    before, handlers, logs = _fds(), _handlers(), _log_handlers()
    saved = [os.dup(1), os.dup(2)]
    # warnings are noted, not shown; filters a package adds as it is imported stay, as they would
    # in a kernel that imports it (`catch_warnings` would undo them)
    caught: list[str] = []
    shown = warnings.showwarning

    def note(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        caught.append(f"{getattr(category, '__name__', category)}: {message}")

    warnings.showwarning = note
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            problem = _import_wanted(wanted, loaded)
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                _close(fd)
            if warnings.showwarning is note:
                warnings.showwarning = shown
        written = os.fstat(sink.fileno()).st_size
    never = [m for m in FORBIDDEN if m in sys.modules]
    if problem is None and never:
        problem = f"importing {', '.join(wanted)} imported {', '.join(never)}"
    if problem is None and written:
        problem = f"importing {', '.join(wanted)} wrote {written} bytes of output"
    if problem is None and caught:
        problem = f"importing {', '.join(wanted)} warned: {caught[0]}"
    if problem is None and _handlers() != handlers:  # a kernel starts with every one reset
        problem = f"importing {', '.join(wanted)} set a signal handler"
    if problem is None and _log_handlers() - logs:  # it would hold the server's sys.stderr
        problem = f"importing {', '.join(wanted)} added a logging handler"
    return problem or _settle(before)


def _import_wanted(wanted: Sequence[str], loaded: list[str]) -> str | None:
    """Import each of `wanted` that is installed (`name?`: if it is a module); why one failed."""
    import importlib.util

    for name in wanted:
        module = name.rstrip("?")
        if module.split(".")[0] not in PRELOADABLE or module in sys.modules:
            continue
        try:
            if importlib.util.find_spec(module) is None:
                continue  # not installed here (or not a module): the kernel says so
        except (ImportError, ValueError):
            continue
        try:
            __import__(module)
        except Exception as exc:  # installed, but broken: leave it to the kernel
            return f"importing {module} failed: {type(exc).__name__}: {exc}"
        loaded.append(module)
    return None


def _settle(before: set[str]) -> str | None:
    """Fork once and reap the child at once: a library that stops its threads before a fork
    (OpenBLAS's pool) has then stopped them. None if no thread and no new descriptor is left."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    left = _fds() - before
    if left:
        return f"the preloaded modules left {len(left)} descriptor(s) open"
    threads = _threads()
    if threads != 1:
        return f"the preloaded modules left {threads - 1} thread(s) running"
    return None


def _handlers() -> list[Any]:
    found = []
    for signum in range(1, signal.NSIG):
        try:
            found.append(signal.getsignal(signum))
        except (OSError, ValueError):
            found.append(None)
    return found


def _log_handlers() -> set[int]:
    """The logging handlers (other than NullHandler) of every logger, by id."""
    import logging

    loggers: list[Any] = [logging.getLogger()]
    loggers += [x for x in logging.Logger.manager.loggerDict.values() if hasattr(x, "handlers")]
    return {
        id(h)
        for logger in loggers
        for h in logger.handlers
        if not isinstance(h, logging.NullHandler)
    }


def _fds() -> set[str]:
    try:
        return set(os.listdir("/proc/self/fd"))  # noqa: PTH208
    except OSError:
        return set()


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))  # noqa: PTH208
    except OSError:
        import threading

        return threading.active_count()


def _fingerprint(paths: list[str]) -> dict[str, float]:
    """The mtime of every sys.path folder: changes when packages are installed or removed."""
    found: dict[str, float] = {}
    for entry in paths:
        try:
            found[entry] = os.stat(entry).st_mtime  # noqa: PTH116
        except OSError:
            found[entry] = -1.0
    return found


def _prctl(option: int, value: Any) -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _become_subreaper() -> bool:
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def _name(name: bytes) -> None:
    _prctl(PR_SET_NAME, name)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except (BlockingIOError, OSError):
        pass


class _Server:
    def __init__(
        self,
        listener: socket.socket,
        wake_r: int,
        wake_w: int,
        reaper: Any,
        base_path: list[str],
        fingerprint: dict[str, float],
        launchers: set[int],
    ) -> None:
        self.listener = listener
        self.wake = (wake_r, wake_w)
        self.reaper = reaper
        self.base_path = base_path
        self.fingerprint = fingerprint
        self.launchers = launchers
        self.preloading = False  # it imported modules of PRELOADABLE packages

    def serve(self, conn: socket.socket) -> bool:
        """Fork a launcher for the request on `conn`; False: stop serving (stale)."""
        fds: list[int] = []
        try:
            conn.settimeout(10)
            request, fds = _receive(conn)
            if _fingerprint(self.base_path) != self.fingerprint:
                conn.sendall(b'{"error": "stale: installed packages changed"}\n')
                return False
            problem = _unsafe(self.preloading)
            if problem is not None:
                conn.sendall(json.dumps({"error": problem}).encode() + b"\n")
                return False
            pid = os.fork()
            if pid == 0:
                _launcher(conn, fds, request, self)  # never returns
            self.launchers.add(pid)
            return True
        except Exception as exc:
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode() + b"\n")
            return True
        finally:
            conn.close()
            for fd in fds:
                _close(fd)

    def collect(self) -> None:
        """Reap launchers that exited; kill what a killed launcher left (adopted by us)."""
        lost = False
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            self.launchers.discard(pid)
            lost = True
        if lost:
            strays = [p for p in self.reaper.descendants(os.getpid()) if _parent(p) == os.getpid()]
            for pid in strays:
                if pid not in self.launchers:
                    self.reaper.reap(pid)
                    _kill(pid, signal.SIGKILL)

    def end(self) -> None:
        """Stop every launcher (each ends its kernel and what it started), then the rest."""
        for pid in list(self.launchers):
            _kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 3
        while self.launchers and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                self.launchers.discard(pid)
            else:
                time.sleep(0.01)
        self.reaper.reap(os.getpid())


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:  # noqa: PTH123
            data = fh.read()
        return int(data[data.rfind(b")") + 2 :].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signum)


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """One request: a JSON line, and the descriptors sent with its first bytes."""
    data, fds, _, _ = socket.recv_fds(conn, 65536, 3)
    while not data.endswith(b"\n"):
        more = conn.recv(65536)
        if not more or len(data) > MAX_REQUEST:
            raise ValueError("incomplete request")
        data += more
    request = json.loads(data)
    if len(fds) != 3 or not isinstance(request, dict):
        raise ValueError("a request carries a JSON object and 3 descriptors")
    return request, list(fds)


# --- the launcher (a forked child of the server) ------------------------------------------------


def _launcher(
    conn: socket.socket, fds: list[int], request: dict[str, Any], server: _Server
) -> None:
    """Own a session, start the kernel below, report, reap; never returns."""
    code = 1
    try:
        code = _launch(conn, fds, request, server)
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _launch(conn: socket.socket, fds: list[int], request: dict[str, Any], server: _Server) -> int:
    reaper = server.reaper
    server.listener.close()
    for fd in server.wake:
        _close(fd)
    signal.set_wakeup_fd(-1)
    os.setsid()
    _become_subreaper()
    _name(LAUNCHER_NAME)
    for target, fd in enumerate(fds):  # the kernel's stdin (at its end), stdout, stderr
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            _close(fd)
    stop: list[int] = []
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in _signals("SIGTERM", "SIGHUP"):
        signal.signal(signum, lambda signum, frame: stop.append(signum))
    me = os.getpid()
    kernel = os.fork()
    if kernel == 0:
        _kernel(request, me, server.base_path, keep=(0, 1, 2))  # never returns
    conn.settimeout(None)
    conn.sendall(json.dumps({"pid": me, "kernel": kernel}).encode() + b"\n")
    status: int | None = None
    while status is None and not stop:
        watched: list[Any] = [wake_r, conn]
        ready: list[Any] = select.select(watched, [], [], 5.0)[0]
        if conn in ready:
            try:
                if not conn.recv(4096):
                    break  # the executor closed the connection: it died, or is done
            except OSError:
                break
        _drain(wake_r)
        status = _collect(kernel, status)
    reaper.reap(me)
    while True:
        try:
            pid, code = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if pid == kernel:
            status = code
    with contextlib.suppress(OSError):
        conn.sendall(json.dumps({"status": status}).encode() + b"\n")
    return 0


def _collect(kernel: int, status: int | None) -> int | None:
    while True:
        try:
            pid, code = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status
        if pid == 0:
            return status
        if pid == kernel:
            status = code


# --- the kernel (a forked child of the launcher) ------------------------------------------------


def _kernel(
    request: dict[str, Any], launcher: int, base_path: list[str], keep: tuple[int, ...]
) -> None:
    """Become a fresh kernel, as `python -m ipykernel_launcher ARGS` would be; never returns."""
    code = 1
    try:
        _reset_process(keep)
        _reset_interpreter(request, launcher, base_path)
        code = _run_kernel(request)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                if stream is not None:
                    stream.flush()
            except Exception:
                pass
        os._exit(code)


def _reset_process(keep: tuple[int, ...]) -> None:
    os.setpgid(0, 0)  # interrupts go to the kernel's group; the launcher is not in it
    _name(KERNEL_NAME)
    signal.set_wakeup_fd(-1)
    for signum in range(1, signal.NSIG):
        if signum in (signal.SIGKILL, signal.SIGSTOP):
            continue
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            signal.signal(signum, signal.SIG_DFL)
    # as the interpreter sets them at start-up
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in _signals("SIGPIPE", "SIGXFSZ"):
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    highest = max(keep) + 1
    os.closerange(highest, _max_fd())


def _max_fd() -> int:
    try:
        return int(os.sysconf("SC_OPEN_MAX"))
    except (OSError, ValueError):
        return 65536


def _reset_interpreter(request: dict[str, Any], launcher: int, base_path: list[str]) -> None:
    import types

    cwd = str(request["cwd"])
    os.chdir(cwd)
    env = {str(k): str(v) for k, v in dict(request["env"]).items()}
    env["JPY_PARENT_PID"] = str(launcher)  # ipykernel ends itself when its parent goes
    os.environ.clear()
    os.environ.update(env)
    sys.path[:] = list(base_path)  # ipykernel's init_path puts "" (the cwd) first again
    sys.path_importer_cache.clear()
    import ipykernel_launcher  # type: ignore[import-untyped,unused-ignore]

    launcher_file = str(getattr(ipykernel_launcher, "__file__", "ipykernel_launcher.py"))
    # ipykernel read JPY_PARENT_PID when the server imported it: name the parent explicitly
    parent = f"--IPKernelApp.parent_handle={launcher}"
    sys.argv[:] = [launcher_file, *[str(a) for a in request["argv"]], parent]
    if isinstance(request.get("orig_argv"), list) and hasattr(sys, "orig_argv"):
        sys.orig_argv[:] = [str(a) for a in request["orig_argv"]]  # the exec'd command line
    main = types.ModuleType("__main__")
    main.__file__ = launcher_file
    sys.modules["__main__"] = main
    _reseed()


def _reseed() -> None:
    """Fresh random streams: the forked ones are copies of the server's."""
    import random

    random.seed()
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()


def _run_kernel(request: dict[str, Any]) -> int:
    from ipykernel import kernelapp

    _lossless_iopub(kernelapp.IPKernelApp)
    code = 0
    try:
        kernelapp.launch_new_instance()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    import atexit

    atexit._run_exitfuncs()
    return code


def _lossless_iopub(app: Any) -> None:
    """The kernel's IOPub socket with no send high-water mark. ZMQ's default (1,000 messages)
    makes it drop outputs, without a word, when the client reads more slowly than a lesson
    prints (a busy machine: 19,434 of 20,000 displays arrived once); workshopkit's client reads
    IOPub without a limit, so nothing has to be dropped on either side. ipykernel has no setting
    for it: its IOPub socket is made in `init_iopub` from the kernel's context, whose default
    for the sockets it makes from then on is set first."""
    import zmq

    make = app.init_iopub

    def init_iopub(self: Any, context: Any) -> Any:
        context.setsockopt(zmq.SNDHWM, 0)
        return make(self, context)

    app.init_iopub = init_iopub


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.stderr.write("usage: python forkserver.py SOCKET REAPER [PRELOAD]\n")
        raise SystemExit(2)
    main(sys.argv[1:])
