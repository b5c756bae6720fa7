"""A papermill engine that knows workshopkit's cell tags, reports on its kernel, and caps output.

Registered with papermill in code, by `register()` (the executor calls it before it runs a
lesson), as `workshopkit`; papermill never imports this module. Compared with papermill's own
`nbclient` engine it:

- lets cells tagged `raises-exception` fail on purpose: papermill 2.7 raises on *any* error
  output, so their errors are parked in cell metadata while papermill checks the notebook, and
  `restore_expected_errors` puts them back afterwards;
- is given a frozen `KernelContext` (the kernel's environment, where its stderr goes, the output
  cap, a gate to hold while cells run) and reports what happens, as it happens, to the context's
  `KernelEvents` (kernel started, cell started, output truncated ...): the executor kills the
  kernel from there when a lesson times out or a run is interrupted;
- starts each kernel under a launcher that reaps what the lesson leaves (`reaper`), and kills
  every process below it before the kernel itself is shut down;
- caps the text each cell may output, replacing the rest with a visible marker: in IPython
  kernels, inside the kernel too (`workshopkit._kernel.output_cap`).
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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import IO, Any

import zmq
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbformat.v4 import new_output
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.utils import merge_kwargs, remove_args
from traitlets import default

from . import reaper
from .model import TAG_RAISES, TAG_SKIP

ENGINE_NAME = "workshopkit"
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
# Kernel start-up is retried when the kernel process dies before answering (a port taken by
# another process between choosing it and the kernel binding it) or does not answer within its
# share of the start-up timeout (seen once in the 160-kernel port-race test on a loaded machine:
# a kernel answers within seconds or never; mystmd retries the same way).
STARTUP_ATTEMPTS = 3
STARTUP_ATTEMPT_MIN_SECONDS = 10  # the least an attempt that is not the last one waits
# A send the kernel side never takes (a socket connected to a dead kernel, or to another
# process's port) fails after this long instead of blocking its thread for good (seen once in CI:
# a start-up stuck for minutes in kernel_info's send).
SEND_TIMEOUT_MS = 10_000
# How soon a socket connecting to a kernel that is not listening yet tries again: after 10 ms,
# then twice as long each time up to 40 ms. ZMQ's default, every 100 ms, is more than a forked
# kernel takes to listen (about 60 ms), so it added up to 100 ms to every start; retrying every
# 10 ms throughout would cost a kernel that takes seconds to start hundreds of refused connects.
RECONNECT_MS = 10
RECONNECT_MAX_MS = 40
LAUNCHER_EXIT_SECONDS = 2  # the longest the cleanup waits for a forked kernel's launcher to exit
IDLE_WINDOW = 0.25  # seconds the ready check waits for a kernel_info's idle status on IOPub
REPLY_WINDOW = 1.0  # seconds the ready check waits for a kernel_info reply before asking again
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
# The in-kernel cap: `_kernel/output_cap.py`, copied beside the kernel's start-up file, which
# runs it (`--IPKernelApp.exec_files`).
CAP_MODULE = "output_cap.py"
CAP_COPY = "workshopkit_kernel_output_cap.py"
CAP_STARTUP = "workshopkit_output_cap.py"


def register() -> None:
    """Make papermill's `engine_name="workshopkit"` run this engine (again: no harm)."""
    papermill_engines.register(ENGINE_NAME, WorkshopkitEngine)


class KernelEvents:
    """What the engine reports about one lesson's kernel, as it happens, from the thread the
    notebook runs in. These do nothing; the executor's `LessonKernel` keeps what it needs."""

    def kernel_starting(self) -> None:
        """The kernel is about to be launched (again, when a start-up is retried)."""

    def kernel_started(self, process: subprocess.Popen[bytes] | None, start: int | None) -> None:
        """The kernel was launched: its process (on Linux, its launcher: see `reaper`; None if
        its provisioner keeps none), and when that started (`reaper.start_time`): the two name
        it for good, even once its pid is free."""

    def kernel_ready(self) -> None:
        """The kernel answered: start-up is over."""

    def startup_failed(self, message: str) -> bool:
        """A start-up attempt failed in a way worth retrying; False: do not retry."""
        return True

    def cell_started(self, index: int) -> None:
        """Code cell `index` (of the executed notebook) starts executing."""

    def output_truncated(self, index: int, dropped: int) -> None:
        """Cell `index` went over the output cap; `dropped`: its total so far."""

    def output_cleared(self, index: int) -> None:
        """Cell `index`'s outputs were cleared: none of them is truncated any more."""

    def notebook_ran(self, nb: NotebookNode) -> None:
        """The notebook, as far as it ran (also when the run raised)."""


