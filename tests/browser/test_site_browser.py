"""The attendee pages in headless Chromium, from file:// with the network cut.

The dist is exported from the example workshop (tests/scenario.py's scenario if the example is
missing) with canned results and one failed lesson, so every state of the page is on screen.
Screenshots at 1280x800 and 390x844 go to tests/browser/_artifacts/.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from export_scenarios import EXAMPLE, fake_results, open_valid, scenario

from workshopkit.export import export_workshop

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# For every element with its own text: its colour, the first opaque background behind it, and
# its font size and weight, to check WCAG AA contrast (4.5:1, or 3:1 for large text).
CONTRAST_JS = """
() => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c.length >= 3 && (c.length === 3 || c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    if (style.visibility === 'hidden' || style.display === 'none' || rect.width <= 1) continue;
    out.push({text: el.textContent.trim().slice(0, 40), tag: el.tagName,
              color: parse(style.color).slice(0, 3), background: background(el),
              size: parseFloat(style.fontSize), weight: parseInt(style.fontWeight)});
  }
  return out;
}
"""


def luminance(rgb: list[float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: list[float], b: list[float]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("site")
    if (EXAMPLE / "workshop.toml").is_file():
        workshop = open_valid(EXAMPLE)
        failed = [workshop.lessons[len(workshop.lessons) // 2].id]
    else:  # pragma: no cover - the example workshop is part of the repository
        workshop = open_valid(scenario(base / "ws"))
        failed = ["next-steps"]
    results = fake_results(workshop, base / "run", failed=failed)
    dest = base / "dist"
    export_workshop(workshop, results, dest, source_date_epoch=1_700_000_000)
    return dest


def first_track(dist: Path) -> Path:
    return sorted(p for p in dist.glob("*/index.html") if p.parent.name != "lessons")[0]


@pytest.mark.parametrize("page_name", ["index", "track"])
def test_page_loads_offline_without_errors(
    browser: Any, open_offline: Callable[..., Any], dist: Path, page_name: str
) -> None:
    path = dist / "index.html" if page_name == "index" else first_track(dist)
    context = browser.new_context(viewport=LAPTOP)
    try:
        opened = open_offline(context, path)
        page = opened.page
        page.wait_for_load_state("load")
        assert opened.problems() == []
        assert page.evaluate("document.documentElement.lang") == "en"
        stylesheet_applied = page.evaluate(
            "getComputedStyle(document.querySelector('.hero')).backgroundColor"
        )
        assert stylesheet_applied == "rgb(16, 35, 71)"  # site.css loaded despite the CSP
        levels = page.evaluate(
            "[...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1])"
        )
        assert levels[0] == 1 and levels.count(1) == 1
        assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels
        assert page.evaluate("[...document.images].filter(i => !i.hasAttribute('alt')).length") == 0
        low = []
        for item in page.evaluate(CONTRAST_JS):
            ratio = contrast(item["color"], item["background"])
            large = item["size"] >= 24 or (item["size"] >= 18.66 and item["weight"] >= 700)
            if ratio < (3.0 if large else 4.5):
                low.append((round(ratio, 2), item))
        assert low == []
    finally:
        context.close()


def test_keyboard_reaches_skip_link_and_downloads(
    browser: Any, open_offline: Callable[..., Any], dist: Path
) -> None:
    context = browser.new_context(viewport=LAPTOP)
    try:
        page = open_offline(context, dist / "index.html").page
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.className")
        assert focused == "skip-link"
        box = page.evaluate("document.activeElement.getBoundingClientRect().top")
        assert box >= 0  # visible when focused
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#main"
        downloads = page.evaluate("document.querySelectorAll('a[download]').length")
        reached = set()
        for _ in range(200):
            page.keyboard.press("Tab")
            text = page.evaluate(
                "document.activeElement.hasAttribute('download') ? "
                "document.activeElement.textContent.trim() : ''"
            )
            if text:
                reached.add(text)
            if len(reached) == downloads:
                break
        assert downloads >= 1 and len(reached) == downloads, reached
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline == "solid"  # focus is visible
    finally:
        context.close()


@pytest.mark.parametrize(("name", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_screenshots(
    browser: Any,
    open_offline: Callable[..., Any],
    dist: Path,
    artifacts_dir: Path,
    name: str,
    viewport: dict[str, int],
) -> None:
    context = browser.new_context(viewport=viewport)
    try:
        for page_name, path in (("index", dist / "index.html"), ("track", first_track(dist))):
            opened = open_offline(context, path)
            page = opened.page
            page.wait_for_load_state("load")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{page_name} scrolls sideways at {viewport}"
            page.screenshot(path=str(artifacts_dir / f"site-{page_name}-{name}.png"))
            page.screenshot(
                path=str(artifacts_dir / f"site-{page_name}-{name}-full.png"), full_page=True
            )
            assert opened.problems() == []
            page.close()
    finally:
        context.close()


def test_deck_in_dist_runs_offline(
    browser: Any, open_offline: Callable[..., Any], dist: Path
) -> None:
    """The slides link from the track page opens a working deck from dist's own _static/."""
    context = browser.new_context(viewport=LAPTOP)
    try:
        track = open_offline(context, first_track(dist)).page
        href = track.evaluate("document.querySelector('.links a').getAttribute('href')")
        assert href.endswith(".slides.html")
        deck_path = (first_track(dist).parent / href).resolve()
        opened = open_offline(context, deck_path)
        opened.page.wait_for_selector(".reveal.ready", state="attached", timeout=15_000)
        assert opened.problems() == []
    finally:
        context.close()


@pytest.mark.parametrize("page_name", ["index", "track"])
def test_launch_links_are_links_that_load_nothing(
    browser: Any, open_offline: Callable[..., Any], tmp_path: Path, page_name: str
) -> None:
    """[launch] (issue 17): Colab/Binder/View links on screen, and not one request leaves
    file:// (no badge images), recorded by the offline route."""
    from export_scenarios import DEFAULT_TOML

    toml = DEFAULT_TOML + '\n[launch]\nrepository = "ada/ml-meetup"\n'
    workshop = open_valid(scenario(tmp_path / "ws", toml=toml))
    dest = tmp_path / "dist"
    export_workshop(workshop, fake_results(workshop, tmp_path / "run"), dest)
    path = dest / "index.html" if page_name == "index" else dest / "basics/index.html"
    context = browser.new_context(viewport=LAPTOP)
    try:
        opened = open_offline(context, path)
        page = opened.page
        page.wait_for_load_state("load")
        assert opened.problems() == []
        assert opened.blocked == []
        assert all(url.startswith("file:") for url, _ in opened.requests)
        links = page.evaluate(
            "[...document.querySelectorAll('a.launch-link')].map(a => [a.innerText, a.href,"
            " a.getBoundingClientRect().width > 0])"
        )
        assert [label.split(":")[0].strip() for label, _, _ in links[:3]] == [
            "Open in Colab",
            "Open in Binder",
            "View",
        ]
        assert links[0][1].startswith("https://colab.research.google.com/github/ada/ml-meetup/")
        assert all(visible for _, _, visible in links)
        low = [
            item
            for item in page.evaluate(CONTRAST_JS)
            if item["tag"] == "A" and contrast(item["color"], item["background"]) < 4.5
        ]
        assert low == []
    finally:
        context.close()
