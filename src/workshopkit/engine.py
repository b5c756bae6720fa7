"""A papermill engine that knows workshopkit's cell tags and reports its kernel to the executor.

Registered under the `papermill.engine` entry point as `workshopkit`. Compared with papermill's
own `nbclient` engine it:

- lets cells tagged `raises-exception` fail on purpose: papermill 2.7 raises on *any* error
  output, so their errors are parked in cell metadata while papermill checks the notebook, and
  `restore_expected_errors` puts them back afterwards;
- hands the kernel's process to a `KernelWatch` as soon as it starts, so a lesson timeout or a
  Ctrl-C can kill the kernel's whole process group, and sends the kernel's stderr to a file;
- caps the text each cell may output, replacing the rest with a visible marker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import subprocess
import threading
import time
from collections.abc import Callable
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


from nbclient.util import run_sync  # noqa: E402 - after the stand-in, see above
from nbformat import NotebookNode  # noqa: E402
from nbformat.v4 import new_output  # noqa: E402
from papermill.clientwrap import PapermillNotebookClient  # noqa: E402
from papermill.engines import NBClientEngine  # noqa: E402
from papermill.utils import merge_kwargs, remove_args  # noqa: E402

from .model import TAG_RAISES, TAG_SKIP  # noqa: E402

# nbclient logs every timeout and dead kernel as an error; the executor reports each of them in
# the lesson's result, so its log goes here (silent unless someone configures it).
CLIENT_LOG = logging.getLogger("workshopkit.kernel")
CLIENT_LOG.addHandler(logging.NullHandler())
CLIENT_LOG.propagate = False
PARKED_ERRORS = "workshopkit_expected_errors"
TRUNCATED_MARK = "[workshopkit: output truncated at {limit} bytes; {dropped} more bytes dropped]"
_KERNEL_MARK = re.compile(
    r"\[workshopkit: output truncated at \d+ bytes; (\d+) more bytes dropped\]"
)

# Run by an IPython kernel at start-up (`--IPKernelApp.exec_files`): caps what each cell writes to
# stdout and stderr (its subprocesses' output included) inside the kernel, so that a cell printing
# gigabytes neither fills the kernel's memory nor sends it to the executor in one huge message.
# Each cell that went over ends with the marker, on stderr. Names are deleted afterwards.
KERNEL_OUTPUT_CAP = """\
def _workshopkit_cap(limit, mark):
    import sys
    from IPython import get_ipython

    state = {"used": 0, "dropped": 0}
    writers = {}

    def capped(write):
        def write_capped(text):
            if not isinstance(text, str):
                return write(text)
            size = len(text)
            used = state["used"]
            state["used"] = used + size
            if used + size <= limit:
                return write(text)
            keep = max(0, limit - used)
            if keep:
                write(text[:keep])
            state["dropped"] += size - keep
            return size
        return write_capped

    def pre_execute(*args):
        state["used"] = 0
        state["dropped"] = 0

    def post_execute(*args):
        if state["dropped"] and "stderr" in writers:
            writers["stderr"]("\\n" + mark.format(limit=limit, dropped=state["dropped"]) + "\\n")
        state["dropped"] = 0

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        if stream is not None and callable(getattr(stream, "write", None)):
            writers[name] = stream.write
            stream.write = capped(stream.write)
    shell = get_ipython()
    shell.events.register("pre_execute", pre_execute)
    shell.events.register("post_execute", post_execute)


