"""A papermill engine that knows workshopkit's cell tags and reports its kernel to the executor.

Registered under the `papermill.engine` entry point as `workshopkit`. Compared with papermill's
own `nbclient` engine it:

- lets cells tagged `raises-exception` fail on purpose: papermill 2.7 raises on *any* error
  output, so their errors are parked in cell metadata while papermill checks the notebook, and
  `restore_expected_errors` puts them back afterwards;
- hands the kernel's process to a `KernelWatch` as soon as it starts, so a lesson timeout or a
  Ctrl-C can kill the kernel's whole process group, and sends the kernel's stderr to a file;
- starts each kernel under a launcher that reaps what the lesson leaves (`reaper`), and kills
  every process below it before the kernel itself is shut down;
- caps the text each cell may output, replacing the rest with a visible marker.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any


class _DeferredEngine(type):
    """Stands in for `WorkshopkitEngine` while this module is still being imported.

    Importing papermill loads every `papermill.engine` entry point, this module among them. When
    this module is imported first, papermill asks for `WorkshopkitEngine` before it exists; it
    gets this stand-in, which forwards every use to the real class once it is defined.
    """

    def __getattr__(cls, name: str) -> Any:
        return getattr(globals()["WorkshopkitEngine"], name)


class _EngineStandIn(metaclass=_DeferredEngine):
    pass


def __getattr__(name: str) -> Any:  # PEP 562: only for names not (yet) defined
    if name == "WorkshopkitEngine":
        return _EngineStandIn
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


import zmq  # noqa: E402 - after the stand-in, see above
from jupyter_client.asynchronous.client import AsyncKernelClient  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from nbclient.util import run_sync  # noqa: E402
from nbformat import NotebookNode  # noqa: E402
from nbformat.v4 import new_output  # noqa: E402
from papermill.clientwrap import PapermillNotebookClient  # noqa: E402
from papermill.engines import NBClientEngine  # noqa: E402
from papermill.utils import merge_kwargs, remove_args  # noqa: E402
from traitlets import default  # noqa: E402

from . import reaper  # noqa: E402
from .model import TAG_RAISES, TAG_SKIP  # noqa: E402

# nbclient logs every timeout and dead kernel as an error; the executor reports each of them in
# the lesson's result, so its log goes here (silent unless someone configures it).
CLIENT_LOG = logging.getLogger("workshopkit.kernel")
CLIENT_LOG.addHandler(logging.NullHandler())
CLIENT_LOG.propagate = False
PARKED_ERRORS = "workshopkit_expected_errors"
# nbclient gives the client this long, after a cell's reply, to handle the cell's outputs (4 s by
# default). The lossless client below may still hold thousands of them when the machine is busy
# (seen in CI); they are all there, so wait for them rather than fail the lesson.
IOPUB_TIMEOUT = 30
STARTUP_ATTEMPTS = 3
STARTUP_ATTEMPT_MIN_SECONDS = 10  # the least an attempt that is not the last one waits
# A send the kernel side never takes (a socket connected to a dead kernel, or to another
# process's port) fails after this long instead of blocking its thread for good (seen once in CI:
# a start-up stuck for minutes in kernel_info's send).
SEND_TIMEOUT_MS = 10_000
_STARTUP_RETRYABLE = (
    "died before replying",
    "didn't respond in",
    "Resource temporarily unavailable",
)
TRUNCATED_MARK = "[workshopkit: output truncated at {limit} bytes; {dropped} more bytes dropped]"
# What the kernel-side cap writes (on stderr): the first line as soon as a cell goes over, so a
# truncation is visible even if output arrives late; the count when the cell is done.
KERNEL_MARK = "[workshopkit: output truncated at {limit} bytes]"
KERNEL_COUNT = "[workshopkit: {dropped} more bytes dropped]"
_KERNEL_MARK = re.compile(r"\[workshopkit: output truncated at \d+ bytes\]")
_KERNEL_COUNT = re.compile(r"\[workshopkit: (\d+) more bytes dropped\]")

# Run by an IPython kernel at start-up (`--IPKernelApp.exec_files`): caps what each cell writes to
# stdout and stderr (its subprocesses' output included) inside the kernel, so that a cell printing
# gigabytes neither fills the kernel's memory nor sends it to the executor in huge messages.
# What a subprocess writes to file descriptor 1 or 2 reaches the stream through ipykernel's pipe
# reader thread, a little later: at the end of each cell a NUL byte (ipykernel's own wake-up
# byte) is written through each pipe and the cell waits until the reader has passed it on, so
# that output is counted, and shown, with the cell that produced it. Names are deleted afterwards.
KERNEL_OUTPUT_CAP = """\
def _workshopkit_cap(limit, mark, count):
    import os
    import sys
    import threading

    from IPython import get_ipython

    state = {"used": 0, "dropped": 0}
    streams = {}
    writers = {}
    written = set()  # streams written to since their last flush
    drained = {}  # stream name -> Event set when its pipe's NUL byte comes through

    def capped(name, write):
        def write_capped(text):
            if not isinstance(text, str):
                return write(text)
            if "\\0" in text and name in drained:
                text = text.replace("\\0", "", 1)
                done = drained.pop(name, None)
                if done is not None:
                    done.set()
                if not text:
                    return 0
            size = len(text)
            used = state["used"]
            state["used"] = used + size
            if used + size <= limit:
                written.add(name)
                return write(text)
            keep = max(0, limit - used)
            if keep:
                written.add(name)
                write(text[:keep])
            if not state["dropped"] and "stderr" in writers:
                written.add("stderr")
                writers["stderr"]("\\n" + mark + "\\n")
            state["dropped"] += size - keep
            return size
        return write_capped

    def flushing(name, flush):
        # A flush waits for ipykernel's I/O thread: a loop that prints and flushes past the cap
        # would wait each time for nothing. Skipped while nothing was written since the last one
        # (the I/O thread flushes on a timer anyway).
        def flush_capped(*args, **kwargs):
            if state["dropped"] and name not in written:
                return None
            written.discard(name)
            return flush(*args, **kwargs)
        return flush_capped

    def pre_execute(*args):
        state["used"] = 0
        state["dropped"] = 0

    def forgetting(clear):
        def clear_output(*args, **kwargs):  # what was printed is gone: it no longer counts
            state["used"] = 0
            state["dropped"] = 0
            return clear(*args, **kwargs)
        return clear_output

    def drain():
        for name, stream in streams.items():
            reader = getattr(stream, "watch_fd_thread", None)
            fd = getattr(stream, "_original_stdstream_fd", None)
            pipe = getattr(stream, "_fid", None)
            if fd is None or pipe is None or reader is None or not reader.is_alive():
                continue
            try:  # still ipykernel's pipe, not a file the lesson put there with os.dup2
                if os.fstat(fd).st_ino != os.fstat(pipe).st_ino:
                    continue
                done = drained[name] = threading.Event()
                os.write(fd, b"\\0")
            except OSError:
                drained.pop(name, None)
                continue
            if not done.wait(5):
                drained.pop(name, None)

    def post_execute(*args):
        drain()
        if state["dropped"] and "stderr" in writers:
            writers["stderr"](count.format(dropped=state["dropped"]) + "\\n")
        state["dropped"] = 0

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        if stream is not None and callable(getattr(stream, "write", None)):
            streams[name] = stream
            writers[name] = stream.write
            stream.write = capped(name, stream.write)
            if callable(getattr(stream, "flush", None)):
                stream.flush = flushing(name, stream.flush)
    shell = get_ipython()
    publisher = getattr(shell, "display_pub", None)
    if callable(getattr(publisher, "clear_output", None)):
        publisher.clear_output = forgetting(publisher.clear_output)
    shell.events.register("pre_execute", pre_execute)
    shell.events.register("post_execute", post_execute)


