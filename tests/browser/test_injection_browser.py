"""Nothing an author writes runs in a page (issue 10): a real build, every page in Chromium.

``tests/resources/lesson_injection`` is built for real (real kernels, ``workshopkit.build``): its
lessons display each injection through ``IPython.display`` (a ``text/vnd.mermaid`` output
carrying ``<script src="evil.js">``, an image whose ``width`` is ``1 onload=alert(...)``, SVG
and JavaScript outputs, an unknown type), write raw ``<script>``, ``<iframe>``, ``<meta
refresh>``, ``<base>``, ``<style>`` with ``@import`` and remote ``url()``, ``javascript:`` links
and KaTeX ``\\href`` in markdown, ask for an iframe background in ``slideshow.data``, and put HTML
in titles, objectives, tags, the event's venue and a speaker. The lesson's folder holds an
``evil.js`` and an ``evil.html`` that would ``alert()`` and ``fetch()``; the folder rule ships
them next to the deck.

Every page and deck of ``dist/`` is opened from ``file://`` with the network cut, every slide is
shown (backgrounds load lazily) and the speaker view is opened; dialogs, console messages, page
errors and every request are recorded. None may fire, log an error, or ask for anything but
files inside ``dist/`` (scripts only from ``dist/_static/``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from workshopkit.build import BuildOutcome, build
from workshopkit.errors import ExitCode

CASE = Path(__file__).resolve().parents[1] / "resources" / "lesson_injection"
PAGES = {
    "index.html",
    "all/index.html",
    "events/evening/index.html",
    "events/evening/evening.slides.html",
    "lessons/inject/inject.slides.html",
    "lessons/meta-inject/meta-inject.slides.html",
}
PWNED = "typeof window.__pwned === 'undefined' ? null : String(window.__pwned)"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildOutcome:
    root = tmp_path_factory.mktemp("injection") / "workshop"
    shutil.copytree(CASE, root)
    outcome = build(root)
    assert outcome.exit_code is ExitCode.OK, [*map(str, outcome.diagnostics), *outcome.messages]
    return outcome


@pytest.fixture(scope="module")
def dist(built: BuildOutcome) -> Path:
    out = built.dist
    assert out is not None
    # the attack's premise: the folder rule shipped the author's files next to the deck
    assert (out / "lessons/inject/evil.js").is_file()
    assert (out / "lessons/inject/evil.html").is_file()
    return out


def test_the_build_warns_about_what_the_decks_leave_out(built: BuildOutcome) -> None:
    warnings = [str(d) for d in built.diagnostics if not d.is_error]
    where = "lessons/01-inject/inject.py"
    for expected in (
        f"{where}:12: warning: slides: slideshow data key 'background-iframe' is not allowed",
        f"{where}:12: warning: slides: slideshow data key 'notes' is not allowed",
        f"{where}:43: warning: slides: output of type 'text/vnd.mermaid' is shown as text",
        f"{where}:43: warning: slides: output of type 'application/x-evil' is shown as text",
        f"{where}:43: warning: slides: image width \"1 onload=alert('width')\" (for image/png)",
        f"{where}:43: warning: slides: image height \"2 onload=alert('height')\" is not",
    ):
        assert any(w.startswith(expected) for w in warnings), (expected, warnings)


def our_pages(out: Path) -> set[str]:
    """The pages workshopkit writes (not vendored files, not a lesson's own assets)."""
    found = set()
    for path in out.rglob("*.html"):
        rel = path.relative_to(out).as_posix()
        if rel.startswith("_static/") or (rel.startswith("lessons/") and "slides" not in rel):
            continue
        found.add(rel)
    return found


def offending_requests(out: Path, requests: list[tuple[str, str]]) -> list[str]:
    root = out.resolve()
    static = root / "_static"
    bad = []
    for url, kind in requests:
        parts = urlsplit(url)
        if parts.scheme != "file":
            bad.append(f"{kind} {url}: not a file")
            continue
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(root):
            bad.append(f"{kind} {url}: outside dist")
        elif path.name.startswith("evil."):
            bad.append(f"{kind} {url}: the author's file")
        elif kind == "script" and not path.is_relative_to(static):
            bad.append(f"{kind} {url}: a script from outside _static")
    return bad


def show_every_slide(page: Any, prefix: str) -> int:
    reveal = f"require('{prefix}/reveal.js/dist/reveal.js')"
    total: int = page.evaluate(f"{reveal}.getTotalSlides()")
    for _ in range(total + 2):
        page.wait_for_timeout(250)  # the slide's background and lazy content load when shown
        if page.evaluate(f"{reveal}.isLastSlide()"):
            break
        page.evaluate(f"{reveal}.next()")
    return total


def test_every_page_is_built(dist: Path) -> None:
    assert our_pages(dist) == PAGES


@pytest.mark.parametrize("rel", sorted(PAGES))
def test_nothing_an_author_wrote_runs(
    dist: Path, rel: str, offline_context: Any, open_offline: Callable[..., Any]
) -> None:
    opened = open_offline(offline_context, dist / rel)
    page = opened.page
    page.wait_for_load_state("load")
    if rel.endswith(".slides.html"):
        page.wait_for_selector(".reveal.ready", state="attached", timeout=15_000)
        prefix = "/".join([".."] * rel.count("/")) + "/_static"
        assert show_every_slide(page, prefix) >= 1
        if rel.startswith("lessons/inject/"):
            page.evaluate(f"require('{prefix}/reveal.js/dist/reveal.js').slide(0, 0)")
            with offline_context.expect_page() as popup_info:
                page.keyboard.press("s")
            popup = popup_info.value
            opened.watch(popup)
            popup.locator(".speaker-controls-notes", has_text="Speaker notes").wait_for(
                timeout=15_000
            )
            popup.wait_for_timeout(500)
            assert popup.evaluate(PWNED) is None
    else:
        page.wait_for_timeout(300)
    assert page.evaluate(PWNED) is None
    assert opened.problems() == []  # no dialog, console error, page error, blocked request
    assert offending_requests(dist, opened.requests) == []
    assert opened.requests, "expected the page's own files to be requested"


def test_the_injected_text_is_shown_as_text(
    dist: Path, offline_context: Any, open_offline: Callable[..., Any]
) -> None:
    opened = open_offline(offline_context, dist / "lessons/inject/inject.slides.html")
    page = opened.page
    page.wait_for_selector(".reveal.ready", state="attached", timeout=15_000)
    text = page.locator(".reveal .slides").inner_text()
    assert '<script src="evil.js"></script>' in text  # the mermaid output, escaped
    assert "<script>alert('unknown type')</script>" in text  # an unknown type, escaped
    assert page.locator("section[data-background-iframe]").count() == 0
    assert page.locator("section[data-background-color='#eef2f7']").count() >= 1
    # KaTeX typesets the math but refuses \href (its trust option is off): no link, red text
    assert page.locator(".katex", has_text="\\href").count() == 1
    assert page.locator(".katex a, a[href^='javascript:' i]").count() == 0


@pytest.mark.parametrize(
    "query", ["?url=evil.html", "?previewLinks=true", "?x_url=evil.html&notes"]
)
def test_a_url_query_cannot_make_the_deck_frame_a_lesson_file(
    dist: Path, query: str, offline_context: Any, open_offline: Callable[..., Any]
) -> None:
    """reveal.js reads its settings from the URL too: a lesson's link to its own deck with
    ``?url=evil.html`` would make the speaker view frame evil.html, ``?previewLinks=true`` frame
    every link clicked. The deck reloads without such a query."""
    deck = dist / "lessons/inject/inject.slides.html"
    opened = open_offline(offline_context, deck)
    page = opened.page
    page.wait_for_selector(".reveal.ready", state="attached", timeout=15_000)
    page.goto(deck.resolve().as_uri() + query)
    page.wait_for_selector(".reveal.ready", state="attached", timeout=15_000)
    assert "?" not in page.url
    reveal = "require('../../_static/reveal.js/dist/reveal.js')"
    assert page.evaluate(f"{reveal}.getConfig().previewLinks") is False
    assert page.evaluate(f"{reveal}.getConfig().url") is None
    with offline_context.expect_page() as popup_info:
        page.keyboard.press("s")
    popup = popup_info.value
    opened.watch(popup)
    popup.locator(".speaker-controls-notes", has_text="Speaker notes").wait_for(timeout=15_000)
    frames = [f.url.split("?")[0] for f in popup.frames if f.url.startswith("file:")]
    assert frames == [deck.resolve().as_uri()] * 2
    assert page.evaluate(PWNED) is None and popup.evaluate(PWNED) is None
    # (the reload may abort a font the first load had asked for: that is not a problem)
    assert [p for p in opened.problems() if not p.endswith("(net::ERR_ABORTED)")] == []
    assert offending_requests(dist, opened.requests) == []


def test_the_csp_alone_stops_a_script_file_next_to_the_deck(
    dist: Path, offline_context: Any, open_offline: Callable[..., Any]
) -> None:
    """Defence in depth: were a ``<script src="evil.js">`` to get past the sanitiser, the deck's
    policy ('strict-dynamic' and hashes, no 'self' or file:) still would not run it."""
    folder = dist / "lessons/inject"
    html = (folder / "inject.slides.html").read_text(encoding="utf-8")
    injected = '<script src="evil.js"></script><script src="../../_static/evil.js"></script>'
    shutil.copy(folder / "evil.js", dist / "_static/evil.js")  # even from the vendored folder
    deck = folder / "injected.slides.html"
    deck.write_text(html.replace("</main>", injected + "</main>", 1), encoding="utf-8")
    try:
        opened = open_offline(offline_context, deck)
        page = opened.page
        page.wait_for_selector(".reveal.ready", state="attached", timeout=15_000)
        assert page.evaluate(PWNED) is None
        assert opened.dialogs == []
        assert not any(url.endswith("evil.js") for url, _ in opened.requests)  # never fetched
        violations = [m for m in opened.console_errors if "Content Security Policy" in m]
        assert len(violations) == 2, opened.console_errors
    finally:
        deck.unlink()
        (dist / "_static/evil.js").unlink()
