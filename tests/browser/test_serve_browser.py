"""`workshopkit serve` in Chromium: a deck and the index follow each save, a deck stays on its
slide, a code edit shows its new output, a broken lesson shows the overlay with its path:line,
and the overlay goes once the lesson is fixed. One real `serve` process (real kernels) for the
module; each test leaves the lesson as it found it."""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from helpers import RESOURCES, kill_marked, mark_env
from serve_support import ServeProcess

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

LESSON = Path("lessons/intro/intro.py")
DECK = "lessons/intro/intro.slides.html"
WAIT_MS = 240_000  # a rebuild runs the lesson's kernel: slow on a loaded machine


class Served:
    def __init__(self, root: Path, serve: ServeProcess) -> None:
        self.root = root
        self.serve = serve
        self.original = (root / LESSON).read_text(encoding="utf-8")

    def edit(self, old: str, new: str) -> None:
        lesson = self.root / LESSON
        text = lesson.read_text(encoding="utf-8")
        assert old in text
        lesson.write_text(text.replace(old, new), encoding="utf-8")

    def restore(self) -> None:
        lesson = self.root / LESSON
        if lesson.read_text(encoding="utf-8") != self.original:
            lesson.write_text(self.original, encoding="utf-8")
            self.serve.wait_built()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("serve") / "workshop"
    shutil.copytree(RESOURCES / "serve_preview", root)
    mark, env = mark_env()
    serve = ServeProcess(root, env=env, mark=mark)
    try:
        assert "rebuilt in" in serve.wait_built(), serve.output
        yield Served(root, serve)
    finally:
        serve.close()
        kill_marked(mark)


@pytest.fixture
def page(browser: Browser, served: Served) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
        csp = [e for e in errors if "Content Security Policy" in e or "Refused" in e]
        assert csp == []  # the injected script and its stream pass the pages' CSP
    finally:
        context.close()
        served.restore()


def test_a_deck_shows_a_markdown_edit_on_the_slide_it_showed(served: Served, page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(served.serve.url + DECK + "#/1")
    present = page.locator(".reveal .slides section.present:not(.stack)")
    expect(present).to_contain_text("ALPHA")
    # the badge may come and go within a few milliseconds: the page notes it (kept on reload)
    page.evaluate(
        """() => new MutationObserver(() => {
            const badge = document.getElementById("workshopkit-building");
            if (badge) { sessionStorage.setItem("wk-badge", badge.textContent); }
        }).observe(document.body, {childList: true})"""
    )
    served.edit("Text ALPHA on slide two.", "Text BRAVO on slide two.")
    expect(present).to_contain_text("BRAVO", timeout=WAIT_MS)
    assert page.evaluate('sessionStorage.getItem("wk-badge")') == "rebuilding\u2026"
    assert page.url.endswith("#/1")
    assert page.locator("#workshopkit-overlay").count() == 0


def test_the_second_pass_of_a_rebuild_does_not_reload_the_deck(served: Served, page: Page) -> None:
    """The zip is brought up to date after the deck was shown: nothing the deck shows changes
    then, so the deck is loaded once for the edit, not twice."""
    from playwright.sync_api import expect

    page.goto(served.serve.url + DECK + "#/1")
    present = page.locator(".reveal .slides section.present:not(.stack)")
    expect(present).to_contain_text("ALPHA")
    loads: list[str] = []
    page.on("load", lambda loaded: loads.append(loaded.url))
    served.edit("Text ALPHA on slide two.", "Text DELTA on slide two.")
    expect(present).to_contain_text("DELTA", timeout=WAIT_MS)
    preview = served.root / ".workshopkit" / "preview"
    deadline = time.monotonic() + WAIT_MS / 1000
    while b"DELTA" not in _zipped_deck(preview) and time.monotonic() < deadline:
        time.sleep(0.1)  # the second pass writes the zip
    assert b"DELTA" in _zipped_deck(preview), served.serve.output
    time.sleep(1.5)  # the stream has told the page by now
    assert len(loads) == 1, (loads, served.serve.output)
    assert page.url.endswith("#/1")


def _zipped_deck(preview: Path) -> bytes:
    """The lesson's deck as the preview's zip holds it (b"" while there is none)."""
    import zipfile

    for bundle in preview.glob("*.zip"):
        with contextlib.suppress(OSError, zipfile.BadZipFile), zipfile.ZipFile(bundle) as zf:
            return b"".join(zf.read(n) for n in zf.namelist() if n.endswith(DECK))
    return b""


def test_the_index_shows_a_new_title(served: Served, page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(served.serve.url)
    expect(page.locator("body")).to_contain_text("Intro")
    served.edit("title: Intro", "title: Intro to CHARLIE")
    expect(page.locator("body")).to_contain_text("Intro to CHARLIE", timeout=WAIT_MS)


def test_a_code_edit_shows_its_new_output(served: Served, page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(served.serve.url + DECK)
    slides = page.locator(".reveal .slides")
    expect(slides).to_contain_text("output 2")
    served.edit('print("output", 1 + 1)', 'print("output", 40 + 2)')
    expect(slides).to_contain_text("output 42", timeout=WAIT_MS)


def test_a_failing_cell_shows_the_overlay_until_it_is_fixed(served: Served, page: Page) -> None:
    page.goto(served.serve.url + DECK)
    served.edit('print("output", 1 + 1)', 'print("output", 1 / 0)')
    line = (served.root / LESSON).read_text().splitlines().index('print("output", 1 / 0)') + 1
    overlay = page.locator("#workshopkit-overlay")
    overlay.wait_for(timeout=WAIT_MS)
    text = overlay.inner_text()
    assert f"{LESSON}:" in text and "ZeroDivisionError" in text
    assert f"{LESSON}:{line}: ZeroDivisionError: division by zero (cell 3)" in text, text
    assert "1 lesson failed to run (each shows its last good build, if any)" in text, text
    assert "output 2" in page.locator(".reveal").text_content()  # the last good build stays
    served.edit('print("output", 1 / 0)', 'print("output", 1 + 1)')
    overlay.wait_for(state="detached", timeout=WAIT_MS)


def test_an_invalid_lesson_shows_its_line_in_the_overlay(served: Served, page: Page) -> None:
    page.goto(served.serve.url)
    served.edit("level: beginner", "level: wizard")
    line = (served.root / LESSON).read_text().splitlines().index("#     level: wizard") + 1
    overlay = page.locator("#workshopkit-overlay")
    overlay.wait_for(timeout=WAIT_MS)
    assert f"{LESSON}:{line}" in overlay.inner_text() and "wizard" in overlay.inner_text()
    served.edit("level: wizard", "level: beginner")
    overlay.wait_for(state="detached", timeout=WAIT_MS)
