"""Caps what each cell writes to stdout and stderr, inside an IPython kernel.

So that a cell printing gigabytes neither fills the kernel's memory nor sends it to the executor
in huge messages: past `limit` characters a cell's streams keep nothing more; the first time, a
`mark` line is written on stderr (visible at once, even if output arrives late), and when the cell
is done, a `count` line says how much was dropped. Output of the cell's subprocesses counts too.

What a subprocess writes to file descriptor 1 or 2 reaches the stream through ipykernel's pipe
reader thread, a little later: at the end of each cell a NUL byte (ipykernel's own wake-up byte)
is written through each pipe and the cell waits until the reader has passed it on, so that output
is counted, and shown, with the cell that produced it.

Runs in the kernel (see `workshopkit._kernel`): standard library and IPython only. The engine's
start-up file calls `install(limit, mark, count)` through `runpy`, so no name is left in the
lesson's namespace.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

DRAIN_SECONDS = 5.0  # the longest a cell's end waits for a pipe reader to pass its NUL byte on
STREAMS = ("stdout", "stderr")


class OutputCap:
    """One kernel's cap: the characters the running cell has written, and what it dropped."""

    def __init__(self, limit: int, mark: str, count: str) -> None:
        self.limit = limit
        self.mark = mark  # written once a cell goes over
        self.count = count  # format string with `{dropped}`, written at the cell's end
        self.used = 0
        self.dropped = 0
        self.streams: dict[str, Any] = {}
        self.writers: dict[str, Callable[[Any], Any]] = {}  # each stream's own `write`
        self.written: set[str] = set()  # streams written to since their last flush
        self.drained: dict[str, threading.Event] = {}  # set when the pipe's NUL byte comes through

    def wrap(self, name: str, stream: Any) -> None:
        """Send `stream`'s writes (and flushes) through the cap, as stream `name`."""
        self.streams[name] = stream
        self.writers[name] = stream.write
        stream.write = partial(self.write, name)
        if callable(getattr(stream, "flush", None)):
            stream.flush = partial(self.flush, name, stream.flush)

    def write(self, name: str, text: Any) -> Any:
        """Stream `name`'s `write`: passes text on while the cell is under its limit."""
        write = self.writers[name]
        if not isinstance(text, str):
            return write(text)
        if "\0" in text and name in self.drained:
            text = text.replace("\0", "", 1)
            done = self.drained.pop(name, None)
            if done is not None:
                done.set()
            if not text:
                return 0
        size = len(text)
        used = self.used
        self.used = used + size
        if used + size <= self.limit:
            self.written.add(name)
            return write(text)
        keep = max(0, self.limit - used)
        if keep:
            self.written.add(name)
            write(text[:keep])
        if not self.dropped and "stderr" in self.writers:
            self.written.add("stderr")
            self.writers["stderr"]("\n" + self.mark + "\n")
        self.dropped += size - keep
        return size

    def flush(self, name: str, flush: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A flush waits for ipykernel's I/O thread: a loop that prints and flushes past the cap
        would wait each time for nothing. Skipped while nothing was written since the last one
        (the I/O thread flushes on a timer anyway)."""
        if self.dropped and name not in self.written:
            return None
        self.written.discard(name)
        return flush(*args, **kwargs)

    def start_cell(self, *args: Any) -> None:
        """IPython's `pre_execute` event: a fresh budget for each cell."""
        self.used = 0
        self.dropped = 0

    def forget(self, clear: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`clear_output`: what was printed is gone, so it no longer counts."""
        self.used = 0
        self.dropped = 0
        return clear(*args, **kwargs)

    def end_cell(self, *args: Any) -> None:
        """IPython's `post_execute` event: take in the cell's late pipe output, then say how much
        was dropped."""
        self.drain()
        if self.dropped and "stderr" in self.writers:
            self.writers["stderr"](self.count.format(dropped=self.dropped) + "\n")
        self.dropped = 0

    def drain(self) -> None:
        """Wait until each stream's pipe reader has passed on what was written to the pipe."""
        for name, stream in self.streams.items():
            done = self._send_nul(name, stream)
            if done is not None and not done.wait(DRAIN_SECONDS):
                self.drained.pop(name, None)

    def _send_nul(self, name: str, stream: Any) -> threading.Event | None:
        reader = getattr(stream, "watch_fd_thread", None)
        fd = getattr(stream, "_original_stdstream_fd", None)
        pipe = getattr(stream, "_fid", None)
        if fd is None or pipe is None or reader is None or not reader.is_alive():
            return None
        try:  # still ipykernel's pipe, not a file the lesson put there with os.dup2
            if os.fstat(fd).st_ino != os.fstat(pipe).st_ino:
                return None
            done = self.drained[name] = threading.Event()
            os.write(fd, b"\0")
        except OSError:
            self.drained.pop(name, None)
            return None
        return done


def install(limit: int, mark: str, count: str) -> OutputCap:
    """Cap this IPython kernel's stdout and stderr, cell by cell (see the module doc)."""
    from IPython import get_ipython

    cap = OutputCap(limit, mark, count)
    for name in STREAMS:
        stream = getattr(sys, name, None)
        if stream is not None and callable(getattr(stream, "write", None)):
            cap.wrap(name, stream)
    shell: Any = get_ipython()
    publisher: Any = getattr(shell, "display_pub", None)
    if callable(getattr(publisher, "clear_output", None)):
        publisher.clear_output = partial(cap.forget, publisher.clear_output)
    shell.events.register("pre_execute", cap.start_cell)
    shell.events.register("post_execute", cap.end_cell)
    return cap
