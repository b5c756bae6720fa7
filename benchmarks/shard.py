#!/usr/bin/env python3
"""Sharding benchmark (issue 15): what splitting a run into parts costs, and what it buys.

    python benchmarks/shard.py                 # 48 lessons, 1 round, writes nothing
    python benchmarks/shard.py --rounds 2 --write

Measured on the standard workload (`/work/shared/bench/gen_workshop.py DIR -n 48 --sleep 0.2`,
or its copy in tests/resources), each contender cold (`--no-cache`), interleaved round by round:

- plain       `workshopkit run WS` (jobs 2)
- 2 parts     `run --shard 1/2 --results P1`, then `run --shard 2/2 --results P2` (jobs 2
              each, one after the other: the work of two CI runners on one machine), then
              `merge P1 P2` and `build --from-results` (the merge job)
- 2 parallel  both parts at once with `--jobs 1` each (two runners of one core), then merge

Wall and CPU seconds (children's rusage: workshopkit and its kernels) are reported with the load
average, since the machine is shared. The overhead is against the plain run of the same round.

Then a simulation of a 1,000-lesson course on N = 1, 2, 4, 8, 16 runners, from the per-lesson
durations recorded by the plain run: lesson i takes the recorded seconds of lesson i mod n
times a factor drawn from a log-normal (seeded: real courses mix short and long lessons); the
parts are planned from a previous run's record (the same durations with 15 % noise) with
`workshopkit.shard.assign`, or by equal counts (no record), and each runner runs its part with
2 lessons at a time (list scheduling). Makespan is the slowest runner; balance is the slowest
runner over the mean.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATOR = Path("/work/shared/bench/gen_workshop.py")
if not GENERATOR.is_file():
    GENERATOR = HERE.parent / "tests" / "resources" / "gen_workshop.py"
WK = [sys.executable, "-m", "workshopkit"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(*commands: Sequence[str | Path], parallel: bool = False) -> tuple[float, float]:
    """Wall and CPU seconds of `commands`, one after the other (or all at once)."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("GITHUB_ACTIONS", None)
    cpu, began = children_cpu(), time.monotonic()
    if parallel:
        procs = [
            subprocess.Popen(
                [*WK, *map(str, c)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            for c in commands
        ]
        for proc in procs:
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise SystemExit(f"failed ({proc.returncode}): {err.decode()[-2000:]}")
    else:
        for command in commands:
            done = subprocess.run([*WK, *map(str, command)], env=env, capture_output=True)
            if done.returncode != 0:
                raise SystemExit(f"{command} failed: {done.stderr.decode()[-2000:]}")
    return time.monotonic() - began, children_cpu() - cpu


def one_round(work: Path, ws: Path, n: int) -> dict[str, tuple[float, float]]:
    for name in ("p1", "p2", "q1", "q2", "m1", "m2", "d1", "d2"):
        shutil.rmtree(work / name, ignore_errors=True)
    out: dict[str, tuple[float, float]] = {}
    out["plain"] = timed(["run", ws, "--no-cache", "--report", work / "plain.json"])
    p = [
        ["run", ws, "--no-cache", "--shard", f"{k}/2", "--results", work / f"p{k}"] for k in (1, 2)
    ]
    out["parts"] = timed(*p)
    out["parts-merge"] = timed(["merge", work / "p1", work / "p2", "-o", work / "m1"])
    out["parts-build"] = timed(["build", ws, "-o", work / "d1", "--from-results", work / "m1"])
    q = [
        ["run", ws, "--no-cache", "-j", "1", "--shard", f"{k}/2", "--results", work / f"q{k}"]
        for k in (1, 2)
    ]
    out["parallel"] = timed(*q, parallel=True)
    out["parallel-merge"] = timed(["merge", work / "q1", work / "q2", "-o", work / "m2"])
    return out


# --- the 1,000-lesson simulation --------------------------------------------------------------


def runner_wall(durations: Sequence[float], jobs: int = 2) -> float:
    """List scheduling of `durations` (in order) on `jobs` slots."""
    slots = [0.0] * jobs
    for d in durations:
        heapq.heapreplace(slots, slots[0] + d)
    return max(slots)


def simulate(recorded: Sequence[float], lessons: int = 1000) -> list[dict[str, float]]:
    from workshopkit.shard import assign

    rng = random.Random(15)
    ids = [f"lesson-{n:04}" for n in range(lessons)]
    actual = {
        i: recorded[n % len(recorded)] * rng.lognormvariate(0.0, 0.8) for n, i in enumerate(ids)
    }
    previous = {i: max(1, round(s * rng.uniform(0.85, 1.15) * 1000)) for i, s in actual.items()}
    rows = []
    total = sum(actual.values())
    for count in (1, 2, 4, 8, 16):
        row: dict[str, float] = {"runners": count, "ideal": total / count / 2}
        for label, record in (("durations", previous), ("counts", {})):
            parts = assign(ids, record, count).parts
            walls = [runner_wall([actual[i] for i in part]) for part in parts]
            row[f"{label}_makespan"] = max(walls)
            row[f"{label}_balance"] = max(walls) / statistics.mean(walls)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=48)
    parser.add_argument("--sleep", default="0.2")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--write", action="store_true", help="write benchmarks/RESULTS-shard.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shard-bench-"))
    ws = work / "ws"
    subprocess.run(
        [sys.executable, str(GENERATOR), str(ws), "-n", str(args.n), "--sleep", args.sleep],
        check=True,
        capture_output=True,
    )
    subprocess.run([*WK, "check", str(ws)], check=True, capture_output=True)
    rounds = []
    loads = [os.getloadavg()[0]]
    for r in range(args.rounds):
        got = one_round(work, ws, args.n)
        loads.append(os.getloadavg()[0])
        rounds.append(got)
        print(
            f"round {r + 1}: " + ", ".join(f"{k} {w:.1f}s/{c:.1f}cpu" for k, (w, c) in got.items())
        )
    plain = json.loads((work / "plain.json").read_text(encoding="utf-8"))
    recorded = [e["seconds"] for e in plain["lessons"]]
    sim = simulate(recorded)
    text = report(rounds, loads, sim, args)
    print(text)
    if args.write:
        (HERE / "RESULTS-shard.md").write_text(text, encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)


def report(
    rounds: list[dict[str, tuple[float, float]]],
    loads: list[float],
    sim: list[dict[str, float]],
    args: argparse.Namespace,
) -> str:
    def med(key: str, part: int) -> float:
        return statistics.median(r[key][part] for r in rounds)

    def ratio(keys: Sequence[str]) -> str:
        values = [sum(r[k][0] for k in keys) / r["plain"][0] for r in rounds]
        spread = f" ({min(values):.2f}-{max(values):.2f})" if len(values) > 1 else ""
        return f"{statistics.median(values):.2f}x{spread}"

    lines = [
        "# Sharding benchmark (issue 15)",
        "",
        f"`python benchmarks/shard.py --rounds {args.rounds}`: {args.n} lessons of the standard "
        f"workload (`--sleep {args.sleep}`), every run cold (`--no-cache`), contenders "
        f"interleaved within each round; {platform.python_version()}, {os.cpu_count()} cores, "
        f"a shared machine: load average {min(loads):.1f}-{max(loads):.1f} during the run "
        "(other helpers' work), so CPU seconds (workshopkit and its kernels) are the steadier "
        "figure. Medians over the rounds; ratios are against the plain run of the same round.",
        "",
        "| contender | wall s | CPU s | wall vs plain |",
        "|---|---|---|---|",
        f"| plain `run` (jobs 2) | {med('plain', 0):.1f} | {med('plain', 1):.1f} | 1.00x |",
        f"| 2 parts one after the other (jobs 2 each) | {med('parts', 0):.1f} | "
        f"{med('parts', 1):.1f} | {ratio(['parts'])} |",
        f"| ... + `merge` | {med('parts-merge', 0):.2f} | {med('parts-merge', 1):.2f} | "
        f"{ratio(['parts', 'parts-merge'])} |",
        f"| ... + `build --from-results` (0 kernels) | {med('parts-build', 0):.1f} | "
        f"{med('parts-build', 1):.1f} | - |",
        f"| 2 parts at once (jobs 1 each) + `merge` | "
        f"{med('parallel', 0) + med('parallel-merge', 0):.1f} | "
        f"{med('parallel', 1) + med('parallel-merge', 1):.1f} | "
        f"{ratio(['parallel', 'parallel-merge'])} |",
        "",
        "Per round (wall s / CPU s):",
        "",
    ]
    for n, r in enumerate(rounds, 1):
        lines.append(
            f"- round {n}: " + ", ".join(f"{k} {w:.1f}/{c:.1f}" for k, (w, c) in r.items())
        )
    lines += [
        "",
        "## A 1,000-lesson course on N runners (simulation)",
        "",
        "From the per-lesson seconds the plain run recorded: lesson i takes the seconds of "
        "lesson i mod n times a seeded log-normal factor (sigma 0.8: a mix of short and long "
        "lessons); parts planned from a previous record of the same lessons (15 % noise) with "
        "`workshopkit.shard.assign` (`--durations`), or by equal counts (no record); each "
        "runner runs its part 2 lessons at a time. Runner start-up (checkout, pip install) is "
        "not included: add it once per runner.",
        "",
        "| runners | ideal s | makespan s, by durations | balance | makespan s, equal counts "
        "| balance |",
        "|---|---|---|---|---|---|",
    ]
    for row in sim:
        lines.append(
            f"| {int(row['runners'])} | {row['ideal']:.0f} | {row['durations_makespan']:.0f} | "
            f"{row['durations_balance']:.3f} | {row['counts_makespan']:.0f} | "
            f"{row['counts_balance']:.3f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
