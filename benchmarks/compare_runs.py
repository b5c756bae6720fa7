#!/usr/bin/env python3
"""Compare the executed notebooks of two `workshopkit run` folders (e.g. fork against exec).

    python benchmarks/compare_runs.py RUN_A RUN_B

Each lesson's executed notebook is its newest cache entry (`.workshopkit/cache/<id>/*/
executed.ipynb`). Outputs are compared cell by cell after removing what is expected to differ
between two runs: execution metadata and timings, memory addresses (`0x7f...`), durations printed
by the lesson ("0.52 s", "12ms"); adjacent pieces of one stream are joined (how a stream is cut
into messages depends on flush timing), and text stored as a list of lines counts as the same text
stored as one string. A cell that still differs is listed with a short diff, to be
judged by eye (an unseeded random draw, an image of one). Exits 1 if any lesson is missing or
has a different number of cells or outputs.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any

ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
DURATION = re.compile(r"\b\d+(?:\.\d+)?(?:e-?\d+)?\s?(?:s|ms|µs|us|ns|sec|seconds)\b")


def notebooks(run: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for lesson in sorted((run / ".workshopkit" / "cache").iterdir()):
        entries = sorted(lesson.glob("*/executed.ipynb"), key=lambda p: p.stat().st_mtime)
        if entries:
            found[lesson.name] = entries[-1]
    return found


def coalesced(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adjacent stream outputs of one stream joined: how a stream is cut into messages depends
    on when its buffer was flushed, not on what was written."""
    merged: list[dict[str, Any]] = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (
            last is not None
            and output.get("output_type") == "stream" == last.get("output_type")
            and output.get("name") == last.get("name")
        ):
            last["text"] = "".join(last.get("text", "")) + "".join(output.get("text", ""))
        else:
            merged.append(dict(output))
    return merged


def normal(output: dict[str, Any]) -> str:
    kept = {k: v for k, v in output.items() if k not in ("metadata", "execution_count")}
    # nbformat stores multi-line text as a string or as a list of lines: the same text
    if isinstance(kept.get("text"), list):
        kept["text"] = "".join(kept["text"])
    if isinstance(kept.get("data"), dict):
        kept["data"] = {
            k: "".join(v) if isinstance(v, list) else v for k, v in kept["data"].items()
        }
    text = json.dumps(kept, sort_keys=True, indent=1)
    return DURATION.sub("<duration>", ADDRESS.sub("0xADDR", text))


def main() -> int:
    a, b = Path(sys.argv[1]), Path(sys.argv[2])
    left, right = notebooks(a), notebooks(b)
    status = 0
    if set(left) != set(right):
        print(
            f"lessons differ: only in A {sorted(set(left) - set(right))}, "
            f"only in B {sorted(set(right) - set(left))}"
        )
        status = 1
    same = differ = 0
    for lesson in sorted(set(left) & set(right)):
        cells_a = json.loads(left[lesson].read_text(encoding="utf-8"))["cells"]
        cells_b = json.loads(right[lesson].read_text(encoding="utf-8"))["cells"]
        if len(cells_a) != len(cells_b):
            print(f"{lesson}: {len(cells_a)} cells against {len(cells_b)}")
            status = 1
            continue
        for index, (ca, cb) in enumerate(zip(cells_a, cells_b, strict=True)):
            outs_a = [normal(o) for o in coalesced(ca.get("outputs", []))]
            outs_b = [normal(o) for o in coalesced(cb.get("outputs", []))]
            if len(outs_a) != len(outs_b):
                print(f"{lesson} cell {index + 1}: {len(outs_a)} outputs against {len(outs_b)}")
                status = 1
                continue
            if outs_a == outs_b:
                same += 1
                continue
            differ += 1
            diff = difflib.unified_diff(
                "\n".join(outs_a).splitlines(), "\n".join(outs_b).splitlines(), lineterm="", n=0
            )
            lines = [ln for ln in diff if not ln.startswith(("---", "+++", "@@"))]
            shown = "\n    ".join(ln[:160] for ln in lines[:6])
            source = "".join(ca.get("source", ""))[:200].replace("\n", " | ")
            print(f"{lesson} cell {index + 1} differs ({len(lines)} lines); source: {source}")
            print(f"    {shown}")
    print(f"{len(set(left) & set(right))} lessons; {same} cells identical, {differ} differ")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