@dataclass(frozen=True, slots=True)
class KernelContext:
    """What the engine is told about one lesson's kernel, before it starts. papermill hands it to
    the engine as the `context` keyword of `execute_notebook`."""

    env: Mapping[str, str] | None = None  # the kernel's environment (None: this process's)
    stderr: IO[Any] | None = None  # where the kernel's stderr goes (None: this process's)
    # Where to write the start-up files that cap output inside IPython kernels (None: no cap in
    # the kernel; the executor still caps what it keeps).
    startup_dir: Path | None = None
    output_limit: int = 1 << 20  # characters per cell, for streams and for rich output; 0: no cap
    startup_attempts: int = STARTUP_ATTEMPTS
    # Held while cells execute: lets the executor start the next kernel ahead of time while at
    # most `jobs` lessons run cells.
    gate: contextlib.AbstractContextManager[Any] = field(default_factory=contextlib.nullcontext)
    events: KernelEvents = field(default_factory=KernelEvents)
    # The run's fork servers (`forkkernel.ForkServers`): the kernel is forked from one
    # where it can be (`kernel_start = "fork"`); None: exec'd.
    fork_servers: Any = None


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
        context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        context.setsockopt(zmq.RECONNECT_IVL_MAX, RECONNECT_MAX_MS)
        return context

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        """Ready once the kernel has answered a kernel_info request on shell *and* IOPub is
        connected: the idle status that ends the request came through, or the `iopub_welcome`
        that ipykernel 7 sends when it receives our subscription (the idle status published
        before that is lost, and waiting for it would cost `IDLE_WINDOW` and a second request:
        a third of the forked kernels of a 24-lesson run did).

        jupyter_client's own check then waits for 0.2 s of IOPub silence, on every kernel; the
        idle status is the kernel's own word that nothing more belongs to the request. Its
        error messages are kept (the start-up retries look for them)."""
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while True:
            msg_id = self.kernel_info()
            reply = await self._reply_to(msg_id, self.shell_channel, REPLY_WINDOW)
            # the idle status follows the reply at once; none within IDLE_WINDOW: IOPub was not
            # connected yet when it was published, so ask again
            if reply is not None and await self._idle_after(msg_id, IDLE_WINDOW):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    wait_for_ready = _async_wait_for_ready  # jupyter_client's alias names its own method

    async def _reply_to(self, msg_id: str, channel: Any, seconds: float) -> Any:
        """The message on `channel` whose parent is `msg_id`, within `seconds` (None)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                msg = await channel.get_msg(timeout=left)
            except Exception:  # queue.Empty
                return None
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg
        return None

    async def _idle_after(self, msg_id: str, seconds: float) -> bool:
        """Whether IOPub shows it is connected within `seconds`: the idle status that ends
        request `msg_id`, or the `iopub_welcome` a kernel with an XPUB socket (ipykernel 7)
        sends once it has our subscription, after which nothing it publishes is lost."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                msg = await self.iopub_channel.get_msg(timeout=left)
            except Exception:  # queue.Empty
                return False
            if msg.get("msg_type") == "iopub_welcome":
                return True
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                return True
        return False


class ReapingKernelManager(AsyncKernelManager):
    """A kernel manager that starts its kernel under a launcher that reaps whatever the kernel
    leaves behind (see `reaper`; unchanged where there is no subreaper)."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return reaper.launcher_argv(super().format_kernel_cmd(extra_arguments))


def _use_fork_provisioner(km: Any, servers: Any) -> None:
    """Make `km` start its kernel through the fork provisioner (`forkkernel`), with the
    run's `servers`, unless its kernelspec names a provisioner of its own."""
    from .forkkernel import FORK_PROVISIONER

    try:
        spec = km.kernel_spec
    except Exception:  # an unreadable spec fails at start-up, with its own message
        return
    if spec is None or spec.metadata.get("kernel_provisioner"):
        return
    spec.metadata = {**spec.metadata, "kernel_provisioner": {"provisioner_name": FORK_PROVISIONER}}
    km.fork_servers = servers


def _forked(process: Any) -> bool:
    """Whether `process` is a forked kernel's launcher (`forkkernel.ForkedKernel`)."""
    from .forkkernel import ForkedKernel

    return isinstance(process, ForkedKernel)


def _text_size(out: NotebookNode) -> int:
    if out.get("output_type") == "stream":
        return len(out.get("text", ""))
    data = out.get("data", {})
    return sum(len(v) for v in data.values() if isinstance(v, str))