_workshopkit_cap(__LIMIT__, __MARK__, __COUNT__)
del _workshopkit_cap
"""


class KernelWatch:
    """What the executor knows about one lesson's kernel, shared with the engine's client."""

    def __init__(self, stderr: IO[Any] | None = None, env: dict[str, str] | None = None) -> None:
        self.stderr = stderr
        self.env = env
        self.tag: str | None = None  # a value in the kernel's environment: finds its children
        # The kernel's process (on Linux, its launcher: see `reaper`), and when it started: the
        # two name it for good, even once its pid is free again.
        self.process: subprocess.Popen[bytes] | None = None
        self.process_start: int | None = None
        self.started = threading.Event()
        self.on_start: Callable[[KernelWatch], None] | None = None
        self.notebook: NotebookNode | None = None
        self.truncated: dict[int, int] = {}  # cell index -> bytes dropped
        # The code cell executing now (or last), as an index into the executed notebook, and
        # when it started: timeouts and dead kernels carry no cell of their own.
        self.cell_index: int | None = None
        self.cell_started: float | None = None
        # "new" until the kernel is launched, "starting" until it answers, then "ready".
        self.stage = "new"
        self.output_limit = 0
        # Where to write the start-up file that caps output inside IPython kernels (None: no cap
        # in the kernel; the executor still caps what it keeps).
        self.startup_dir: Path | None = None
        # Kernel start-up is retried when the kernel process dies before answering (a port taken
        # by another process between jupyter_client choosing it and the kernel binding it) or
        # does not answer within its share of the start-up timeout (seen once in the 160-kernel
        # port-race test on a loaded machine: a kernel answers within seconds or never; mystmd
        # retries the same way); each failed attempt is noted here. The executor turns retries
        # off when it stops.
        self.startup_attempts = STARTUP_ATTEMPTS
        self.may_retry: Callable[[], bool] = lambda: True
        self.startup_failures: list[str] = []
        # Held while cells execute: lets the executor start the next kernel ahead of time
        # while at most `jobs` lessons run cells.
        self.gate: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def end_processes(self) -> int:
        """Kill every process below the kernel's (the kernel too, under a launcher), now;
        returns how many. Nothing where processes have no subreaper (see `reaper`)."""
        process, start = self.process, self.process_start
        if process is None or start is None:
            return 0
        killed = reaper.reap(process.pid, start)
        if killed and reaper.is_launcher(process.pid):
            # its kernel is dead: it collects its children and exits, as the kernel did (killed
            # before that, by jupyter_client, it would leave them to init as zombies)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=2)
        return killed


def _text_size(out: NotebookNode) -> int:
    if out.get("output_type") == "stream":
        return len(out.get("text", ""))
    data = out.get("data", {})
    return sum(len(v) for v in data.values() if isinstance(v, str))


_PORTS_LOCK = threading.Lock()
_PORTS_GIVEN: collections.deque[int] = collections.deque(maxlen=4096)  # recently handed out


def ephemeral_port_range() -> tuple[int, int]:
    """The ports the system picks from for outgoing connections (and for `bind(0)`)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default; macOS and Windows use 49152-65535


