#!/usr/bin/env python3
"""Peer for benchmarks/run.py: jupytext + nbclient, N notebooks at once in one process.

    python benchmarks/nbclient2.py DIR [--jobs 2] [--timeout 120]

Reads every ``DIR/**/lesson*.py`` with ``jupytext.read(path, fmt="py:percent")``, executes it with
``nbclient.NotebookClient.async_execute`` (at most ``--jobs`` at once, an ``asyncio.Semaphore``),
each kernel started in the lesson's folder, and writes ``lessonNNN.out.ipynb`` next to the lesson.
Exits 1 if any lesson failed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient


async def run_one(sem: asyncio.Semaphore, path: Path, timeout: int) -> None:
    async with sem:
        nb = jupytext.read(path, fmt="py:percent")
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        await client.async_execute()
        nbformat.write(nb, path.with_name(path.stem + ".out.ipynb"))  # type: ignore[no-untyped-call]


async def main_async(paths: list[Path], jobs: int, timeout: int) -> int:
    sem = asyncio.Semaphore(jobs)
    results = await asyncio.gather(
        *(run_one(sem, p, timeout) for p in paths), return_exceptions=True
    )
    failed = 0
    for path, res in zip(paths, results, strict=True):
        if isinstance(res, BaseException):
            failed += 1
            print(f"FAILED {path}: {type(res).__name__}: {str(res)[:300]}", file=sys.stderr)
    print(f"{len(paths) - failed} passed, {failed} failed", file=sys.stderr)
    return 1 if failed or not paths else 0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("dir", type=Path)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=120)
    a = ap.parse_args()
    paths = sorted(a.dir.glob("**/lesson*.py"))
    return asyncio.run(main_async(paths, a.jobs, a.timeout))


if __name__ == "__main__":
    sys.exit(main())