class OutputBudget:
    """The executor's side of the output cap: at most `limit` characters of each cell's streams,
    and as many of its rich outputs; what goes over is dropped, and a marker says how much."""

    def __init__(self, limit: int, events: KernelEvents) -> None:
        self.limit = limit
        self.events = events
        self.used: dict[tuple[int, str], int] = {}  # (cell, "stream" | "data") -> characters
        self.dropped: dict[tuple[int, str], int] = {}  # dropped here, by the executor
        self.kernel_dropped: dict[int, int] = {}  # dropped in the kernel, by its own cap

    def admit(
        self, outs: list[NotebookNode], out: NotebookNode, display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        """`out`, just added to `outs`, as much of it as the cell's budget allows (None: none)."""
        if self.limit <= 0:
            return out
        kind = "stream" if out.get("output_type") == "stream" else "data"
        if kind == "stream" and self._capped_in_kernel(out, cell_index):
            return out
        size = _text_size(out)
        key = (cell_index, kind)
        used = self.used.get(key, 0)
        self.used[key] = used + size
        if used + size <= self.limit:
            return out
        keep = max(0, self.limit - used)
        kept: NotebookNode | None = None
        if kind == "stream" and keep:
            out["text"] = out["text"][:keep]
            kept = out
        else:
            _drop(outs, out, display_id)
            keep = 0
        if key not in self.dropped:
            text = "\n" + TRUNCATED_MARK.format(limit=self.limit, dropped=_slot(*key))
            outs.append(new_output("stream", name="stderr", text=text))  # type: ignore[no-untyped-call]
        self.dropped[key] = self.dropped.get(key, 0) + size - keep
        self._note(cell_index)
        return kept

    def _capped_in_kernel(self, out: NotebookNode, cell_index: int) -> bool:
        """Whether `out` is a line of the kernel's own cap (then the kernel counted the cell)."""
        text = out.get("text", "")
        count = _KERNEL_COUNT.search(text)
        if not count and not _KERNEL_MARK.search(text):
            return False
        dropped = int(count.group(1)) if count else 0
        self.kernel_dropped[cell_index] = self.kernel_dropped.get(cell_index, 0) + dropped
        self._note(cell_index)
        return True

    def forget(self, cell_index: int) -> None:
        """A cell's outputs were cleared: what they used, and what was dropped from them, no
        longer counts (a training loop that redraws its plot keeps its last frame)."""
        for kind in ("stream", "data"):
            self.used.pop((cell_index, kind), None)
            self.dropped.pop((cell_index, kind), None)
        self.kernel_dropped.pop(cell_index, None)
        self.events.output_cleared(cell_index)

    def _note(self, cell_index: int) -> None:
        client = sum(n for (index, _), n in self.dropped.items() if index == cell_index)
        self.events.output_truncated(cell_index, client + self.kernel_dropped.get(cell_index, 0))


def kernel_cap_arguments(startup_dir: Path, limit: int) -> list[str]:
    """The kernel arguments that cap output inside an IPython kernel, having written the files
    they name into `startup_dir`: a copy of `_kernel/output_cap.py`, and a start-up file that
    runs it (by path: the kernel's Python may not have workshopkit)."""
    source = resources.files("workshopkit._kernel").joinpath(CAP_MODULE).read_text("utf-8")
    module = startup_dir / CAP_COPY
    module.write_text(source, encoding="utf-8")
    arguments = (limit, KERNEL_MARK.format(limit=limit), KERNEL_COUNT)
    call = f"__import__('runpy').run_path({str(module)!r})['install']{arguments!r}"
    startup = startup_dir / CAP_STARTUP
    startup.write_text(f"# workshopkit: caps each cell's output ({CAP_COPY})\n{call}\n", "utf-8")
    return [f"--IPKernelApp.exec_files={startup}"]


class WorkshopkitClient(PapermillNotebookClient):  # type: ignore[misc]
    """papermill's client, plus the kernel events, an output cap, and a kernel that takes every
    process it started with it when it goes."""

    km: Any  # nbclient's kernel manager and client (traitlets, untyped)
    kc: Any

    def __init__(self, nb_man: Any, *, context: KernelContext, **kw: Any) -> None:
        super().__init__(nb_man, **kw)
        self.context = context
        self.events = context.events
        self.budget = OutputBudget(context.output_limit, context.events)
        self._process: subprocess.Popen[bytes] | None = None
        self._process_start: int | None = None

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        context = self.context
        if context.stderr is not None:
            kwargs.setdefault("stderr", context.stderr)
            # ipykernel echoes what it captures from file descriptor 1 (a subprocess's prints)
            # to its own stdout: keep that out of the executor's terminal
            kwargs.setdefault("stdout", subprocess.DEVNULL)
        if context.env is not None:
            kwargs.setdefault("env", dict(context.env))
        self.events.kernel_starting()
        self._cap_in_kernel()
        await super().async_start_new_kernel(**kwargs)
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        start = reaper.start_time(process.pid) if process is not None else None
        self._process, self._process_start = process, start
        self.events.kernel_started(process, start)

    start_new_kernel = run_sync(async_start_new_kernel)  # the sync twin must see the override

    @default("kernel_manager_class")
    def _reaping_kernel_manager(self) -> type[AsyncKernelManager]:
        return ReapingKernelManager

    async def _async_cleanup_kernel(self) -> None:
        """Kill every process the lesson started before the kernel is shut down: while the
        launcher lives, none of them can leave its tree (jupyter_client kills the launcher's
        process group, and what has left the group would be orphaned to init)."""
        if self._process is not None:
            killed = reaper.end_processes(self._process, self._process_start)
            if killed and _forked(self._process):
                # its launcher reports and exits once what it reaped is gone: wait for that on
                # its socket, or jupyter_client's shutdown finds it alive and polls it every 0.1 s
                with contextlib.suppress(Exception):
                    self._process.wait(timeout=LAUNCHER_EXIT_SECONDS)
        await super()._async_cleanup_kernel()

    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    def _cap_in_kernel(self) -> None:
        """For IPython kernels, cap each cell's stdout and stderr inside the kernel too."""
        limit, startup_dir = self.context.output_limit, self.context.startup_dir
        if limit <= 0 or startup_dir is None or self.km is None:
            return
        try:
            argv = [str(a) for a in self.km.kernel_spec.argv]
        except Exception:  # an unreadable spec fails at start-up, with its own message
            return
        if any("ipykernel" in a for a in argv):
            cap = kernel_cap_arguments(startup_dir, int(limit))
            self.extra_arguments = [*self.extra_arguments, *cap]  # type: ignore[has-type]

    async def async_start_new_kernel_client(self) -> Any:
        kc = await super().async_start_new_kernel_client()
        self.events.kernel_ready()
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def create_kernel_manager(self) -> Any:
        km = super().create_kernel_manager()
        km.client_factory = LosslessKernelClient
        if self.context.fork_servers is not None:
            _use_fork_provisioner(km, self.context.fork_servers)
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
        attempts = max(1, self.context.startup_attempts)
        timeout: int = self.startup_timeout  # type: ignore[has-type]
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            share = max(STARTUP_ATTEMPT_MIN_SECONDS, timeout // attempts)
            self.startup_timeout = timeout if last else min(timeout, share)
            try:
                self._start_kernel(**kwargs)
                break
            except Exception as exc:
                retryable = any(text in str(exc) for text in _STARTUP_RETRYABLE)
                if not retryable or last or not self.events.startup_failed(str(exc)):
                    raise
                CLIENT_LOG.warning("kernel start-up failed (%s); retrying", exc)
                with contextlib.suppress(Exception):
                    self._cleanup_kernel()
                self.km = None
                self.kc = None
                time.sleep(0.5 * attempt)
        self.startup_timeout = timeout
        try:
            yield
        finally:
            if cleanup_kc:
                self._cleanup_kernel()

    def _start_kernel(self, **kwargs: Any) -> None:
        """One start-up attempt: nbclient's own steps."""
        if self.km is None:
            self.km = self.create_kernel_manager()
        if not self.km.has_kernel:
            self.start_new_kernel(**kwargs)
        if self.kc is None:
            self.start_new_kernel_client()

    def papermill_execute_cells(self) -> None:
        with self.context.gate:
            super().papermill_execute_cells()

    def execute_cell(self, cell: NotebookNode, cell_index: int, *args: Any, **kw: Any) -> Any:
        source = cell.get("source", "")
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") == "code" and source.strip() and TAG_SKIP not in tags:
            self.events.cell_started(cell_index)
        return super().execute_cell(cell, cell_index, *args, **kw)

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        """nbclient's, with the output cap (`OutputBudget`)."""
        if self.clear_before_next_output and not self._hooked(msg):
            self.budget.forget(cell_index)  # super() carries out a `clear_output(wait=True)` first
        out: NotebookNode | None = super().output(outs, msg, display_id, cell_index)
        if out is None:
            return None
        return self.budget.admit(outs, out, display_id, cell_index)

    def clear_output(self, outs: list[NotebookNode], msg: dict[str, Any], cell_index: int) -> None:
        super().clear_output(outs, msg, cell_index)
        if not self.clear_before_next_output and not self._hooked(msg):
            self.budget.forget(cell_index)

    def _hooked(self, msg: dict[str, Any]) -> bool:
        """Whether an output widget, not the cell, takes this message's outputs."""
        return bool(self.output_hook_stack[msg["parent_header"].get("msg_id")])


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
        context: KernelContext | None = None,
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
        context = context or KernelContext()
        client = WorkshopkitClient(nb_man, context=context, **final_kwargs)
        loop = _quiet_loop()
        try:
            executed: NotebookNode = client.execute()
            return executed
        finally:
            _drain(loop)
            _fill_truncation_marks(nb_man.nb, client.budget.dropped)
            park_expected_errors(nb_man.nb)
            context.events.notebook_ran(nb_man.nb)


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
