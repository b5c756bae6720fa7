"""Time `workshopkit serve` from a save to the browser showing it, on a copy of ml-meetup.

    python benchmarks/serve.py                       # 5 markdown + 3 code edits
    python benchmarks/serve.py --edits 3 --code-edits 2 --work /tmp/wk-serve-bench

A copy of workshops/ml-meetup (in --work, kept: its cache makes the next run's first build warm)
is served by a real `workshopkit serve --port 0`; headless Chromium (/usr/bin/chromium) opens
the deck of one lesson. Each edit is written to the lesson file, and the clock stops when the
page shows the new text: a markdown edit on the deck's first slide (the slide shown), a code
edit in a cell's printed output. The first build is not timed. The two kinds alternate, and
each edit waits for the previous rebuild to end, its second pass (zips and event decks) included.
Writes benchmarks/RESULTS-serve.md (or --output).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
from serve_support import ServeProcess  # noqa: E402

LESSON = Path("lessons/09-attention-from-scratch/lesson.py")
DECK = "lessons/attention-from-scratch/attention-from-scratch.slides.html"
HEADING = "# # Attention from scratch"
CODE = 'print("output:", out.shape, " weights:", w.shape)'


def poll(locator: object, text: str, timeout: float = 600) -> float:
    """Seconds until `locator`'s text holds `text` (checked every 20 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if text in (locator.text_content(timeout=1000) or ""):  # type: ignore[attr-defined]
                return time.monotonic()
        except Exception:  # the page is reloading
            pass
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {text!r}")


