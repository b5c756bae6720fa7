#!/usr/bin/env python3
"""`workshopkit run` locally against `--executor dask` on a LocalCluster of 2 worker processes.

    python benchmarks/dask_run.py                 # 48 lessons, 2 rounds, interleaved
    python benchmarks/dask_run.py -n 48 --rounds 3 --write

The workload is the standard one (`/work/shared/bench/gen_workshop.py DIR -n 48 --sleep 0.2`, or
`$WORKSHOPKIT_GEN`). Each round runs, one after the other in alternating order, the plain local
run (`workshopkit run --no-cache`, jobs 2) and the same run sent to a `distributed.LocalCluster`
of 2 worker processes with 1 thread each (`--scheduler tcp://...`), both as fresh `workshopkit`
processes. The cluster is started once, before the rounds (its start-up is reported apart: a team
with a cluster has it running already). Reported per run: wall seconds, CPU seconds (the
`workshopkit` process and its kernels for the local run; for the Dask run, the client process
plus what the worker processes and their kernels used meanwhile), the 1-minute load average
before and after; then the Dask/local ratio of each round (paired) and their median.
Results go to stdout, and to benchmarks/RESULTS-dask.md with --write.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GEN = Path(os.environ.get("WORKSHOPKIT_GEN", "/work/shared/bench/gen_workshop.py"))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def workers_cpu(pids: list[int]) -> float:
    """CPU seconds of the worker processes and the children they reaped (launchers, kernels)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def timed(command: list[str], env: dict[str, str], worker_pids: list[int]) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    cpu_before = children_cpu()
    workers_before = workers_cpu(worker_pids)
    began = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    cpu = children_cpu() - cpu_before + workers_cpu(worker_pids) - workers_before
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return {"wall": wall, "cpu": cpu, "load": (load_before, os.getloadavg()[0])}


def start_cluster() -> tuple[Any, Any, float]:
    import distributed

    began = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = distributed.Client(cluster, set_as_default=False)
    client.wait_for_workers(2)
    return cluster, client, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--lessons", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sleep", default="0.2")
    parser.add_argument("--write", action="store_true", help="write benchmarks/RESULTS-dask.md")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="workshopkit-bench-dask-"))
    try:
        workshop = work / "ws"
        subprocess.run(
            [
                sys.executable,
                str(GEN),
                str(workshop),
                "-n",
                str(args.lessons),
                "--sleep",
                args.sleep,
            ],
            check=True,
            capture_output=True,
        )
        env = {**os.environ, "NO_COLOR": "1"}
        env.pop("GITHUB_ACTIONS", None)
        cluster, client, startup = start_cluster()
        try:
            worker_pids = list(client.run(os.getpid).values())
            wk = [sys.executable, "-m", "workshopkit", "run", str(workshop), "--no-cache"]
            contenders = {
                "local": [*wk, "-j", "2"],
                "dask": [*wk, "--scheduler", str(cluster.scheduler_address)],
            }
            rounds: list[dict[str, dict[str, Any]]] = []
            for number in range(args.rounds):
                order = list(contenders) if number % 2 == 0 else list(reversed(contenders))
                found = {name: timed(contenders[name], env, worker_pids) for name in order}
                rounds.append(found)
                print(
                    f"round {number + 1}: "
                    + ", ".join(
                        f"{name} {r['wall']:.1f} s wall / {r['cpu']:.1f} s CPU "
                        f"(load {r['load'][0]:.1f}->{r['load'][1]:.1f})"
                        for name, r in found.items()
                    ),
                    flush=True,
                )
        finally:
            client.close()
            cluster.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = render(args, rounds, startup)
    print(report)
    if args.write:
        (HERE / "RESULTS-dask.md").write_text(report, encoding="utf-8")


def render(
    args: argparse.Namespace, rounds: list[dict[str, dict[str, Any]]], startup: float
) -> str:
    def med(name: str, key: str) -> float:
        return statistics.median(r[name][key] for r in rounds)

    wall_ratios = [r["dask"]["wall"] / r["local"]["wall"] for r in rounds]
    cpu_ratios = [r["dask"]["cpu"] / r["local"]["cpu"] for r in rounds]
    loads = [x for r in rounds for c in r.values() for x in c["load"]]
    lines = [
        "# `--executor dask` against a local run",
        "",
        f"`python benchmarks/dask_run.py -n {args.lessons} --rounds {args.rounds} --write`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.python_version()}, "
        f"{os.cpu_count()} cores, a shared machine (1-minute load average "
        f"{min(loads):.1f}-{max(loads):.1f} during the runs).",
        "",
        f"Workload: `gen_workshop.py DIR -n {args.lessons} --sleep {args.sleep}` (the standard "
        "one), every run cold (`--no-cache`), each a fresh `workshopkit` process. Dask: a "
        "`LocalCluster` of 2 worker processes, 1 thread each (2 lessons at once, as `-j 2`), "
        f"started once before the rounds ({startup:.1f} s, not counted).",
        "",
        "| contender | median wall s | median CPU s | wall ratio | CPU ratio |",
        "|---|---|---|---|---|",
        f"| local run (`-j 2`) | {med('local', 'wall'):.1f} | {med('local', 'cpu'):.1f} | "
        "baseline | baseline |",
        f"| Dask, 2 workers (`--scheduler`) | {med('dask', 'wall'):.1f} | "
        f"{med('dask', 'cpu'):.1f} | {statistics.median(wall_ratios):.2f}x | "
        f"{statistics.median(cpu_ratios):.2f}x |",
        "",
        "Per round (paired ratios, Dask / local):",
        "",
        "| round | local wall / CPU s | Dask wall / CPU s | wall ratio | CPU ratio | load |",
        "|---|---|---|---|---|---|",
    ]
    for number, (r, wr, cr) in enumerate(zip(rounds, wall_ratios, cpu_ratios, strict=True), 1):
        span = [x for c in r.values() for x in c["load"]]
        lines.append(
            f"| {number} | {r['local']['wall']:.1f} / {r['local']['cpu']:.1f} | "
            f"{r['dask']['wall']:.1f} / {r['dask']['cpu']:.1f} | {wr:.2f}x | {cr:.2f}x | "
            f"{min(span):.1f}-{max(span):.1f} |"
        )
    lines += [
        "",
        "CPU seconds: the local run counts the `workshopkit` process and its kernels; the Dask "
        "run counts the client process plus the worker processes and the kernels they ran "
        "(the scheduler, in the benchmark's own process, is not counted).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
