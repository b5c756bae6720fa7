#!/usr/bin/env python3
"""What a lesson costs workshopkit when the lesson itself costs nothing: kernel start, ready
check, cleanup and the client's own work, per lesson.

    python benchmarks/client_latency.py [--lessons 24] [--jobs 2] [--rounds 3] [--before SRC]
                                        [--output FILE]

Runs `workshopkit run DIR --no-cache --jobs J` on a workshop of one-cell lessons (`x = 1`), in a
Python process that calls workshopkit's CLI in-process and then reads its own resource usage
(RUSAGE_SELF: workshopkit's process; RUSAGE_CHILDREN: fork server, launchers, kernels) and how
many kernel_info requests its clients sent (one per ready check, plus papermill's own after the
cells: 2 a lesson when no ready check has to ask twice). `--before SRC` adds the row `before`:
the same with workshopkit imported from SRC (another checkout's `src/`, e.g. `git archive main
src | tar -x -C /tmp/base`), the rows interleaved round by round. Prints a Markdown table (and
writes it to --output); nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernel_cpu import RUNNER as KERNEL_CPU_RUNNER
from kernel_cpu import run_runner

# Runs in the timed process: counts kernel_info requests, then kernel_cpu.RUNNER (the CLI
# in-process; its own and its children's CPU on a pipe).
RUNNER = (
    """
from jupyter_client.asynchronous.client import AsyncKernelClient as KernelClient
extra = {"kernel_info": 0}
kernel_info = KernelClient.kernel_info
def counted(self, *args, **kwargs):
    extra["kernel_info"] += 1
    return kernel_info(self, *args, **kwargs)
KernelClient.kernel_info = counted
"""
    + KERNEL_CPU_RUNNER
)

LESSON = """# ---
# jupyter:
#   kernelspec: {{display_name: Python 3, language: python, name: python3}}
#   workshopkit:
#     id: l{n:03d}
#     title: Lesson {n}
#     level: beginner
#     minutes: 5
# ---

# %%
x = {n}
"""


def make_workshop(folder: Path, lessons: int) -> None:
    folder.mkdir(parents=True)
    (folder / "workshop.toml").write_text('title = "Latency"\n', encoding="utf-8")
    for n in range(1, lessons + 1):
        (folder / f"l{n:03d}.py").write_text(LESSON.format(n=n), encoding="utf-8")


def run_once(
    workload: Path, row: str, work: Path, jobs: int, before: Path | None
) -> dict[str, float]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if row == "before":
        assert before is not None
        env["PYTHONPATH"] = str(before)
    target = work / f"w-{row}"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(workload, target)
    return run_runner(RUNNER, target, ["--jobs", str(jobs)], env, row)


def report(results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> str:
    med = statistics.median
    n = args.lessons
    loads = [r["load"] for rows in results.values() for r in rows]
    lines = [
        f"{n} one-cell lessons, `--jobs {args.jobs}`, {args.rounds} round(s), rows interleaved; "
        f"1-min load average {min(loads):.1f}-{max(loads):.1f}; medians; seconds",
        "",
        "| row | wall | wall per lesson | CPU total | workshopkit process | its CPU per lesson "
        "| kernel side | kernel_info requests per lesson |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row, rows in results.items():
        wall, own = med(r["wall"] for r in rows), med(r["self"] for r in rows)
        kids = med(r["children"] for r in rows)
        total = med(r["self"] + r["children"] for r in rows)
        asked = med(r["kernel_info"] for r in rows) / n
        lines.append(
            f"| {row} | {wall:.2f} | {wall / n:.3f} | {total:.2f} | {own:.2f} | {own / n:.3f} "
            f"| {kids:.2f} | {asked:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lessons", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--before", type=Path, help="another checkout's src/: adds the row before")
    ap.add_argument("--output", type=Path)
    args = ap.parse_args()
    rows = ["before", "after"] if args.before is not None else ["after"]
    work = Path(tempfile.mkdtemp(prefix="wk-client-latency-"))
    try:
        workload = work / "workload"
        make_workshop(workload, args.lessons)
        results: dict[str, list[dict[str, float]]] = {row: [] for row in rows}
        for r in range(args.rounds):
            for row in rows if r % 2 == 0 else rows[::-1]:
                result = run_once(workload, row, work, args.jobs, args.before)
                results[row].append(result)
                print(f"round {r + 1} {row}: {json.dumps(result)}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = report(results, args)
    print(table)
    if args.output is not None:
        args.output.write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    raise SystemExit(code)
