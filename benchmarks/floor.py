#!/usr/bin/env python3
"""The plain-Python floor for benchmarks/run.py: the lessons' own code, no kernel, no notebook.

    python benchmarks/floor.py DIR [--jobs 2]

Runs every ``DIR/**/lesson*.py`` (a py:percent file is a Python script: its cell markers are
comments) with ``runpy.run_path`` in its own folder, in ``--jobs`` plain Python processes, each
taking every ``jobs``-th lesson in turn; each lesson gets fresh globals. What a kernel adds (start,
messages, shutdown) is what a notebook runner spends above this. Exits 1 if any lesson raised.
"""

from __future__ import annotations

import argparse
import os
import runpy
import subprocess
import sys
from pathlib import Path


def run_share(paths: list[Path]) -> int:
    failed = 0
    for path in paths:
        os.chdir(path.parent)
        try:
            runpy.run_path(str(path), run_name="__main__")
        except Exception as exc:  # a lesson's failure, reported like the peers do
            failed += 1
            print(f"FAILED {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
    return failed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", type=Path)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--share", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    paths = sorted(p.resolve() for p in args.dir.rglob("lesson*.py"))
    if args.share is not None:
        return 1 if run_share(paths[args.share :: args.jobs]) else 0
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, str(args.dir), "--jobs", str(args.jobs), "--share", str(i)],
            stdout=subprocess.DEVNULL,
        )
        for i in range(args.jobs)
    ]
    codes = [p.wait() for p in procs]
    print(f"{len(paths)} lessons in {args.jobs} processes", file=sys.stderr)
    return 1 if any(codes) or not paths else 0


if __name__ == "__main__":
    raise SystemExit(main())
