"""The in-kernel output cap (`workshopkit._kernel.output_cap`), imported and tested directly; the
real-kernel tests are in test_engine.py. One test runs the engine's start-up file in a real
IPython shell whose Python cannot import workshopkit, as a kernel of another environment."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from workshopkit._kernel.output_cap import OutputCap
from workshopkit.engine import CAP_COPY, KERNEL_COUNT, KERNEL_MARK, kernel_cap_arguments

MARK = KERNEL_MARK.format(limit=10)


class Stream:
    """A text stream that records what reaches it, and its flushes."""

    def __init__(self) -> None:
        self.text = ""
        self.flushes = 0

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        self.flushes += 1


def capped(limit: int = 10) -> tuple[OutputCap, Stream, Stream]:
    cap = OutputCap(limit, KERNEL_MARK.format(limit=limit), KERNEL_COUNT)
    out, err = Stream(), Stream()
    cap.wrap("stdout", out)
    cap.wrap("stderr", err)
    return cap, out, err


def test_a_cell_keeps_its_limit_then_says_how_much_it_dropped() -> None:
    cap, out, err = capped()
    cap.start_cell()
    assert out.write("12345") == 5
    assert out.write("67890abc") == 8  # the caller is told all was written
    assert out.write("more") == 4
    assert out.text == "1234567890"
    assert err.text == f"\n{MARK}\n"  # at once, and once
    cap.end_cell()
    assert err.text == f"\n{MARK}\n[workshopkit: 7 more bytes dropped]\n"


def test_both_streams_share_one_budget_per_cell() -> None:
    cap, out, err = capped()
    cap.start_cell()
    out.write("123456")
    err.write("abcdef")
    assert (out.text, err.text) == ("123456", f"abcd\n{MARK}\n")
    cap.end_cell()
    cap.start_cell()  # the next cell starts afresh
    out.write("0123456789")
    cap.end_cell()
    assert out.text == "1234560123456789"
    assert err.text.endswith("[workshopkit: 2 more bytes dropped]\n")


def test_cleared_output_no_longer_counts() -> None:
    cap, out, _ = capped()
    cleared: list[bool] = []

    def clear_output(wait: bool = False) -> None:
        cleared.append(wait)

    cap.start_cell()
    out.write("0123456789")
    assert cap.forget(clear_output, True) is None and cleared == [True]
    out.write("abcdefghij")
    assert out.text == "0123456789abcdefghij"
    assert cap.dropped == 0


def test_bytes_pass_through_uncounted() -> None:
    cap, out, _ = capped()
    writes: list[Any] = []
    out.write = writes.append  # type: ignore[method-assign,assignment]
    cap.wrap("stdout", out)
    cap.start_cell()
    out.write(b"x" * 50)
    assert writes == [b"x" * 50] and cap.used == 0


def test_flushes_are_skipped_past_the_cap_until_something_is_written() -> None:
    cap, out, err = capped()
    cap.start_cell()
    out.write("01234")
    out.flush()
    out.flush()  # under the cap, every flush goes through
    assert out.flushes == 2
    out.write("56789abc")  # over: partly kept
    out.flush()  # something was written since the last flush: flushed
    out.flush()  # nothing since: skipped
    out.write("dropped")  # nothing of it is kept
    out.flush()
    assert out.flushes == 3
    err.flush()  # the mark went to stderr
    err.flush()
    assert err.flushes == 1
    cap.end_cell()
    out.flush()  # the next cell's flushes go through again
    assert out.flushes == 4


def test_a_cell_waits_for_its_pipe_output_and_counts_it() -> None:
    """As in ipykernel: file descriptor 1 is a pipe whose reader thread passes what it reads to
    the stream; the cell's end sends a NUL byte through and waits until it comes out."""
    read_end, write_end = os.pipe()
    out = Stream()

    class PipedStream(Stream):
        _original_stdstream_fd = write_end
        _fid = write_end

    piped = PipedStream()

    def reader() -> None:
        while chunk := os.read(read_end, 1000):
            piped.write(chunk.decode())

    piped.watch_fd_thread = threading.Thread(target=reader, daemon=True)  # type: ignore[attr-defined]
    cap = OutputCap(10, MARK, KERNEL_COUNT)
    cap.wrap("stdout", piped)
    cap.wrap("stderr", out)
    piped.watch_fd_thread.start()  # type: ignore[attr-defined]
    try:
        cap.start_cell()
        os.write(write_end, b"from a subprocess\n")
        cap.end_cell()
        assert piped.text == "from a sub"  # all of it arrived, and counted, before the cell ended
        assert out.text == f"\n{MARK}\n[workshopkit: 8 more bytes dropped]\n"
        assert cap.drained == {}
    finally:
        os.close(write_end)
        piped.watch_fd_thread.join(5)  # type: ignore[attr-defined]
        os.close(read_end)


def test_a_descriptor_pointed_elsewhere_gets_no_nul_byte(tmp_path: Path) -> None:
    log = tmp_path / "log.bin"
    with log.open("wb") as fh:

        class Redirected(Stream):
            _original_stdstream_fd = fh.fileno()
            _fid = os.open(os.devnull, os.O_WRONLY)
            watch_fd_thread = threading.current_thread()

        stream = Redirected()
        cap = OutputCap(10, MARK, KERNEL_COUNT)
        cap.wrap("stdout", stream)
        cap.end_cell()
        os.close(Redirected._fid)
    assert log.read_bytes() == b""


def test_the_start_up_file_runs_where_workshopkit_cannot_be_imported(tmp_path: Path) -> None:
    """The kernel's Python may be another environment's: the start-up file runs the module copy
    by path. Here a real IPython shell, with `import workshopkit` made to fail, runs it, then a
    cell that prints past the cap, then one under it; and nothing is left in its namespace."""
    [argument] = kernel_cap_arguments(tmp_path, 10)
    startup = argument.split("=", 1)[1]
    assert (tmp_path / CAP_COPY).read_text() == (
        Path(sys.modules[OutputCap.__module__].__file__ or "").read_text()
    )
    code = (
        "import sys\n"
        "sys.modules['workshopkit'] = None  # import workshopkit raises ImportError\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "before = set(shell.user_ns)\n"
        f"shell.safe_execfile({startup!r}, shell.user_ns, raise_exceptions=True)\n"
        "names = sorted(set(shell.user_ns) - before)\n"
        "shell.run_cell(\"print('a' * 25)\")\n"
        "shell.run_cell(\"print('b' * 5)\")\n"
        "sys.stdout.flush()\n"
        "import os; os.write(1, f'names={names}\\n'.encode())  # past the cap\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "a" * 10 + "b" * 5 + "\nnames=[]\n"
    assert done.stderr == f"\n{MARK}\n[workshopkit: 16 more bytes dropped]\n"
