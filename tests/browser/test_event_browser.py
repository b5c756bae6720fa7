"""An event's programme page and combined deck in headless Chromium, from file:// offline.

The dist is exported from the example workshop (ml-meetup) with canned results, so the deck
holds every talk of its first event. Screenshots go to tests/browser/_artifacts/.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from export_scenarios import EXAMPLE, fake_results, open_valid

from workshopkit.events import plan_programme
from workshopkit.export import export_workshop
from workshopkit.export.events import deck_facts
from workshopkit.export.notebooks import read_notebook

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, dict[str, Any]]:
    if not (EXAMPLE / "workshop.toml").is_file():
        pytest.skip("the example workshop is missing")
    tmp = tmp_path_factory.mktemp("event")
    workshop = open_valid(EXAMPLE)
    if not workshop.config.events:
        pytest.skip("the example workshop has no events")
    results = fake_results(workshop, tmp / "scratch")
    out = tmp / "dist"
    export_workshop(workshop, results, out, source_date_epoch=1_700_000_000)
    executed = {r.lesson_id: read_notebook(r.notebook) for r in results if r.notebook}
    return out, workshop, executed


def test_programme_page_offline(
    dist: tuple[Path, Any, dict[str, Any]],
    offline_context: Any,
    open_offline: Callable[..., Any],
    artifacts_dir: Path,
) -> None:
    out, workshop, _ = dist
    event = workshop.config.events[0]
    opened = open_offline(offline_context, out / "events" / event.id / "index.html")
    page = opened.page
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text() == event.title
    assert page.evaluate("document.styleSheets.length") == 1
    styled = "getComputedStyle(document.querySelector('.programme')).listStyleType"
    assert page.evaluate(styled) == "none"  # site.css loaded
    page.screenshot(path=str(artifacts_dir / "event-page.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(artifacts_dir / "event-page-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"
    with page.expect_navigation():
        page.get_by_role("link", name="Open the combined deck").click()
    page.wait_for_selector(".reveal.ready", state="attached", timeout=15_000)
    assert opened.problems() == []


def test_combined_deck_offline(
    dist: tuple[Path, Any, dict[str, Any]],
    offline_context: Any,
    open_offline: Callable[..., Any],
    artifacts_dir: Path,
) -> None:
    out, workshop, executed = dist
    event = workshop.config.events[0]
    programme = plan_programme(event, workshop)
    talks = [lesson for lesson in programme.lessons if lesson.id in executed]
    breaks = sum(1 for item in programme.items if item.lesson is None)
    expected = 1 + len(talks) + breaks + sum(deck_facts(executed[t.id]).slides for t in talks)

    opened = open_offline(offline_context, out / "events" / event.id / f"{event.id}.slides.html")
    page = opened.page
    page.wait_for_selector(".reveal.ready", state="attached", timeout=15_000)
    reveal = "require('../../_static/reveal.js/dist/reveal.js')"
    assert page.evaluate(f"{reveal}.getTotalSlides()") == expected
    page.screenshot(path=str(artifacts_dir / "event-deck-title.png"))
    page.evaluate(f"{reveal}.slide(1, 0)")
    page.wait_for_timeout(900)
    page.screenshot(path=str(artifacts_dir / "event-deck-section.png"))
    page.evaluate(f"{reveal}.slide(2, 0)")
    page.wait_for_timeout(900)
    page.screenshot(path=str(artifacts_dir / "event-deck-talk.png"))
    # walk the whole deck so every image and output has been shown once
    for _ in range(expected):
        page.evaluate(f"{reveal}.next()")
    page.wait_for_timeout(900)
    page.screenshot(path=str(artifacts_dir / "event-deck-last.png"))
    assert opened.problems() == []