_workshopkit_cap(__LIMIT__, __MARK__)
del _workshopkit_cap
"""


class KernelWatch:
    """What the executor knows about one lesson's kernel, shared with the engine's client."""

    def __init__(self, stderr: IO[Any] | None = None, env: dict[str, str] | None = None) -> None:
        self.stderr = stderr
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
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
        # Held while cells execute: lets the executor start the next kernel ahead of time
        # while at most `jobs` lessons run cells.
        self.gate: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


def _text_size(out: NotebookNode) -> int:
    if out.get("output_type") == "stream":
        return len(out.get("text", ""))
    data = out.get("data", {})
    return sum(len(v) for v in data.values() if isinstance(v, str))


class WorkshopkitClient(PapermillNotebookClient):  # type: ignore[misc]
    """papermill's client, plus a kernel watch and an output cap."""

    def __init__(self, nb_man: Any, *, watch: KernelWatch, output_limit: int, **kw: Any) -> None:
        super().__init__(nb_man, **kw)
        self.watch = watch
        self.output_limit = output_limit
        self._budget: dict[int, int] = {}
        watch.output_limit = output_limit

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        if self.watch.stderr is not None:
            kwargs.setdefault("stderr", self.watch.stderr)
        if self.watch.env is not None:
            kwargs.setdefault("env", self.watch.env)
        self.watch.stage = "starting"
        self._cap_in_kernel()
        await super().async_start_new_kernel(**kwargs)
        provisioner = getattr(self.km, "provisioner", None)
        self.watch.process = getattr(provisioner, "process", None)
        self.watch.started.set()
        if self.watch.on_start is not None:
            self.watch.on_start(self.watch)

    start_new_kernel = run_sync(async_start_new_kernel)  # the sync twin must see the override

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
            KERNEL_OUTPUT_CAP.replace("__LIMIT__", str(int(self.output_limit))).replace(
                "__MARK__", repr(TRUNCATED_MARK)
            ),
            encoding="utf-8",
        )
        extra = [*self.extra_arguments, f"--IPKernelApp.exec_files={path}"]  # type: ignore[has-type]
        self.extra_arguments = extra

    async def async_start_new_kernel_client(self) -> Any:
        kc = await super().async_start_new_kernel_client()
        self.watch.stage = "ready"
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

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
        out: NotebookNode | None = super().output(outs, msg, display_id, cell_index)
        if out is None or self.output_limit <= 0:
            return out
        if out.get("output_type") == "stream":
            found = _KERNEL_MARK.search(out.get("text", ""))
            if found:  # the kernel capped this cell already: keep its marker, whatever the budget
                self.watch.truncated[cell_index] = int(found.group(1))
                return out
        size = _text_size(out)
        used = self._budget.get(cell_index, 0)
        self._budget[cell_index] = used + size
        if used + size <= self.output_limit:
            return out
        dropped = self.watch.truncated.get(cell_index, 0)
        if dropped == 0:
            # First overflow: cut this output where the budget ends, then add the marker.
            keep = max(0, self.output_limit - used)
            if out.get("output_type") == "stream":
                out["text"] = out["text"][:keep]
                dropped = size - keep
            else:
                outs.remove(out)
                dropped = size
            marker = new_output(  # type: ignore[no-untyped-call]
                "stream",
                name="stderr",
                text="\n" + TRUNCATED_MARK.format(limit=self.output_limit, dropped="{dropped}"),
            )
            outs.append(marker)
        else:
            if out in outs:
                outs.remove(out)
            dropped += size
        self.watch.truncated[cell_index] = dropped
        return None


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


def _fill_truncation_marks(nb: NotebookNode, truncated: dict[int, int]) -> None:
    for index, dropped in truncated.items():
        if index >= len(nb.cells):
            continue
        for out in nb.cells[index].get("outputs", []):
            if out.get("output_type") == "stream" and "{dropped}" in out.get("text", ""):
                out["text"] = out["text"].replace("{dropped}", str(dropped))


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
        watch = watch or KernelWatch()
        client = WorkshopkitClient(nb_man, watch=watch, output_limit=output_limit, **final_kwargs)
        loop = _quiet_loop()
        try:
            executed: NotebookNode = client.execute()
            return executed
        finally:
            _drain(loop)
            _fill_truncation_marks(nb_man.nb, watch.truncated)
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
    """Cancel the tasks a failed execution left on this thread's loop, so none wakes up later."""
    if loop.is_closed() or loop.is_running():
        return
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    with contextlib.suppress(BaseException):
        loop.run_until_complete(asyncio.wait(tasks, timeout=2))