def tree_cpu(pid: int) -> float:
    proc = psutil.Process(pid)
    total = sum(proc.cpu_times()[:4])
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += sum(child.cpu_times()[:2])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=5, help="markdown edits")
    parser.add_argument("--code-edits", type=int, default=3)
    parser.add_argument(
        "--toml-edits", type=int, default=2, help="workshop.toml title edits (no lesson runs)"
    )
    parser.add_argument("--work", type=Path, default=HERE / "_work" / "serve")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS-serve.md")
    args = parser.parse_args()
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started with `&` by a script:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # serve must get Ctrl-C

    root = args.work / "ml-meetup"
    if not root.exists():
        shutil.copytree(REPO / "workshops" / "ml-meetup", root)
    lesson = root / LESSON
    lesson.write_text((REPO / "workshops" / "ml-meetup" / LESSON).read_text())
    toml = root / "workshop.toml"
    toml.write_text((REPO / "workshops" / "ml-meetup" / "workshop.toml").read_text())
    env = {**os.environ, "NO_COLOR": "1"}
    started = time.time()
    serve = ServeProcess(root, env=env)
    first = serve.wait_built(1800)
    from playwright.sync_api import sync_playwright

    # kind, seconds to shown, first pass seconds, lines, second pass seconds (0: none)
    rows: list[tuple[str, float, float, str, float]] = []
    loads: list[float] = []
    cpu_before = tree_cpu(serve.proc.pid)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(serve.url + DECK)
            slide = page.locator(".reveal .slides section.present:not(.stack)")
            slides = page.locator(".reveal .slides")
            poll(slide, "Attention from scratch")
            # markdown, code, markdown, code, ... then what is left of the longer list
            pairs = min(args.edits, args.code_edits)
            order = ["markdown", "code"] * pairs
            order += ["markdown"] * (args.edits - pairs) + ["code"] * (args.code_edits - pairs)
            order += ["toml"] * args.toml_edits
            index = browser.new_page(viewport={"width": 1280, "height": 800})
            index.goto(serve.url)
            for n, kind in enumerate(order, start=1):
                word = f"EDIT{n}X"
                edited = toml if kind == "toml" else lesson
                text = edited.read_text()
                if kind == "toml":
                    new = re.sub(
                        r'^title = "(.*?)( EDIT\d+X)?"$',
                        rf'title = "\1 {word}"',
                        text,
                        count=1,
                        flags=re.M,
                    )
                    target = index.locator("body")
                elif kind == "markdown":
                    new = re.sub(
                        r"^# # Attention from scratch.*$",
                        f"{HEADING} {word}",
                        text,
                        count=1,
                        flags=re.M,
                    )
                    target = slide
                else:
                    new = re.sub(
                        r'^print\("output:", out\.shape.*$',
                        CODE[:-1] + f', "{word}")',
                        text,
                        count=1,
                        flags=re.M,
                    )
                    target = slides
                assert new != text
                loads.append(os.getloadavg()[0])
                t0 = time.monotonic()
                edited.write_text(new)
                shown = poll(target, word) - t0
                line = serve.wait_built(600)
                built = float(re.search(r"in ([\d.]+) s", line).group(1))  # type: ignore[union-attr]
                if "next" in line:  # the second pass: zips and event decks
                    second = serve.wait_for("up to date in", 600)
                    finished = float(re.search(r"in ([\d.]+) s", second).group(1))  # type: ignore[union-attr]
                    line = f"{line.strip()}; then {second.strip()}"
                else:
                    finished = 0.0
                rows.append((kind, shown, built, line.strip(), finished))
                print(f"{kind:8} shown after {shown:6.2f} s   ({line.strip()})", flush=True)
                time.sleep(1)
            browser.close()
        cpu = tree_cpu(serve.proc.pid) - cpu_before
    finally:
        try:
            code: int | str = serve.interrupt()
        except subprocess.TimeoutExpired:
            serve.proc.kill()
            code = "nothing: killed after 60 s"
        lesson.write_text((REPO / "workshops" / "ml-meetup" / LESSON).read_text())
        toml.write_text((REPO / "workshops" / "ml-meetup" / "workshop.toml").read_text())
    git = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()

    def median(kind: str, column: int) -> str:
        values = [float(row[column]) for row in rows if row[0] == kind]
        return f"{statistics.median(values):.2f}" if values else "-"

    def span(kind: str) -> str:
        values = [row[1] for row in rows if row[0] == kind]
        return f"{min(values):.2f}-{max(values):.2f}" if values else "-"

    def overhead(kind: str) -> str:
        values = [row[1] - row[2] for row in rows if row[0] == kind]
        return f"{statistics.median(values):.2f}" if values else "-"

    table = [
        "| save to browser | n | median s | range s | median rebuild s | median rest s "
        "| median second pass s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| markdown edit, shown on the slide in view | {args.edits} | **{median('markdown', 1)}** "
        f"| {span('markdown')} | {median('markdown', 2)} | {overhead('markdown')} "
        f"| {median('markdown', 4)} |",
        f"| code edit, new output in the deck | {args.code_edits} | **{median('code', 1)}** "
        f"| {span('code')} | {median('code', 2)} | {overhead('code')} | {median('code', 4)} |",
        f"| workshop.toml title edit, shown on the index (no lesson runs) | {args.toml_edits} "
        f"| **{median('toml', 1)}** | {span('toml')} | {median('toml', 2)} | {overhead('toml')} "
        f"| {median('toml', 4)} |",
    ]
    report = [
        "# `workshopkit serve`: from a save to the browser",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}; "
        f"took {(time.time() - started) / 60:.1f} min",
        "- command: `python benchmarks/serve.py "
        f"--edits {args.edits} --code-edits {args.code_edits} --toml-edits {args.toml_edits}`",
        f"- machine: nproc {os.cpu_count()}, shared; 1-min load average at each save "
        f"{min(loads):.1f}-{max(loads):.1f}",
        f"- workshopkit from git {git}; workshop: a copy of workshops/ml-meetup (12 lessons), "
        f"lesson `{LESSON}` edited, its deck open in headless Chromium",
        f"- first build (untimed): `{first.strip()}`",
        f"- CPU seconds of serve and its kernels during the edits: {cpu:.1f}",
        f"- serve exited with {code} on SIGINT",
        "",
        *table,
        "",
        "*rebuild*: the BUILD pipeline's first pass, as serve's terminal line reports it;",
        "*rest*: the difference, i.e. noticing the save, telling the page, reloading and",
        "rendering it; *second pass*: the plain incremental build that follows once no save",
        "came for 0.3 s, bringing the zips and event decks the first pass carried over up to",
        "date (the open deck does not reload: none of its files change).",
        "",
        "Each rebuild runs the BUILD pipeline, incrementally: a markdown edit reuses the cached",
        "outputs (no kernel), a code edit runs that lesson, and export rewrites what changed.",
        "",
        "Each edit:",
        "",
        *(f"- {kind}: shown after {shown:.2f} s; {line}" for kind, shown, _, line, _ in rows),
        "",
    ]
    args.output.write_text("\n".join(report))
    print("\n".join(table))


if __name__ == "__main__":
    main()
