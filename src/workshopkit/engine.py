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

import contextlib
import subprocess
import threading
from collections.abc import Callable
from typing import IO, Any

from nbclient.util import run_sync
from nbformat import NotebookNode
from nbformat.v4 import new_output
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine
from papermill.utils import merge_kwargs, remove_args

from .model import TAG_RAISES

PARKED_ERRORS = "workshopkit_expected_errors"
TRUNCATED_MARK = "[workshopkit: output truncated at {limit} bytes; {dropped} more bytes dropped]"


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

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        if self.watch.stderr is not None:
            kwargs.setdefault("stderr", self.watch.stderr)
        if self.watch.env is not None:
            kwargs.setdefault("env", self.watch.env)
        await super().async_start_new_kernel(**kwargs)
        provisioner = getattr(self.km, "provisioner", None)
        self.watch.process = getattr(provisioner, "process", None)
        self.watch.started.set()
        if self.watch.on_start is not None:
            self.watch.on_start(self.watch)

    start_new_kernel = run_sync(async_start_new_kernel)  # the sync twin must see the override

    def papermill_execute_cells(self) -> None:
        with self.watch.gate:
            super().papermill_execute_cells()

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        out: NotebookNode | None = super().output(outs, msg, display_id, cell_index)
        if out is None or self.output_limit <= 0:
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
            marker = new_output(
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
            cell.outputs = [*cell.get("outputs", []), *(from_dict(e) for e in parked)]


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
        from papermill.engines import logger

        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            safe_kwargs,
            timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        final_kwargs.setdefault("shutdown_kernel", "immediate")
        watch = watch or KernelWatch()
        client = WorkshopkitClient(nb_man, watch=watch, output_limit=output_limit, **final_kwargs)
        try:
            return client.execute()
        finally:
            _fill_truncation_marks(nb_man.nb, watch.truncated)
            park_expected_errors(nb_man.nb)
            watch.notebook = nb_man.nb