def kernel_ports(ip: str, count: int) -> list[int]:
    """`count` free TCP ports on `ip` for a kernel, from below the ephemeral range.

    jupyter_client picks ports with `bind(0)`, i.e. from the ephemeral range, which every
    outgoing connection draws from too: a client socket can take a kernel's port between the
    choice and the kernel's bind, and a client connecting to a port of that range before the
    kernel listens can even connect to itself (TCP self-connect). Below the range neither can
    happen; another process choosing the same port is still possible, and the kernel then dies
    at start-up and is retried. Returns [] when no such range is usable (jupyter_client picks).
    """
    import random
    import socket

    low = 10_000
    high = ephemeral_port_range()[0] - 1
    if high - low < 1_000:
        return []
    chosen: list[int] = []
    with _PORTS_LOCK:
        for _ in range(200 * count):
            if len(chosen) == count:
                break
            port = random.randint(low, high)
            if port in chosen or port in _PORTS_GIVEN:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                try:
                    probe.bind((ip, port))
                except OSError:
                    continue
            chosen.append(port)
        if len(chosen) < count:
            return []
        _PORTS_GIVEN.extend(chosen)
    return chosen


class LosslessKernelClient(AsyncKernelClient):
    """A kernel client whose sockets have no receive high-water mark, and whose blocking sends
    time out (`SEND_TIMEOUT_MS`; a start-up that times out so is retried).

    With ZMQ's default (1,000 messages), the client stops reading IOPub while the executor is
    busy with earlier outputs; the kernel's PUB socket then drops what it cannot queue, without
    a word, and a lesson passes with outputs missing. Unbounded, the client's I/O thread (native,
    outside the GIL) keeps reading and no message is lost; what arrives is what the executor
    keeps or caps.
    """

    def _context_default(self) -> Any:
        context = super()._context_default()
        context.setsockopt(zmq.RCVHWM, 0)  # a default for every socket this context creates
        context.setsockopt(zmq.SNDTIMEO, SEND_TIMEOUT_MS)
        return context


