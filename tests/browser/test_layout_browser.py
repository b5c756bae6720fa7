"""Decks laid out by export.layout, in Chromium at 1280x720: every slide fits one screen at a
readable size, the build-time estimates hold, and the arrow keys alone go from the first slide to
the last. The decks are the realistic lessons of tests/resources/slides_layout, built with real
kernels (tests/layout_scenarios.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import nbformat
import pytest
from layout_scenarios import LESSONS, LayoutBuild, layout_build

from workshopkit.export.layout import SLIDE_HEIGHT
from workshopkit.export.slides import prepare_deck
from workshopkit.transforms import slides_source_notebook

SCREEN = {"width": 1280, "height": 720}
MIN_TEXT_PX = 14.0

MEASURE = """() => {
  const s = [...document.querySelectorAll('.reveal .slides section.present')].pop();
  let content = 0;
  for (const c of s.children) {
    const st = getComputedStyle(c);
    content += c.offsetHeight + parseFloat(st.marginTop) + parseFloat(st.marginBottom);
  }
  const label = getComputedStyle(s, '::before');
  if (label.content && label.content !== 'none') {
    content += parseFloat(label.height) + parseFloat(label.marginBottom);
  }
  let font = 1e9;
  const walker = document.createTreeWalker(s, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const e = n.parentElement;
    if (e.closest('aside.notes')) continue;
    const r = e.getBoundingClientRect();
    if (!r.width || !r.height || !e.offsetHeight) continue;
    font = Math.min(font, parseFloat(getComputedStyle(e).fontSize) * r.height / e.offsetHeight);
  }
  const number = document.querySelector('.reveal .slide-number');
  return {content, scroll: s.scrollHeight, client: s.clientHeight, font,
          number: number ? number.textContent.replace(/\\s+/g, '') : ''};
}"""

OVERLAP = """() => {
  const a = document.querySelector('.reveal .slide-number').getBoundingClientRect();
  const boxes = [...document.querySelectorAll('.reveal .controls button')]
    .map(b => b.getBoundingClientRect()).filter(r => r.width && r.height);
  return boxes.some(b => !(b.right <= a.left || b.left >= a.right || b.bottom <= a.top ||
                           b.top >= a.bottom));
}"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> LayoutBuild:
    return layout_build(tmp_path_factory)


def _local_only(route: Any) -> None:
    """No network: only file: URLs load."""
    if route.request.url.startswith("file:"):
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def screen(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=SCREEN)
    context.route("**/*", _local_only)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def estimated_heights(built: LayoutBuild, lesson_id: str) -> tuple[float, ...]:
    solution = nbformat.read(str(built.solution(lesson_id)), as_version=4)
    folder = built.source(lesson_id).parent
    return prepare_deck(slides_source_notebook(solution), folder=folder).heights


@pytest.mark.kernel
@pytest.mark.parametrize("lesson_id", LESSONS)
def test_every_slide_fits_one_screen_and_arrow_keys_reach_the_last(
    built: LayoutBuild, screen: Any, lesson_id: str
) -> None:
    estimates = estimated_heights(built, lesson_id)
    screen.goto(built.deck(lesson_id).as_uri())
    screen.wait_for_selector(".reveal.ready", state="attached", timeout=15_000)
    screen.add_style_tag(content="*, *::before { transition: none !important; }")
    seen = [screen.evaluate(MEASURE)]
    for _ in range(len(estimates) - 1):
        for _step in range(10):  # fragments take a press each before the next slide
            screen.keyboard.press("ArrowRight")
            screen.wait_for_timeout(60)
            shown = screen.evaluate(MEASURE)
            if shown["number"] != seen[-1]["number"]:
                break
        seen.append(shown)
    total = len(estimates)
    assert [s["number"] for s in seen] == [f"{n}/{total}" for n in range(1, total + 1)]
    for n, (shown, estimate) in enumerate(zip(seen, estimates, strict=True), start=1):
        where = f"{lesson_id} slide {n}: {shown}, estimated {estimate}"
        assert shown["scroll"] <= shown["client"] + 2, where  # fits: nothing to scroll
        assert shown["font"] >= MIN_TEXT_PX, where
        assert estimate <= SLIDE_HEIGHT, where
        # the build-time estimate is close to what Chromium renders, never far below it
        assert shown["content"] <= max(estimate * 1.08, estimate + 30), where
        assert shown["content"] >= estimate * 0.7 - 30, where
    screen.keyboard.press("ArrowRight")
    screen.wait_for_timeout(60)
    assert screen.evaluate(MEASURE)["number"] == f"{total}/{total}"  # the end: stays there


@pytest.mark.kernel
def test_the_slide_number_is_clear_of_the_arrows(built: LayoutBuild, screen: Any) -> None:
    screen.goto(built.deck("long-lesson").as_uri())
    screen.wait_for_selector(".reveal.ready", state="attached", timeout=15_000)
    screen.keyboard.press("ArrowRight")  # a middle slide shows every arrow
    screen.wait_for_timeout(100)
    assert screen.evaluate(OVERLAP) is False
