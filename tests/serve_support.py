"""`workshopkit serve` as a real subprocess, for tests/test_serve.py and the browser tests."""

from __future__ import annotations

import contextlib
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from helpers import WORKSHOPKIT, mark_env

URL = re.compile(r"serving .* at (http://\S+/) ")


class ServeProcess:
    """`workshopkit serve ROOT --port 0 ...` with its stderr read line by line."""

    def __init__(
        self, root: Path, *args: str, env: Mapping[str, str] | None = None, mark: str = ""
    ) -> None:
        if env is None:
            mark, env = mark_env()
        self.mark = mark
        self.proc = subprocess.Popen(
            [*WORKSHOPKIT, "serve", str(root), "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(env),
        )
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = URL.search(self.wait_for("serving ", 60)).group(1)  # type: ignore[union-attr]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self._new.put(line.rstrip("\n"))

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].strip("/"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 180) -> str:
        """The next line containing `text` (lines before it are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line with {text!r} in {timeout} s:\n{self.output}")
            try:
                line = self._new.get(timeout=min(left, 1))
            except queue.Empty:
                if self.proc.poll() is not None and self._new.empty():
                    raise AssertionError(
                        f"serve exited ({self.proc.returncode}):\n{self.output}"
                    ) from None
                continue
            if text in line:
                return line

    def wait_built(self, timeout: float = 240) -> str:
        """The next line saying how a build ended."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.wait_for("  ", max(deadline - time.monotonic(), 0.1))
            if "rebuilt in" in line or "build failed in" in line:
                return line

    def interrupt(self, timeout: float = 60) -> int:
        """Ctrl-C: SIGINT, then the exit code."""
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.interrupt(timeout=60)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
