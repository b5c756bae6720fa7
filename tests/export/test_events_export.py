"""export.events: the programme page and the combined deck of each event, without a kernel."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from export_scenarios import DEFAULT_TOML, XSS_TITLE, fake_results, open_valid, scenario
from test_site import parse

from workshopkit.events import plan_programme
from workshopkit.export import export_workshop
from workshopkit.export.events import deck_facts, event_deck

EVENT_ID = "2026-12-meetup"

EVENT_TOML = (
    DEFAULT_TOML
    + f"""
[[events]]
id = "{EVENT_ID}"
title = {json.dumps("December meetup " + XSS_TITLE)}
date = "2026-12-10"
start = "18:30"
venue = "Community room & library"
minutes = 90
lessons = ["exercises", "next-steps", "deep-dive"]
breaks = [{{ after = "exercises", minutes = 15, title = "Pizza" }}]

[events.speakers]
"exercises" = "Ana Ferreira"
"next-steps" = "Tomasz <b>Nowak</b>"
"deep-dive" = "Jonas Berg"
"""
)

HREF = re.compile(r"""(?:href|src)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def build(tmp_path: Path, *, failed: tuple[str, ...] = ()) -> Path:
    root = scenario(tmp_path / "ws", toml=EVENT_TOML)
    workshop = open_valid(root)
    results = fake_results(workshop, tmp_path / "scratch", failed=failed)
    dist = tmp_path / "dist"
    export_workshop(workshop, results, dist, source_date_epoch=1_700_000_000)
    return dist


def test_programme_page(tmp_path: Path) -> None:
    dist = build(tmp_path)
    page_path = dist / "events" / EVENT_ID / "index.html"
    html = page_path.read_text(encoding="utf-8")
    page = parse(page_path)
    text = " ".join(" ".join(page.text).split())
    # clock times from 18:30: exercises 20 min, Pizza 15, next-steps 15, deep-dive 30
    for when in ("18:30", "18:50", "19:05", "19:20", "19:50"):
        assert when in text
    assert "Pizza" in text
    assert "Ana Ferreira" in text and "Jonas Berg" in text
    assert "Tomasz <b>Nowak</b>" in text and "<b>Nowak" not in html  # escaped
    for level in ("beginner", "intermediate", "advanced"):
        assert f"level-{level}" in html
    assert "20 min" in text and "15 min" in text and "30 min" in text
    assert "80 min of a 90-minute budget" in text
    assert "2026-12-10" in text and "Community room &amp; library" in html
    assert XSS_TITLE not in html and "&lt;/script&gt;" in html
    # accessibility: lang, skip link, headings in order starting at h1
    assert '<html lang="en">' in html and 'href="#main"' in html
    assert page.headings[0] == 1
    assert all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:], strict=False))
    # links: relative, resolving to files in dist; no network URLs
    hrefs = HREF.findall(html)
    assert "../../lessons/exercises/exercises.slides.html" in hrefs
    assert f"{EVENT_ID}.slides.html" in hrefs
    for href in hrefs:
        assert not href.startswith(("http:", "https:", "//")), href
        if href.startswith(("#", "data:")):
            continue
        target = (page_path.parent / unquote(urlsplit(href).path)).resolve()
        assert target.is_file(), href
    assert not re.search(r"""["'(]\s*(https?:)?//""", html)


def test_index_links_the_event_page(tmp_path: Path) -> None:
    dist = build(tmp_path)
    html = (dist / "index.html").read_text(encoding="utf-8")
    assert f'href="events/{EVENT_ID}/index.html"' in html


def test_combined_deck_has_every_talk(tmp_path: Path) -> None:
    dist = build(tmp_path)
    deck = dist / "events" / EVENT_ID / f"{EVENT_ID}.slides.html"
    html = deck.read_text(encoding="utf-8")
    assert "Exercises" in html and "Next steps" in html and "Deep dive" in html
    assert "output of cell" in html  # executed outputs
    assert "Pizza" in html and "Ana Ferreira" in html
    assert "Tomasz &lt;b&gt;Nowak&lt;/b&gt;" in html
    assert "total = sum(range(n))" not in html  # solutions stay out, as in the lesson decks
    assert 'src="../../lessons/exercises/chart.png"' in html
    assert (deck.parent / "../../lessons/exercises/chart.png").resolve().is_file()
    assert "../../_static/reveal.js" in html
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", html)
    assert XSS_TITLE not in html


def test_deck_slides_are_the_talks_plus_title_section_and_breaks(tmp_path: Path) -> None:
    root = scenario(tmp_path / "ws", toml=EVENT_TOML)
    workshop = open_valid(root)
    results = fake_results(workshop, tmp_path / "scratch")
    executed = {r.lesson_id: nbformat.read(str(r.notebook), as_version=4) for r in results}
    event = workshop.config.events[0]
    deck = event_deck(event, workshop, executed)
    assert deck is not None
    talks = sum(deck_facts(nb).slides for nb in executed.values())
    programme = plan_programme(event, workshop)
    extra = 1 + len(programme.lessons) + sum(1 for i in programme.items if i.lesson is None)
    slides = [c for c in deck.cells if c.metadata.get("slideshow", {}).get("slide_type") == "slide"]
    subslides = [
        c for c in deck.cells if c.metadata.get("slideshow", {}).get("slide_type") == "subslide"
    ]
    assert len(slides) + len(subslides) == talks + extra


def test_failed_talk_is_marked_and_left_out_of_the_deck(tmp_path: Path) -> None:
    dist = build(tmp_path, failed=("next-steps",))
    html = (dist / "events" / EVENT_ID / "index.html").read_text(encoding="utf-8")
    assert "status-badge failed" in html
    assert "../../lessons/next-steps/next-steps.slides.html" not in html
    deck = (dist / "events" / EVENT_ID / f"{EVENT_ID}.slides.html").read_text(encoding="utf-8")
    assert "Deep dive" in deck and "output of cell 1" in deck
    assert "Next steps" not in deck


def test_no_deck_when_no_talk_passed(tmp_path: Path) -> None:
    dist = build(tmp_path, failed=("exercises", "next-steps", "deep-dive"))
    folder = dist / "events" / EVENT_ID
    assert (folder / "index.html").is_file()
    assert not (folder / f"{EVENT_ID}.slides.html").exists()
    assert f"{EVENT_ID}.slides.html" not in (folder / "index.html").read_text(encoding="utf-8")
