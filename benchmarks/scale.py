#!/usr/bin/env python3
"""Scaling benchmark: `workshopkit check` and a warm `workshopkit run` on N tiny lessons.

    python benchmarks/scale.py                       # 100, 1000, 10000 lessons; check and warm run
    python benchmarks/scale.py --sizes 100,1000 --rounds 3 --only check
    python benchmarks/scale.py --generate DIR -n 500 # just write a workshop of 500 tiny lessons

Each lesson is `lessons/NNNNN/lesson-NNNNN.py` in a folder of its own (the layout `workshopkit new
lesson` suggests): a header, a markdown cell with an image reference, a parameters cell and two
code cells, one of which reads a data file beside it. Every tenth lesson requires an earlier one
of its topic, and three tracks select lessons by level and tag, so that assembling tracks does
real work.

`check` is timed cold (a fresh process, nothing cached) as one command. A warm `run` needs every
lesson's result in the cache: the cache is primed by a real cold run (`--prime run`, default for
sizes up to `--max-real-prime`), or, above that, by storing each lesson's entry through the
cache's own API with an executed notebook made by running one lesson (`--prime synthetic`): the
warm run then does exactly what it does after a real run (discover, load, validate, key every
lesson, read every entry back and check its checksum), which is what is measured. Results go to
stdout and to benchmarks/RESULTS-scale.md (with --write).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LEVELS = ("beginner", "intermediate", "advanced")
TOPICS = ("arrays", "plots", "models", "data", "text")

LESSON = """\
# ---
# jupyter:
#   kernelspec: {{display_name: Python 3, language: python, name: python3}}
#   workshopkit:
#     id: {ident}
#     title: "Lesson {k}"
#     level: {level}
#     minutes: {minutes}
#     tags: [{topic}]
#     requires: [{requires}]
#     objectives: [Read a number from a file]
# ---

# %% [markdown]
# # Lesson {k}
#
# ![a picture](picture.png)

# %% tags=["parameters"]
quick = False

# %%
with open("value.txt") as fh:
    value = int(fh.read())

# %%
print(value + {k})
"""

CONFIG = """\
title = "Scaling benchmark ({n} lessons)"

[execution]
jobs = 2

[[tracks]]
id = "beginners"
title = "Beginners"
levels = ["beginner"]

[[tracks]]
id = "arrays"
title = "Arrays"
tags = ["arrays"]

[[tracks]]
id = "everything"
title = "Everything"
levels = ["beginner", "intermediate", "advanced"]
"""

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5dd2c6e0000000049454e44ae426082"
)


def generate(root: Path, n: int) -> None:
    """A workshop of `n` tiny lessons at `root` (created; must not exist)."""
    root.mkdir(parents=True)
    (root / "workshop.toml").write_text(CONFIG.format(n=n), encoding="utf-8")
    width = max(5, len(str(n)))
    for k in range(1, n + 1):
        ident = f"lesson-{k:0{width}d}"
        folder = root / "lessons" / f"{k:0{width}d}"
        folder.mkdir(parents=True)
        level = LEVELS[min(2, (k - 1) * 3 // n)]
        requires = f"lesson-{k - len(TOPICS):0{width}d}" if k % 10 == 0 else ""
        text = LESSON.format(
            ident=ident,
            k=k,
            level=level,
            minutes=5 + k % 4 * 5,
            topic=TOPICS[k % len(TOPICS)],
            requires=requires,
        )
        (folder / f"{ident}.py").write_text(text, encoding="utf-8")
        (folder / "value.txt").write_text(str(k), encoding="utf-8")
        (folder / "picture.png").write_bytes(PNG)


def workshopkit() -> list[str]:
    found = shutil.which("workshopkit")
    if found is None:
        sys.exit("workshopkit is not on PATH; activate the venv first")
    return [found]


def timed(command: list[str], cwd: Path) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds of the command's process tree, exit code, stderr tail."""
    before = os.times()
    began = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu, proc.returncode, proc.stderr[-2000:]


def prime_real(root: Path) -> None:
    wall, _, code, err = timed([*workshopkit(), "run", "."], root)
    if code != 0:
        sys.exit(f"priming run failed (exit {code}):\n{err}")
    print(f"  primed by a real cold run in {wall:.1f} s", file=sys.stderr)


