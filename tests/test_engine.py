"""The papermill engine: registration, expected errors, the kernel's events, and the output cap
(kernel side and executor side), driven through papermill with a real kernel."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from workshopkit.engine import (
    CAP_COPY,
    CAP_STARTUP,
    PARKED_ERRORS,
    KernelContext,
    _fill_truncation_marks,
    _slot,
    park_expected_errors,
    register,
    restore_expected_errors,
)
from workshopkit.execute import kernel_environment
from workshopkit.execute.lesson import LessonKernel, Stage


@pytest.mark.parametrize("first", ["papermill", "workshopkit.engine"])
def test_engine_is_registered_in_code_without_an_import_cycle(first: str) -> None:
    """papermill never imports workshopkit (no entry point to load); `register` makes the engine
    papermill's `workshopkit`, whichever module was imported first."""
    code = (
        f"import sys, {first}\n"
        "import papermill.engines as p\n"
        "assert 'workshopkit' not in p.papermill_engines._engines\n"
        "assert 'workshopkit.engine' not in sys.modules or 'engine' in sys.argv[1]\n"
        "import workshopkit.engine as e\n"
        "e.register()\n"
        "assert p.papermill_engines.get_engine('workshopkit') is e.WorkshopkitEngine\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, first], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def _error(ename: str) -> Any:
    return new_output("error", ename=ename, evalue="x", traceback=[f"{ename}: x"])


def test_park_and_restore_expected_errors() -> None:
    expected = new_code_cell("1/0", metadata={"tags": ["raises-exception"]})
    expected.outputs = [
        new_output("stream", name="stdout", text="hi\n"),
        _error("ZeroDivisionError"),
    ]
    unexpected = new_code_cell("boom()")
    unexpected.outputs = [_error("NameError")]
    nb = new_notebook(cells=[expected, unexpected])
    park_expected_errors(nb)
    assert [o.output_type for o in nb.cells[0].outputs] == ["stream"]
    assert nb.cells[0].metadata[PARKED_ERRORS][0]["ename"] == "ZeroDivisionError"
    assert [o.output_type for o in nb.cells[1].outputs] == ["error"]  # papermill must see it
    restore_expected_errors(nb)
    assert [o.output_type for o in nb.cells[0].outputs] == ["stream", "error"]
    assert PARKED_ERRORS not in nb.cells[0].metadata
    nbformat.validate(nb)


def test_truncation_marks_get_their_byte_count() -> None:
    cell = new_code_cell("print()")
    slot = _slot(0, "stream")
    cell.outputs = [new_output("stream", name="stderr", text=f"\n[... {slot} more bytes dropped]")]
    nb = new_notebook(cells=[cell])
    _fill_truncation_marks(nb, {(0, "stream"): 1234, (0, "data"): 9, (5, "stream"): 1})
    assert nb.cells[0].outputs[0].text == "\n[... 1234 more bytes dropped]"


def _run(
    tmp_path: Path,
    sources: list[str],
    output_limit: int = 1000,
    timeout: int = 30,
    **engine_options: Any,
) -> tuple[Any, LessonKernel]:
    """Run `sources` with the engine; the executor's `LessonKernel` records what it reports
    (also when the run raises: see `_running`)."""
    with _running(tmp_path, sources, output_limit, timeout, **engine_options) as (run, kernel):
        return run(), kernel


@contextlib.contextmanager
def _running(
    tmp_path: Path,
    sources: list[str],
    output_limit: int = 1000,
    timeout: int = 30,
    fork_servers: Any = None,
    **kw: Any,
) -> Iterator[tuple[Callable[[], Any], LessonKernel]]:
    import papermill

    register()
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    kernel = LessonKernel()
    context = KernelContext(
        env=kernel_environment(kernel.tag),
        stderr=sys.stderr,
        startup_dir=tmp_path,
        output_limit=output_limit,
        events=kernel,
        fork_servers=fork_servers,
    )
    work = tmp_path / "work"
    work.mkdir()

    def run() -> Any:
        return papermill.execute_notebook(
            nb,
            None,
            engine_name="workshopkit",
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=timeout,
            resources={"metadata": {"path": str(work)}},
            context=context,
            **kw,
        )

    try:
        yield run, kernel
    finally:
        if kernel.process is not None and kernel.process.poll() is None:
            kernel.process.kill()


def _text(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.mark.kernel
def test_output_cap_in_the_kernel_and_in_the_executor(tmp_path: Path) -> None:
    executed, kernel = _run(
        tmp_path,
        [
            "import os, subprocess, sys",
            "for i in range(300):\n    print('a' * 9)",  # 3000 characters, capped in the kernel
            "print('b' * 600)",  # under the cap: a fresh budget for each cell
            # a subprocess writes to the kernel's file descriptor 1: captured, then capped
            "subprocess.run([sys.executable, '-c', 'print(\"c\" * 5000)'])",
            "from IPython.display import display\ndisplay({'text/plain': 'd' * 4000}, raw=True)",
        ],
    )
    cells = executed.cells
    assert kernel.process is not None and kernel.stage is Stage.READY
    assert kernel.cell_index == 4
    assert (tmp_path / CAP_STARTUP).is_file() and (tmp_path / CAP_COPY).is_file()
    assert (tmp_path / "work").is_dir() and not any((tmp_path / "work").iterdir())

    printed = _text(cells[1])
    kept = printed.split("\n[workshopkit: output truncated at 1000 bytes]\n")[0]
    assert len(kept) == 1000 and set(kept) == {"a", "\n"}
    assert printed.endswith("[workshopkit: 2000 more bytes dropped]\n")
    assert _text(cells[2]) == "b" * 600 + "\n"
    child = _text(cells[3])  # through the kernel's file descriptor, drained at the cell's end
    assert child.split("\n[workshopkit: output truncated at 1000 bytes]\n")[0] == "c" * 1000
    assert child.endswith("[workshopkit: 4001 more bytes dropped]\n")
    [result] = [o for o in cells[3].outputs if o.output_type == "execute_result"]
    assert "CompletedProcess" in result.data["text/plain"]  # rich output: a budget of its own
    shown = cells[4].outputs  # rich output is capped by the executor
    assert not any(o.output_type == "display_data" for o in shown)
    assert "[workshopkit: output truncated at 1000 bytes; 4000 more bytes dropped]" in _text(
        cells[4]
    )
    assert kernel.truncated == {1: 2000, 3: 4001, 4: 4000}


@pytest.mark.kernel
def test_subprocess_output_stays_with_the_cell_that_made_it(tmp_path: Path) -> None:
    """ipykernel forwards file descriptors 1 and 2 through reader threads, in 1000-byte chunks:
    without the drain at the end of each cell, the tail of this can land under the next cell on a
    busy machine (it did once in CI, in the test above)."""
    child = "import sys; sys.stdout.write('x' * 300_000); sys.stderr.write('y' * 30_000)"
    executed, kernel = _run(
        tmp_path,
        [f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {child!r}])", "print(1)"],
        output_limit=1_000_000,
    )
    first, second = executed.cells
    assert "".join(o.text for o in first.outputs if o.get("name") == "stdout") == "x" * 300_000
    assert "".join(o.text for o in first.outputs if o.get("name") == "stderr") == "y" * 30_000
    assert _text(second) == "1\n"
    assert kernel.truncated == {}


@pytest.mark.kernel
@pytest.mark.parametrize("wait", [True, False], ids=["wait", "at-once"])
@pytest.mark.parametrize(
    "show",
    ["display({'text/plain': frame}, raw=True)", "print(frame)"],
    ids=["display", "print"],
)
def test_cleared_output_no_longer_counts(tmp_path: Path, show: str, wait: bool) -> None:
    """A loop that redraws (clear_output, then show again) keeps its last frame, uncut: 5 frames
    of 601 characters against a cap of 1000."""
    loop = (
        "from IPython.display import clear_output, display\n"
        "for i in range(5):\n"
        f"    clear_output(wait={wait})\n"
        "    frame = str(i) + 'x' * 600\n"
        f"    {show}"
    )
    executed, kernel = _run(tmp_path, [loop, "print('y' * 3000)"])
    [last] = executed.cells[0].outputs
    text = last.get("text") or last.data["text/plain"]
    assert text.rstrip("\n") == "4" + "x" * 600
    assert kernel.truncated == {1: 2001}  # no clear in the next cell: its cap still holds


@pytest.mark.kernel
def test_drain_leaves_a_file_on_descriptor_1_alone(tmp_path: Path) -> None:
    """A lesson that points file descriptor 1 at a file of its own gets no NUL bytes in it."""
    executed, _ = _run(
        tmp_path,
        [
            "import os\nlog = open('log.bin', 'wb')\nsaved = os.dup(1)\nos.dup2(log.fileno(), 1)",
            "os.write(1, b'to the file')",
            "os.dup2(saved, 1)\nlog.close()\nprint(open('log.bin', 'rb').read())",
        ],
    )
    assert _text(executed.cells[2]) == "b'to the file'\n"


@pytest.mark.kernel
def test_kernel_ports_come_from_below_the_ephemeral_range(tmp_path: Path) -> None:
    """Where no outgoing connection (and no `bind(0)`) takes them, and no client can connect to
    itself."""
    from workshopkit.engine import ephemeral_port_range, kernel_ports

    show = "import json\nfrom ipykernel import get_connection_info\nprint(get_connection_info())"
    executed, _ = _run(tmp_path, [show])
    info = json.loads(_text(executed.cells[0]))
    ports = [info[f"{name}_port"] for name in ("shell", "iopub", "stdin", "control", "hb")]
    low, _ = ephemeral_port_range()
    assert len(set(ports)) == 5 and all(10_000 <= port < low for port in ports), ports
    assert not set(ports) & set(kernel_ports("127.0.0.1", 5))  # never handed out twice in a row


@pytest.mark.kernel
def test_kernel_cap_leaves_no_names_in_the_namespace(tmp_path: Path) -> None:
    executed, _ = _run(tmp_path, ["print(sorted(n for n in dir() if 'workshopkit' in n))"])
    assert _text(executed.cells[0]) == "[]\n"


@pytest.mark.kernel
def test_no_cap_when_the_limit_is_zero(tmp_path: Path) -> None:
    executed, kernel = _run(tmp_path, ["print('e' * 5000)"], output_limit=0)
    assert _text(executed.cells[0]) == "e" * 5000 + "\n"
    assert kernel.truncated == {}
    assert not (tmp_path / CAP_STARTUP).exists() and not (tmp_path / CAP_COPY).exists()


@pytest.mark.kernel
def test_events_tell_the_running_cell_when_a_cell_times_out(tmp_path: Path) -> None:
    from nbclient.exceptions import CellTimeoutError

    sources = ["x = 1", "import time\ntime.sleep(30)", "y = 2"]
    with _running(tmp_path, sources, timeout=2) as (run, kernel), pytest.raises(CellTimeoutError):
        run()
    assert kernel.cell_index == 1
    assert kernel.cell_began is not None
    assert kernel.notebook is not None and kernel.notebook.cells[2].execution_count is None
    assert kernel.process is not None
    assert kernel.process.wait(timeout=10) is not None  # nbclient shut the kernel down


@pytest.mark.kernel
def test_no_output_is_lost_while_the_executor_falls_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The executor stalls on the first output while the kernel sends 3,000 displays of 10 KB.
    With ZMQ's default high-water marks the client stops reading, the kernel's IOPub socket
    fills up, and the lesson fails with an IOPub timeout (or, at other speeds, loses outputs)."""
    from workshopkit.engine import WorkshopkitClient

    output = WorkshopkitClient.output
    stalled: list[bool] = []

    def slow_output(self: Any, outs: Any, msg: Any, display_id: Any, cell_index: int) -> Any:
        if not stalled:
            stalled.append(True)
            time.sleep(3)
        return output(self, outs, msg, display_id, cell_index)

    monkeypatch.setattr(WorkshopkitClient, "output", slow_output)
    flood = (
        "from IPython.display import display\n"
        "for i in range(3000):\n"
        "    display({'text/plain': f'{i:05d}' + 'x' * 10_000}, raw=True)"
    )
    # all of it arrives; how fast the executor gets through it depends on the machine's load
    executed, _ = _run(tmp_path, [flood], output_limit=0, timeout=120, iopub_timeout=120)
    shown = [o.data["text/plain"][:5] for o in executed.cells[0].outputs]
    assert shown == [f"{i:05d}" for i in range(3000)]


def test_client_sockets_retry_a_kernel_that_is_not_listening_yet_soon() -> None:
    """A forked kernel listens about 60 ms after it is asked for; ZMQ's default retry, every
    100 ms, added up to that much to every start."""
    import zmq

    from workshopkit.engine import RECONNECT_MAX_MS, RECONNECT_MS, LosslessKernelClient

    client = LosslessKernelClient()
    socket = client.context.socket(zmq.DEALER)
    try:
        assert socket.getsockopt(zmq.RECONNECT_IVL) == RECONNECT_MS < 100
        assert socket.getsockopt(zmq.RECONNECT_IVL_MAX) == RECONNECT_MAX_MS < 100
    finally:
        socket.close(0)


@pytest.mark.kernel
def test_ready_on_the_iopub_welcome_when_the_idle_status_was_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """IOPub subscriptions reach a kernel asynchronously: the idle status that ends the ready
    check's kernel_info may be published before ours arrives, and is then lost (a third of the
    forked kernels of a 24-lesson run). ipykernel 7 sends `iopub_welcome` once it has the
    subscription: that proves IOPub connected, with one request and no wait. The lost status is
    injected (every status is dropped): the real loss depends on timing. A kernel slow to
    reply (a loaded machine) is asked again after `REPLY_WINDOW`: not what is tested here."""
    import asyncio

    from jupyter_client.manager import AsyncKernelManager

    from workshopkit import engine
    from workshopkit.engine import LosslessKernelClient

    monkeypatch.setattr(engine, "REPLY_WINDOW", 60.0)

    requests: list[str] = []
    kernel_info = LosslessKernelClient.kernel_info

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        msg_id: str = kernel_info(self, *args, **kwargs)
        requests.append(msg_id)
        return msg_id

    monkeypatch.setattr(LosslessKernelClient, "kernel_info", counted)

    async def ready() -> None:
        km = AsyncKernelManager(kernel_name="python3")
        km.client_factory = LosslessKernelClient
        await km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kc = km.client()
        kc.start_channels()
        channel = kc.iopub_channel
        get_msg = channel.get_msg

        async def without_status(*args: Any, **kwargs: Any) -> Any:
            while True:
                msg = await get_msg(*args, **kwargs)
                if msg["msg_type"] != "status":
                    return msg

        channel.get_msg = without_status
        try:
            await kc.wait_for_ready(timeout=20)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    asyncio.run(ready())
    assert len(requests) == 1


@pytest.mark.kernel
def test_a_forked_kernels_cleanup_waits_for_its_launcher_instead_of_polling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The launcher of a forked kernel exits as soon as the reaper has killed the kernel; the
    cleanup waits for that, on the launcher's socket, so jupyter_client's shutdown (which polls
    a kernel it finds alive every 0.1 s) has nothing left to do."""
    from jupyter_client.manager import AsyncKernelManager

    from workshopkit.forkkernel import ForkServers, platform_problem

    if platform_problem() is not None:
        pytest.skip(platform_problem())
    shutdowns: list[bool] = []
    shutdown = AsyncKernelManager.shutdown_kernel

    async def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        shutdowns.append(True)
        await shutdown(self, *args, **kwargs)

    monkeypatch.setattr(AsyncKernelManager, "shutdown_kernel", counted)
    servers = ForkServers("fork")
    try:
        executed, kernel = _run(tmp_path, ["x = 1", "print(x)"], fork_servers=servers)
    finally:
        servers.close()
    assert servers.stats().forked == 1
    assert _text(executed.cells[1]) == "1\n"
    assert kernel.process is not None and kernel.process.poll() is not None
    assert shutdowns == []
