#!/usr/bin/env python3
"""Where the CPU of a cold `workshopkit run` goes: workshopkit's own process against its kernels.

    python benchmarks/kernel_cpu.py [--lessons 24] [--rounds 2] [--modes fork,exec]
                                    [--before SRC] [--workshop DIR] [--output FILE]

Runs `workshopkit run DIR --no-cache --kernel-start MODE` on a fresh copy of the standard workload
(`/work/shared/bench/gen_workshop.py -n LESSONS --sleep 0.2`, or `--workshop DIR`), the modes
interleaved round by round, each in a Python process that calls workshopkit's CLI in-process and
then reads its own resource usage: RUSAGE_SELF is workshopkit's process (papermill, nbclient, the
cache, the exports of a run), RUSAGE_CHILDREN everything below it once reaped: fork servers,
launchers, kernels (an exec'd kernel's launcher and kernel). The kernel side per lesson is that
second figure over the number of lessons (a fork server's start included). `--before SRC` adds
the row `fork-before`: fork mode with workshopkit imported from SRC (another checkout's `src/`,
e.g. `git archive main src | tar -x -C /tmp/base`), for a before/after in one interleaved run.
Prints a Markdown table (and writes it to --output); nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GEN = Path("/work/shared/bench/gen_workshop.py")

# Runs in the timed process: `workshopkit run WORKSHOP --no-cache OPTIONS...` in-process, then its
# own and its children's CPU (and what a prelude put in `extra`) on the pipe given last.
RUNNER = """
import os, resource, sys, time, json
from workshopkit.cli import main
args = list(sys.argv)
sys.argv = ["workshopkit", "run", args[1], "--no-cache", *args[2:-1]]
t = time.monotonic()
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
wall = time.monotonic() - t
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
out = {"code": code, "wall": wall, "self": me.ru_utime + me.ru_stime,
       "children": kids.ru_utime + kids.ru_stime, **globals().get("extra", {})}
os.write(int(args[-1]), json.dumps(out).encode())
"""


def run_once(workload: Path, row: str, work: Path, before: Path | None) -> dict[str, float]:
    mode = row.split("-")[0]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if row.endswith("-before"):
        if before is None:
            raise SystemExit(f"{row}: needs --before SRC")
        env["PYTHONPATH"] = str(before)
    target = work / f"w-{row}"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(workload, target)
    return run_runner(RUNNER, target, ["--kernel-start", mode], env, row)


def run_runner(
    runner: str, target: Path, args: list[str], env: dict[str, str], row: str
) -> dict[str, float]:
    """Run `runner` (Python source, `RUNNER` or one that starts with it) on the workshop copy
    `target` with `args`, then remove the copy; what it writes to the descriptor given last is
    its result, with the load average."""
    read, write = os.pipe()
    load = os.getloadavg()[0]
    done = subprocess.run(
        [sys.executable, "-c", runner, str(target), *args, str(write)],
        pass_fds=(write,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        check=False,
    )
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        data = fh.read()
    shutil.rmtree(target, ignore_errors=True)
    if not data:
        raise SystemExit(f"{row}: no result\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(data)
    if result["code"] != 0:
        raise SystemExit(f"{row}: workshopkit run exited {result['code']}\n{done.stderr[-2000:]}")
    result["load"] = load
    return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lessons", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--modes", default="fork,exec")
    ap.add_argument("--before", type=Path, help="another checkout's src/: adds fork-before")
    ap.add_argument("--workshop", type=Path, help="a workshop to run instead of the workload")
    ap.add_argument("--output", type=Path)
    args = ap.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if args.before is not None and "fork-before" not in modes:
        modes.insert(0, "fork-before")
    work = Path(tempfile.mkdtemp(prefix="wk-kernel-cpu-"))
    try:
        if args.workshop is not None:
            workload = args.workshop.resolve()
            lessons = len(list(workload.rglob("lesson*.py")))
        else:
            workload = work / "workload"
            subprocess.run(
                [
                    sys.executable,
                    str(GEN),
                    str(workload),
                    "-n",
                    str(args.lessons),
                    "--sleep",
                    "0.2",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            lessons = args.lessons
        results: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
        for r in range(args.rounds):
            for mode in modes if r % 2 == 0 else modes[::-1]:
                result = run_once(workload, mode, work, args.before)
                results[mode].append(result)
                print(f"round {r + 1} {mode}: {json.dumps(result)}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = report(results, lessons, args)
    print(table)
    if args.output is not None:
        args.output.write_text(table + "\n", encoding="utf-8")
    return 0


def report(
    results: dict[str, list[dict[str, float]]], lessons: int, args: argparse.Namespace
) -> str:
    med = statistics.median
    what = f"`{args.workshop}`" if args.workshop else f"the standard workload, {lessons} lessons"
    loads = [r["load"] for rows in results.values() for r in rows]
    lines = [
        f"{what}; {args.rounds} round(s), modes interleaved; "
        f"1-min load average {min(loads):.1f}-{max(loads):.1f}; medians; CPU in seconds",
        "",
        "| kernel start | wall s | CPU total | workshopkit process | kernel side "
        "| kernel side per lesson |",
        "|---|---|---|---|---|---|",
    ]
    for mode, rows in results.items():
        own, kids = med(r["self"] for r in rows), med(r["children"] for r in rows)
        total = med(r["self"] + r["children"] for r in rows)
        lines.append(
            f"| {mode} | {med(r['wall'] for r in rows):.2f} | {total:.2f} | {own:.2f} "
            f"| {kids:.2f} | {kids / lessons:.3f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    raise SystemExit(code)
