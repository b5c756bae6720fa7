"""Shared by the escape-route lessons (not a lesson: no workshopkit header).

Each case starts processes whose argv carries a word unique to the case and to the test run
(`marker`), so that the test finds them in the process table whatever environment, session or
process group they chose, and `record` notes which ones were running, so the test knows the
lesson really started them.
"""

import os
import shutil
import time

SLEEP = shutil.which("sleep") or "/bin/sleep"


def marker(case: int) -> str:
    """`3000 + case` seconds and a fraction unique to this test run, e.g. 3001.281474976710655."""
    return f"{3000 + case}.{int(os.environ['WORKSHOPKIT_TEST_MARK'][:12], 16)}"


def sleeper(case: int) -> list[str]:
    return [SLEEP, marker(case)]


def running(word: str) -> list[int]:
    """Live processes with `word` in their argv (a zombie's argv is empty)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\0")
        except OSError:
            continue
        if word.encode() in argv:
            found.append(int(name))
    return found


def record(case: int, at_least: int = 1, timeout: float = 60) -> list[int]:
    """Wait until `at_least` processes of this case run, then write their pids for the test."""
    word = marker(case)
    deadline = time.monotonic() + timeout
    found = running(word)
    while len(found) < at_least:
        if time.monotonic() > deadline:
            raise RuntimeError(f"case {case}: {len(found)} of {at_least} processes started")
        time.sleep(0.02)
        found = running(word)
    path = os.path.join(os.environ["WORKSHOPKIT_TEST_ESCAPES"], str(case))
    with open(path, "a") as fh:
        fh.write(" ".join(map(str, found)) + "\n")
    return found
