#!/usr/bin/env python3
"""Incremental builds of the example workshop: what each kind of edit costs.

    python benchmarks/warm_build.py                      # 3 rounds, this workshopkit
    python benchmarks/warm_build.py --rounds 5 --write   # and benchmarks/RESULTS-incremental.md
    python benchmarks/warm_build.py --baseline /path/to/other/venv/bin/workshopkit

On a copy of `workshops/ml-meetup` (dist/ and .workshopkit/ left out), times `workshopkit build .`:

- cold: nothing cached, no dist/ (once);
- then, each round, in this order: a warm build with nothing changed; a markdown-only edit (a
  sentence added to a markdown cell of one lesson); a `workshop.toml` edit (a track's
  description); a code edit (a `print` added to the first untagged code cell of lesson 01).

Each build is a fresh process, as a user runs it. Measured: wall seconds, CPU seconds of the
command's process tree (its kernels included), the kernels it started (`dist/report.json`), and
the 1-minute load average just before it. With `--baseline`, another workshopkit (an older
release, say) builds its own copy of the workshop, interleaved build by build with this one, so
that both see the same load. `PYTHONDONTWRITEBYTECODE` is removed from the environment: users'
installs keep their bytecode, and compiling every module again on each start would be measured
instead. `SOURCE_DATE_EPOCH` is fixed.
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
EXAMPLE = HERE.parent / "workshops" / "ml-meetup"
MARKDOWN_LESSON = "lessons/02-first-model/lesson.py"  # a talk of the event too
MARKDOWN_ANCHOR = "# The recipe you will reuse for every scikit-learn model:"
CODE_LESSON = "lessons/01-arrays-and-plots/lesson.py"
KINDS = ("warm", "markdown", "toml", "code")
LABELS = {
    "cold": "cold (nothing cached)",
    "warm": "warm, nothing changed",
    "markdown": "markdown-only edit",
    "toml": "`workshop.toml` edit (a track's description)",
    "code": "one code edit (lesson 01)",
}


def find_workshopkit() -> str:
    found = shutil.which("workshopkit")
    if found is None:
        sys.exit("workshopkit is not on PATH; activate the venv first")
    return found


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    env.setdefault("JUPYTER_PREFER_ENV_PATH", "1")
    return env


def timed_build(command: str, root: Path) -> dict[str, float]:
    """One `build .` in `root`: wall s, CPU s (process tree), kernels started, load before."""
    load = os.getloadavg()[0]
    before = os.times()
    began = time.perf_counter()
    proc = subprocess.run(
        [command, "build", "."], cwd=root, env=environment(), capture_output=True, text=True
    )
    wall = time.perf_counter() - began
    after = os.times()
    if proc.returncode != 0:
        sys.exit(f"build failed in {root} (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    report = json.loads((root / "dist" / "report.json").read_text(encoding="utf-8"))
    return {"wall": wall, "cpu": cpu, "kernels": report["kernels_started"], "load": load}


def edit(root: Path, kind: str, round_number: int) -> None:
    """Make the edit of `kind` (see the module doc); each round's edit is new."""
    if kind == "markdown":
        path = root / MARKDOWN_LESSON
        text = path.read_text(encoding="utf-8")
        sentence = f"# (Round {round_number}: a sentence added by the benchmark.)\n#\n"
        path.write_text(text.replace(MARKDOWN_ANCHOR, sentence + MARKDOWN_ANCHOR, 1), "utf-8")
    elif kind == "toml":
        path = root / "workshop.toml"
        text = path.read_text(encoding="utf-8")
        old = 'description = "Every lesson and lightning talk, in teaching order.'
        path.write_text(text.replace(old, f"{old} Round {round_number}.", 1), "utf-8")
    elif kind == "code":
        path = root / CODE_LESSON
        text = path.read_text(encoding="utf-8")
        added = f"# %%\nprint('round {round_number}')\n"
        path.write_text(text.replace("\n# %%\n", "\n" + added, 1), encoding="utf-8")


def copy_example(work: Path, name: str) -> Path:
    root = work / name
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("dist", ".workshopkit", "dist.*"))
    return root


def run(rounds: int, baseline: str | None) -> dict[str, dict[str, list[dict[str, float]]]]:
    contenders = {"workshopkit": find_workshopkit()}
    if baseline:
        contenders["baseline"] = baseline
    work = Path(tempfile.mkdtemp(prefix="warm-build-"))
    roots = {name: copy_example(work, name) for name in contenders}
    results: dict[str, dict[str, list[dict[str, float]]]] = {n: {} for n in contenders}
    try:
        for name, command in contenders.items():
            results[name]["cold"] = [timed_build(command, roots[name])]
            show(name, "cold", results[name]["cold"][-1])
        for number in range(1, rounds + 1):
            for kind in KINDS:
                for name, command in contenders.items():  # interleaved: the same load
                    edit(roots[name], kind, number)
                    measured = timed_build(command, roots[name])
                    results[name].setdefault(kind, []).append(measured)
                    show(name, kind, measured)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def show(name: str, kind: str, m: dict[str, float]) -> None:
    print(
        f"  {name:<12} {kind:<9} {m['wall']:7.2f} s wall {m['cpu']:7.2f} s CPU "
        f"{int(m['kernels']):3d} kernels  load {m['load']:.1f}",
        file=sys.stderr,
    )


def median(values: list[dict[str, float]], key: str) -> float:
    return statistics.median(v[key] for v in values)


def table(results: dict[str, dict[str, list[dict[str, float]]]]) -> str:
    names = list(results)
    head = (
        "| build | "
        + " | ".join(f"{n}: wall s / CPU s / kernels" for n in names)
        + " | load average |"
    )
    lines = [head, "|---" * (len(names) + 2) + "|"]
    for kind in ("cold", *KINDS):
        cells = []
        for name in names:
            runs = results[name][kind]
            kernels = sorted({int(r["kernels"]) for r in runs})
            cells.append(
                f"{median(runs, 'wall'):.2f} / {median(runs, 'cpu'):.2f} / "
                + ",".join(map(str, kernels))
            )
        loads = [r["load"] for name in names for r in results[name][kind]]
        lines.append(
            f"| {LABELS[kind]} | " + " | ".join(cells) + f" | {min(loads):.1f}-{max(loads):.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="another workshopkit executable to compare with")
    parser.add_argument("--write", action="store_true", help="write RESULTS-incremental.md")
    args = parser.parse_args()
    results = run(args.rounds, args.baseline)
    text = table(results)
    print(text)
    if args.write:
        facts = (
            f"Median of {args.rounds} rounds (cold: 1), on a copy of `workshops/ml-meetup` "
            f"(12 lessons, 3 tracks, 1 event); {os.cpu_count()} cores, Python "
            f"{platform.python_version()}; each build a fresh `workshopkit build .` process; CPU "
            "seconds count its kernels too. The machine is shared: read CPU seconds first."
        )
        raw = json.dumps(results, indent=1)
        command = " ".join(["python benchmarks/warm_build.py", *sys.argv[1:]])
        (HERE / "RESULTS-incremental.md").write_text(
            f"# Incremental builds\n\n`{command}`\n\n{text}\n\n{facts}\n\n"
            f"<details><summary>every build</summary>\n\n```json\n{raw}\n```\n\n</details>\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