class ReapingKernelManager(AsyncKernelManager):
    """A kernel manager that starts its kernel under a launcher that reaps whatever the kernel
    leaves behind (see `reaper`; unchanged where there is no subreaper)."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return reaper.launcher_argv(super().format_kernel_cmd(extra_arguments))


class WorkshopkitClient(PapermillNotebookClient):  # type: ignore[misc]
    """papermill's client, plus a kernel watch, an output cap, and a kernel that takes every
    process it started with it when it goes."""

    km: Any  # nbclient's kernel manager and client (traitlets, untyped)
    kc: Any

    def __init__(self, nb_man: Any, *, watch: KernelWatch, output_limit: int, **kw: Any) -> None:
        super().__init__(nb_man, **kw)
        self.watch = watch
        self.output_limit = output_limit
        self._budget: dict[tuple[int, str], int] = {}  # (cell, "stream" | "data") -> characters
        self._dropped: dict[tuple[int, str], int] = {}  # dropped here, by the executor
        self._kernel_dropped: dict[int, int] = {}  # dropped in the kernel, by its own cap
        watch.output_limit = output_limit

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        if self.watch.stderr is not None:
            kwargs.setdefault("stderr", self.watch.stderr)
            # ipykernel echoes what it captures from file descriptor 1 (a subprocess's prints)
            # to its own stdout: keep that out of the executor's terminal
            kwargs.setdefault("stdout", subprocess.DEVNULL)
        if self.watch.env is not None:
            kwargs.setdefault("env", self.watch.env)
        self.watch.stage = "starting"
        self._cap_in_kernel()
        await super().async_start_new_kernel(**kwargs)
        provisioner = getattr(self.km, "provisioner", None)
        self.watch.process = getattr(provisioner, "process", None)
        if self.watch.process is not None:
            self.watch.process_start = reaper.start_time(self.watch.process.pid)
        self.watch.started.set()
        if self.watch.on_start is not None:
            self.watch.on_start(self.watch)

    start_new_kernel = run_sync(async_start_new_kernel)  # the sync twin must see the override

    @default("kernel_manager_class")
    def _reaping_kernel_manager(self) -> type[AsyncKernelManager]:
        return ReapingKernelManager

    async def _async_cleanup_kernel(self) -> None:
        """Kill every process the lesson started before the kernel is shut down: while the
        launcher lives, none of them can leave its tree (jupyter_client kills the launcher's
        process group, and what has left the group would be orphaned to init)."""
        self.watch.end_processes()
        await super()._async_cleanup_kernel()

    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    def _cap_in_kernel(self) -> None:
        """For IPython kernels, cap each cell's stdout and stderr inside the kernel too."""
        if self.output_limit <= 0 or self.watch.startup_dir is None or self.km is None:
            return
        try:
            argv = [str(a) for a in self.km.kernel_spec.argv]
        except Exception:  # an unreadable spec fails at start-up, with its own message
            return
        if not any("ipykernel" in a for a in argv):
            return
        path = self.watch.startup_dir / "workshopkit_output_cap.py"
        path.write_text(
            KERNEL_OUTPUT_CAP.replace("__LIMIT__", str(int(self.output_limit)))
            .replace("__MARK__", repr(KERNEL_MARK.format(limit=int(self.output_limit))))
            .replace("__COUNT__", repr(KERNEL_COUNT)),
            encoding="utf-8",
        )
        extra = [*self.extra_arguments, f"--IPKernelApp.exec_files={path}"]  # type: ignore[has-type]
        self.extra_arguments = extra

    async def async_start_new_kernel_client(self) -> Any:
        kc = await super().async_start_new_kernel_client()
        self.watch.stage = "ready"
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def create_kernel_manager(self) -> Any:
        km = super().create_kernel_manager()
        km.client_factory = LosslessKernelClient
        if km.transport == "tcp" and km.ip in {"127.0.0.1", "localhost"}:
            ports = kernel_ports(km.ip, 5)
            if ports:  # instead of the provisioner's LocalPortCache, which uses bind(0)
                km.cache_ports = False
                km.shell_port, km.iopub_port, km.stdin_port, km.control_port, km.hb_port = ports
        return km

    @contextlib.contextmanager
    def setup_kernel(self, **kwargs: Any) -> Iterator[None]:
        """nbclient's `setup_kernel`, retrying a kernel that dies or stays silent while starting.

        Every attempt but the last waits for an answer a share of the start-up timeout (at
        least `STARTUP_ATTEMPT_MIN_SECONDS`); the last waits the whole timeout, so a machine that
        is merely slow still gets its kernel."""
        cleanup_kc = kwargs.pop("cleanup_kc", self.owns_km)
        attempts = max(1, self.watch.startup_attempts)
        timeout: int = self.startup_timeout  # type: ignore[has-type]
        attempt = 1
        while True:
            last = attempt >= attempts
            share = max(STARTUP_ATTEMPT_MIN_SECONDS, timeout // attempts)
            self.startup_timeout = timeout if last else min(timeout, share)
            try:
                if self.km is None:
                    self.km = self.create_kernel_manager()
                if not self.km.has_kernel:
                    self.start_new_kernel(**kwargs)
                if self.kc is None:
                    self.start_new_kernel_client()
                break
            except Exception as exc:
                retryable = any(text in str(exc) for text in _STARTUP_RETRYABLE)
                if not retryable or last or not self.watch.may_retry():
                    raise
                self.watch.startup_failures.append(str(exc))
                CLIENT_LOG.warning("kernel start-up failed (%s); retrying", exc)
                with contextlib.suppress(Exception):
                    self._cleanup_kernel()
                self.km = None
                self.kc = None
                time.sleep(0.5 * attempt)
                attempt += 1
        self.startup_timeout = timeout
        try:
            yield
        finally:
            if cleanup_kc:
                self._cleanup_kernel()

    def papermill_execute_cells(self) -> None:
        with self.watch.gate:
            super().papermill_execute_cells()

    def execute_cell(self, cell: NotebookNode, cell_index: int, *args: Any, **kw: Any) -> Any:
        source = cell.get("source", "")
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") == "code" and source.strip() and TAG_SKIP not in tags:
            self.watch.cell_index = cell_index
            self.watch.cell_started = time.monotonic()
        return super().execute_cell(cell, cell_index, *args, **kw)

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        """Keep at most `output_limit` characters of each cell's streams, and as much of its rich
        outputs; what goes over is dropped, and a marker says how much."""
        if self.clear_before_next_output and not self._hooked(msg):
            self._forget(cell_index)  # super() carries out a `clear_output(wait=True)` first
        out: NotebookNode | None = super().output(outs, msg, display_id, cell_index)
        if out is None or self.output_limit <= 0:
            return out
        kind = "stream" if out.get("output_type") == "stream" else "data"
        if kind == "stream":
            text = out.get("text", "")
            count = _KERNEL_COUNT.search(text)
            if count or _KERNEL_MARK.search(text):  # the kernel capped this cell's streams
                dropped = int(count.group(1)) if count else 0
                self._kernel_dropped[cell_index] = self._kernel_dropped.get(cell_index, 0) + dropped
                self._note(cell_index)
                return out
        size = _text_size(out)
        key = (cell_index, kind)
        used = self._budget.get(key, 0)
        self._budget[key] = used + size
        if used + size <= self.output_limit:
            return out
        keep = max(0, self.output_limit - used)
        kept: NotebookNode | None = None
        if kind == "stream" and keep:
            out["text"] = out["text"][:keep]
            kept = out
        else:
            _drop(outs, out, display_id)
            keep = 0
        if key not in self._dropped:
            marker = new_output(  # type: ignore[no-untyped-call]
                "stream",
                name="stderr",
                text="\n" + TRUNCATED_MARK.format(limit=self.output_limit, dropped=_slot(*key)),
            )
            outs.append(marker)
        self._dropped[key] = self._dropped.get(key, 0) + size - keep
        self._note(cell_index)
        return kept

    def clear_output(self, outs: list[NotebookNode], msg: dict[str, Any], cell_index: int) -> None:
        super().clear_output(outs, msg, cell_index)
        if not self.clear_before_next_output and not self._hooked(msg):
            self._forget(cell_index)

    def _hooked(self, msg: dict[str, Any]) -> bool:
        """Whether an output widget, not the cell, takes this message's outputs."""
        return bool(self.output_hook_stack[msg["parent_header"].get("msg_id")])

    def _forget(self, cell_index: int) -> None:
        """A cell's outputs were cleared: what they used, and what was dropped from them, no
        longer counts (a training loop that redraws its plot keeps its last frame)."""
        for kind in ("stream", "data"):
            self._budget.pop((cell_index, kind), None)
            self._dropped.pop((cell_index, kind), None)
        self._kernel_dropped.pop(cell_index, None)
        self.watch.truncated.pop(cell_index, None)

    def _note(self, cell_index: int) -> None:
        client = sum(n for (index, _), n in self._dropped.items() if index == cell_index)
        self.watch.truncated[cell_index] = client + self._kernel_dropped.get(cell_index, 0)


def _slot(cell_index: int, kind: str) -> str:
    """Placeholder for a marker's byte count, filled in when the cell is done."""
    return f"{{dropped:{cell_index}:{kind}}}"


def _drop(outs: list[NotebookNode], out: NotebookNode, display_id: str | None) -> None:
    """Remove `out` (the last one added), or empty it in place if a display id refers to it."""
    if display_id:  # nbclient updates displays by their index in `outs`: keep the slot
        out["data"] = {"text/plain": ""}
        out["metadata"] = {}
        return
    for index in range(len(outs) - 1, -1, -1):
        if outs[index] is out:
            del outs[index]
            return


def park_expected_errors(nb: NotebookNode) -> None:
    """Move the error outputs of `raises-exception` cells aside so papermill does not raise."""
    for cell in nb.cells:
        if cell.get("cell_type") != "code" or TAG_RAISES not in cell.metadata.get("tags", []):
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not errors:
            continue
        cell.metadata[PARKED_ERRORS] = [dict(e) for e in errors]
        cell.outputs = [o for o in cell.outputs if o.get("output_type") != "error"]


def restore_expected_errors(nb: NotebookNode) -> None:
    """Undo `park_expected_errors` and fill in truncation markers' byte counts."""
    from nbformat import from_dict

    for cell in nb.cells:
        parked = cell.metadata.pop(PARKED_ERRORS, None)
        if parked:
            cell.outputs = [*cell.get("outputs", []), *(from_dict(e) for e in parked)]  # type: ignore[no-untyped-call]


def _fill_truncation_marks(nb: NotebookNode, dropped: dict[tuple[int, str], int]) -> None:
    for (index, kind), count in dropped.items():
        if index >= len(nb.cells):
            continue
        slot = _slot(index, kind)
        for out in nb.cells[index].get("outputs", []):
            if out.get("output_type") == "stream" and slot in out.get("text", ""):
                out["text"] = out["text"].replace(slot, str(count))


class WorkshopkitEngine(NBClientEngine):  # type: ignore[misc]
    """The papermill engine workshopkit runs every lesson with."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        watch: KernelWatch | None = None,
        output_limit: int = 1 << 20,
        **kwargs: Any,
    ) -> NotebookNode:
        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            safe_kwargs,
            timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=CLIENT_LOG,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        final_kwargs.setdefault("shutdown_kernel", "immediate")
        final_kwargs.setdefault("iopub_timeout", IOPUB_TIMEOUT)
        watch = watch or KernelWatch()
        client = WorkshopkitClient(nb_man, watch=watch, output_limit=output_limit, **final_kwargs)
        loop = _quiet_loop()
        try:
            executed: NotebookNode = client.execute()
            return executed
        finally:
            _drain(loop)
            _fill_truncation_marks(nb_man.nb, client._dropped)
            park_expected_errors(nb_man.nb)
            watch.notebook = nb_man.nb


def _quiet_loop() -> asyncio.AbstractEventLoop:
    """This thread's event loop (the one nbclient's sync calls run on), made quiet.

    After a timeout or a dead kernel, nbclient leaves its output-polling task behind on a closed
    socket; asyncio would print "Task was destroyed but it is pending!" or "Task exception was
    never retrieved" with a traceback to stderr. The lesson's result already says what happened.
    """
    from jupyter_core.utils import ensure_event_loop

    loop = ensure_event_loop()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        CLIENT_LOG.debug("asyncio: %s", context.get("message"), exc_info=context.get("exception"))

    loop.set_exception_handler(handler)
    return loop


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the tasks an execution left on this thread's loop, so none wakes up later, then
    close the loop (the next lesson on this thread gets a new one): a worker thread's loop left
    open leaks its sockets when the thread ends."""
    if loop.is_closed() or loop.is_running():
        return
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    with contextlib.suppress(Exception):
        if tasks:
            loop.run_until_complete(asyncio.wait(tasks, timeout=2))
        loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
