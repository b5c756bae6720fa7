"""The realistic lessons of tests/resources/slides_layout (one folder each), built once per test
session with real kernels, for the slide layout tests (tests/export/test_layout.py,
tests/browser/test_layout_browser.py).

- ``long-lesson``: no slide metadata; long prose, a badge line, a local image, a tall and a wide
  DataFrame, a long printed report, a 60-line cell, three plots, a deep traceback.
- ``author-slides``: slideshow metadata of its own, one slide too long for a screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import copy_resources, shared_once

RESOURCES = Path(__file__).parent / "resources" / "slides_layout"
LESSONS = ("long-lesson", "author-slides")


@dataclass(frozen=True)
class LayoutBuild:
    root: Path  # the workshop (a copy of the resources)
    dist: Path
    exit_code: int
    diagnostics: tuple[str, ...]  # as the CLI prints them

    def deck(self, lesson_id: str) -> Path:
        return self.dist / "lessons" / lesson_id / f"{lesson_id}.slides.html"

    def solution(self, lesson_id: str) -> Path:
        return self.dist / "lessons" / lesson_id / f"{lesson_id}.solution.ipynb"

    def source(self, lesson_id: str) -> Path:
        return self.root / "lessons" / lesson_id / f"{lesson_id}.py"


def _build(folder: Path) -> LayoutBuild:
    from workshopkit.pipeline import build

    root = copy_resources(RESOURCES, folder / "workshop")
    outcome = build(root)
    assert outcome.dist is not None, outcome.messages
    return LayoutBuild(
        root, outcome.dist, int(outcome.exit_code), tuple(str(d) for d in outcome.diagnostics)
    )


def layout_build(tmp_path_factory: Any) -> LayoutBuild:
    """The resources built once per session (shared across pytest-xdist workers)."""
    return shared_once(tmp_path_factory, "slides-layout", _build)