def prime_synthetic(root: Path) -> None:
    """Run the first lesson for real, then store an entry for every other lesson through
    `Cache.put`, keyed exactly as `run` keys it."""
    from workshopkit.cache import Cache
    from workshopkit.execute import RunOptions, plan_lessons
    from workshopkit.model import LessonResult, Status
    from workshopkit.pipeline import open_workshop

    first = sorted((root / "lessons").iterdir())[0]
    _, _, code, err = timed([*workshopkit(), "run", str(first)], root)
    if code != 0:
        sys.exit(f"priming run of {first} failed (exit {code}):\n{err}")
    opened = open_workshop(root)
    assert opened.workshop is not None, opened.diagnostics
    cache = Cache(opened.workshop.root)
    stored = next((root / ".workshopkit" / "cache").rglob("executed.ipynb"))
    scratch = Path(tempfile.mkdtemp(prefix="scale-prime-"))
    began = time.perf_counter()
    for plan in plan_lessons(opened.workshop, opened.workshop.lessons, RunOptions()):
        lesson = plan.lesson
        notebook = scratch / f"{lesson.id}.ipynb"
        shutil.copyfile(stored, notebook)
        result = LessonResult(lesson.id, lesson.relpath, Status.PASSED, 0.5, notebook=notebook)
        cache.put(cache.key(plan), lesson, result)
    shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"  primed {len(opened.workshop.lessons)} entries in {time.perf_counter() - began:.1f} s",
        file=sys.stderr,
    )


def measure(size: int, rounds: int, only: set[str], max_real_prime: int, keep: Path | None) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"scale-{size}-", dir=keep))
    root = work / "ws"
    generate(root, size)
    row: dict = {"lessons": size, "load": os.getloadavg()[0]}
    if "check" in only:
        times = []
        for _ in range(rounds):
            wall, cpu, code, err = timed([*workshopkit(), "check", "."], root)
            if code != 0:
                sys.exit(f"check failed at {size} lessons (exit {code}):\n{err}")
            times.append((wall, cpu))
            print(f"  check {size}: {wall:.2f} s wall, {cpu:.2f} s CPU", file=sys.stderr)
        row["check"] = times
    if "run" in only:
        if size <= max_real_prime:
            prime_real(root)
            row["prime"] = "real cold run"
        else:
            prime_synthetic(root)
            row["prime"] = "entries stored through Cache.put"
        times = []
        for _ in range(rounds):
            wall, cpu, code, err = timed([*workshopkit(), "run", "."], root)
            report = json.loads((root / ".workshopkit" / "report.json").read_text())
            if code != 0 or report["kernels_started"] != 0:
                sys.exit(
                    f"warm run failed at {size} lessons (exit {code}, "
                    f"{report['kernels_started']} kernels):\n{err}"
                )
            times.append((wall, cpu))
            print(f"  warm run {size}: {wall:.2f} s wall, {cpu:.2f} s CPU", file=sys.stderr)
        row["run"] = times
    if keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return row


def table(rows: list[dict]) -> str:
    out = [
        "| lessons | check, s (wall / CPU) | CPU s per 1,000 | warm run, s (wall / CPU) "
        "| CPU s per 1,000 | load average |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [f"{row['lessons']:,}"]
        for key in ("check", "run"):
            if key in row:
                wall = statistics.median(t[0] for t in row[key])
                cpu = statistics.median(t[1] for t in row[key])
                cells += [f"{wall:.2f} / {cpu:.2f}", f"{cpu / row['lessons'] * 1000:.2f} CPU"]
            else:
                cells += ["-", "-"]
        cells.append(f"{row['load']:.1f}")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="check,run", help="check, run, or both")
    parser.add_argument(
        "--max-real-prime",
        type=int,
        default=1000,
        help="largest size whose cache is primed by a real cold run",
    )
    parser.add_argument("--keep", type=Path, help="keep the work folders under this folder")
    parser.add_argument("--write", action="store_true", help="write benchmarks/RESULTS-scale.md")
    parser.add_argument("--generate", type=Path, help="only write a workshop here")
    parser.add_argument("-n", type=int, default=1000, help="lessons, with --generate")
    args = parser.parse_args()
    if args.generate:
        generate(args.generate, args.n)
        return
    only = set(args.only.split(","))
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"{size} lessons", file=sys.stderr)
        rows.append(measure(size, args.rounds, only, args.max_real_prime, args.keep))
    load = os.getloadavg()
    text = (
        f"{table(rows)}\n\nMedian of {args.rounds} rounds; {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average at the end {load[0]:.1f}.\n"
    )
    print(text)
    if args.write:
        (HERE / "RESULTS-scale.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
