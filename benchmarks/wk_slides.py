#!/usr/bin/env python3
"""workshopkit's slide export for benchmarks/run.py: every deck in one process.

    python benchmarks/wk_slides.py IN OUT

Renders each executed ``IN/*.ipynb`` with ``workshopkit.export.slides`` (``prepare_slides``, which
lays the deck out to fit the screen, then ``render_slides``, offline reveal.js) to
``OUT/<name>.slides.html`` and copies the vendored static files and the shared notebook stylesheet
to ``OUT/_static`` once, as the build does for ``dist/``. Exits 1 if any deck failed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat

from workshopkit.export.slides import (
    prepare_slides,
    render_slides,
    static_dir,
    write_notebook_css,
)


def main() -> int:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(static_dir(), out / "_static", dirs_exist_ok=True)
    write_notebook_css(out / "_static")
    failed = 0
    paths = sorted(src.glob("*.ipynb"))
    for path in paths:
        name = path.name.removesuffix(".ipynb")
        try:
            nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
            deck = prepare_slides(nb)
            html = render_slides(deck, static_prefix="_static", title=name, shared_css=True)
            (out / f"{name}.slides.html").write_text(html, encoding="utf-8")
        except Exception as exc:  # report every deck, then fail
            failed += 1
            print(f"FAILED {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
    print(f"{len(paths) - failed} decks, {failed} failed", file=sys.stderr)
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    sys.exit(main())
